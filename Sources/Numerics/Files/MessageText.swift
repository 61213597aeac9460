import Foundation

/// Text taken from a file for an error message, cut to `limit` characters: a hostile file can hold a
/// key of millions of characters, and the message must stay readable (and small).
public func quoted(_ text: some StringProtocol, limit: Int = 80) -> String {
    let count = text.count
    guard count > limit else { return "'\(text)'" }
    return "'\(text.prefix(limit))…' (\(count) characters)"
}

extension DecodingError {
    /// Where in the JSON and what is wrong, in plain words; Swift's own description is a dump of
    /// coding-path internals. Keys and values from the file are cut with `quoted`.
    public var plainDescription: String {
        func at(_ c: Context) -> String {
            let path = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? String($0.stringValue.prefix(80)) }.joined(separator: ".")
            var what = String(c.debugDescription.prefix(300))
            while what.hasSuffix(".") { what.removeLast() }
            return path.isEmpty ? what : "field \(path): \(what)"
        }
        switch self {
        case let .typeMismatch(type, c): return at(c) + " (expected \(type))"
        case let .valueNotFound(_, c): return at(c)
        case let .keyNotFound(k, c):
            let parent = c.codingPath.map(\.stringValue).joined(separator: ".")
            return "missing field \(quoted(k.stringValue))" + (parent.isEmpty ? "" : " in \(parent)")
        case let .dataCorrupted(c):
            // Foundation's JSON syntax errors carry the underlying NSError, whose text is not for users.
            return c.codingPath.isEmpty ? "not valid JSON" : at(c)
        @unknown default: return "unreadable"
        }
    }
}
