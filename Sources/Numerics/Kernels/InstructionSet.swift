import CKernels
import Foundation

/// Which vector kernels run: the AVX-512 ones in CKernels where the processor and OS allow them,
/// else the portable path (Swift SIMD compiled for Haswell, and OpenBLAS). `STPM_ISA=avx2` forces the
/// portable path, for a machine whose AVX-512 misbehaves and for comparing the two.
public enum InstructionSet {
    public static let available: Bool = stpm_cpu_has_avx512() != 0

    nonisolated(unsafe) private static var chosen: Bool =
        available && ProcessInfo.processInfo.environment["STPM_ISA"]?.lowercased() != "avx2"

    /// Whether the AVX-512 kernels are in use.
    public static var avx512: Bool { chosen }

    /// Runs `body` with the AVX-512 kernels on or off (off always possible, on only where available):
    /// the tests check each kernel against the portable path on the same inputs.
    public static func with<T>(avx512 on: Bool, _ body: () throws -> T) rethrows -> T {
        let saved = chosen
        chosen = on && available
        defer { chosen = saved }
        return try body()
    }

    /// "AVX-512" or "AVX2", for `stpm bench`'s header.
    public static var name: String { avx512 ? "AVX-512" : "AVX2" }
}
