#ifndef WINOGRAD_FILTER_AVX512_H
#define WINOGRAD_FILTER_AVX512_H

/// The Winograd filter transform U_e[o, c] = (G g[o, c] Gᵀ)_e of one group of `rows` (at most 16) consecutive outputs from
/// o0 and `width` consecutive inputs from c0, weights w [outputs][channels][3][3], or with `turned` w [channels][outputs][3][3]
/// whose kernel [c][o] turned by 180° is g[o, c] (the input gradient's filters): U_e[o0 + r, c0 + i] into
/// tmp[e * block + i * rows + r], the order of a packed GEMM panel's depth steps. In Double, operation for operation
/// the portable transform's (Winograd.swift's winogradFilterTransform), so both give the same floats.
void stpm_winograd_filter_group_avx512(const float *w, long outputs, long channels, int turned, long o0, int rows, long c0,
                                       int width, float *tmp, long block);

/// The weight gradient's last step for output o: dw[o, c] = Gᵀ Z[., o, c] G for every input channel c, Z (dL/dU) [36][..]
/// with position e's row at z + e * z_stride and (o, c) at o * channels + c in it, dw [O][channels][3][3]. In Double,
/// operation for operation Winograd.swift's winogradFilterGradient.
void stpm_winograd_filter_gradient_avx512(const float *z, long z_stride, long channels, long o, float *dw);

#endif
