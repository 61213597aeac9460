#include "resize_avx512.h"
#include <immintrin.h>
#include <string.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

enum { PRECISION_BITS = 22 };

static inline __mmask16 lanes(long count) {
    return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? 0 : (__mmask16)((1u << count) - 1);
}

// Pillow's rounding: (sum + 2^21) >> 22, clamped to 0...255 (the sum already holds the 2^21).
AVX512 static inline __m128i to_bytes(__m512i sum) {
    return _mm512_cvtusepi32_epi8(_mm512_max_epi32(_mm512_srai_epi32(sum, PRECISION_BITS), _mm512_setzero_si512()));
}

// 16 bytes as 16 int32 times one weight, added to `sum`.
AVX512 static inline __m512i add_weighted(__m512i sum, __m128i bytes, __m512i weight) {
    return _mm512_add_epi32(sum, _mm512_mullo_epi32(_mm512_cvtepu8_epi32(bytes), weight));
}

AVX512 void stpm_resize_vertical_avx512(const uint8_t *src, long row_length, uint8_t *dst, long out_rows,
                                        const long *first, const long *count, const int32_t *weights, long taps) {
    const __m512i half = _mm512_set1_epi32(1 << (PRECISION_BITS - 1));
    for (long yy = 0; yy < out_rows; yy++) {
        const uint8_t *rows = src + first[yy] * row_length;
        const int32_t *k = weights + yy * taps;
        const long n = count[yy];
        uint8_t *out = dst + yy * row_length;
        long i = 0;
        // 64 bytes at a time in four accumulators, the rest 16 at a time under a mask.
        for (; i + 64 <= row_length; i += 64) {
            __m512i a0 = half, a1 = half, a2 = half, a3 = half;
            for (long t = 0; t < n; t++) {
                const uint8_t *p = rows + t * row_length + i;
                const __m512i w = _mm512_set1_epi32(k[t]);
                a0 = add_weighted(a0, _mm_loadu_si128((const __m128i *)p), w);
                a1 = add_weighted(a1, _mm_loadu_si128((const __m128i *)(p + 16)), w);
                a2 = add_weighted(a2, _mm_loadu_si128((const __m128i *)(p + 32)), w);
                a3 = add_weighted(a3, _mm_loadu_si128((const __m128i *)(p + 48)), w);
            }
            _mm_storeu_si128((__m128i *)(out + i), to_bytes(a0));
            _mm_storeu_si128((__m128i *)(out + i + 16), to_bytes(a1));
            _mm_storeu_si128((__m128i *)(out + i + 32), to_bytes(a2));
            _mm_storeu_si128((__m128i *)(out + i + 48), to_bytes(a3));
        }
        for (; i < row_length; i += 16) {
            const __mmask16 mask = lanes(row_length - i);
            __m512i a = half;
            for (long t = 0; t < n; t++) {
                a = add_weighted(a, _mm_maskz_loadu_epi8(mask, rows + t * row_length + i), _mm512_set1_epi32(k[t]));
            }
            _mm_mask_storeu_epi8(out + i, mask, to_bytes(a));
        }
    }
}

// A row of RGB pixels as 4 bytes each (R, G, B, 0), then 4 zero pixels: four taps are read at a time, and
// those beyond an output's count (zero weights) may reach 3 pixels past the row.
AVX512 static void spread_row(const uint8_t *rgb, long width, uint32_t *pixels) {
    const __m512i dwords = _mm512_set_epi32(15, 11, 10, 9, 15, 8, 7, 6, 15, 5, 4, 3, 15, 2, 1, 0);
    const __m512i bytes = _mm512_set4_epi32((int)0x800B0A09, (int)0x80080706, (int)0x80050403, (int)0x80020100);
    for (long x = 0; x < width; x += 16) {
        const long n = width - x < 16 ? width - x : 16;
        const __m512i v = _mm512_maskz_loadu_epi8(n == 16 ? ~0ULL >> 16 : (1ULL << (3 * n)) - 1, rgb + 3 * x);
        _mm512_mask_storeu_epi32(pixels + x, lanes(n), _mm512_shuffle_epi8(_mm512_permutexvar_epi32(dwords, v), bytes));
    }
    memset(pixels + width, 0, 4 * sizeof(uint32_t));
}

AVX512 void stpm_resize_horizontal_rgb_avx512(const uint8_t *src, long in_width, long rows, uint8_t *dst, long out_width,
                                              const long *first, const long *count, const int32_t *weights, long taps,
                                              uint32_t *pixels) {
    // Tap t's weight over the 4 lanes of pixel t (each 128-bit lane holds one tap's R, G, B, 0).
    const __m512i spread = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    const __m512i half = _mm512_set1_epi32(1 << (PRECISION_BITS - 1));
    const __m128i rgb = _mm_set_epi8(-128, -128, -128, -128, 14, 13, 12, 10, 9, 8, 6, 5, 4, 2, 1, 0);
    for (long y = 0; y < rows; y++) {
        spread_row(src + y * in_width * 3, in_width, pixels);
        uint8_t *out = dst + y * out_width * 3;
        for (long g = 0; g < out_width; g += 4) {
            // Four outputs, each summed over its taps four at a time into the lanes of its own vector.
            __m512i sums[4];
            for (long j = 0; j < 4; j++) {
                const long xx = g + j < out_width ? g + j : out_width - 1, n = count[xx];
                const uint32_t *p = pixels + first[xx];
                const int32_t *k = weights + xx * taps;
                __m512i s = _mm512_setzero_si512();
                for (long t = 0; t < n; t += 4) {
                    const __m512i w = _mm512_permutexvar_epi32(spread, _mm512_castsi128_si512(
                        _mm_maskz_loadu_epi32((__mmask8)lanes(n - t), k + t)));
                    s = add_weighted(s, _mm_loadu_si128((const __m128i *)(p + t)), w);
                }
                sums[j] = s;
            }
            // Lane j of the result: the four lanes of sums[j] added.
            const __m512i s01 = _mm512_add_epi32(_mm512_shuffle_i32x4(sums[0], sums[1], _MM_SHUFFLE(1, 0, 1, 0)),
                                                 _mm512_shuffle_i32x4(sums[0], sums[1], _MM_SHUFFLE(3, 2, 3, 2)));
            const __m512i s23 = _mm512_add_epi32(_mm512_shuffle_i32x4(sums[2], sums[3], _MM_SHUFFLE(1, 0, 1, 0)),
                                                 _mm512_shuffle_i32x4(sums[2], sums[3], _MM_SHUFFLE(3, 2, 3, 2)));
            const __m512i sum = _mm512_add_epi32(half, _mm512_add_epi32(_mm512_shuffle_i32x4(s01, s23, _MM_SHUFFLE(2, 0, 2, 0)),
                                                                        _mm512_shuffle_i32x4(s01, s23, _MM_SHUFFLE(3, 1, 3, 1))));
            const long n = out_width - g < 4 ? out_width - g : 4;
            _mm_mask_storeu_epi8(out + 3 * g, lanes(3 * n), _mm_shuffle_epi8(to_bytes(sum), rgb));
        }
    }
}
