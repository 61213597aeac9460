#include "maxpool_avx512.h"
#include <immintrin.h>
#include <math.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

static inline __mmask16 lanes(long count) {
    return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? 0 : (__mmask16)((1u << count) - 1);
}

// The row of column maxima with its padding: pad_left entries, w, then -inf up to the last vector the
// output loop loads (two whole vectors from 2 * ox, ox a multiple of 16 below ow, and two more from 2 * ox + 2).
long stpm_maxpool3s2_scratch(long w, long ow) {
    const long loaded = 2 * ((ow + 15) / 16 * 16) + 2;
    return (w + 2 > loaded ? w + 2 : loaded) + 16;
}

AVX512 void stpm_maxpool3s2_avx512(const float *x, long planes, long x_stride, long h, long w, long pad_top, long pad_left,
                                   float *y, long y_stride, long oh, long ow, float *scratch) {
    const long length = stpm_maxpool3s2_scratch(w, ow);
    const __m512 low = _mm512_set1_ps(-INFINITY);
    for (long i = 0; i < length; i += 16) _mm512_mask_storeu_ps(scratch + i, lanes(length - i), low);
    float *m = scratch + pad_left;
    // Lanes 2j and 2j + 1 of a pair of vectors, the first two window columns of 16 outputs.
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    for (long plane = 0; plane < planes; plane++, x += x_stride, y += y_stride)
    for (long oy = 0; oy < oh; oy++) {
        const long y0 = 2 * oy - pad_top, top = y0 < 0 ? 0 : y0, bottom = y0 + 3 < h ? y0 + 3 : h;
        for (long j = 0; j < w; j += 16) {
            const __mmask16 mask = lanes(w - j);
            __m512 v = _mm512_maskz_loadu_ps(mask, x + top * w + j);
            for (long r = top + 1; r < bottom; r++) v = _mm512_max_ps(v, _mm512_maskz_loadu_ps(mask, x + r * w + j));
            _mm512_mask_storeu_ps(m + j, mask, v);
        }
        float *out = y + oy * ow;
        for (long ox = 0; ox < ow; ox += 16) {
            const float *p = scratch + 2 * ox;
            const __m512 a = _mm512_loadu_ps(p), b = _mm512_loadu_ps(p + 16);
            const __m512 a2 = _mm512_loadu_ps(p + 2), b2 = _mm512_loadu_ps(p + 18);
            const __m512 v = _mm512_max_ps(_mm512_max_ps(_mm512_permutex2var_ps(a, even, b), _mm512_permutex2var_ps(a, odd, b)),
                                           _mm512_permutex2var_ps(a2, even, b2));
            _mm512_mask_storeu_ps(out + ox, lanes(ow - ox), v);
        }
    }
}
