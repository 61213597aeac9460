#ifndef STPM_BATCHNORM_AVX512_H
#define STPM_BATCHNORM_AVX512_H

/// BatchNorm's per-channel passes over a row of `count` floats (a channel of a channel-major batch), in AVX-512,
/// to the floats of the portable Swift passes (Reductions.swift, Activation.swift): the sums run in chunks of
/// 1024 values, each chunk over 16 lanes (the portable pair of 8-lane accumulators, lane for lane) that are then
/// halved and added left to right from -0, the remainder after the last 16 added one by one, and the chunks
/// combined in Double. `act` is one of gemm_avx512.h's STPM_ACT_*; y = x * scale + shift is rounded after the
/// product and after the sum, never fused. Need AVX-512 (F, VL, BW, DQ).

/// Sum of p[i].
double stpm_bn_sum_avx512(const float *p, long count);

/// Sum of (p[i] - mean)^2.
double stpm_bn_squared_deviation_avx512(const float *p, long count, float mean);

/// (sum of g', sum of g' * x), g' = g where the activation's derivative at y = x * scale + shift is 1, else 0.
void stpm_bn_masked_sums_avx512(const float *g, const float *x, long count, float scale, float shift, int act,
                                double *sum_g, double *sum_gx);

/// dst[i] = act(src[i] * scale + shift); dst may be src.
void stpm_bn_apply_avx512(const float *src, float *dst, long count, float scale, float shift, int act);

/// dx[i] = k * ((g'[i] - a) - ((x[i] - mean) * inv) * b), g' as in stpm_bn_masked_sums_avx512; dx may be g.
void stpm_bn_norm_gradient_avx512(const float *g, const float *x, float *dx, long count, float scale, float shift, int act,
                                  float mean, float inv, float k, float a, float b);

/// dst[i] = act(a'[i] + b'[i]), a' = a[i] * scale_a + shift_a where normalize_a (else a[i]), b' likewise: a residual
/// join whose sides may be read through their train-mode BatchNorms. dst may be a or b.
void stpm_bn_join_avx512(const float *a, int normalize_a, float scale_a, float shift_a, const float *b, int normalize_b,
                         float scale_b, float shift_b, float *dst, long count, int act);

#endif
