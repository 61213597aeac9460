import Foundation
import Numerics

/// Where teacher weights live: `$STPM_HOME/weights` (default `~/.cache/stpm/weights`), written by
/// `scripts/fetch-weights`. ResNet-18 has no downloadable ImageNet weights here: the user supplies a
/// safetensors file converted from torchvision (see README).
public enum TeacherWeights {
    public static var home: String {
        if let h = ProcessInfo.processInfo.environment["STPM_HOME"], !h.isEmpty { return h }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/stpm").path
    }

    public static var directory: String { home + "/weights" }

    public static func defaultPath(for kind: BackboneKind) -> String { directory + "/" + kind.teacherFileName }

    /// The weight file to use, or an error saying how to get one.
    public static func locate(_ kind: BackboneKind, override: String? = nil) throws -> String {
        if let override {
            guard FileManager.default.fileExists(atPath: override) else { throw TeacherWeightsError.missingFile(override) }
            return override
        }
        let path = defaultPath(for: kind)
        guard FileManager.default.fileExists(atPath: path) else { throw TeacherWeightsError.notFetched(kind, path) }
        return path
    }

    /// A teacher network with its pretrained weights loaded (BatchNorm folded).
    public static func loadTeacher(_ kind: BackboneKind, override: String? = nil) throws -> FeatureExtractor {
        let teacher = kind.make(role: .teacher)
        try teacher.load(from: SafetensorsFile(path: try locate(kind, override: override)))
        return teacher
    }
}

public enum TeacherWeightsError: Error, CustomStringConvertible {
    case missingFile(String)
    case notFetched(BackboneKind, String)

    public var description: String {
        switch self {
        case .missingFile(let p): return "teacher weights file \(p) does not exist"
        case .notFetched(.resnet18, let p):
            return "no ResNet-18 weights at \(p): ImageNet ResNet-18 weights cannot be downloaded here; convert your own "
                + "torchvision weights to safetensors (see README, 'Using the paper's ResNet-18') and pass --teacher-weights FILE"
        case .notFetched(let k, let p):
            return "no \(k.rawValue) teacher weights at \(p): run scripts/fetch-weights (or `make weights`) to download and convert them"
        }
    }
}
