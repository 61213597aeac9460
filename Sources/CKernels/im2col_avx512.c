// The stride-2 gather of im2col in AVX-512: two loads and one two-source permute per 16 columns, the row's last
// columns through masked loads. The Swift loop's SIMD32 even half compiled to AVX2 shuffles and stopped a vector
// early (its load must not pass the row's last tap), leaving up to 16 columns per row to a scalar loop.
#include "im2col_avx512.h"
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512vl")))

static inline __mmask16 first_lanes(long n) { return n >= 16 ? 0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1); }

AVX512 void stpm_even_lanes_avx512(const float *src, long count, float *dst) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    long i = 0;
    // The high vector's last lane (an odd float, never kept) is left unread: it may lie past the row.
    for (; i + 16 <= count; i += 16) {
        const __m512 lo = _mm512_loadu_ps(src + 2 * i), hi = _mm512_maskz_loadu_ps(0x7fff, src + 2 * i + 16);
        _mm512_storeu_ps(dst + i, _mm512_permutex2var_ps(lo, even, hi));
    }
    if (i < count) {
        const long floats = 2 * (count - i) - 1;
        const __m512 lo = _mm512_maskz_loadu_ps(first_lanes(floats), src + 2 * i);
        const __m512 hi = _mm512_maskz_loadu_ps(first_lanes(floats - 16), src + 2 * i + 16);
        _mm512_mask_storeu_ps(dst + i, first_lanes(count - i), _mm512_permutex2var_ps(lo, even, hi));
    }
}
