import Numerics

/// The backbones stpm can use as teacher (and, with trainable BatchNorm, as student).
public enum BackboneKind: String, CaseIterable, Codable, Sendable {
    case resnet18
    case efficientnetLite0 = "efficientnet-lite0"
    case resnet50Half = "resnet50-1by2"

    public var tapChannels: [Int] {
        switch self {
        case .resnet18: [64, 128, 256]
        case .efficientnetLite0: [24, 40, 112]
        case .resnet50Half: [128, 256, 512]
        }
    }

    public func make(role: Role) -> FeatureExtractor {
        switch self {
        case .resnet18: ResNet18.make(role: role)
        case .efficientnetLite0: EfficientNetLite0.make(role: role)
        case .resnet50Half: ResNet50Half.make(role: role)
        }
    }

    /// The file the setup step writes for this teacher, relative to the weights directory.
    public var teacherFileName: String {
        switch self {
        case .resnet18: "resnet18.safetensors"
        case .efficientnetLite0: "efficientnet_lite0.safetensors"
        case .resnet50Half: "resnet50_1by2.safetensors"
        }
    }

    /// Converts RGB bytes (0...255 as Float, channel-major, channels R, G, B) in place into what the
    /// network was trained on.
    public func normalize(_ t: Tensor) {
        precondition(t.c == 3, "normalisation needs RGB")
        let row = t.rowLength
        func apply(_ c: Int, _ f: (Float) -> Float) { let p = t.data + c * row; for i in 0..<row { p[i] = f(p[i]) } }
        switch self {
        case .resnet18:
            let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
            for c in 0..<3 { apply(c) { ($0 / 255 - mean[c]) / std[c] } }
        case .efficientnetLite0:
            for c in 0..<3 { apply(c) { ($0 - 127) / 128 } }
        case .resnet50Half:
            // Caffe order: B, G, R minus per-channel means.
            let r = t.data, b = t.data + 2 * row
            for i in 0..<row { let tmp = r[i]; r[i] = b[i]; b[i] = tmp }
            let mean: [Float] = [104, 117, 123]
            for c in 0..<3 { apply(c) { $0 - mean[c] } }
        }
    }
}

extension BackboneKind {
    public var normalizationDescription: String {
        switch self {
        case .resnet18: "RGB, (x/255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]"
        case .efficientnetLite0: "RGB, (x - 127) / 128"
        case .resnet50Half: "BGR, x - [104, 117, 123]"
        }
    }
}

extension BackboneKind {
    /// A config.json naming an unknown backbone gets the list of known ones, not Swift's enum error.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let kind = BackboneKind(rawValue: name) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription:
                "unknown backbone \(quoted(name)) (known: \(BackboneKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self = kind
    }
}
