#include "png_filters_avx512.h"
#include "transpose16_avx512.h"
#include <immintrin.h>
#include <string.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define INLINE static inline __attribute__((always_inline))

enum { LANES = 16 };

AVX512 static inline __m512i absdiff(__m512i x, __m512i y) {
    return _mm512_sub_epi8(_mm512_max_epu8(x, y), _mm512_min_epu8(x, y));
}

// Paeth's predictor per byte, in bytes: pa = |b - c|, pb = |a - c|, pc = |(b - c) + (a - c)|, which is
// pa + pb when both differences have one sign and |pa - pb| otherwise; saturating at 255 changes no
// comparison, since pc is only ever compared below min(pa, pb) <= 255.
AVX512 static inline __m512i paeth(__m512i a, __m512i b, __m512i c) {
    const __m512i pa = absdiff(b, c), pb = absdiff(a, c);
    const __mmask64 same = _kxnor_mask64(_mm512_cmpge_epu8_mask(a, c), _mm512_cmpge_epu8_mask(b, c));
    const __m512i pc = _mm512_mask_blend_epi8(same, absdiff(pa, pb), _mm512_adds_epu8(pa, pb));
    const __m512i nearer = _mm512_mask_blend_epi8(_mm512_cmplt_epu8_mask(pb, pa), a, b);
    return _mm512_mask_blend_epi8(_mm512_cmplt_epu8_mask(pc, _mm512_min_epu8(pa, pb)), nearer, c);
}

static inline uint64_t low_bits(long n) { return n >= 64 ? ~0ull : (1ull << n) - 1; }

// Rows y0 ..< y0 + rows (rows <= 16 * parts) of the image; `above` is row y0 - 1's result, or NULL.
// Up to four parts of 16 rows run as one wavefront of 64 lanes, each part's lane 0 taking the part
// before's lane 15 as its row above: within a step the parts are independent, so their chains overlap
// (one chain of 16 lanes waited on its own latency). Inlined for bpp 3 and 4 and for 1-4 parts.
AVX512 INLINE void unfilter_rows(const uint8_t *raw, long rows, long row_bytes, long bpp, int parts,
                                 const uint8_t *above, uint8_t *out) {
    const long width = row_bytes / bpp;
    __mmask16 sub[4], up[4], avg[4], pth[4];
    for (int h = 0; h < parts; h++) {
        unsigned kinds[5] = {0, 0, 0, 0, 0};
        for (long k = 0; k < LANES && h * LANES + k < rows; k++) kinds[raw[(h * LANES + k) * (row_bytes + 1)]] |= 1u << k;
        sub[h] = (__mmask16)kinds[1], up[h] = (__mmask16)kinds[2], avg[h] = (__mmask16)kinds[3], pth[h] = (__mmask16)kinds[4];
    }
    // bpp 3: 16 pixels' 48 bytes to 16 dwords (R, G, B, 0) and back, in two moves each.
    const __m512i spread = _mm512_set_epi32(0, 11, 10, 9, 0, 8, 7, 6, 0, 5, 4, 3, 0, 2, 1, 0);
    const __m512i widen = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1));
    const __m512i narrow = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1));
    const __m512i gather = _mm512_set_epi32(0, 0, 0, 0, 14, 13, 12, 10, 9, 8, 6, 5, 4, 2, 1, 0);
    const __m512i one = _mm512_set1_epi8(1), zero = _mm512_setzero_si512();
    __m512i left[4] = {zero, zero, zero, zero}, upper_left[4] = {zero, zero, zero, zero};
    // Blocks of 16 steps: row r's 16 pixels from t0 - r loaded (none outside the row, so a lane not yet
    // started or finished holds zero), transposed into the steps' vectors, run, transposed back, stored.
    const long steps = width + rows - 1;
    for (long t0 = 0; t0 < steps; t0 += LANES) {
        __m512i v[4][LANES];
        for (int h = 0; h < parts; h++) {
            for (long k = 0; k < LANES; k++) {
                const long r = h * LANES + k, p0 = t0 - r, lo = p0 < 0 ? -p0 : 0, hi = width - p0 < LANES ? width - p0 : LANES;
                v[h][k] = zero;
                if (r >= rows || hi <= lo) continue;
                // Masked: p0 may be negative, and no byte outside the row is read.
                const uint8_t *from = raw + r * (row_bytes + 1) + 1 + p0 * bpp;
                if (bpp == 3) {
                    const __m512i bytes = _mm512_maskz_loadu_epi8(low_bits(3 * hi) & ~low_bits(3 * lo), from);
                    v[h][k] = _mm512_shuffle_epi8(_mm512_permutexvar_epi32(spread, bytes), widen);
                } else {
                    v[h][k] = _mm512_maskz_loadu_epi32((__mmask16)(low_bits(hi) & ~low_bits(lo)), from);
                }
            }
            transpose16((__m512 *)v[h]);
        }
        const long n = steps - t0 < LANES ? steps - t0 : LANES;
        for (long i = 0; i < n; i++) {
            const long t = t0 + i;
            // 4 bytes even for bpp 3 (the next byte of `out`: a lane's fourth byte never reaches a row);
            // a 3-byte copy went through the stack, a wait on the chain of every step.
            uint32_t first = 0;
            if (above && t < width) memcpy(&first, above + t * bpp, 4);
            // Row r's byte above is lane r - 1's result of the step before; row 0's is in memory.
            __m512i b[4];
            b[0] = _mm512_alignr_epi32(left[0], _mm512_set1_epi32((int)first), 15);
            for (int h = 1; h < parts; h++) b[h] = _mm512_alignr_epi32(left[h], left[h - 1], 15);
            for (int h = 0; h < parts; h++) {
                const __m512i average = _mm512_sub_epi8(_mm512_avg_epu8(left[h], b[h]),
                                                        _mm512_and_si512(_mm512_xor_si512(left[h], b[h]), one));
                __m512i predicted = _mm512_maskz_mov_epi32(sub[h], left[h]);
                predicted = _mm512_mask_mov_epi32(predicted, up[h], b[h]);
                predicted = _mm512_mask_mov_epi32(predicted, avg[h], average);
                predicted = _mm512_mask_mov_epi32(predicted, pth[h], paeth(left[h], b[h], upper_left[h]));
                // A lane not yet started holds zero (so did its neighbours), which is the left and upper-left
                // neighbour of its row's first pixel; a finished lane is read by no one.
                left[h] = _mm512_add_epi8(v[h][i], predicted);
                upper_left[h] = b[h];
                v[h][i] = left[h];
            }
        }
        for (int h = 0; h < parts; h++) {
            transpose16((__m512 *)v[h]);
            for (long k = 0; k < LANES; k++) {
                const long r = h * LANES + k, p0 = t0 - r, lo = p0 < 0 ? -p0 : 0, hi = width - p0 < LANES ? width - p0 : LANES;
                if (r >= rows || hi <= lo) continue;
                uint8_t *to = out + r * row_bytes + p0 * bpp;
                if (bpp == 3) {
                    const __m512i bytes = _mm512_permutexvar_epi32(gather, _mm512_shuffle_epi8(v[h][k], narrow));
                    _mm512_mask_storeu_epi8(to, low_bits(3 * hi) & ~low_bits(3 * lo), bytes);
                } else {
                    _mm512_mask_storeu_epi32(to, (__mmask16)(low_bits(hi) & ~low_bits(lo)), v[h][k]);
                }
            }
        }
    }
}

AVX512 int stpm_png_unfilter_avx512(const uint8_t *raw, long rows, long row_bytes, long bpp, uint8_t *out) {
    for (long y = 0; y < rows; y++) if (raw[y * (row_bytes + 1)] > 4) return 0;
    for (long y0 = 0; y0 < rows; y0 += 4 * LANES) {
        const uint8_t *rows_raw = raw + y0 * (row_bytes + 1), *above = y0 > 0 ? out + (y0 - 1) * row_bytes : NULL;
        const long n = rows - y0 < 4 * LANES ? rows - y0 : 4 * LANES;
        uint8_t *to = out + y0 * row_bytes;
        // The parts as constants, so that their loops unroll and their vectors stay in registers.
        switch ((n + LANES - 1) / LANES + (bpp == 3 ? 0 : 4)) {
        case 1: unfilter_rows(rows_raw, n, row_bytes, 3, 1, above, to); break;
        case 2: unfilter_rows(rows_raw, n, row_bytes, 3, 2, above, to); break;
        case 3: unfilter_rows(rows_raw, n, row_bytes, 3, 3, above, to); break;
        case 4: unfilter_rows(rows_raw, n, row_bytes, 3, 4, above, to); break;
        case 5: unfilter_rows(rows_raw, n, row_bytes, 4, 1, above, to); break;
        case 6: unfilter_rows(rows_raw, n, row_bytes, 4, 2, above, to); break;
        case 7: unfilter_rows(rows_raw, n, row_bytes, 4, 3, above, to); break;
        default: unfilter_rows(rows_raw, n, row_bytes, 4, 4, above, to); break;
        }
    }
    return 1;
}
