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

// Lanes l of a vector from column `start` that lie in 0 ..< w.
static inline __mmask16 inside(long start, long w) {
    long lo = start < 0 ? -start : 0, hi = w - start < 16 ? w - start : 16;
    if (hi <= lo) return 0;
    return (__mmask16)(lanes(hi) & ~lanes(lo));
}

AVX512 void stpm_maxpool3s2_argmax_avx512(const float *x, long planes, long x_stride, long h, long w, long pad_top,
                                          long pad_left, float *y, long y_stride, long oh, long ow, unsigned char *argmax,
                                          long argmax_stride) {
    const __m512 low = _mm512_set1_ps(-INFINITY);
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const __m512i twice = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    for (long plane = 0; plane < planes; plane++, x += x_stride, y += y_stride, argmax += argmax_stride)
    for (long oy = 0; oy < oh; oy++) {
        const long y0 = 2 * oy - pad_top, top = y0 < 0 ? 0 : y0, bottom = y0 + 3 < h ? y0 + 3 : h;
        for (long ox = 0; ox < ow; ox += 16) {
            const long c0 = 2 * ox - pad_left;
            // Window column c of each lane as an offset from its clipped first column (c0 + 2 l cut at 0).
            const __m512i first = _mm512_add_epi32(_mm512_set1_epi32((int)c0), twice);
            const __m512i clip = _mm512_max_epi32(_mm512_sub_epi32(_mm512_setzero_si512(), first), _mm512_setzero_si512());
            __m512i column[3];
            for (int c = 0; c < 3; c++) column[c] = _mm512_sub_epi32(_mm512_set1_epi32(c), clip);
            __m512 best = low;
            __m512i offset = _mm512_setzero_si512();
            for (long r = top; r < bottom; r++) {
                const float *row = x + r * w;
                const __m512 a = _mm512_mask_loadu_ps(low, inside(c0, w), row + c0);
                const __m512 b = _mm512_mask_loadu_ps(low, inside(c0 + 16, w), row + c0 + 16);
                const __m512 c = _mm512_mask_loadu_ps(low, inside(c0 + 32, w) & 1, row + c0 + 32);
                const __m512 e0 = _mm512_permutex2var_ps(a, even, b), e1 = _mm512_permutex2var_ps(a, odd, b);
                const __m512 e2 = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(c), _mm512_castps_si512(e0), 1));
                const __m512 v[3] = { e0, e1, e2 };
                const __m512i above = _mm512_set1_epi32((int)(3 * (r - top)));
                // Scan order, a later value winning only when strictly greater: the first maximum, as the portable path.
                for (int k = 0; k < 3; k++) {
                    const __mmask16 gt = _mm512_cmp_ps_mask(v[k], best, _CMP_GT_OQ);
                    best = _mm512_mask_mov_ps(best, gt, v[k]);
                    offset = _mm512_mask_mov_epi32(offset, gt, _mm512_add_epi32(above, column[k]));
                }
            }
            const __mmask16 out = lanes(ow - ox);
            _mm512_mask_storeu_ps(y + oy * ow + ox, out, best);
            _mm512_mask_cvtepi32_storeu_epi8(argmax + oy * ow + ox, out, offset);
        }
    }
}
