import Foundation

/// A PNG that cannot be read or written; `message` is libpng's (or the OS's) reason.
public struct ImageIOError: Error, CustomStringConvertible, LocalizedError, Equatable, Sendable {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
    public var errorDescription: String? { description }
}
