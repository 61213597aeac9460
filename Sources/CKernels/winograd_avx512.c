// Winograd F(4x4, 3x3) input and output transforms in AVX-512, sixteen tiles per vector.
//
// The tiles of a block go through in runs: up to 16 horizontally neighbouring tiles of one tile row.
// A run's six input rows are 4 len + 2 contiguous floats each (neighbouring tiles overlap by two
// columns), read with plain vector loads; Bᵀ combines the rows, then the columns of every fourth float
// are pulled apart in registers (two rounds of permutes) so that each tile sits in its own lane, as V
// wants it. The output transform does the reverse: tiles in lanes from M, Aᵀ on both sides, bias and
// activation, then the four output columns of each tile interleaved back into whole rows of y.
// The arithmetic is the portable kernel's (Winograd.swift), operation for operation, so both paths give
// the same floats.
#include "winograd_avx512.h"
#include "gemm_avx512.h"
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define INLINE static inline __attribute__((always_inline))

INLINE __mmask16 tail_mask(int n) { return n >= 16 ? 0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1); }

// The run from tile t: image n, tile row ty, columns tx ..< tx + len, lanes p0 ..< p0 + len of the block.
typedef struct { int n, ty, tx, len, p0; } run;

static run run_at(stpm_winograd_block b, int t) {
    int per = b.tiles_h * b.tiles_w, rem = t % per, end = b.first + b.count;
    run r = { t / per, rem / b.tiles_w, rem % b.tiles_w, 16, t - b.first };
    if (r.len > b.tiles_w - r.tx) r.len = b.tiles_w - r.tx;
    if (r.len > end - t) r.len = end - t;
    return r;
}

// Bᵀ applied to six vectors (Winograd.swift's inputPass).
#define ADD _mm512_add_ps
#define SUB _mm512_sub_ps
#define MUL _mm512_mul_ps
AVX512 INLINE void input_pass(const __m512 d[6], __m512 out[6]) {
    const __m512 two = _mm512_set1_ps(2), four = _mm512_set1_ps(4), five = _mm512_set1_ps(5);
    out[0] = ADD(SUB(MUL(four, d[0]), MUL(five, d[2])), d[4]);
    out[1] = SUB(ADD(d[3], d[4]), MUL(four, ADD(d[1], d[2])));
    out[2] = ADD(SUB(d[4], d[3]), MUL(four, SUB(d[1], d[2])));
    out[3] = ADD(SUB(d[4], d[2]), MUL(two, SUB(d[3], d[1])));
    out[4] = SUB(SUB(d[4], d[2]), MUL(two, SUB(d[3], d[1])));
    out[5] = ADD(SUB(MUL(four, d[1]), MUL(five, d[3])), d[5]);
}

// Aᵀ applied to m[0], m[s], ..., m[5s], leaving four in m[0], ..., m[3s] (Winograd.swift's outputPass).
AVX512 INLINE void output_pass(__m512 *m, int s) {
    const __m512 two = _mm512_set1_ps(2), four = _mm512_set1_ps(4), eight = _mm512_set1_ps(8);
    __m512 m0 = m[0], m5 = m[5 * s];
    __m512 a = ADD(m[s], m[2 * s]), b = SUB(m[s], m[2 * s]), c = ADD(m[3 * s], m[4 * s]), d = SUB(m[3 * s], m[4 * s]);
    m[0] = ADD(ADD(m0, a), c);
    m[s] = ADD(b, MUL(two, d));
    m[2 * s] = ADD(a, MUL(four, c));
    m[3 * s] = ADD(ADD(b, MUL(eight, d)), m5);
}

// s[j][t] = a[4t + j] for the 16 tiles t of 80 floats a (j 4 and 5 reach into the next tile's columns).
AVX512 INLINE void deinterleave(const __m512 a[5], __m512 s[6]) {
    const __m512i pair0 = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
    const __m512i pair1 = _mm512_setr_epi32(2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
    const __m512i next0 = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
    const __m512i next1 = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17);
    // Tiles 0-7 and 8-15, columns (0, 1) and (2, 3), eight lanes each.
    __m512 b0 = _mm512_permutex2var_ps(a[0], pair0, a[1]), b1 = _mm512_permutex2var_ps(a[0], pair1, a[1]);
    __m512 c0 = _mm512_permutex2var_ps(a[2], pair0, a[3]), c1 = _mm512_permutex2var_ps(a[2], pair1, a[3]);
    s[0] = _mm512_shuffle_f32x4(b0, c0, 0x44);
    s[1] = _mm512_shuffle_f32x4(b0, c0, 0xee);
    s[2] = _mm512_shuffle_f32x4(b1, c1, 0x44);
    s[3] = _mm512_shuffle_f32x4(b1, c1, 0xee);
    s[4] = _mm512_permutex2var_ps(s[0], next0, a[4]);
    s[5] = _mm512_permutex2var_ps(s[1], next1, a[4]);
}

// The inverse for four columns: a[q][4t' + j] = s[j][4q + t'].
AVX512 INLINE void interleave(const __m512 s[4], __m512 a[4]) {
    const __m512i lo = _mm512_setr_epi32(0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27);
    const __m512i hi = _mm512_setr_epi32(4, 12, 20, 28, 5, 13, 21, 29, 6, 14, 22, 30, 7, 15, 23, 31);
    __m512 b0 = _mm512_shuffle_f32x4(s[0], s[1], 0x44), c0 = _mm512_shuffle_f32x4(s[0], s[1], 0xee);
    __m512 b1 = _mm512_shuffle_f32x4(s[2], s[3], 0x44), c1 = _mm512_shuffle_f32x4(s[2], s[3], 0xee);
    a[0] = _mm512_permutex2var_ps(b0, lo, b1);
    a[1] = _mm512_permutex2var_ps(b0, hi, b1);
    a[2] = _mm512_permutex2var_ps(c0, lo, c1);
    a[3] = _mm512_permutex2var_ps(c0, hi, c1);
}

// Stores the lanes p0 ..< p0 + len of a V or M row. Lanes past the run belong to a later run of the same
// row (written after) or to the row's unused tail, so a whole store is safe while it stays in the row;
// masked stores are slow on AMD.
AVX512 INLINE void store_run(float *row, int p0, int len, int stride, __m512 v) {
    if (p0 + 16 <= stride) _mm512_storeu_ps(row + p0, v);
    else _mm512_mask_storeu_ps(row + p0, tail_mask(len), v);
}

AVX512 void stpm_winograd_input_avx512(const float *padded, int channels, stpm_winograd_block b, float *v) {
    const int pw = 4 * b.tiles_w + 2, ph = 4 * b.tiles_h + 2;
    for (int c = 0; c < channels; c++) {
        for (int t = b.first; t < b.first + b.count;) {
            run r = run_at(b, t);
            t += r.len;
            const float *base = padded + ((long)(c * b.n + r.n) * ph + 4 * r.ty) * pw + 4 * r.tx;
            const int width = 4 * r.len + 2;
            // Bᵀ down the six rows, 16 columns at a time.
            __m512 rows[6][5];
            for (int q = 0; q < 5; q++) {
                __mmask16 m = tail_mask(width - 16 * q);
                __m512 d[6], out[6];
                for (int i = 0; i < 6; i++) d[i] = _mm512_maskz_loadu_ps(m, base + (long)i * pw + 16 * q);
                input_pass(d, out);
                for (int i = 0; i < 6; i++) rows[i][q] = out[i];
            }
            // Then across each tile's six columns, tiles in lanes.
            float *dst = v + (long)c * 36 * b.stride;
            for (int i = 0; i < 6; i++) {
                __m512 s[6], out[6];
                deinterleave(rows[i], s);
                input_pass(s, out);
                for (int j = 0; j < 6; j++) store_run(dst + (long)(i * 6 + j) * b.stride, r.p0, r.len, b.stride, out[j]);
            }
        }
    }
}

AVX512 void stpm_winograd_output_avx512(const float *m, int outputs, stpm_winograd_block b, const float *bias, int act,
                                        float *y) {
    const long plane = (long)b.h * b.w;
    const __m512 zero = _mm512_setzero_ps(), six = _mm512_set1_ps(6);
    for (int o = 0; o < outputs; o++) {
        const __m512 bo = _mm512_set1_ps(bias ? bias[o] : 0);
        for (int t = b.first; t < b.first + b.count;) {
            run r = run_at(b, t);
            t += r.len;
            // Lanes past the run are read from the same row where it has them (their results are not stored).
            const float *src = m + (long)o * 36 * b.stride + r.p0;
            __mmask16 lanes = r.p0 + 16 <= b.stride ? 0xffff : tail_mask(r.len);
            __m512 e[36];
            for (int k = 0; k < 36; k++) e[k] = _mm512_maskz_loadu_ps(lanes, src + (long)k * b.stride);
            for (int j = 0; j < 6; j++) output_pass(e + j, 6);
            for (int i = 0; i < 4; i++) output_pass(e + i * 6, 1);
            const int cols = 4 * r.len < b.w - 4 * r.tx ? 4 * r.len : b.w - 4 * r.tx;
            for (int i = 0; i < 4 && 4 * r.ty + i < b.h; i++) {
                __m512 s[4], a[4];
                for (int j = 0; j < 4; j++) {
                    __m512 z = ADD(e[i * 6 + j], bo);
                    // max(0, z) is z where z is -0 or NaN, as in the portable path.
                    if (act == STPM_ACT_RELU || act == STPM_ACT_RELU6) z = _mm512_max_ps(zero, z);
                    if (act == STPM_ACT_RELU6) z = _mm512_min_ps(six, z);
                    s[j] = z;
                }
                interleave(s, a);
                float *row = y + (long)(o * b.n + r.n) * plane + (long)(4 * r.ty + i) * b.w + 4 * r.tx;
                for (int q = 0; q < 4 && 16 * q < cols; q++) {
                    if (cols - 16 * q >= 16) _mm512_storeu_ps(row + 16 * q, a[q]);
                    else _mm512_mask_storeu_ps(row + 16 * q, tail_mask(cols - 16 * q), a[q]);
                }
            }
        }
    }
}
