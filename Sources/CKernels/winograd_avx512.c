// Winograd F(4x4, 3x3) input, output and gradient transforms in AVX-512, sixteen tiles per vector.
//
// The tiles of a block go through in runs: up to 16 horizontally neighbouring tiles of one tile row.
// A run's six input rows are 4 len + 2 contiguous floats each (neighbouring tiles overlap by two
// columns), read straight from the unpadded planes with masked vector loads that leave the convolution's zero
// border (and anything past the image) zero, so no padded copy of the input is ever written; Bᵀ combines the rows, then the columns of every fourth float
// are pulled apart in registers (two rounds of permutes) so that each tile sits in its own lane, as V
// wants it. The output transform does the reverse: tiles in lanes from M, Aᵀ on both sides, bias and
// activation, then the four output columns of each tile interleaved back into whole rows of y. The gradient
// transform (the weight gradient's A dy Aᵀ) reads dy's tiles as the input transform reads x's, four columns each.
// The arithmetic is the portable kernel's (Winograd.swift), operation for operation, so both paths give
// the same floats.
#include "winograd_avx512.h"
#include "gemm_avx512.h"
#include <immintrin.h>
#include <stdint.h>

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

// The plane of channel c, image n of the block's batch.
static const float *plane_at(const float *x, int c, int n, stpm_winograd_block b) {
    return x + (long)c * b.channel_stride + (long)n * b.h * b.w;
}

// Lanes 0 ..< len of row y from column x0 of a plane, zeros where the row or a column falls outside the image (the
// convolution's zero border, never stored): masked lanes are not read, so x0 may be -1 and y -1 or h.
AVX512 INLINE __m512 load_row(const float *plane, stpm_winograd_block b, int y, int x0, int len) {
    if (y < 0 || y >= b.h) return _mm512_setzero_ps();
    int lo = x0 < 0 ? -x0 : 0, hi = b.w - x0 < len ? b.w - x0 : len;
    if (hi > 16) hi = 16;
    if (hi <= lo) return _mm512_setzero_ps();
    return _mm512_maskz_loadu_ps(tail_mask(hi) & (__mmask16)~tail_mask(lo), plane + (long)y * b.w + x0);
}

static float value_at(const float *plane, stpm_winograd_block b, int y, int x) {
    return y >= 0 && y < b.h && x >= 0 && x < b.w ? plane[(long)y * b.w + x] : 0;
}

// Prefetches `len` columns from x0 of row y of a plane (a prefetch never faults: rows past the image are harmless).
INLINE void prefetch_row(const float *plane, stpm_winograd_block b, int y, int x0, int len) {
    for (int x = 0; x < len; x += 16) _mm_prefetch((const char *)(plane + (long)y * b.w + x0 + x), _MM_HINT_T0);
}

// Tile rows of 4 or 8 tiles (16x16 and 32x32 images) fill a vector with 4 or 2 whole rows: a block starts
// on a tile row (its first tile is a multiple of 8) and holds whole rows. One run per row left 3/4 or 1/2
// of every vector idle.
static int packs_rows(stpm_winograd_block b) {
    return (b.tiles_w == 4 || b.tiles_w == 8) && b.first % b.tiles_w == 0 && b.count % b.tiles_w == 0;
}

// The tile rows of a packed vector from lane p0 (at most 16 / tiles_w): each one's plane of channel c and its window's
// first image row (`above` rows above the tile row), with the next channel's `rows` window rows from column x0 prefetched.
static int packed_rows(const float *x, int c, stpm_winograd_block b, int p0, int above, int rows, int x0, const float *seg[4],
                       int top[4]) {
    const int L = b.tiles_w, per = b.tiles_h * b.tiles_w;
    int segs = (b.count - p0) / L;
    if (segs > 16 / L) segs = 16 / L;
    for (int k = 0; k < segs; k++) {
        const int t = b.first + p0 + k * L;
        seg[k] = plane_at(x, c, t / per, b);
        top[k] = 4 * (t % per / L) - above;
        for (int i = 0; i < rows; i++) prefetch_row(seg[k] + b.channel_stride, b, top[k] + i, x0, 4 * L - 2 * x0);
    }
    return segs;
}

// Window row i of each of the `segs` tile rows from column x0, 64 floats a tile row in a[] (zeros past them).
AVX512 INLINE void load_packed_row(const float *seg[4], const int top[4], int segs, stpm_winograd_block b, int i, int x0,
                                   __m512 a[5]) {
    for (int q = 0; q < 5; q++) a[q] = _mm512_setzero_ps();
    for (int k = 0; k < segs; k++) {
        if (b.tiles_w == 8) {
            a[2 * k] = load_row(seg[k], b, top[k] + i, x0, 16);
            a[2 * k + 1] = load_row(seg[k], b, top[k] + i, x0 + 16, 16);
        } else {
            a[k] = load_row(seg[k], b, top[k] + i, x0, 16);
        }
    }
}

// Channel c of the 16 / tiles_w tile rows from lane p0: each row's 4 tiles_w columns go to their lanes'
// places in one 64-float strip, pulled apart as for a run; the columns 4 and 5 of a row's last tile (the
// first two of the next row's strip there) are put in from the row's own two extra columns.
AVX512 static void input_packed(const float *x, int c, stpm_winograd_block b, int p0, float *dst) {
    const int L = b.tiles_w;
    // Each tile row's plane and the image row one above it (the window's first, in the zero border for 0).
    const float *seg[4];
    int top[4];
    const int segs = packed_rows(x, c, b, p0, 1, 6, -1, seg, top);
    __m512 d[6][6];
    for (int i = 0; i < 6; i++) {
        __m512 a[5];
        load_packed_row(seg, top, segs, b, i, -1, a);
        deinterleave(a, d[i]);
        for (int k = 0; k < segs; k++) {
            __mmask16 last = (__mmask16)(1u << (k * L + L - 1));
            d[i][4] = _mm512_mask_mov_ps(d[i][4], last, _mm512_set1_ps(value_at(seg[k], b, top[k] + i, 4 * L - 1)));
            d[i][5] = _mm512_mask_mov_ps(d[i][5], last, _mm512_set1_ps(value_at(seg[k], b, top[k] + i, 4 * L)));
        }
    }
    // Bᵀ down the rows (column by column), then across the columns, as the portable path.
    __m512 t[6][6];
    for (int j = 0; j < 6; j++) {
        __m512 col[6], out[6];
        for (int i = 0; i < 6; i++) col[i] = d[i][j];
        input_pass(col, out);
        for (int i = 0; i < 6; i++) t[i][j] = out[i];
    }
    for (int i = 0; i < 6; i++) {
        __m512 out[6];
        input_pass(t[i], out);
        for (int j = 0; j < 6; j++) store_run(dst + (long)(i * 6 + j) * b.stride, p0, segs * L, b.stride, out[j]);
    }
}

AVX512 void stpm_winograd_input_avx512(const float *x, int channels, stpm_winograd_block b, float *v) {
    if (packs_rows(b)) {
        for (int c = 0; c < channels; c++)
            for (int p0 = 0; p0 < b.count; p0 += 16) input_packed(x, c, b, p0, v + (long)c * 36 * b.stride);
        return;
    }
    for (int c = 0; c < channels; c++) {
        for (int t = b.first; t < b.first + b.count;) {
            run r = run_at(b, t);
            t += r.len;
            // The tiles' 6x6 windows start a row above and a column left of their 4x4 outputs.
            const float *plane = plane_at(x, c, r.n, b);
            const int y0 = 4 * r.ty - 1, x0 = 4 * r.tx - 1, width = 4 * r.len + 2;
            // The same rows of the next channel, another plane: with 6 rows per channel over all channels
            // the hardware prefetcher loses track, and a batch of 8 at 64x64 ran 5x slower from memory.
            for (int i = 0; i < 6; i++) prefetch_row(plane + b.channel_stride, b, y0 + i, x0, width);
            // Bᵀ down the six rows, 16 columns at a time.
            __m512 rows[6][5];
            for (int q = 0; q < 5; q++) {
                __m512 d[6], out[6];
                for (int i = 0; i < 6; i++) d[i] = load_row(plane, b, y0 + i, x0 + 16 * q, width - 16 * q);
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

// A applied to four vectors (Aᵀ's transpose: the output transform's adjoint; Winograd.swift's gradientPass).
AVX512 INLINE void gradient_pass(const __m512 y[4], __m512 out[6]) {
    const __m512 two = _mm512_set1_ps(2), four = _mm512_set1_ps(4), eight = _mm512_set1_ps(8);
    __m512 a = ADD(y[0], y[2]), b = ADD(y[1], y[3]), c = ADD(y[0], MUL(four, y[2])), d = ADD(MUL(two, y[1]), MUL(eight, y[3]));
    out[0] = y[0];
    out[1] = ADD(a, b);
    out[2] = SUB(a, b);
    out[3] = ADD(c, d);
    out[4] = SUB(c, d);
    out[5] = y[3];
}

// The gradient transform's `input_packed`: channel c of the 16 / tiles_w tile rows from lane p0, each row's 4 tiles_w
// columns pulled apart into their lanes. One run per tile row left 3/4 (16x16) or 1/2 (32x32) of every vector idle.
AVX512 static void gradient_packed(const float *dy, int c, stpm_winograd_block b, int p0, float *dst) {
    const int L = b.tiles_w;
    const float *seg[4];
    int top[4];
    const int segs = packed_rows(dy, c, b, p0, 0, 4, 0, seg, top);
    __m512 d[4][6];
    for (int i = 0; i < 4; i++) {
        __m512 a[5];
        load_packed_row(seg, top, segs, b, i, 0, a);
        deinterleave(a, d[i]);
    }
    // A down the rows (column by column), then across the columns, as the runs.
    __m512 t[6][4];
    for (int j = 0; j < 4; j++) {
        __m512 col[4], out[6];
        for (int i = 0; i < 4; i++) col[i] = d[i][j];
        gradient_pass(col, out);
        for (int i = 0; i < 6; i++) t[i][j] = out[i];
    }
    for (int i = 0; i < 6; i++) {
        __m512 out[6];
        gradient_pass(t[i], out);
        for (int j = 0; j < 6; j++) store_run(dst + (long)(i * 6 + j) * b.stride, p0, segs * L, b.stride, out[j]);
    }
}

AVX512 void stpm_winograd_gradient_avx512(const float *dy, int channels, stpm_winograd_block b, float *w) {
    if (packs_rows(b)) {
        for (int c = 0; c < channels; c++)
            for (int p0 = 0; p0 < b.count; p0 += 16) gradient_packed(dy, c, b, p0, w + (long)c * 36 * b.stride);
        return;
    }
    for (int c = 0; c < channels; c++) {
        for (int t = b.first; t < b.first + b.count;) {
            run r = run_at(b, t);
            t += r.len;
            // The tiles' 4x4 gradients, zeros past the image.
            const float *plane = plane_at(dy, c, r.n, b);
            const int y0 = 4 * r.ty, x0 = 4 * r.tx, width = 4 * r.len;
            for (int i = 0; i < 4; i++) prefetch_row(plane + b.channel_stride, b, y0 + i, x0, width);
            // A down the four rows, 16 columns at a time.
            __m512 rows[6][5];
            for (int q = 0; q < 4; q++) {
                __m512 d[4], out[6];
                for (int i = 0; i < 4; i++) d[i] = load_row(plane, b, y0 + i, x0 + 16 * q, width - 16 * q);
                gradient_pass(d, out);
                for (int i = 0; i < 6; i++) rows[i][q] = out[i];
            }
            // Then across each tile's four columns, tiles in lanes.
            float *dst = w + (long)c * 36 * b.stride;
            for (int i = 0; i < 6; i++) {
                __m512 s[6], out[6];
                rows[i][4] = _mm512_setzero_ps();
                deinterleave(rows[i], s);
                gradient_pass(s, out);
                for (int j = 0; j < 6; j++) store_run(dst + (long)(i * 6 + j) * b.stride, r.p0, r.len, b.stride, out[j]);
            }
        }
    }
}

// Where one tile row of a vector's tiles goes: lanes first .. first + cols/4 (cols of the row's 4-column
// tiles inside the image) of tile row ty of image n, from tile column tx.
typedef struct { int n, ty, tx, first, cols; } segment;

AVX512 void stpm_winograd_output_avx512(const float *m, int outputs, stpm_winograd_block b, const float *bias, int act,
                                        float *y) {
    const long plane = (long)b.h * b.w;
    const __m512 zero = _mm512_setzero_ps(), six = _mm512_set1_ps(6);
    const int packed = packs_rows(b), per = b.tiles_h * b.tiles_w;
    for (int o = 0; o < outputs; o++) {
        const __m512 bo = _mm512_set1_ps(bias ? bias[o] : 0);
        for (int p0 = 0; p0 < b.count;) {
            // The vector's tiles: a run, or (packed) up to 16 / tiles_w whole tile rows.
            segment seg[4];
            int segs = 0, len;
            if (packed) {
                int L = b.tiles_w, cols = 4 * L < b.w ? 4 * L : b.w;
                for (; segs < 16 / L && p0 + segs * L < b.count; segs++) {
                    int t = b.first + p0 + segs * L;
                    segment sg = { t / per, t % per / L, 0, segs * L, cols };
                    seg[segs] = sg;
                }
                len = segs * L;
            } else {
                run r = run_at(b, b.first + p0);
                segment sg = { r.n, r.ty, r.tx, 0, 4 * r.len < b.w - 4 * r.tx ? 4 * r.len : b.w - 4 * r.tx };
                seg[segs++] = sg;
                len = r.len;
            }
            // Lanes past the vector's tiles are read from the same row where it has them (never stored).
            const float *src = m + (long)o * 36 * b.stride + p0;
            __mmask16 lanes = p0 + 16 <= b.stride ? 0xffff : tail_mask(len);
            __m512 e[36];
            for (int k = 0; k < 36; k++) e[k] = _mm512_maskz_loadu_ps(lanes, src + (long)k * b.stride);
            for (int j = 0; j < 6; j++) output_pass(e + j, 6);
            for (int i = 0; i < 4; i++) output_pass(e + i * 6, 1);
            for (int i = 0; i < 4; i++) {
                __m512 sv[4], a[4];
                for (int j = 0; j < 4; j++) {
                    __m512 z = ADD(e[i * 6 + j], bo);
                    // max(0, z) is z where z is -0 or NaN, as in the portable path.
                    if (act == STPM_ACT_RELU || act == STPM_ACT_RELU6) z = _mm512_max_ps(zero, z);
                    if (act == STPM_ACT_RELU6) z = _mm512_min_ps(six, z);
                    sv[j] = z;
                }
                interleave(sv, a);
                // A segment's floats start at 4 first, a multiple of 16 (first is 0 or a multiple of 4).
                for (int k = 0; k < segs; k++) {
                    if (4 * seg[k].ty + i >= b.h) continue;
                    float *row = y + (long)(o * b.n + seg[k].n) * plane + (long)(4 * seg[k].ty + i) * b.w + 4 * seg[k].tx;
                    int q0 = seg[k].first / 4, cols = seg[k].cols;
                    // The same row of the next output channel, for writing: the stores into y, which is
                    // not in cache, stalled the transform (a prefetch never faults, past y's end too).
                    uintptr_t ahead = (uintptr_t)row + (uintptr_t)(plane * b.n * 4);
                    for (int x = 0; x < cols; x += 16) _mm_prefetch((const char *)(ahead + 4 * x), _MM_HINT_ET0);
                    for (int q = 0; q < 4 - q0 && 16 * q < cols; q++) {
                        if (cols - 16 * q >= 16) _mm512_storeu_ps(row + 16 * q, a[q0 + q]);
                        else _mm512_mask_storeu_ps(row + 16 * q, tail_mask(cols - 16 * q), a[q0 + q]);
                    }
                }
            }
            p0 += len;
        }
    }
}
