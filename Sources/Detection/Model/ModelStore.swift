import Crypto
import FileOutput
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
    /// sha256 of student.safetensors, checked on load (nil in models written before it was recorded).
    public var studentSHA256: String?
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

    /// Creates the directory, or clears the temporary files a killed run left in it.
    /// Returns whether the directory is new, so that a run refused before writing anything can take it back.
    @discardableResult
    public func create() throws -> Bool {
        let existed = FileManager.default.fileExists(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        StaleTemporaries.remove(in: path)
        return !existed
    }

    /// Removes the directory `create()` made if it is still empty: a refused run leaves no folder behind.
    public func removeIfEmpty() {
        guard (try? FileManager.default.contentsOfDirectory(atPath: path))?.isEmpty == true else { return }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// A config.json far beyond any real one (a few kB) is not read into memory.
    static let maxConfigBytes = 1 << 20

    /// The model's configuration, checked against `ModelConfig.problems()` before anything uses it.
    public func loadConfig() throws -> ModelConfig {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: configFile, isDirectory: &isFolder), !isFolder.boolValue else {
            throw ModelStoreError.notAModel(path)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: configFile)[.size] as? Int) ?? 0
        guard size <= Self.maxConfigBytes else {
            throw ModelStoreError.corrupt(configFile, "\(size) bytes, far more than a model configuration holds")
        }
        guard let data = FileManager.default.contents(atPath: configFile) else {
            throw ModelStoreError.corrupt(configFile, "it cannot be read")
        }
        return try ModelConfig.checked(data, file: configFile)
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

    /// Writes the best student and returns its sha256 for config.json.
    public func saveStudent(_ tensors: [NamedTensor], metadata: [String: String]) throws -> String {
        try SafetensorsFile.write(tensors, metadata: metadata, to: studentFile)
        return try SHA256.hex(ofFile: studentFile)
    }

    /// student.safetensors mapped once, for `checkStudent` (its sha256) and `frozenStudent` (its tensors) to read.
    public func mappedStudent() throws -> MappedFile {
        guard FileManager.default.fileExists(atPath: studentFile) else { throw ModelStoreError.noStudent(path) }
        return try MappedFile(path: studentFile)
    }

    /// Refuses a student whose sha256 (`digest`, nil when not computed) differs from the one in `config`;
    /// models written before it was recorded have none to compare.
    public func checkStudent(sha256 digest: String?, _ config: ModelConfig) throws {
        if let expected = config.studentSHA256, digest != expected { throw ModelStoreError.studentMismatch(path) }
    }

    /// A trained student, frozen for inference (BatchNorm folded with its running statistics). Its contents count
    /// only once `checkStudent` has passed: the caller hashes the same file meanwhile.
    public func frozenStudent(from file: MappedFile, _ config: ModelConfig) throws -> FeatureExtractor {
        let student = config.backbone.make(role: .frozenStudent)
        try student.load(from: SafetensorsFile(file))
        return student
    }
}

public enum ModelStoreError: Error, CustomStringConvertible {
    case notAModel(String)
    case corrupt(String, String)
    case noStudent(String)
    case writeFailed(String, String)
    case studentMismatch(String)

    public var description: String {
        switch self {
        case .notAModel(let p): "\(p) is not an stpm model directory (no config.json); train one with `stpm train DATA --out \(p)`"
        case .corrupt(let f, let why): "\(f) is damaged: \(why). Restore it from a backup or train the model again"
        case .noStudent(let p): "\(p) has no trained student yet (student.safetensors appears after the first epoch)"
        case .writeFailed(let f, let why): "could not write \(f): \(why)"
        case .studentMismatch(let p):
            "\(p)/student.safetensors does not match the sha256 recorded in config.json: the file is damaged, or a training "
                + "was killed between saving the two. Continue the training with `stpm train DATA --out \(p) --resume`, or train again"
        }
    }
}

/// Writes `data` atomically (`AtomicFile`); a failure is a `ModelStoreError.writeFailed` naming `path`.
public func writeAtomically(_ data: Data, to path: String) throws {
    do {
        try AtomicFile.write([UInt8](data), to: path)
    } catch let error as FileOutputError {
        throw ModelStoreError.writeFailed(path, error.reason)
    }
}
