#ifndef WINOGRAD_FILTER_AVX512_H
#define WINOGRAD_FILTER_AVX512_H

/// The Winograd filter transform U_e[o, c] = (G g[o, c] Gᵀ)_e of one group of `rows` (at most 16) consecutive outputs from
/// o0 and `width` consecutive inputs from c0, weights w [O][channels][3][3]: U_e[o0 + r, c0 + i] into
/// tmp[e * block + i * rows + r], the order of a packed GEMM panel's depth steps. In Double, operation for operation
/// the portable transform's (Winograd.swift's winogradFilterTransform), so both give the same floats.
void stpm_winograd_filter_group_avx512(const float *w, long channels, long o0, int rows, long c0, int width, float *tmp,
                                       long block);

#endif
