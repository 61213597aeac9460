import Foundation

/// A problem in a theme or colormap file, located so the user can fix it.
public struct ThemeError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var message: String

    public init(file: String, line: Int?, message: String) {
        self.file = file; self.line = line; self.message = message
    }

    public var description: String {
        line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)"
    }
}

/// Reads the `key = "value"` format shared by `*.theme` files and `colormaps.conf`:
/// one setting per line, `#` starts a comment, quotes are optional for one-word values.
public enum ThemeParser {
    public struct Entry: Equatable {
        public var key: String, value: String, line: Int
    }

    public static func entries(_ text: String, file: String) throws -> [Entry] {
        var result: [Entry] = []
        var seen: Set<String> = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            let s = raw.trimmingCharacters(in: .whitespaces)
            if s.isEmpty || s.hasPrefix("#") { continue }
            func fail(_ m: String) -> ThemeError { ThemeError(file: file, line: line, message: m) }
            guard let eq = s.firstIndex(of: "=") else { throw fail("expected key = \"value\", got \"\(s)\"") }
            let key = s[..<eq].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else { throw fail("missing key before '='") }
            let value = try parseValue(s[s.index(after: eq)...].trimmingCharacters(in: .whitespaces), fail: fail)
            guard seen.insert(key).inserted else { throw fail("duplicate key \"\(key)\"") }
            result.append(Entry(key: key, value: value, line: line))
        }
        return result
    }

    public static func theme(_ text: String, name: String, file: String) throws -> Theme {
        var colors: [ThemeKey: CellColor] = [:]
        for e in try entries(text, file: file) {
            guard let key = ThemeKey(rawValue: e.key) else {
                throw ThemeError(file: file, line: e.line, message: "unknown key \"\(e.key)\"")
            }
            colors[key] = try color(e.value, entry: e, file: file)
        }
        return Theme(name: name, overriding: colors)
    }

    /// Each entry is a colormap name and its space-separated `#RRGGBB` stops, low to high.
    public static func colormaps(_ text: String, file: String) throws -> [Colormap] {
        try entries(text, file: file).map { e in
            let stops = try e.value.split(separator: " ").map { token -> RGB in
                guard let c = RGB(hex: String(token)) else {
                    throw ThemeError(file: file, line: e.line, message: "bad colour \"\(token)\" in colormap \"\(e.key)\" (want #RRGGBB)")
                }
                return c
            }
            guard stops.count >= 2 else {
                throw ThemeError(file: file, line: e.line, message: "colormap \"\(e.key)\" needs at least two stops")
            }
            return Colormap(name: e.key, stops: stops)
        }
    }

    private static func color(_ value: String, entry: Entry, file: String) throws -> CellColor {
        if value.isEmpty { return .terminalDefault }
        guard let c = RGB(hex: value) else {
            throw ThemeError(file: file, line: entry.line, message: "bad colour \"\(value)\" for \(entry.key) (want \"#RRGGBB\" or \"\")")
        }
        return .rgb(c)
    }

    private static func parseValue(_ s: String, fail: (String) -> ThemeError) throws -> String {
        let value: Substring, rest: Substring
        if s.hasPrefix("\"") {
            let body = s.dropFirst()
            guard let close = body.firstIndex(of: "\"") else { throw fail("unterminated quote") }
            value = body[..<close]
            rest = body[body.index(after: close)...]
        } else {
            let end = s.firstIndex(where: { $0 == " " || $0 == "\t" }) ?? s.endIndex
            value = s[..<end]
            rest = s[end...]
        }
        let trailing = rest.trimmingCharacters(in: .whitespaces)
        guard trailing.isEmpty || trailing.hasPrefix("#") else { throw fail("unexpected text after value: \"\(trailing)\"") }
        return String(value)
    }
}
