#include "resize_avx512.h"
#include <immintrin.h>
#include <stdlib.h>

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

AVX512 void stpm_resize_horizontal_rgb_avx512(const uint8_t *src, long in_width, long rows, uint8_t *dst, long out_width,
                                              const long *first, const long *count, const int32_t *weights, long taps) {
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i in_rows = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int)(3 * in_width)));
    const __m512i out_rows = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int)(3 * out_width)));
    const __m512i byte = _mm512_set1_epi32(255), half = _mm512_set1_epi32(1 << (PRECISION_BITS - 1));
    const __m512i zero = _mm512_setzero_si512();
    // 16 rows at a time, one lane per row: an output pixel's taps are the same on every row.
    for (long y0 = 0; y0 < rows; y0 += 16) {
        const __mmask16 mask = lanes(rows - y0);
        const uint8_t *in = src + y0 * 3 * in_width;
        uint8_t *out = dst + y0 * 3 * out_width;
        __m512i column0 = zero, column1 = zero;
        for (long xx = 0; xx < out_width; xx++) {
            const int32_t *k = weights + xx * taps;
            __m512i r = half, g = half, b = half;
            for (long t = 0; t < count[xx]; t++) {
                const __m512i pixel = _mm512_mask_i32gather_epi32(zero, mask, _mm512_add_epi32(in_rows, _mm512_set1_epi32((int)(3 * (first[xx] + t)))),
                                                                  in, 1);
                const __m512i w = _mm512_set1_epi32(k[t]);
                r = _mm512_add_epi32(r, _mm512_mullo_epi32(_mm512_and_si512(pixel, byte), w));
                g = _mm512_add_epi32(g, _mm512_mullo_epi32(_mm512_and_si512(_mm512_srli_epi32(pixel, 8), byte), w));
                b = _mm512_add_epi32(b, _mm512_mullo_epi32(_mm512_and_si512(_mm512_srli_epi32(pixel, 16), byte), w));
            }
            // Pillow's rounding, then R, G, B and a zero byte per lane.
            r = _mm512_min_epi32(_mm512_max_epi32(_mm512_srai_epi32(r, PRECISION_BITS), zero), byte);
            g = _mm512_min_epi32(_mm512_max_epi32(_mm512_srai_epi32(g, PRECISION_BITS), zero), byte);
            b = _mm512_min_epi32(_mm512_max_epi32(_mm512_srai_epi32(b, PRECISION_BITS), zero), byte);
            const __m512i v = _mm512_or_si512(r, _mm512_or_si512(_mm512_slli_epi32(g, 8), _mm512_slli_epi32(b, 16)));
            // The zero byte lands on the next pixel's red, written next.
            _mm512_mask_i32scatter_epi32(out + 3 * xx, mask, out_rows, v, 1);
            if (xx == 0) column0 = v;
            if (xx == 1) column1 = v;
        }
        // The last pixel's zero byte landed on the next row's first red: each row's first pixel again, with the
        // second pixel's red as its fourth byte.
        _mm512_mask_i32scatter_epi32(out, mask, out_rows, _mm512_or_si512(column0, _mm512_slli_epi32(column1, 24)), 1);
    }
}

static inline uint64_t low_bits(long n) { return n <= 0 ? 0 : n >= 64 ? ~0ull : (1ull << n) - 1; }

AVX512 int stpm_resize_horizontal_rgb_rows_avx512(const uint8_t *src, long in_width, long rows, uint8_t *dst, long out_width,
                                                  const long *first, const long *count, const int32_t *weights, long taps) {
    const long blocks = (out_width + 15) / 16;
    // Per block of 16 output pixels: its first input pixel, how many taps its pixels use at most, and per
    // tap 16 lanes to pick (among the 32 input pixels from the first) and 16 weights (zero past a count).
    long *base = malloc(blocks * sizeof(long) * 2);
    int32_t *lanes_weights = malloc(blocks * taps * 32 * sizeof(int32_t));
    if (!base || !lanes_weights) { free(base); free(lanes_weights); return 0; }
    long *most = base + blocks;
    for (long b = 0; b < blocks; b++) {
        const long x0 = b * 16;
        base[b] = first[x0];
        most[b] = 0;
        for (long j = 0; j < 16; j++) {
            const long xx = x0 + j < out_width ? x0 + j : -1;
            if (xx >= 0 && (first[xx] + count[xx] - base[b] > 32 || first[xx] < base[b])) {
                free(base); free(lanes_weights);
                return 0;
            }
            if (xx >= 0 && count[xx] > most[b]) most[b] = count[xx];
            for (long t = 0; t < taps; t++) {
                int32_t *entry = lanes_weights + (b * taps + t) * 32;
                const int used = xx >= 0 && t < count[xx];
                entry[j] = used ? (int32_t)(first[xx] + t - base[b]) : 0;
                entry[16 + j] = used ? weights[xx * taps + t] : 0;
            }
        }
    }
    const __m512i spread = _mm512_set_epi32(0, 11, 10, 9, 0, 8, 7, 6, 0, 5, 4, 3, 0, 2, 1, 0);
    const __m512i widen = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1));
    const __m512i narrow = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1));
    const __m512i pack = _mm512_set_epi32(0, 0, 0, 0, 14, 13, 12, 10, 9, 8, 6, 5, 4, 2, 1, 0);
    const __m512i byte = _mm512_set1_epi32(255), half = _mm512_set1_epi32(1 << (PRECISION_BITS - 1));
    const __m512i zero = _mm512_setzero_si512();
    for (long y = 0; y < rows; y++) {
        const uint8_t *row = src + y * 3 * in_width;
        uint8_t *out = dst + y * 3 * out_width;
        for (long b = 0; b < blocks; b++) {
            // 32 input pixels as (R, G, B, 0) lanes; those past the row read as zero, and weigh zero.
            const long from = 3 * base[b], left = 3 * in_width - from;
            const __m512i lo = _mm512_maskz_loadu_epi8(low_bits(left < 48 ? left : 48), row + from);
            const __m512i hi = _mm512_maskz_loadu_epi8(low_bits(left - 48 < 48 ? left - 48 : 48), row + from + 48);
            const __m512i pixels0 = _mm512_shuffle_epi8(_mm512_permutexvar_epi32(spread, lo), widen);
            const __m512i pixels1 = _mm512_shuffle_epi8(_mm512_permutexvar_epi32(spread, hi), widen);
            __m512i r = half, g = half, bl = half;
            for (long t = 0; t < most[b]; t++) {
                const int32_t *entry = lanes_weights + (b * taps + t) * 32;
                const __m512i pixel = _mm512_permutex2var_epi32(pixels0, _mm512_loadu_si512(entry), pixels1);
                const __m512i w = _mm512_loadu_si512(entry + 16);
                r = _mm512_add_epi32(r, _mm512_mullo_epi32(_mm512_and_si512(pixel, byte), w));
                g = _mm512_add_epi32(g, _mm512_mullo_epi32(_mm512_and_si512(_mm512_srli_epi32(pixel, 8), byte), w));
                bl = _mm512_add_epi32(bl, _mm512_mullo_epi32(_mm512_srli_epi32(pixel, 16), w));
            }
            r = _mm512_min_epi32(_mm512_max_epi32(_mm512_srai_epi32(r, PRECISION_BITS), zero), byte);
            g = _mm512_min_epi32(_mm512_max_epi32(_mm512_srai_epi32(g, PRECISION_BITS), zero), byte);
            bl = _mm512_min_epi32(_mm512_max_epi32(_mm512_srai_epi32(bl, PRECISION_BITS), zero), byte);
            const __m512i v = _mm512_or_si512(r, _mm512_or_si512(_mm512_slli_epi32(g, 8), _mm512_slli_epi32(bl, 16)));
            const long n = out_width - b * 16 < 16 ? out_width - b * 16 : 16;
            _mm512_mask_storeu_epi8(out + 3 * b * 16, low_bits(3 * n), _mm512_permutexvar_epi32(pack, _mm512_shuffle_epi8(v, narrow)));
        }
    }
    free(base);
    free(lanes_weights);
    return 1;
}
