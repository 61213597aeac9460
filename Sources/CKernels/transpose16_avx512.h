#ifndef STPM_TRANSPOSE16_AVX512_H
#define STPM_TRANSPOSE16_AVX512_H

#include <immintrin.h>

// Private to the kernels that share it (GEMM packing, the PNG row filters): not part of the module.
// 16 x 16 transpose in registers: r[j] holds row j, the result column q goes to r[q].
static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512dq,avx512vl,fma"))) void transpose16(__m512 r[16]) {
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // u[4i + q], 128-bit lane L: column 4L + q of rows 4i ..< 4i + 4.
    for (int i = 0; i < 4; i++) {
        const __m512d t0 = _mm512_castps_pd(t[4 * i]), t1 = _mm512_castps_pd(t[4 * i + 1]);
        const __m512d t2 = _mm512_castps_pd(t[4 * i + 2]), t3 = _mm512_castps_pd(t[4 * i + 3]);
        u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    for (int q = 0; q < 4; q++) {
        const __m512 v = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x44), w = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xEE);
        const __m512 v2 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x44), w2 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xEE);
        r[q] = _mm512_shuffle_f32x4(v, v2, 0x88);
        r[4 + q] = _mm512_shuffle_f32x4(v, v2, 0xDD);
        r[8 + q] = _mm512_shuffle_f32x4(w, w2, 0x88);
        r[12 + q] = _mm512_shuffle_f32x4(w, w2, 0xDD);
    }
}

#endif
