import XCTest
@testable import Numerics

/// Conv2d's backward (input, weight, bias) against finite differences, over the geometries the
/// backbones use: each takes a different path through im2col/col2im, the pointwise GEMM or the
/// depthwise kernels, and TF-SAME puts the odd padding row/column at the bottom/right.
final class GradientCheckConvTests: XCTestCase {
    struct Case {
        var label: String
        var c: Int, o: Int, n: Int, size: (h: Int, w: Int)
        var kernel: Int, stride: Int, padding: Conv2d.PaddingMode
        var depthwise = false
        var bias = true
        /// Lowers the workspace's column limit to this many images' columns (`Workspace.columnLimit`).
        var imagesPerBand: Int? = nil
        /// Both gradients by Winograd (3x3 stride 1 padded by 1 only), whatever `preferredAlgorithm` says.
        var winograd = false
    }

    // Convolution is linear in each of x, w, b, so differences are exact up to rounding (errors seen
    // stay below 3e-5): a wide step keeps that noise small and a tight tolerance catches partial sums.
    let check = GradientCheck(h: 1e-2, tolerance: 2e-4)

    func run(_ k: Case, file: StaticString = #filePath, line: UInt = #line) {
        var rng = SplitMix64(label: k.label)
        let conv = Conv2d(name: "conv", inChannels: k.c, outChannels: k.o, kernel: k.kernel, stride: k.stride,
                          padding: k.padding, groups: k.depthwise ? k.c : 1, bias: k.bias)
        conv.weight.randomize(&rng)
        conv.bias?.randomize(&rng)
        let x = Tensor.random(c: k.c, n: k.n, h: k.size.h, w: k.size.w, &rng)
        let ws = Workspace()
        if let images = k.imagesPerBand {
            let g = conv.geometry(x)
            ws.columnLimit = images * g.colRows * g.oh * g.ow
        }
        var probes = [Probe("input", input: x) { conv.inputGrad }, Probe(conv.weight)]
        if let b = conv.bias { probes.append(Probe(b)) }
        check.assertMatches(k.label, forward: { conv.forward(x, ws) },
                            backward: { conv.backward(x, $0, ws, needInputGrad: true, into: nil, algorithm: k.winograd ? .winograd : nil,
                                                      weightAlgorithm: k.winograd ? .winograd : nil) }, probes: probes,
                            file: file, line: line)
    }

    func testDense3x3Stride1Pad1() {
        run(Case(label: "dense3x3s1p1", c: 3, o: 4, n: 2, size: (5, 5), kernel: 3, stride: 1, padding: .fixed(.symmetric(1))))
        run(Case(label: "dense3x3s1p1-nobias", c: 3, o: 4, n: 3, size: (4, 6), kernel: 3, stride: 1,
                 padding: .fixed(.symmetric(1)), bias: false))
    }

    /// The Winograd weight and input gradients, on sizes that cut the last tile row and column and with more
    /// tiles than one vector of the transforms holds (a batch of 3 at 9x10: 27 tiles).
    func testDense3x3Stride1Pad1Winograd() {
        run(Case(label: "winograd3x3", c: 3, o: 4, n: 2, size: (5, 6), kernel: 3, stride: 1, padding: .fixed(.symmetric(1)),
                 winograd: true))
        run(Case(label: "winograd3x3-wide", c: 5, o: 2, n: 3, size: (9, 10), kernel: 3, stride: 1,
                 padding: .fixed(.symmetric(1)), bias: false, winograd: true))
    }

    /// 6x6 with stride 2 under TF-SAME pads 0 rows above and 1 below.
    func testDense3x3Stride2TFSameEvenSize() {
        XCTAssertEqual(Padding.tfSame(inH: 6, inW: 6, kernel: 3, stride: 2), Padding(top: 0, bottom: 1, left: 0, right: 1))
        run(Case(label: "dense3x3s2-tfsame", c: 3, o: 4, n: 2, size: (6, 6), kernel: 3, stride: 2, padding: .tfSame))
    }

    /// Both spellings of an unpadded 1x1 stride-1 convolution skip im2col.
    func testPointwise() {
        run(Case(label: "pointwise", c: 5, o: 4, n: 2, size: (3, 4), kernel: 1, stride: 1, padding: .fixed(.none)))
        run(Case(label: "pointwise-tfsame-nobias", c: 5, o: 6, n: 3, size: (3, 3), kernel: 1, stride: 1,
                 padding: .tfSame, bias: false))
    }

    func test1x1Stride2() {
        run(Case(label: "1x1s2-even", c: 4, o: 3, n: 2, size: (6, 6), kernel: 1, stride: 2, padding: .fixed(.none), bias: false))
        run(Case(label: "1x1s2-odd", c: 4, o: 3, n: 2, size: (7, 5), kernel: 1, stride: 2, padding: .fixed(.none)))
    }

    func testDense7x7Stride2Pad3() {
        run(Case(label: "dense7x7s2p3", c: 3, o: 4, n: 2, size: (11, 11), kernel: 7, stride: 2,
                 padding: .fixed(.symmetric(3)), bias: false))
        run(Case(label: "dense7x7s2p3-bias", c: 2, o: 3, n: 2, size: (8, 8), kernel: 7, stride: 2, padding: .fixed(.symmetric(3))))
    }

    func testDepthwise3x3() {
        run(Case(label: "dw3x3s1", c: 4, o: 4, n: 2, size: (7, 7), kernel: 3, stride: 1, padding: .tfSame,
                 depthwise: true, bias: false))
        run(Case(label: "dw3x3s2-even", c: 4, o: 4, n: 2, size: (8, 8), kernel: 3, stride: 2, padding: .tfSame, depthwise: true))
    }

    /// 8x8 stride 2 pads (1, 2): the widest asymmetric TF-SAME case among the backbones.
    func testDepthwise5x5() {
        XCTAssertEqual(Padding.tfSame(inH: 8, inW: 8, kernel: 5, stride: 2), Padding(top: 1, bottom: 2, left: 1, right: 2))
        run(Case(label: "dw5x5s1", c: 3, o: 3, n: 2, size: (6, 7), kernel: 5, stride: 1, padding: .tfSame,
                 depthwise: true, bias: false))
        run(Case(label: "dw5x5s2-even", c: 3, o: 3, n: 3, size: (8, 8), kernel: 5, stride: 2, padding: .tfSame,
                 depthwise: true, bias: false))
        run(Case(label: "dw5x5s2-odd", c: 3, o: 3, n: 2, size: (7, 9), kernel: 5, stride: 2, padding: .tfSame, depthwise: true))
    }

    /// A column matrix over the workspace's limit goes in bands of images: one image per band, and two
    /// with a ragged last band, on each im2col path of the backbones (7x7 stem, 3x3 stride 2, 1x1 stride 2,
    /// and a 3x3 stride 1 whose weight gradient is banded while Winograd or im2col takes dL/dx).
    func testBandedColumns() {
        for images in [1, 2] {
            run(Case(label: "banded\(images)-7x7s2p3", c: 3, o: 4, n: 3, size: (11, 11), kernel: 7, stride: 2,
                     padding: .fixed(.symmetric(3)), bias: false, imagesPerBand: images))
            run(Case(label: "banded\(images)-3x3s2", c: 3, o: 4, n: 3, size: (6, 7), kernel: 3, stride: 2, padding: .tfSame,
                     imagesPerBand: images))
            run(Case(label: "banded\(images)-1x1s2", c: 4, o: 3, n: 3, size: (7, 5), kernel: 1, stride: 2,
                     padding: .fixed(.none), imagesPerBand: images))
            run(Case(label: "banded\(images)-3x3s1", c: 3, o: 4, n: 3, size: (5, 5), kernel: 3, stride: 1,
                     padding: .fixed(.symmetric(1)), imagesPerBand: images))
        }
    }

    /// Banding changes no output value (each band's GEMM computes its columns as the whole batch's would)
    /// and moves the weight gradient by float reordering only.
    func testBandedColumnsMatchOneBand() {
        var rng = SplitMix64(seed: 41)
        let conv = Conv2d(name: "stem", inChannels: 3, outChannels: 8, kernel: 7, stride: 2, padding: .fixed(.symmetric(3)))
        conv.weight.randomize(&rng)
        let x = Tensor.random(c: 3, n: 5, h: 20, w: 18, &rng)
        let dy = Tensor.random(c: 8, n: 5, h: 10, w: 9, &rng)
        func run(_ ws: Workspace) -> (y: [Float], dw: [Float], dx: [Float]) {
            let y = conv.forward(x, ws).array
            let dx = conv.backward(x, dy, ws, needInputGrad: true).array
            return (y, conv.weight.gradients, dx)
        }
        let whole = run(Workspace())
        let banded = Workspace()
        let g = conv.geometry(x)
        banded.columnLimit = 2 * g.colRows * g.oh * g.ow
        let bands = run(banded)
        XCTAssertEqual(bands.y, whole.y)
        XCTAssertEqual(bands.dx, whole.dx)
        for (a, b) in zip(bands.dw, whole.dw) { XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(b))) }
    }

    /// The first layer skips dL/dx; its weight gradient must not depend on that.
    func testWeightGradientWithoutInputGradient() {
        var rng = SplitMix64(seed: 99)
        let conv = Conv2d(name: "first", inChannels: 3, outChannels: 4, kernel: 3, stride: 2, padding: .fixed(.symmetric(1)))
        conv.weight.randomize(&rng)
        let x = Tensor.random(c: 3, n: 2, h: 6, w: 6, &rng)
        let ws = Workspace()
        let dy = Tensor.random(c: 4, n: 2, h: 3, w: 3, &rng)
        conv.forward(x, ws)
        conv.backward(x, dy, ws, needInputGrad: true)
        let full = conv.weight.gradients
        conv.backward(x, dy, ws, needInputGrad: false)
        XCTAssertEqual(conv.weight.gradients, full)
    }

    /// The 7x7 stems' weight gradient by bands of output rows (`rowBandWeightGradient`, taken without dL/dx) against
    /// the image bands' (with dL/dx): ragged bands of rows (12 rows in bands of 5), one and two threads (9 bands split
    /// 4/5), AVX-512 and portable, both against a sum in Double, within 1e-6 of the sum of the terms' magnitudes
    /// (float reordering: the two paths add the terms in different orders).
    func testStemWeightGradientByRowBandsEqualsImageBands() {
        var rng = SplitMix64(label: "stem-row-bands")
        let conv = Conv2d(name: "stem", inChannels: 3, outChannels: 8, kernel: 7, stride: 2, padding: .fixed(.symmetric(3)))
        conv.weight.randomize(&rng)
        let x = Tensor.random(c: 3, n: 3, h: 23, w: 301, &rng)
        let g = conv.geometry(x)
        XCTAssertTrue(conv.weightGradientByRowBands)
        XCTAssertEqual(max(1, Conv2d.bandFloats / (g.colRows * g.ow)), 5, "bands of 5 rows, the last of 2")
        let dy = Tensor.random(c: 8, n: 3, h: g.oh, w: g.ow, &rng)
        // dW in Double, and the sum of its terms' magnitudes (what float reordering can move it by, times the precision).
        var exact = (dw: [Double](repeating: 0, count: conv.weight.count), scale: [Double](repeating: 0, count: conv.weight.count))
        for o in 0..<8 {
            for c in 0..<3 {
                for ky in 0..<7 {
                    for kx in 0..<7 {
                        let i = ((o * 3 + c) * 7 + ky) * 7 + kx
                        for n in 0..<3 {
                            for oy in 0..<g.oh {
                                let iy = 2 * oy - 3 + ky
                                guard iy >= 0 && iy < x.h else { continue }
                                for ox in 0..<g.ow {
                                    let ix = 2 * ox - 3 + kx
                                    guard ix >= 0 && ix < x.w else { continue }
                                    let term = Double(dy[o, n, oy, ox]) * Double(x[c, n, iy, ix])
                                    exact.dw[i] += term
                                    exact.scale[i] += abs(term)
                                }
                            }
                        }
                    }
                }
            }
        }
        let saved = Parallelism.threads
        defer { Parallelism.set(saved) }
        for avx512 in [true, false] {
            for threads in [1, 2] {
                Parallelism.set(threads)
                let ws = Workspace()
                let (rows, images) = InstructionSet.with(avx512: avx512) { () -> ([Float], [Float]) in
                    conv.backward(x, dy, ws, needInputGrad: false)
                    let rows = conv.weight.gradients
                    conv.backward(x, dy, ws, needInputGrad: true)
                    return (rows, conv.weight.gradients)
                }
                for i in rows.indices {
                    XCTAssertEqual(Double(rows[i]), exact.dw[i], accuracy: 1e-6 * exact.scale[i], "avx512 \(avx512), \(threads) threads, dW[\(i)]")
                    XCTAssertEqual(Double(images[i]), exact.dw[i], accuracy: 1e-6 * exact.scale[i], "image bands, dW[\(i)]")
                }
            }
        }
    }

    /// The row bands' weight gradient against finite differences, with more than one band per image.
    func testStemWeightGradientByRowBandsFiniteDifferences() {
        var rng = SplitMix64(label: "stem-row-bands-fd")
        let conv = Conv2d(name: "stem", inChannels: 2, outChannels: 3, kernel: 7, stride: 2, padding: .fixed(.symmetric(3)))
        conv.weight.randomize(&rng)
        let x = Tensor.random(c: 2, n: 2, h: 9, w: 1000, &rng)
        let ws = Workspace()
        check.assertMatches("stem-row-bands", forward: { conv.forward(x, ws) },
                            backward: { conv.backward(x, $0, ws, needInputGrad: false) }, probes: [Probe(conv.weight)])
    }
}
