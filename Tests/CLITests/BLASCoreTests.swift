import Foundation
import Numerics
import XCTest

/// Without the AVX-512 kernels stpm runs OpenBLAS's AVX2 kernels, even where OpenBLAS itself falls back to its
/// generic ones (a processor newer than the library) or would run AVX-512 ones; with them it does not restart
/// for OpenBLAS's sake; and a core the user chose is kept.
final class BLASCoreTests: XCTestCase {
    /// The OpenBLAS core `stpm bench --json` reports, run with `environment` added.
    private func benchCore(_ environment: [String: String]) throws -> String {
        let run = try StpmBinary.run(["bench", "--backbones", "resnet18", "--size", "32", "--repeats", "1", "--infer-only", "--json"],
                                     environment: environment)
        XCTAssertEqual(run.status, 0, run.output)
        let line = try XCTUnwrap(run.output.split(separator: "\n").first { $0.hasPrefix("{") }, run.output)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
        return try XCTUnwrap(object["blasCore"] as? String, String(line))
    }

    // This test process is never restarted: its OpenBLAS shows what the library picks by itself.

    func testWithoutTheAVX512KernelsOpenBLASRunsItsAVX2Kernels() throws {
        let expected = InstructionSet.with(avx512: false) { BLASCore.replacement } ?? blasCoreName
        XCTAssertEqual(try benchCore(["STPM_ISA": "avx2"]), expected, "OpenBLAS picked \(blasCoreName) by itself")
    }

    func testWithTheAVX512KernelsNothingRestarts() throws {
        guard InstructionSet.available else { throw XCTSkip("no AVX-512 here") }
        XCTAssertEqual(try benchCore([:]), blasCoreName)
    }

    func testAUsersCoreTypeIsKept() throws {
        XCTAssertEqual(try benchCore(["STPM_ISA": "avx2", "OPENBLAS_CORETYPE": "Prescott"]), "Prescott")
    }
}
