import XCTest
@testable import Numerics

/// A dense convolution's forward runs im2col + GEMM band by band (`Conv2d.bandedIm2colForward`). With the
/// bias, a residual and the activation it must give the GEMM of the whole batch's column matrix: bit for bit
/// with the AVX-512 kernel (it sums each output in the same order whatever the columns around it), within
/// rounding on the portable path, split between two threads: bands of several rows with a ragged last one,
/// one row per band, and one band per image.
final class BandedIm2colTests: XCTestCase {
    struct Shape {
        var label: String, c: Int, o: Int, n: Int, h: Int, w: Int, kernel: Int, stride: Int, padding: Conv2d.PaddingMode
        /// Bands per image.
        var bands: Int
    }

    let shapes = [
        // 147 x 35 floats per output row: 25 rows per band, the last band 10 rows.
        Shape(label: "7x7 s2 stem", c: 3, o: 20, n: 3, h: 70, w: 69, kernel: 7, stride: 2, padding: .fixed(.symmetric(3)), bands: 2),
        // 576 x 240 floats per output row: one row per band.
        Shape(label: "3x3 s1 wide", c: 64, o: 5, n: 1, h: 3, w: 240, kernel: 3, stride: 1, padding: .fixed(.symmetric(1)), bands: 3),
        Shape(label: "3x3 s2 tf-same", c: 5, o: 17, n: 2, h: 33, w: 30, kernel: 3, stride: 2, padding: .tfSame, bands: 1),
        Shape(label: "1x1 s2", c: 24, o: 37, n: 2, h: 15, w: 16, kernel: 1, stride: 2, padding: .fixed(.none), bands: 1),
    ]

    func testBandsEqualTheWholeBatchGEMM() {
        onEachKernelSetWithTwoThreads { avx512 in
            for shape in shapes { check(shape, avx512: avx512) }
        }
    }

    /// im2col's rows against their definition, x[c][oy s - pad + ky][ox s - pad + kx] or 0 in the padding, at
    /// strides 1 and 2, for rows wide enough for the stride-2 copy's runs of 16 (and their ragged ends).
    func testColumnsAreTheTapsOfTheirDefinition() {
        for (stride, w) in [(2, 69), (2, 70), (2, 101), (1, 37)] {
            var rng = SplitMix64(label: "im2col \(stride) \(w)")
            let x = Tensor.random(c: 2, n: 2, h: 9, w: w, &rng)
            let g = ConvGeometry(c: 2, n: 2, h: 9, w: w, kh: 7, kw: 7, stride: stride, pad: .symmetric(3))
            let rows = 1..<g.oh, width = rows.count * g.ow
            var cols = [Float](repeating: .nan, count: g.colRows * width)
            cols.withUnsafeMutableBufferPointer { im2colRows(x.data, g, image: 1, rows: rows, $0.baseAddress!) }
            var wrong = 0
            for c in 0..<2 { for ky in 0..<7 { for kx in 0..<7 { for oy in rows { for ox in 0..<g.ow {
                let iy = oy * stride - 3 + ky, ix = ox * stride - 3 + kx
                let expected: Float = iy >= 0 && iy < 9 && ix >= 0 && ix < w ? x[c, 1, iy, ix] : 0
                let got = cols[((c * 7 + ky) * 7 + kx) * width + (oy - rows.lowerBound) * g.ow + ox]
                if got.bitPattern != expected.bitPattern { wrong += 1 }
            } } } } }
            XCTAssertEqual(wrong, 0, "stride \(stride), width \(w): \(wrong) of \(cols.count) columns wrong")
        }
    }

    func check(_ s: Shape, avx512: Bool) {
        var rng = SplitMix64(label: s.label)
        let conv = Conv2d(name: "conv", inChannels: s.c, outChannels: s.o, kernel: s.kernel, stride: s.stride, padding: s.padding,
                          bias: true)
        conv.weight.randomize(&rng)
        conv.bias!.randomize(&rng)
        let x = Tensor.random(c: s.c, n: s.n, h: s.h, w: s.w, &rng)
        let g = conv.geometry(x)
        let rows = max(1, min(g.oh, Conv2d.bandFloats / (g.colRows * g.ow)))
        XCTAssertEqual((g.oh + rows - 1) / rows, s.bands, s.label)
        let residual = Tensor.random(c: s.o, n: s.n, h: g.oh, w: g.ow, &rng)
        let ws = Workspace()
        // The output starts as NaN: a band left unwritten shows.
        conv.output.resize(c: s.o, n: s.n, h: g.oh, w: g.ow)
        conv.output.data.update(repeating: .nan, count: conv.output.count)
        let banded = conv.forward(x, ws, activation: .relu, adding: residual, algorithm: .im2col).array

        var cols = [Float](repeating: 0, count: g.colRows * g.colCols)
        var expected = [Float](repeating: 0, count: s.o * g.colCols)
        im2col(x.data, g, images: 0..<s.n, &cols)
        serialGemm(m: s.o, n: g.colCols, k: g.colRows, a: conv.weight.value, lda: g.colRows, b: cols, ldb: g.colCols,
                   c: &expected, ldc: g.colCols,
                   epilogue: GemmEpilogue(bias: UnsafePointer(conv.bias!.value), residual: UnsafePointer(residual.data),
                                          ldr: g.colCols, activation: .relu))
        assertFusedOutputs(banded, equal: expected, avx512: avx512, "\(s.label) avx512 \(avx512)")
        XCTAssert(expected.contains { $0 > 0 } && expected.contains { $0 == 0 }, "\(s.label): the activation is exercised")
    }
}
