import XCTest
@testable import Numerics

/// A teacher's and a student's stems run as one convolution of stacked weights (`PairedPooledConvolution`).
/// Against each unit's own pooled forward (`ConvUnit.forward(_:_:pooledBy:)`, itself checked against the
/// convolution then `MaxPool2d` in `PooledConvolutionTests`): bit for bit with the AVX-512 kernels, within
/// rounding on the portable path, with two threads (one image is split into two pieces of pooled rows, a
/// batch into its images), frozen with frozen and frozen with eval mode (a scale on one side only), both
/// ResNet paddings. The pooled outputs start as NaN, so a row left unwritten shows.
final class PairedPooledConvolutionTests: XCTestCase {
    struct Shape { var label: String, c: Int, o: Int, n: Int, h: Int, w: Int, kernel: Int, stride: Int, pad: Int }

    let shapes = [
        Shape(label: "one image, two pieces of odd heights", c: 3, o: 20, n: 1, h: 157, w: 159, kernel: 7, stride: 2, pad: 3),
        Shape(label: "one image, two rows a band", c: 16, o: 8, n: 1, h: 13, w: 600, kernel: 3, stride: 1, pad: 1),
        Shape(label: "three images", c: 3, o: 17, n: 3, h: 21, w: 26, kernel: 7, stride: 2, pad: 3),
        Shape(label: "one pooled row", c: 3, o: 5, n: 1, h: 4, w: 9, kernel: 7, stride: 2, pad: 3),
    ]

    func testPairedStemsEqualEachStemAlone() {
        onEachKernelSetWithTwoThreads { avx512 in
            for shape in shapes {
                for padding in [Padding.symmetric(1), Padding(top: 0, bottom: 1, left: 0, right: 1)] {
                    for studentTrains in [false, true] { check(shape, padding, studentTrains: studentTrains, avx512: avx512) }
                }
            }
        }
    }

    /// The stacked weights follow each unit's weight version: a changed student reaches the next forward.
    func testChangedWeightsReachTheNextPairedForward() {
        onEachKernelSetWithTwoThreads { avx512 in
            let s = shapes[0], padding = Padding(top: 0, bottom: 1, left: 0, right: 1)
            var rng = SplitMix64(label: "changed weights")
            let (teacher, student) = (unit(s, trainable: false, &rng), unit(s, trainable: false, &rng))
            let x = Tensor.random(c: s.c, n: s.n, h: s.h, w: s.w, &rng)
            let pools = (MaxPool2d(kernel: 3, stride: 2, padding: padding), MaxPool2d(kernel: 3, stride: 2, padding: padding))
            let paired = PairedPooledConvolution(teacher, pooledBy: pools.0, student, pooledBy: pools.1)!
            paired.forward(x, Workspace())
            student.randomizeForInference(&rng)
            paired.forward(x, Workspace())
            let alone = student.forward(x, Workspace(), pooledBy: MaxPool2d(kernel: 3, stride: 2, padding: padding)).array
            assertFusedOutputs(pools.1.output.array, equal: alone, avx512: avx512, "changed student, avx512 \(avx512)")
        }
    }

    func testUnitsOfDifferentShapesDoNotPair() {
        var rng = SplitMix64(label: "shapes")
        let s = shapes[0], pool = MaxPool2d(kernel: 3, stride: 2, padding: .symmetric(1))
        var wider = s
        wider.o += 1
        XCTAssertNil(PairedPooledConvolution(unit(s, trainable: false, &rng), pooledBy: pool, unit(wider, trainable: false, &rng),
                                             pooledBy: MaxPool2d(kernel: 3, stride: 2, padding: .symmetric(1))))
        XCTAssertNil(PairedPooledConvolution(unit(s, trainable: false, &rng), pooledBy: pool, unit(s, trainable: false, &rng),
                                             pooledBy: MaxPool2d(kernel: 3, stride: 2, padding: .symmetric(0))))
    }

    func unit(_ s: Shape, trainable: Bool, _ rng: inout SplitMix64) -> ConvUnit {
        let unit = ConvUnit(name: "conv", bnName: "bn", trainable: trainable, inChannels: s.c, outChannels: s.o, kernel: s.kernel,
                            stride: s.stride, padding: .fixed(.symmetric(s.pad)), activation: .relu)
        unit.randomizeForInference(&rng)
        return unit
    }

    func check(_ s: Shape, _ padding: Padding, studentTrains: Bool, avx512: Bool) {
        let label = "\(s.label) \(padding) student trains \(studentTrains) avx512 \(avx512)"
        var rng = SplitMix64(label: s.label)
        let (teacher, student) = (unit(s, trainable: false, &rng), unit(s, trainable: studentTrains, &rng))
        let x = Tensor.random(c: s.c, n: s.n, h: s.h, w: s.w, &rng)
        let pools = (MaxPool2d(kernel: 3, stride: 2, padding: padding), MaxPool2d(kernel: 3, stride: 2, padding: padding))
        let paired = PairedPooledConvolution(teacher, pooledBy: pools.0, student, pooledBy: pools.1)!
        let g = teacher.conv.geometry(x)
        for pool in [pools.0, pools.1] {
            pool.output.resize(c: s.o, n: s.n, h: windowCount(g.oh, kernel: 3, stride: 2, padBefore: padding.top, padAfter: padding.bottom),
                               w: windowCount(g.ow, kernel: 3, stride: 2, padBefore: padding.left, padAfter: padding.right))
            pool.output.data.update(repeating: .nan, count: pool.output.count)
        }
        paired.forward(x, Workspace())
        for (unit, pool, name) in [(teacher, pools.0, "teacher"), (student, pools.1, "student")] {
            let alone = unit.forward(x, Workspace(), pooledBy: MaxPool2d(kernel: 3, stride: 2, padding: padding)).array
            XCTAssertEqual(unit.conv.outputPlane, g.oh * g.ow, label)
            assertFusedOutputs(pool.output.array, equal: alone, avx512: avx512, "\(label) \(name)")
        }
    }
}
