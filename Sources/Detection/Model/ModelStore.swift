import Foundation
import Numerics
import Backbones

/// What describes a trained model, stored as config.json in the model directory.
public struct ModelConfig: Codable, Sendable {
    public var format = 1
    public var backbone: BackboneKind
    public var tapChannels: [Int]
    public var size: Int
    public var normalization: String
    public var teacherWeights: String
    public var teacherWeightsSHA256: String
    public var training: TrainingOptions
    public var trainImages: Int
    public var validationImages: Int
    public var bestEpoch: Int?
    public var bestValidationScore: Double?
    public var threshold: Threshold?
}

/// A model directory and the files in it. Every file is replaced atomically (temporary file, fsync,
/// rename), so an interruption at any moment leaves either the old or the new version.
public struct ModelStore: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public var configFile: String { path + "/config.json" }
    public var studentFile: String { path + "/student.safetensors" }
    public var checkpointFile: String { path + "/checkpoint.safetensors" }
    public var trainLogFile: String { path + "/train_log.jsonl" }
    public var validationFile: String { path + "/validation.jsonl" }
    public var normalScoresFile: String { path + "/normal_scores.json" }
    public func snapshotFile(epoch: Int) -> String { path + "/student_epoch\(epoch).safetensors" }

    public var exists: Bool { FileManager.default.fileExists(atPath: configFile) }

    public func create() throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func loadConfig() throws -> ModelConfig {
        guard let data = FileManager.default.contents(atPath: configFile) else {
            throw ModelStoreError.notAModel(path)
        }
        do { return try JSONDecoder().decode(ModelConfig.self, from: data) } catch {
            throw ModelStoreError.corrupt(configFile, "\(error)")
        }
    }

    public func save(_ config: ModelConfig) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try encoder.encode(config), to: configFile)
    }

    public func loadNormalScores() -> [Float] {
        guard let data = FileManager.default.contents(atPath: normalScoresFile),
              let scores = try? JSONDecoder().decode([Float].self, from: data) else { return [] }
        return scores
    }

    public func saveNormalScores(_ scores: [Float]) throws {
        try writeAtomically(try JSONEncoder().encode(scores), to: normalScoresFile)
    }

    /// A trained student, frozen for inference (BatchNorm folded with its running statistics).
    public func loadStudent(_ kind: BackboneKind) throws -> FeatureExtractor {
        guard FileManager.default.fileExists(atPath: studentFile) else { throw ModelStoreError.noStudent(path) }
        let student = kind.make(role: .frozenStudent)
        try student.load(from: SafetensorsFile(path: studentFile))
        return student
    }
}

public enum ModelStoreError: Error, CustomStringConvertible {
    case notAModel(String)
    case corrupt(String, String)
    case noStudent(String)
    case writeFailed(String, String)

    public var description: String {
        switch self {
        case .notAModel(let p): "\(p) is not an stpm model directory (no config.json); train one with `stpm train DATA --out \(p)`"
        case .corrupt(let f, let why): "\(f) is damaged: \(why)"
        case .noStudent(let p): "\(p) has no trained student yet (student.safetensors appears after the first epoch)"
        case .writeFailed(let f, let why): "could not write \(f): \(why)"
        }
    }
}

/// Writes `data` to a temporary file beside `path`, flushes it to disk and renames it over `path`.
public func writeAtomically(_ data: Data, to path: String) throws {
    let dir = (path as NSString).deletingLastPathComponent
    let tmp = dir + "/." + (path as NSString).lastPathComponent + ".\(getpid()).tmp"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw ModelStoreError.writeFailed(path, String(cString: strerror(errno))) }
    var ok = true
    var reason = ""
    data.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n <= 0 { ok = false; reason = String(cString: strerror(errno)); return }
            offset += n
        }
    }
    if ok && fsync(fd) != 0 { ok = false; reason = String(cString: strerror(errno)) }
    close(fd)
    guard ok, rename(tmp, path) == 0 else {
        if ok { reason = String(cString: strerror(errno)) }
        unlink(tmp)
        throw ModelStoreError.writeFailed(path, reason)
    }
}
