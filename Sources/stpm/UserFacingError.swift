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
            // The system's reason is at the end of the chain of underlying errors.
            var cause: NSError?
            while let deeper = (cause ?? e).userInfo[NSUnderlyingErrorKey] as? NSError { cause = deeper }
            let reason = cause.map { $0.domain == NSPOSIXErrorDomain ? String(cString: strerror(Int32($0.code))) : plainReason($0) }
            return UserFacingError(capped: file + ((reason ?? plainReason(e)) ?? e.localizedDescription))
        }
        if ["Detection", "Numerics", "Backbones", "ImageIO", "Console", "stpm"].contains(module),
           String(describing: error).count > maxLength {
            return UserFacingError(capped: String(describing: error))
        }
        return error
    }

    /// Foundation's own words for these are "The operation could not be completed. ...".
    private static func plainReason(_ error: NSError) -> String? {
        guard error.domain == NSCocoaErrorDomain else { return nil }
        switch CocoaError.Code(rawValue: error.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: return "does not exist"
        case .fileWriteFileExists: return "already exists"
        case .fileReadNoPermission, .fileWriteNoPermission: return "permission denied"
        case .fileWriteOutOfSpace: return "no space left on the device"
        case .fileWriteVolumeReadOnly: return "the volume is read-only"
        default: return nil
        }
    }

    init(capped text: String) {
        description = text.count > Self.maxLength ? String(text.prefix(Self.maxLength)) + "… (message cut)" : text
    }
}
