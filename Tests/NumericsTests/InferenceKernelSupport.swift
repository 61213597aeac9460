import XCTest
@testable import Numerics

extension ConvUnit {
    /// Random weights for an inference forward: a frozen unit's bias, or a trainable unit's BatchNorm
    /// statistics and affine parameters with the unit put in eval mode.
    func randomizeForInference(_ rng: inout SplitMix64) {
        conv.weight.randomize(&rng)
        guard let bn else {
            conv.bias!.randomize(&rng) { $0.uniform(-1, 1) }
            return
        }
        setTraining(false)
        bn.weight.randomize(&rng) { $0.uniform(0.5, 3) }
        bn.bias.randomize(&rng) { $0.uniform(-1, 4) }
        bn.runningMean.randomize(&rng) { $0.uniform(-1, 1) }
        bn.runningVar.randomize(&rng) { $0.uniform(0.2, 2) }
    }
}

/// A fused kernel's outputs against the layers it stands for: bit for bit on the AVX-512 kernels (which sum
/// each output in the same order whatever the columns around it), within 1e-5 of the peak on the portable
/// path (OpenBLAS picks its kernels by the width of C, so a band's sums may round differently). No output
/// may be NaN: the fused output starts as NaN, so that one left unwritten shows.
func assertFusedOutputs(_ fused: [Float], equal expected: [Float], avx512: Bool, _ label: String,
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(fused.count, expected.count, label, file: file, line: line)
    XCTAssertFalse(fused.contains { $0.isNaN }, "\(label): an output left unwritten", file: file, line: line)
    if avx512 {
        let differing = zip(fused, expected).filter { $0.bitPattern != $1.bitPattern }.count
        XCTAssertEqual(differing, 0, "\(label): \(differing) of \(expected.count) differ", file: file, line: line)
    } else {
        let peak = expected.map(abs).max()!, worst = zip(fused, expected).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(worst, 1e-5 * peak, "\(label) portable", file: file, line: line)
    }
}

/// Runs `body` on each kernel set (AVX-512 where the machine has it, and the portable path) with two
/// threads, so that what a fused kernel splits between threads is split.
func onEachKernelSetWithTwoThreads(_ body: (_ avx512: Bool) -> Void) {
    let saved = Parallelism.threads
    Parallelism.set(2)
    defer { Parallelism.set(saved) }
    for avx512 in [true, false] where avx512 == false || InstructionSet.available {
        InstructionSet.with(avx512: avx512) { body(avx512) }
    }
}
