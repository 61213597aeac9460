#include "cpu_features.h"
#include <cpuid.h>

// The OS must also save the ZMM state on context switches (XCR0 bits 1, 2, 5, 6, 7); a CPU that has
// AVX-512 under a kernel or hypervisor that does not enable it would fault on the first instruction.
static unsigned long long xgetbv0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

int stpm_cpu_has_avx512(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    const unsigned int osxsave = 1u << 27, fma = 1u << 12;
    if (!(ecx & osxsave) || !(ecx & fma)) return 0;
    if ((xgetbv0() & 0xe6) != 0xe6) return 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    const unsigned int f = 1u << 16, dq = 1u << 17, bw = 1u << 30, vl = 1u << 31;
    return (ebx & f) && (ebx & dq) && (ebx & bw) && (ebx & vl);
}

int stpm_cpu_has_avx2_fma(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    const unsigned int osxsave = 1u << 27, fma = 1u << 12, avx = 1u << 28;
    if (!(ecx & osxsave) || !(ecx & fma) || !(ecx & avx)) return 0;
    // The OS saves the SSE and AVX state (XCR0 bits 1 and 2).
    if ((xgetbv0() & 0x6) != 0x6) return 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    return (ebx & (1u << 5)) != 0;
}
