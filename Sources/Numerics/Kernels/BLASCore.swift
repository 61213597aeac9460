import CKernels
import COpenBLAS
import Foundation

/// Without the AVX-512 kernels (a processor without AVX-512, or `STPM_ISA=avx2`) every GEMM runs on
/// OpenBLAS, which chooses its kernels once, as it loads, from the processor's model number. Debian 12's
/// 0.3.21 does not know processors newer than itself (here an Emerald Rapids Xeon, family 6 model 207) and
/// falls back to its generic Prescott kernels, 3-4x slower there than its Haswell ones (`stpm bench` prints
/// the core and its rate): an AVX2-only line PC of a newer generation would score several times slower
/// than it can. And on a processor with AVX-512, `STPM_ISA=avx2` is meant to run as a processor without
/// it would, which OpenBLAS's own AVX-512 kernels would not. OpenBLAS takes a core only from
/// OPENBLAS_CORETYPE, read at load, so the process then starts itself again, once, with its Haswell
/// kernels (AVX2 and FMA). A user's own OPENBLAS_CORETYPE stays as it is, and with the AVX-512 kernels in
/// use nothing restarts: OpenBLAS then runs only `stpm bench`'s comparison rate.
public enum BLASCore {
    /// Where OpenBLAS falls back to when it does not know the processor.
    static let fallback = "Prescott"
    static let avx2 = "Haswell"

    /// The core OpenBLAS should run instead of the one it chose, if any.
    public static var replacement: String? {
        guard !InstructionSet.avx512, ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              stpm_cpu_has_avx2_fma() != 0, blasCoreName != avx2,
              blasCoreName == fallback || InstructionSet.available else { return nil }
        return avx2
    }

    /// Replaces the process with itself, same arguments, under OPENBLAS_CORETYPE = `replacement` when there
    /// is one; returns when there is none, or when the restart fails (the chosen kernels still compute the
    /// same products, only slower).
    public static func restartWithReplacement() {
        guard let core = replacement else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        var argv = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &argv)
        for p in argv { free(p) }
    }
}
