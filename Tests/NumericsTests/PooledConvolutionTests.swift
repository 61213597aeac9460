import XCTest
@testable import Numerics

/// The ResNets' stem in inference pools its convolution's output band by band as the GEMM writes it
/// (`Conv2d.pooledIm2colForward`). Against the unit followed by a separate `MaxPool2d`: bit for bit with the
/// AVX-512 kernels, within rounding on the portable path (OpenBLAS picks its kernels by the width of C),
/// frozen and in eval mode, both ResNet paddings, split between two threads. The bands take two rows at a
/// time, an odd count, and all of an image; the image heights leave a ragged last band. The pooled output
/// starts as NaN, so a row left unwritten shows.
final class PooledConvolutionTests: XCTestCase {
    struct Shape { var label: String, c: Int, o: Int, n: Int, h: Int, w: Int, kernel: Int, stride: Int, pad: Int, fresh: Int }

    let shapes = [
        Shape(label: "two rows a band", c: 16, o: 8, n: 1, h: 13, w: 600, kernel: 3, stride: 1, pad: 1, fresh: 2),
        Shape(label: "7x7 s2, nine rows a band", c: 3, o: 20, n: 2, h: 157, w: 319, kernel: 7, stride: 2, pad: 3, fresh: 9),
        Shape(label: "7x7 s2, one band", c: 3, o: 17, n: 3, h: 21, w: 26, kernel: 7, stride: 2, pad: 3, fresh: 122),
    ]

    func testPooledBandsEqualConvolutionThenPooling() {
        onEachKernelSetWithTwoThreads { avx512 in
            for shape in shapes {
                for padding in [Padding.symmetric(1), Padding(top: 0, bottom: 1, left: 0, right: 1)] {
                    for trainable in [false, true] { check(shape, padding, trainable: trainable, avx512: avx512) }
                }
            }
        }
    }

    func check(_ s: Shape, _ padding: Padding, trainable: Bool, avx512: Bool) {
        let label = "\(s.label) \(padding) trainable \(trainable) avx512 \(avx512)"
        var rng = SplitMix64(label: s.label)
        let unit = ConvUnit(name: "conv", bnName: "bn", trainable: trainable, inChannels: s.c, outChannels: s.o, kernel: s.kernel,
                            stride: s.stride, padding: .fixed(.symmetric(s.pad)), activation: .relu)
        unit.randomizeForInference(&rng)
        let x = Tensor.random(c: s.c, n: s.n, h: s.h, w: s.w, &rng)
        let ws = Workspace()
        let g = unit.conv.geometry(x)
        XCTAssertEqual(max(2, Conv2d.pooledBandFloats / ((g.colRows + s.o) * g.ow)), s.fresh, label)

        let fusedPool = MaxPool2d(kernel: 3, stride: 2, padding: padding)
        let oh = windowCount(g.oh, kernel: 3, stride: 2, padBefore: padding.top, padAfter: padding.bottom)
        let ow = windowCount(g.ow, kernel: 3, stride: 2, padBefore: padding.left, padAfter: padding.right)
        fusedPool.output.resize(c: s.o, n: s.n, h: oh, w: ow)
        fusedPool.output.data.update(repeating: .nan, count: fusedPool.output.count)
        let fused = unit.forward(x, ws, pooledBy: fusedPool).array
        let expected = MaxPool2d(kernel: 3, stride: 2, padding: padding).forward(unit.forward(x, ws)).array
        assertFusedOutputs(fused, equal: expected, avx512: avx512, label)
    }
}
