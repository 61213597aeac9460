import Foundation

/// A CSV table (RFC 4180 quoting: fields with a comma, quote or line break are quoted, quotes doubled).
public struct ReportsCSV {
    public var header: [String]
    public var rows: [[String]] = []

    public init(header: [String]) { self.header = header }

    public mutating func append(_ row: [String]) {
        precondition(row.count == header.count, "CSV row has \(row.count) fields, header \(header.count)")
        rows.append(row)
    }

    public var text: String {
        ([header] + rows).map { $0.map(Self.field).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Replaces `path` atomically (see `writeAtomically`).
    public func write(to path: String) throws {
        try writeAtomically(Data(text.utf8), to: path)
    }
}

/// Scores print with 6 significant digits: enough to tell neighbours apart, short enough to read.
public func formatScore(_ x: Float) -> String { String(format: "%.6g", Double(x)) }
