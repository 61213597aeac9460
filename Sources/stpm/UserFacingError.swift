import Foundation
import Numerics

/// What reaches the user when a command fails: stpm's own errors as they are (capped in length, since
/// they may quote a hostile file), and Foundation's errors in plain words rather than
/// `Error Domain=NSCocoaErrorDomain Code=642 ...` or a DecodingError dump.
struct UserFacingError: Error, CustomStringConvertible {
    static let maxLength = 2000
    let description: String

    static func wrap(_ error: Error) -> Error {
        let module = String(reflecting: type(of: error)).split(separator: ".").first.map(String.init) ?? ""
        if let e = error as? DecodingError { return UserFacingError(capped: "unreadable JSON: \(e.plainDescription)") }
        if error is EncodingError { return UserFacingError(capped: "could not encode the output (a value is NaN or infinite)") }
        if error is CocoaError || error is POSIXError || type(of: error) == NSError.self {
            let e = error as NSError
            let file = (e.userInfo[NSFilePathErrorKey] as? String).map { "\($0): " } ?? ""
            let reason = (e.userInfo[NSUnderlyingErrorKey] as? NSError).map { String(cString: strerror(Int32($0.code))) }
            return UserFacingError(capped: file + (reason ?? e.localizedDescription))
        }
        if ["Detection", "Numerics", "Backbones", "ImageIO", "Console", "stpm"].contains(module),
           String(describing: error).count > maxLength {
            return UserFacingError(capped: String(describing: error))
        }
        return error
    }

    init(capped text: String) {
        description = text.count > Self.maxLength ? String(text.prefix(Self.maxLength)) + "… (message cut)" : text
    }
}
