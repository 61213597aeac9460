import CISAL
import CKernels
import Numerics

/// zlib's Adler-32 (RFC 1950): the AVX-512 kernel (`stpm_adler32_avx512`) where there is one, ISA-L's
/// otherwise, which is the kernel's reference.
enum Adler32 {
    static func checksum(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        guard let base = bytes.baseAddress else { return 1 }
        return InstructionSet.avx512 ? stpm_adler32_avx512(1, base, bytes.count) : isal_adler32(1, base, UInt64(bytes.count))
    }
}
