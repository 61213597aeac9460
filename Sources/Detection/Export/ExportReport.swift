import Foundation

/// One line of an export's report.csv / report.json.
public struct ExportRow: Codable, Equatable, Sendable {
    public var path: String
    public var type: String
    public var score: Float
    public var flagged: Bool
    public var threshold: Float
    /// Ground truth: the mask has a defect pixel (or, without a mask, the image is in a defect folder).
    public var defective: Bool

    static func csv(_ rows: [ExportRow]) -> ReportsCSV {
        var table = ReportsCSV(header: ["path", "type", "score", "flagged", "threshold", "defective"])
        for r in rows {
            table.append([r.path, r.type, formatScore(r.score), String(r.flagged), formatScore(r.threshold), String(r.defective)])
        }
        return table
    }

    static func json(_ rows: [ExportRow], threshold: Threshold) throws -> Data {
        struct Report: Encodable {
            var threshold: Threshold
            var flagged: Int
            var images: [ExportRow]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(Report(threshold: threshold, flagged: rows.filter(\.flagged).count, images: rows))
    }
}
