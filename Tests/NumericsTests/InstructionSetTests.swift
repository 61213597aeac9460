import Foundation
import XCTest
@testable import Numerics

final class InstructionSetTests: XCTestCase {
    /// The cpuid/xgetbv probe agrees with the kernel's own view of the processor (Linux lists a flag
    /// in /proc/cpuinfo only when the OS also enables its state).
    func testProbeAgreesWithProcCpuinfo() throws {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            throw XCTSkip("no /proc/cpuinfo")
        }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        let expected = ["avx512f", "avx512bw", "avx512dq", "avx512vl", "fma"].allSatisfy(flags.contains)
        XCTAssertEqual(InstructionSet.available, expected)
    }

    func testPortablePathCanAlwaysBeChosen() {
        InstructionSet.with(avx512: false) { XCTAssertFalse(InstructionSet.avx512) }
        InstructionSet.with(avx512: true) { XCTAssertEqual(InstructionSet.avx512, InstructionSet.available) }
    }
}
