import Foundation

/// One line of an export's report.csv / report.json.
public struct ExportRow: Codable, Equatable, Sendable {
    public var path: String
    public var type: String
    /// nil when the model gave no finite score (such an image is flagged).
    public var score: Float?
    /// Over the threshold or flagged by hand: the images the export drew panels and masks for.
    public var flagged: Bool
    public var threshold: Float
    /// Ground truth by `GroundTruth`'s rule.
    public var defective: Bool
    /// The model's verdict alone: score >= threshold.
    public var overThreshold: Bool
    /// The reviewer's verdict: flagged by hand in the console.
    public var manualFlag: Bool

    enum CodingKeys: String, CodingKey {
        case path, type, score, flagged, threshold, defective
        case overThreshold = "over_threshold", manualFlag = "manual_flag"
    }

    static func csv(_ rows: [ExportRow]) -> ReportsCSV {
        var table = ReportsCSV(header: ["path", "type", "score", "flagged", "threshold", "defective", "over_threshold", "manual_flag"])
        for r in rows {
            table.append([r.path, r.type, r.score.map(formatScore) ?? "nan", String(r.flagged), formatScore(r.threshold), String(r.defective),
                          String(r.overThreshold), String(r.manualFlag)])
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
