import Foundation

/// One line of the watch log: an image scored, or reported as unreadable.
public struct WatchRecord: Codable, Equatable, Sendable {
    public enum Verdict: String, Codable, Sendable {
        case ok, flagged, unreadable
    }

    public var path: String
    public var size: Int64
    /// The file's modification time, ISO 8601 UTC, for people.
    public var mtime: String
    /// The same in nanoseconds: with path and size, the identity the restart index matches exactly.
    public var mtimeNs: Int64
    public var score: Float?
    public var threshold: Float?
    public var verdict: Verdict
    /// Why the image could not be read (unreadable), or why its flagged copies could not be written.
    public var error: String?
    /// How the --on-flag command failed, when it did.
    public var hook: String?
    /// When the line was written, ISO 8601 UTC.
    public var time: String
    /// Seconds from the file's modification to its line.
    public var lag: Double

    enum CodingKeys: String, CodingKey {
        case path, size, mtime, mtimeNs = "mtime_ns", score, threshold, verdict, error, hook, time, lag
    }

    public var file: FileState { FileState(size: size, mtimeNs: mtimeNs) }

    /// The key under which the log index remembers this version of this file.
    public static func key(path: String, file: FileState) -> UInt64 {
        var hash = StableHash()
        hash.combine(path)
        hash.combine(file.size)
        hash.combine(file.mtimeNs)
        return hash.value
    }

    /// The record as one line, keys in a fixed order (path first) so the log reads well; absent fields left out.
    public func jsonLine() throws -> Data {
        func text(_ value: String) throws -> String {
            String(decoding: try WatchRecord.stringEncoder.encode(value), as: UTF8.self)
        }
        var fields = ["\"path\":" + (try text(path)), "\"size\":\(size)", "\"mtime\":" + (try text(mtime)), "\"mtime_ns\":\(mtimeNs)"]
        // A NaN score (a broken model) stays valid JSON.
        if let score { fields.append("\"score\":" + (score.isFinite ? "\(score)" : "null")) }
        if let threshold { fields.append("\"threshold\":\(threshold)") }
        fields.append("\"verdict\":\"\(verdict.rawValue)\"")
        if let error { fields.append("\"error\":" + (try text(error))) }
        if let hook { fields.append("\"hook\":" + (try text(hook))) }
        fields += ["\"time\":" + (try text(time)), "\"lag\":\(lag)"]
        return Data(("{" + fields.joined(separator: ",") + "}\n").utf8)
    }

    private static let stringEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return encoder
    }()
}

/// ISO 8601 UTC with milliseconds, the log's time format.
func isoTime(nanoseconds: Int64) -> String {
    let date = Date(timeIntervalSince1970: Double(nanoseconds) / 1e9)
    return date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
}
