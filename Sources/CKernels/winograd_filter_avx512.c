// The Winograd filter transform in AVX-512, the group's outputs in lanes: their filters are gathered tap by tap (one
// output's filters are channels * 9 floats apart), each tap widened to Double in two halves of eight lanes, and every
// U_e of an input channel is then one run of `rows` floats, as a packed GEMM panel holds a depth step. The scalar
// transform, one filter at a time in Double, took about 100 cycles a filter and 2-3 % of a ResNet-18 training step.
#include "winograd_filter_avx512.h"
#include <immintrin.h>

// Each product and sum rounded on its own, as Swift rounds them.
#pragma clang fp contract(off)

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define INLINE static inline __attribute__((always_inline)) AVX512

// G (6x3) applied to three values (Winograd.swift's filterPass, the same roundings in the same order; negation flips
// the sign bit, as Swift's prefix minus, so that a zero sum gives -0 there too).
INLINE void filter_pass(__m512d g0, __m512d g1, __m512d g2, __m512d v[6]) {
    const __m512d quarter = _mm512_set1_pd(0.25), sixth = _mm512_set1_pd(1.0 / 6), twelfth = _mm512_set1_pd(1.0 / 12),
                  twenty_fourth = _mm512_set1_pd(1.0 / 24), sign = _mm512_set1_pd(-0.0);
    v[0] = _mm512_mul_pd(g0, quarter);
    v[1] = _mm512_mul_pd(_mm512_xor_pd(_mm512_add_pd(_mm512_add_pd(g0, g1), g2), sign), sixth);
    v[2] = _mm512_mul_pd(_mm512_xor_pd(_mm512_add_pd(_mm512_sub_pd(g0, g1), g2), sign), sixth);
    const __m512d a = _mm512_mul_pd(g0, twenty_fourth), b = _mm512_mul_pd(g1, twelfth), c = _mm512_mul_pd(g2, sixth);
    v[3] = _mm512_add_pd(_mm512_add_pd(a, b), c);
    v[4] = _mm512_add_pd(_mm512_sub_pd(a, b), c);
    v[5] = g2;
}

AVX512 void stpm_winograd_filter_group_avx512(const float *w, long outputs, long channels, int turned, long o0, int rows, long c0,
                                              int width, float *tmp, long block) {
    // Neighbouring outputs' filters lie a kernel apart when turned (read there, no turned copy is made), else a row of them.
    const __m512i apart = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                             _mm512_set1_epi32(turned ? 9 : (int)(channels * 9)));
    const __mmask16 lanes = rows >= 16 ? 0xffff : (__mmask16)((1u << rows) - 1);
    for (int i = 0; i < width; i++) {
        const float *k = w + (turned ? (c0 + i) * outputs + o0 : o0 * channels + c0 + i) * 9;
        __m512 tap[9];
        for (int t = 0; t < 9; t++)
            tap[t] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lanes, apart, k + (turned ? 8 - t : t), 4);
        for (int half = 0; half < 2 && 8 * half < rows; half++) {
            const __mmask8 out = (__mmask8)(lanes >> (8 * half));
            __m512d g[9];
            for (int t = 0; t < 9; t++)
                g[t] = _mm512_cvtps_pd(half ? _mm512_extractf32x8_ps(tap[t], 1) : _mm512_castps512_ps256(tap[t]));
            // G g, one column of the kernel at a time, then G along each of its six rows.
            __m512d col[3][6];
            for (int j = 0; j < 3; j++) filter_pass(g[j], g[3 + j], g[6 + j], col[j]);
            float *dst = tmp + (long)i * rows + 8 * half;
            for (int r = 0; r < 6; r++) {
                __m512d v[6];
                filter_pass(col[0][r], col[1][r], col[2][r], v);
                for (int j = 0; j < 6; j++) _mm256_mask_storeu_ps(dst + (long)(r * 6 + j) * block, out, _mm512_cvtpd_ps(v[j]));
            }
        }
    }
}

// Gᵀ applied to six values (Winograd.swift's filterGradientPass, the same roundings in the same order).
INLINE void gradient_pass(const __m512d z[6], int s, __m512d r[3]) {
    const __m512d quarter = _mm512_set1_pd(0.25), sixth = _mm512_set1_pd(1.0 / 6), twelfth = _mm512_set1_pd(1.0 / 12),
                  twenty_fourth = _mm512_set1_pd(1.0 / 24);
    const __m512d p = _mm512_add_pd(z[s], z[2 * s]), q = _mm512_add_pd(z[3 * s], z[4 * s]);
    r[0] = _mm512_add_pd(_mm512_sub_pd(_mm512_mul_pd(z[0], quarter), _mm512_mul_pd(p, sixth)), _mm512_mul_pd(q, twenty_fourth));
    r[1] = _mm512_add_pd(_mm512_mul_pd(_mm512_sub_pd(z[2 * s], z[s]), sixth), _mm512_mul_pd(_mm512_sub_pd(z[3 * s], z[4 * s]), twelfth));
    r[2] = _mm512_add_pd(_mm512_mul_pd(_mm512_sub_pd(q, p), sixth), z[5 * s]);
}

// Eight input channels in lanes (Double), their 36 values of Z read as vectors, their nine weights scattered (9 floats apart).
AVX512 void stpm_winograd_filter_gradient_avx512(const float *z, long z_stride, long channels, long o, float *dw) {
    const __m256i apart = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(9));
    for (long c0 = 0; c0 < channels; c0 += 8) {
        const __mmask8 lanes = channels - c0 >= 8 ? 0xff : (__mmask8)((1u << (channels - c0)) - 1);
        const float *src = z + o * channels + c0;
        __m512d e[36];
        for (int k = 0; k < 36; k++) e[k] = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(lanes, src + k * z_stride));
        // Gᵀ down each of the six columns, then along each of the three rows left.
        for (int j = 0; j < 6; j++) {
            __m512d r[3];
            gradient_pass(e + j, 6, r);
            e[j] = r[0], e[6 + j] = r[1], e[12 + j] = r[2];
        }
        float *dst = dw + (o * channels + c0) * 9;
        for (int i = 0; i < 3; i++) {
            __m512d k[3];
            gradient_pass(e + 6 * i, 1, k);
            for (int t = 0; t < 3; t++) _mm256_mask_i32scatter_ps(dst + 3 * i + t, lanes, apart, _mm512_cvtpd_ps(k[t]), 4);
        }
    }
}
