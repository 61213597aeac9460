#ifndef STPM_CPU_FEATURES_H
#define STPM_CPU_FEATURES_H

/// 1 when the processor and the operating system both support AVX-512 F/BW/DQ/VL (the kernels in this
/// module that carry `target("avx512...")` may run), else 0. Asked once by the Swift side.
int stpm_cpu_has_avx512(void);

/// 1 when the processor and the operating system both support AVX2 and FMA, else 0.
int stpm_cpu_has_avx2_fma(void);

#endif
