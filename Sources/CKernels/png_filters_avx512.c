#include "png_filters_avx512.h"
#include <immintrin.h>
#include <string.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

enum { LANES = 16 };

// The strided pixel moves stay scalar: clang turns them into gathers and scatters, 1.6x slower here.
#if defined(__clang__)
#define SCALAR_LOOP _Pragma("clang loop vectorize(disable)")
#else
#define SCALAR_LOOP
#endif

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

// Rows y0 ..< y0 + group (group <= 16) of the image; `above` is row y0 - 1's result, or NULL.
// Inlined for bpp 3 and 4, so the moves of a pixel are single loads and stores.
AVX512 static inline __attribute__((always_inline)) void unfilter_group(const uint8_t *raw, long group, long row_bytes,
                                                                      long bpp, const uint8_t *above, uint8_t *out,
                                                                      uint8_t *stage) {
    const long width = row_bytes / bpp;
    unsigned kinds[5] = {0, 0, 0, 0, 0};
    for (long k = 0; k < group; k++) kinds[raw[k * (row_bytes + 1)]] |= 1u << k;
    const __mmask16 sub = (__mmask16)kinds[1], up = (__mmask16)kinds[2], avg = (__mmask16)kinds[3],
                    pth = (__mmask16)kinds[4];
    // Lane k's pixels, transposed into the stage first (a gather per step took 4x longer): step t's 64
    // bytes hold pixel t - k of row k in lane k, read as 4 bytes ending at the pixel's last (bpp 3: the
    // byte before is shifted out below, and nothing past the row is read) or as the pixel (bpp 4).
    for (long k = 0; k < group; k++) {
        const uint8_t *from = raw + k * (row_bytes + 1) + (bpp == 4 ? 1 : 0);
        uint8_t *to = stage + k * 64 + k * 4;
        SCALAR_LOOP for (long p = 0; p < width; p++) memcpy(to + p * 64, from + p * bpp, 4);
    }
    const __m512i one = _mm512_set1_epi8(1);
    const unsigned rows_mask = group == LANES ? 0xFFFFu : (1u << group) - 1;
    __m512i left = _mm512_setzero_si512(), upper_left = _mm512_setzero_si512();
    for (long t = 0; t < width + group - 1; t++) {
        // Lanes whose pixel t - k lies in 0 ..< width.
        unsigned active = rows_mask & (t + 1 >= LANES ? 0xFFFFu : (1u << (t + 1)) - 1);
        if (t >= width) active &= ~((t - width + 1 >= LANES ? 0xFFFFu : (1u << (t - width + 1)) - 1));
        __m512i src = _mm512_maskz_loadu_epi32((__mmask16)active, stage + t * 64);
        if (bpp == 3) src = _mm512_srli_epi32(src, 8);
        // 4 bytes even for bpp 3 (the next byte of `out`: a lane's fourth byte never reaches a row, see below);
        // a 3-byte copy went through the stack, a wait on the chain of every step.
        uint32_t first = 0;
        if (above && t < width) memcpy(&first, above + t * bpp, 4);
        // Row y0 + k's byte above is lane k - 1's result of the step before; lane 0's is in memory.
        const __m512i b = _mm512_alignr_epi32(left, _mm512_set1_epi32((int)first), 15);
        const __m512i average = _mm512_sub_epi8(_mm512_avg_epu8(left, b), _mm512_and_si512(_mm512_xor_si512(left, b), one));
        __m512i predicted = _mm512_maskz_mov_epi32(sub, left);
        predicted = _mm512_mask_mov_epi32(predicted, up, b);
        predicted = _mm512_mask_mov_epi32(predicted, avg, average);
        predicted = _mm512_mask_mov_epi32(predicted, pth, paeth(left, b, upper_left));
        // A lane not yet started holds zero (its load is masked, and so were its neighbours'), which is the
        // left and upper-left neighbour of its row's first pixel; a finished lane is read by no one.
        left = _mm512_add_epi8(src, predicted);
        upper_left = b;
        _mm512_storeu_si512(stage + t * 64, left);
    }
    for (long k = 0; k < group; k++) {
        uint8_t *row = out + k * row_bytes;
        const uint8_t *from = stage + k * 64 + k * 4;
        // bpp 3: 4-byte moves, the fourth byte overwritten by the next pixel, the last pixel 3 bytes.
        long p = 0;
        if (bpp == 3) SCALAR_LOOP for (; p + 1 < width; p++) memcpy(row + p * 3, from + p * 64, 4);
        SCALAR_LOOP for (; p < width; p++) memcpy(row + p * bpp, from + p * 64, bpp == 3 ? 3 : 4);
    }
}

AVX512 int stpm_png_unfilter_avx512(const uint8_t *raw, long rows, long row_bytes, long bpp, uint8_t *out, uint8_t *stage) {
    for (long y = 0; y < rows; y++) if (raw[y * (row_bytes + 1)] > 4) return 0;
    for (long y0 = 0; y0 < rows; y0 += LANES) {
        const uint8_t *group_raw = raw + y0 * (row_bytes + 1), *above = y0 > 0 ? out + (y0 - 1) * row_bytes : NULL;
        const long group = rows - y0 < LANES ? rows - y0 : LANES;
        if (bpp == 3) unfilter_group(group_raw, group, row_bytes, 3, above, out + y0 * row_bytes, stage);
        else unfilter_group(group_raw, group, row_bytes, 4, above, out + y0 * row_bytes, stage);
    }
    return 1;
}
