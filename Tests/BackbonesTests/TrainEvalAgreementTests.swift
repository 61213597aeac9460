import XCTest
import Numerics
@testable import Backbones
import TestSupport

/// Training's forward pass and inference's are separate code (batch statistics read channel by channel
/// inside the depthwise and GEMM passes, against BatchNorm folded into the weights), and only inference
/// is checked against ../shared/reference. Given running statistics equal to the last batch's, the two
/// must compute the same taps. The gradient checks cannot see a training forward that is wrong the same
/// way its backward is (ReLU where ReLU6 belongs: both sides of the check agree); this test can.
final class TrainEvalAgreementTests: XCTestCase {
    /// BatchNorm scales of 2-6 put a fifth to a half of every activation's input above 6, so ReLU6 clips
    /// in every block (at scales near 1, as a trained network and the gradient checks have, it never does).
    func check(_ kind: BackboneKind, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        var rng = SplitMix64(seed: seed)
        let net = kind.make(role: .student)
        randomize(net.parameters, scales: 2...6, shifts: -1...1, &rng)
        let x = Tensor(c: 3, n: 2, h: 64, w: 64)
        for i in 0..<x.count { x.data[i] = rng.normal() }

        net.setTraining(true)
        let trained = net.forward(x).map(\.array)
        var clipped = 0
        for unit in net.units {
            guard let bn = unit.bn else { continue }
            for c in 0..<bn.channels {
                // evalAffine's scale w / sqrt(var + eps) and shift b - mean * scale, made the batch's.
                let (scale, shift) = bn.batchAffine(c)
                let w = Double(bn.weight.value[c])
                bn.runningVar.value[c] = Float((w / Double(scale)) * (w / Double(scale)) - Double(bn.eps))
                bn.runningMean.value[c] = Float((Double(bn.bias.value[c]) - Double(shift)) / Double(scale))
            }
            if unit.activation == .relu6 { clipped += 1 }
        }
        for p in net.state { p.markChanged() }
        net.setTraining(false)
        let inferred = net.forward(x).map(\.array)

        if kind == .efficientnetLite0 { XCTAssertGreaterThan(clipped, 20, "ReLU6 units", file: file, line: line) }
        for (level, (a, b)) in zip(inferred, trained).enumerated() {
            let e = assertClose(a, b, tolerance: 5e-4, "\(kind.rawValue) tap \(level + 1)", file: file, line: line)
            print("TrainEvalAgreement \(kind.rawValue) tap \(level + 1): relative error \(String(format: "%.2e", e))")
        }
    }

    func testEfficientNetLite0() { check(.efficientnetLite0, seed: 0) }
    func testResNet18() { check(.resnet18, seed: 18) }
    func testResNet50Half() { check(.resnet50Half, seed: 50) }
}
