import XCTest
@testable import Numerics
import TestSupport

/// Winograd F(4x4, 3x3) against a direct convolution in Double, next to im2col on the same inputs.
///
/// The shapes cover what the tiling must get right: sizes that are not multiples of the 4x4 tile (the
/// cut tiles at the bottom/right), a single pixel, batches whose tile count is not a multiple of the
/// eight SIMD lanes (lanes then run across images), channel counts that are not multiples of 8.
final class WinogradTests: XCTestCase {
    struct Shape { var c: Int, o: Int, n: Int, h: Int, w: Int }

    let shapes = [
        Shape(c: 3, o: 5, n: 1, h: 7, w: 9),
        Shape(c: 5, o: 3, n: 2, h: 13, w: 6),
        Shape(c: 8, o: 4, n: 3, h: 4, w: 4),
        Shape(c: 17, o: 11, n: 2, h: 9, w: 17),
        Shape(c: 1, o: 1, n: 1, h: 1, w: 1),
        Shape(c: 2, o: 3, n: 3, h: 2, w: 3),
        Shape(c: 64, o: 40, n: 1, h: 16, w: 16),
        Shape(c: 130, o: 9, n: 2, h: 11, w: 5),
        Shape(c: 9, o: 6, n: 3, h: 21, w: 19),
    ]

    /// y[o, n, i, j] = bias[o] + sum over c, ky, kx of w[o, c, ky, kx] x[c, n, i + ky - 1, j + kx - 1], in Double.
    func direct(_ x: Tensor, _ conv: Conv2d) -> [Double] {
        let o = conv.outChannels, w = conv.weight.value
        var y = [Double](repeating: 0, count: o * x.n * x.h * x.w)
        for oc in 0..<o {
            for n in 0..<x.n {
                for i in 0..<x.h {
                    for j in 0..<x.w {
                        var s = Double(conv.bias?.value[oc] ?? 0)
                        for c in 0..<x.c {
                            for ky in 0..<3 {
                                let yy = i + ky - 1
                                guard yy >= 0 && yy < x.h else { continue }
                                for kx in 0..<3 {
                                    let xx = j + kx - 1
                                    guard xx >= 0 && xx < x.w else { continue }
                                    s += Double(w[((oc * x.c + c) * 3 + ky) * 3 + kx]) * Double(x[c, n, yy, xx])
                                }
                            }
                        }
                        y[((oc * x.n + n) * x.h + i) * x.w + j] = s
                    }
                }
            }
        }
        return y
    }

    /// max |y - ref| / max |ref|; infinite when y holds a NaN (an element left unwritten).
    func error(_ y: Tensor, _ ref: [Double]) -> Double {
        var diff = 0.0, peak = 0.0
        for i in 0..<ref.count {
            guard !y.data[i].isNaN else { return .infinity }
            diff = max(diff, abs(Double(y.data[i]) - ref[i]))
            peak = max(peak, abs(ref[i]))
        }
        return diff / peak
    }

    /// Winograd's forward into an output buffer filled with NaN first, so that an output element it
    /// fails to write cannot pass on a value left there by an earlier forward.
    func winograd(_ conv: Conv2d, _ x: Tensor, _ ws: Workspace, _ activation: Activation = .identity) -> Tensor {
        conv.output.resize(c: conv.outChannels, n: x.n, h: x.h, w: x.w)
        conv.output.data.update(repeating: .nan, count: conv.output.count)
        return conv.forward(x, ws, activation: activation, algorithm: .winograd)
    }

    func makeConv(_ s: Shape, label: String, bias: Bool = true) -> (Conv2d, Tensor) {
        var rng = SplitMix64(label: label)
        let conv = Conv2d(name: label, inChannels: s.c, outChannels: s.o, kernel: 3, padding: .fixed(.symmetric(1)), bias: bias)
        conv.weight.randomize(&rng)
        conv.bias?.randomize(&rng)
        return (conv, Tensor.random(c: s.c, n: s.n, h: s.h, w: s.w, &rng))
    }

    /// F(4x4, 3x3) rounds about ten times more than a direct sum: its transforms multiply by up to 5 (Bᵀ)
    /// and 8 (Aᵀ) and divide by 24 (G), so each product carries the rounding of values several times its
    /// size. Over these shapes (unit-normal inputs and weights), the worst error relative to the output's
    /// peak was 5.9e-6 for Winograd against 5.0e-7 for im2col, growing slowly with the channel count.
    /// 2e-5 leaves room for that growth and other seeds, and stays 5x inside the 1e-4 the backbones'
    /// parity tests allow; a wrong coefficient or a dropped tile row moves outputs by 1e-2 or more.
    let tolerance = 2e-5

    func testMatchesDirectConvolution() {
        for (k, s) in shapes.enumerated() {
            let (conv, x) = makeConv(s, label: "winograd\(k)")
            let ref = direct(x, conv)
            let ws = Workspace()
            let eIm2col = error(conv.forward(x, ws, activation: .identity, algorithm: .im2col), ref)
            let eWinograd = error(winograd(conv, x, ws), ref)
            print("Winograd \(s): relative error \(String(format: "%.2e", eWinograd)) (im2col \(String(format: "%.2e", eIm2col)))")
            XCTAssertLessThanOrEqual(eWinograd, tolerance, "\(s)")
        }
    }

    /// The epilogue (bias, then ReLU or ReLU6) equals im2col's, which the gradient checks cover.
    func testEpilogueMatchesIm2col() {
        let s = Shape(c: 6, o: 7, n: 2, h: 10, w: 7)
        for activation in [Activation.relu, .relu6] {
            let (conv, x) = makeConv(s, label: "epilogue-\(activation)")
            for i in 0..<conv.bias!.count { conv.bias!.value[i] *= 4 }
            let ws = Workspace()
            let expected = conv.forward(x, ws, activation: activation, algorithm: .im2col).array
            let got = winograd(conv, x, ws, activation).array
            XCTAssertFalse(got.contains { $0.isNaN }, "\(activation): output left unwritten")
            XCTAssertTrue(expected.contains(6) || activation == .relu, "ReLU6 never clipped: the test would not see it")
            XCTAssertLessThanOrEqual(relativeError(got, expected), tolerance, "\(activation)")
        }
    }

    /// The input gradient by Winograd (each kernel turned by 180°, inputs and outputs swapped) against
    /// im2col's, which the gradient checks cover; both with the same weight gradient. The turned filter
    /// follows an SGD step.
    func testInputGradientMatchesIm2col() {
        for (k, s) in shapes.enumerated() {
            let (conv, x) = makeConv(s, label: "input-gradient\(k)")
            var rng = SplitMix64(label: "input-gradient-dy\(k)")
            let dy = Tensor.random(c: s.o, n: s.n, h: s.h, w: s.w, &rng)
            let ws = Workspace()
            for step in 0..<2 {
                conv.forward(x, ws)
                let expected = conv.backward(x, dy, ws, needInputGrad: true, into: nil, algorithm: .im2col).array
                let weightGrad = Array(UnsafeBufferPointer(start: conv.weight.grad!, count: conv.weight.count))
                conv.inputGrad.data.update(repeating: .nan, count: conv.inputGrad.count)
                let got = conv.backward(x, dy, ws, needInputGrad: true, into: nil, algorithm: .winograd).array
                XCTAssertFalse(got.contains { $0.isNaN }, "\(s): input gradient left unwritten")
                XCTAssertLessThanOrEqual(relativeError(got, expected), tolerance, "\(s) step \(step)")
                XCTAssertEqual(Array(UnsafeBufferPointer(start: conv.weight.grad!, count: conv.weight.count)), weightGrad)
                SGD(learningRate: 0.1).step([conv.weight])
            }
        }
    }

    /// dL/dw[o, c, ky, kx] = sum over n, i, j of dy[o, n, i, j] x[c, n, i + ky - 1, j + kx - 1], in Double.
    func directWeightGradient(_ x: Tensor, _ dy: Tensor) -> [Double] {
        var dw = [Double](repeating: 0, count: dy.c * x.c * 9)
        for o in 0..<dy.c {
            for c in 0..<x.c {
                for ky in 0..<3 {
                    for kx in 0..<3 {
                        var s = 0.0
                        for n in 0..<x.n {
                            for i in 0..<x.h where i + ky - 1 >= 0 && i + ky - 1 < x.h {
                                for j in 0..<x.w where j + kx - 1 >= 0 && j + kx - 1 < x.w {
                                    s += Double(dy[o, n, i, j]) * Double(x[c, n, i + ky - 1, j + kx - 1])
                                }
                            }
                        }
                        dw[((o * x.c + c) * 3 + ky) * 3 + kx] = s
                    }
                }
            }
        }
        return dw
    }

    /// max |dw - ref| / max |ref| for the weight gradient `conv` holds; infinite for a NaN.
    func weightError(_ conv: Conv2d, _ ref: [Double]) -> Double {
        var diff = 0.0, peak = 0.0
        for (i, g) in conv.weight.gradients.enumerated() {
            guard !g.isNaN else { return .infinity }
            diff = max(diff, abs(Double(g) - ref[i]))
            peak = max(peak, abs(ref[i]))
        }
        return diff / peak
    }

    /// The weight gradient's backward with `algorithm`, into a gradient filled with NaN first.
    func weightGradient(_ conv: Conv2d, _ x: Tensor, _ dy: Tensor, _ ws: Workspace, _ algorithm: Conv2d.Algorithm,
                        needInputGrad: Bool = true) {
        conv.weight.enableGrad()
        conv.weight.grad!.update(repeating: .nan, count: conv.weight.count)
        conv.backward(x, dy, ws, needInputGrad: needInputGrad, into: nil, algorithm: nil, weightAlgorithm: algorithm)
    }

    /// The weight gradient by Winograd (Gᵀ [Σ_t (A dy_t Aᵀ) ⊙ (Bᵀ x_t B)] G) against a direct sum in Double, next to
    /// im2col's, over the ragged shapes; also in bands of one and two images (`Workspace.columnLimit`), and
    /// without dL/dx (the first layer). Each product is summed over the batch's tiles in the transformed domain,
    /// where values run up to ~100x (Bᵀ) and ~80x (A) the inputs, before Gᵀ divides by up to 24: on these
    /// shapes the worst error was 2.9e-6 relative to the gradient's peak (im2col 6.0e-7).
    func testWeightGradientMatchesDirectSum() {
        for (k, s) in shapes.enumerated() {
            let (conv, x) = makeConv(s, label: "weight-gradient\(k)")
            var rng = SplitMix64(label: "weight-gradient-dy\(k)")
            let dy = Tensor.random(c: s.o, n: s.n, h: s.h, w: s.w, &rng)
            let ref = directWeightGradient(x, dy)
            let ws = Workspace()
            weightGradient(conv, x, dy, ws, .im2col)
            let eIm2col = weightError(conv, ref)
            weightGradient(conv, x, dy, ws, .winograd)
            let eWinograd = weightError(conv, ref)
            print("Winograd dL/dw \(s): relative error \(String(format: "%.2e", eWinograd)) (im2col \(String(format: "%.2e", eIm2col)))")
            XCTAssertLessThanOrEqual(eWinograd, tolerance, "\(s)")
            weightGradient(conv, x, dy, ws, .winograd, needInputGrad: false)
            XCTAssertLessThanOrEqual(weightError(conv, ref), tolerance, "\(s) without dL/dx")
            for images in [1, 2] where images < s.n {
                let banded = Workspace()
                banded.columnLimit = WinogradGeometry(c: s.c, o: s.o, n: s.n, h: s.h, w: s.w).weightGradientBand(images)
                weightGradient(conv, x, dy, banded, .winograd)
                XCTAssertLessThanOrEqual(weightError(conv, ref), tolerance, "\(s) in bands of \(images)")
            }
        }
    }

    /// On the backbones' stride-1 3x3 shapes at a training batch of 8 (256 px: resnet18's three stages; up to 2048
    /// tiles summed per product), the Winograd weight gradient against im2col's: 2.7e-6, 5.6e-6 and 8.5e-6 of the
    /// peak on these inputs.
    func testWeightGradientOnBackboneShapes() {
        for s in [Shape(c: 64, o: 64, n: 8, h: 64, w: 64), Shape(c: 128, o: 128, n: 8, h: 32, w: 32),
                  Shape(c: 256, o: 256, n: 8, h: 16, w: 16)] {
            let (conv, x) = makeConv(s, label: "backbone-\(s.c)", bias: false)
            var rng = SplitMix64(label: "backbone-dy-\(s.c)")
            let dy = Tensor.random(c: s.o, n: s.n, h: s.h, w: s.w, &rng)
            let ws = Workspace()
            weightGradient(conv, x, dy, ws, .im2col, needInputGrad: false)
            let expected = conv.weight.gradients
            weightGradient(conv, x, dy, ws, .winograd, needInputGrad: false)
            let got = conv.weight.gradients
            XCTAssertFalse(got.contains { $0.isNaN }, "\(s): weight gradient left unwritten")
            var diff: Float = 0, peak: Float = 0
            for i in got.indices { diff = max(diff, abs(got[i] - expected[i])); peak = max(peak, abs(expected[i])) }
            print("Winograd dL/dw \(s): \(String(format: "%.2e", diff / peak)) of the peak from im2col's")
            XCTAssertLessThanOrEqual(diff / peak, Float(tolerance), "\(s)")
        }
    }

    /// The cached filter transform follows the weights through an SGD step and a reload.
    func testFilterTransformFollowsWeightChanges() {
        let s = Shape(c: 4, o: 5, n: 1, h: 8, w: 8)
        let (conv, x) = makeConv(s, label: "cache", bias: false)
        let ws = Workspace()
        _ = winograd(conv, x, ws)
        conv.weight.enableGrad()
        for i in 0..<conv.weight.count { conv.weight.grad![i] = Float(i % 7) - 3 }
        SGD(learningRate: 0.5).step([conv.weight])
        XCTAssertLessThanOrEqual(error(winograd(conv, x, ws), direct(x, conv)), tolerance, "after SGD")
        conv.weight.values = conv.weight.values.map { -$0 }
        XCTAssertLessThanOrEqual(error(winograd(conv, x, ws), direct(x, conv)), tolerance, "after reload")
    }
}

/// The measured rule (Conv2d.preferredAlgorithm) sends the backbones' 3x3 layers to Winograd and the
/// shapes where it loses to im2col.
final class WinogradRuleTests: XCTestCase {
    func algorithm(c: Int, n: Int = 1, size: Int, stride: Int = 1, padding: Conv2d.PaddingMode = .fixed(.symmetric(1))) -> Conv2d.Algorithm? {
        let conv = Conv2d(name: "rule", inChannels: c, outChannels: c, kernel: 3, stride: stride, padding: padding)
        let g = conv.geometry(Tensor(c: c, n: n, h: size, w: size))
        return conv.admitsWinograd(g) ? conv.preferredAlgorithm(g) : nil
    }

    func testRule() {
        XCTAssertEqual(algorithm(c: 64, size: 64), .winograd)
        XCTAssertEqual(algorithm(c: 256, size: 16), .winograd)
        XCTAssertEqual(algorithm(c: 32, n: 8, size: 64), .winograd)
        XCTAssertEqual(algorithm(c: 256, size: 8), .im2col, "4 tiles")
        XCTAssertEqual(algorithm(c: 256, n: 4, size: 8), .winograd, "16 tiles")
        XCTAssertEqual(algorithm(c: 8, size: 64), .im2col, "8 channels")
        XCTAssertNil(algorithm(c: 64, size: 64, stride: 2))
        XCTAssertNil(algorithm(c: 64, size: 64, padding: .fixed(.none)))
    }

    func weightAlgorithm(c: Int, n: Int = 1, size: Int) -> Conv2d.Algorithm {
        let conv = Conv2d(name: "rule", inChannels: c, outChannels: c, kernel: 3, padding: .fixed(.symmetric(1)))
        return conv.preferredWeightGradientAlgorithm(conv.geometry(Tensor(c: c, n: n, h: size, w: size)))
    }

    func testWeightGradientRule() {
        XCTAssertEqual(weightAlgorithm(c: 64, n: 8, size: 64), .winograd)
        XCTAssertEqual(weightAlgorithm(c: 256, n: 8, size: 16), .winograd)
        XCTAssertEqual(weightAlgorithm(c: 64, n: 2, size: 16), .winograd, "32 tiles")
        XCTAssertEqual(weightAlgorithm(c: 8, size: 64), .winograd, "8 channels")
        XCTAssertEqual(weightAlgorithm(c: 256, size: 16), .im2col, "16 tiles")
        XCTAssertEqual(weightAlgorithm(c: 4, n: 8, size: 64), .im2col, "4 channels")
    }
}
