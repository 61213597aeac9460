// Depthwise convolution, one (channel, image) plane at a time, in AVX-512.
//
// The plane is first copied into `buf`, zero-padded and, for stride 2, split into even and odd
// columns (phase rows), so that every filter tap of 16 neighbouring outputs is one unaligned vector load:
// output (oy, ox) reads phase kx % s of padded row oy*s + ky at column ox + kx/s. The forward then keeps
// a block of 4 output rows x 32 columns (3x3 filters on planes 16 wide: 8 rows x 16) in registers
// across all k*k taps: each loaded input vector serves every output row of the block it touches, and
// bias and activation are applied before the one store. The taps are summed in the portable kernel's
// order (ky, then kx, from zero, bias last), so both paths give the same floats.
#include "depthwise_avx512.h"
#include "gemm_avx512.h"
#include <immintrin.h>
#include <stdint.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define INLINE static inline __attribute__((always_inline))

// Padded rows the outputs read, and the floats between two phase rows: every input column, and the
// columns the last vector of outputs reads, (k - 1) / stride past its end. No more: every float of
// a phase row is filled, plane after plane (two vectors of slack per row were half the fill of a
// 16-wide plane).
typedef struct { int rows, ws; } layout;

static layout plan(stpm_depthwise_shape s) {
    int cols = (s.w + s.pad_left + s.stride - 1) / s.stride;
    const int read = (s.ow + 15) / 16 * 16 + (s.k - 1) / s.stride;
    if (cols < read) cols = read;
    layout l = { (s.oh - 1) * s.stride + s.k, (cols + 15) / 16 * 16 };
    return l;
}

long stpm_depthwise_scratch(stpm_depthwise_shape s) {
    layout l = plan(s);
    return (long)l.rows * s.stride * l.ws;
}

AVX512 INLINE __m512 activate(__m512 a, int act) {
    if (act == STPM_ACT_RELU || act == STPM_ACT_RELU6) a = _mm512_max_ps(a, _mm512_setzero_ps());
    if (act == STPM_ACT_RELU6) a = _mm512_min_ps(a, _mm512_set1_ps(6));
    return a;
}

// act(v * scale + shift), or v with no map.
AVX512 INLINE __m512 map_vector(__m512 v, const stpm_depthwise_map *m) {
    if (!m) return v;
    return activate(_mm512_add_ps(_mm512_mul_ps(v, _mm512_set1_ps(m->scale)), _mm512_set1_ps(m->shift)), m->act);
}

// Lanes i in 0..<lanes (at most 32) with 0 <= base + i < w.
INLINE uint64_t lane_mask(long base, long w, int lanes) {
    long lo = base < 0 ? -base : 0, hi = w - base;
    if (hi > lanes) hi = lanes;
    if (hi <= lo) return 0;
    return ((1ull << hi) - 1) & ~((1ull << lo) - 1);
}

INLINE __mmask16 tail_mask(int n) { return n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1); }

// One vector of 16 columns of the phase rows: the input columns it reads, 16 * stride of them from
// `first` (stride 2: both phases' columns, interleaved), and which of those lie inside the row (0..<w).
// The same for every row of a plane, so they are worked out once per plane.
typedef struct {
    long first;
    uint32_t inside;
} row_vector;

// `stride` x 16 input values from `at` (lanes outside `inside` are never read) mapped and zero outside.
AVX512 INLINE __m512 masked_load(__mmask16 inside, const float *at, const stpm_depthwise_map *map) {
    const __m512 v = _mm512_maskz_loadu_ps(inside, at);
    return map ? _mm512_maskz_mov_ps(inside, map_vector(v, map)) : v;
}

// Phase p's row: dst[p * ws + j] = src[j*stride + p - pad] for j in 0..<ws (a multiple of 16), zero outside 0..<w
// or for a NULL src (a padding row). Each vector is loaded once under its precomputed mask (masked-off lanes are
// never read, so no bounds check and no branch), and at stride 2 one pair of loads gives both phases' vectors,
// the even lanes phase 0's and the odd ones phase 1's. Whole vectors are stored (masked stores are slow on AMD).
AVX512 INLINE void fill_row(float *dst, const float *src, int stride, int ws, const row_vector *v, const stpm_depthwise_map *map) {
    if (!src) {
        for (int j0 = 0; j0 < stride * ws; j0 += 16) _mm512_storeu_ps(dst + j0, _mm512_setzero_ps());
        return;
    }
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int i = 0; i < ws / 16; i++) {
        const float *at = src + v[i].first;
        const __m512 lo = masked_load((__mmask16)v[i].inside, at, map);
        if (stride == 1) {
            _mm512_storeu_ps(dst + 16 * i, lo);
            continue;
        }
        const __m512 hi = masked_load((__mmask16)(v[i].inside >> 16), at + 16, map);
        _mm512_storeu_ps(dst + 16 * i, _mm512_permutex2var_ps(lo, even, hi));
        _mm512_storeu_ps(dst + ws + 16 * i, _mm512_permutex2var_ps(lo, odd, hi));
    }
}

// Rows of x requested ahead of the copy: the hardware prefetcher alone left a cold 128x128 plane at
// 10 us, 6-7 us with this (a batch's activations do not fit in cache). Past the plane's end it fetches
// the next plane's first rows, which come next; a prefetch never faults, whatever the address.
enum { prefetch_rows = 8 };

INLINE void prefetch_row(const float *plane, int row, int w) {
    uintptr_t ahead = (uintptr_t)plane + (uintptr_t)((long)row * w * 4);
    for (long c = 0; c < (long)w * 4; c += 64) _mm_prefetch((const char *)(ahead + c), _MM_HINT_T0);
}

// `stride` is s.stride, a constant where the caller's is.
AVX512 INLINE void fill_plane(const float *x, const stpm_depthwise_map *map, float *buf, stpm_depthwise_shape s, layout l,
                              int stride) {
    // A copy the stores into buf cannot alias: scale and shift stay in registers.
    stpm_depthwise_map local;
    if (map) local = *map, map = &local;
    row_vector v[l.ws / 16];
    for (int i = 0; i < l.ws / 16; i++) {
        v[i].first = (long)i * 16 * stride - s.pad_left;
        v[i].inside = (uint32_t)lane_mask(v[i].first, s.w, 16 * stride);
    }
    for (int r = 0; r < l.rows; r++) {
        int iy = r - s.pad_top;
        const float *src = iy >= 0 && iy < s.h ? x + (long)iy * s.w : 0;
        if (iy + prefetch_rows >= 0 && iy < s.h) prefetch_row(x, iy + prefetch_rows, s.w);
        fill_row(buf + (long)r * stride * l.ws, src, stride, l.ws, v, map);
    }
}

// `rows` output rows from oy0 and nv vectors of 16 columns from ox0, the last vector stored under `last`.
AVX512 INLINE void forward_block(const float *buf, int ws, int stride, int k, const float *wt, float bias, int act,
                                 float *y, int ow, int oy0, int ox0, int rows, int nv, __mmask16 last) {
    __m512 acc[8][2];
    for (int r = 0; r < rows; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = _mm512_setzero_ps();
    const int span = (rows - 1) * stride + k;
    for (int ir = 0; ir < span; ir++) {
        const float *row = buf + (long)(oy0 * stride + ir) * stride * ws + ox0;
        for (int kx = 0; kx < k; kx++) {
            const float *p = row + (kx % stride) * ws + kx / stride;
            __m512 in[2];
            for (int v = 0; v < nv; v++) in[v] = _mm512_loadu_ps(p + 16 * v);
            for (int r = 0; r < rows; r++) {
                int ky = ir - r * stride;
                if (ky < 0 || ky >= k) continue;
                __m512 w = _mm512_set1_ps(wt[ky * k + kx]);
                for (int v = 0; v < nv; v++) acc[r][v] = _mm512_fmadd_ps(w, in[v], acc[r][v]);
            }
        }
    }
    const __m512 b = _mm512_set1_ps(bias);
    for (int r = 0; r < rows; r++) {
        float *dst = y + (long)(oy0 + r) * ow + ox0;
        for (int v = 0; v < nv; v++) {
            __m512 a = activate(_mm512_add_ps(acc[r][v], b), act);
            if (v == nv - 1 && last != 0xffff) _mm512_mask_storeu_ps(dst + 16 * v, last, a);
            else _mm512_storeu_ps(dst + 16 * v, a);
        }
    }
}

AVX512 INLINE void forward_rows(const float *buf, int ws, int stride, int k, const float *wt, float bias, int act,
                                float *y, int ow, int oy0, int rows) {
    int ox0 = 0;
    for (; ox0 + 32 <= ow; ox0 += 32) forward_block(buf, ws, stride, k, wt, bias, act, y, ow, oy0, ox0, rows, 2, 0xffff);
    for (; ox0 < ow; ox0 += 16)
        forward_block(buf, ws, stride, k, wt, bias, act, y, ow, oy0, ox0, rows, 1, tail_mask(ow - ox0));
}

AVX512 INLINE void forward_plane(const float *buf, int ws, int stride, int k, const float *wt, float bias, int act,
                                 float *y, int oh, int ow) {
    int oy0 = 0;
    // One vector per row: 8 rows, so that 8 sums are in flight instead of 4 chains of 9 dependent FMAs
    // (3x3 on 16x16 planes: 0.086 -> 0.066 ms per block of 480 channels; 5x5 measured slower, 0.15 -> 0.19).
    if (ow <= 16 && k == 3)
        for (; oy0 + 8 <= oh; oy0 += 8) forward_rows(buf, ws, stride, k, wt, bias, act, y, ow, oy0, 8);
    for (; oy0 + 4 <= oh; oy0 += 4) {
        // The next block's output rows, for writing (y is not in cache either): a cold 128x128 stride-1
        // plane went from 9.0 to 6.4 us. Past the plane's end these are the next plane's first rows.
        uintptr_t ahead = (uintptr_t)(y + (long)(oy0 + 4) * ow);
        for (long c = 0; c < 16L * ow; c += 64) _mm_prefetch((const char *)(ahead + c), _MM_HINT_ET0);
        forward_rows(buf, ws, stride, k, wt, bias, act, y, ow, oy0, 4);
    }
    for (; oy0 < oh; oy0++) forward_rows(buf, ws, stride, k, wt, bias, act, y, ow, oy0, 1);
}

// Calls f(args..., stride, k) with stride and k constants for the shapes of EfficientNet-Lite0, so that every
// loop bound is one; any other k through the same code.
#define BY_SHAPE(s, f, ...)                                              \
    do {                                                                 \
        if ((s).k == 3 && (s).stride == 1) f(__VA_ARGS__, 1, 3);         \
        else if ((s).k == 3 && (s).stride == 2) f(__VA_ARGS__, 2, 3);    \
        else if ((s).k == 5 && (s).stride == 1) f(__VA_ARGS__, 1, 5);    \
        else if ((s).k == 5 && (s).stride == 2) f(__VA_ARGS__, 2, 5);    \
        else if ((s).stride == 1) f(__VA_ARGS__, 1, (s).k);              \
        else f(__VA_ARGS__, 2, (s).k);                                   \
    } while (0)

AVX512 INLINE void forward(const float *x, const stpm_depthwise_map *map, const float *weight, float bias, int act, float *y,
                           float *scratch, stpm_depthwise_shape s, int stride, int k) {
    layout l = plan(s);
    fill_plane(x, map, scratch, s, l, stride);
    forward_plane(scratch, l.ws, stride, k, weight, bias, act, y, s.oh, s.ow);
}

AVX512 void stpm_depthwise_forward_avx512(const float *x, const float *weight, float bias, int act, float *y,
                                          float *scratch, stpm_depthwise_shape s) {
    BY_SHAPE(s, forward, x, 0, weight, bias, act, y, scratch, s);
}

AVX512 void stpm_depthwise_forward_mapped_avx512(const float *x, const stpm_depthwise_map *map, const float *weight, float bias,
                                                 int act, float *y, float *scratch, stpm_depthwise_shape s) {
    BY_SHAPE(s, forward, x, map, weight, bias, act, y, scratch, s);
}

// Lanes lane0 ..< lane0 + n of `v`: channel ch's outputs at positions p0 ..< p0 + n, into the GEMM's strips of
// STPM_SGEMM_NR positions (one row of NR floats per channel, c rows per strip); a run that crosses into the
// next strip continues at the start of its row.
AVX512 INLINE void strip_store(float *y, long c, long ch, long p0, int n, int lane0, __m512 v) {
    const long o = p0 % STPM_SGEMM_NR;
    const int first = n < STPM_SGEMM_NR - o ? n : (int)(STPM_SGEMM_NR - o);
    float *row = y + p0 / STPM_SGEMM_NR * c * STPM_SGEMM_NR + ch * STPM_SGEMM_NR + o - lane0;
    if (first == 8) {
        // A whole half-vector (every block of a row whose width 8 divides): a plain store, not a masked one.
        _mm256_storeu_ps(row + lane0, lane0 ? _mm512_extractf32x8_ps(v, 1) : _mm512_castps512_ps256(v));
        return;
    }
    _mm512_mask_storeu_ps(row, (__mmask16)(((1u << first) - 1) << lane0), v);
    if (n > first)
        _mm512_mask_storeu_ps(row + (c - 1) * STPM_SGEMM_NR, (__mmask16)((((1u << n) - 1) & ~((1u << first) - 1)) << lane0), v);
}

// v[i] holds channels cg ..< cg + 16 of position p0 + i (i < n <= 8): transposed in registers to 16 channel
// rows of 8 positions, stored into the strips.
AVX512 INLINE void store_strips(__m512 v[8], float *y, long c, long cg, long p0, int n) {
    __m512 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]);
    }
    // u[4g + q], 128-bit lane L: channel 4L + q at positions 4g ..< 4g + 4.
    for (int g = 0; g < 2; g++) {
        u[4 * g] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
        u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
        u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
        u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
    }
    const __m512i lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    const __m512i hi = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
    for (int q = 0; q < 4; q++) {
        // Channels q and 4 + q (lo), 8 + q and 12 + q (hi), 8 positions each.
        const __m512 zl = _mm512_permutex2var_ps(u[q], lo, u[4 + q]), zh = _mm512_permutex2var_ps(u[q], hi, u[4 + q]);
        strip_store(y, c, cg + q, p0, n, 0, zl);
        strip_store(y, c, cg + 4 + q, p0, n, 8, zl);
        strip_store(y, c, cg + 8 + q, p0, n, 0, zh);
        strip_store(y, c, cg + 12 + q, p0, n, 8, zh);
    }
}

// Channels last. One vector holds 16 channels of one position, so there is no padded copy and no phase
// split: a block of 8 outputs along a row loads each input position of an input row once (7 * stride
// + k of them, zeros outside the row) and each weight vector once, for 8 * k FMAs, whatever the
// stride. Rows over the padding are skipped and positions over it add w * 0: for finite weights both
// leave a sum unchanged, and the taps are summed in the planar kernel's order, so both kernels give
// the same floats. Only `checked` blocks (the row's ends) test positions against the row; n < 8
// outputs are stored.
// `strips`: y is the GEMM's strips of positions (stpm_depthwise_nhwc_strips_avx512), else channels last.
AVX512 INLINE void nhwc_block(const float *x, const float *wt, long c, long cg, stpm_depthwise_shape s, int stride, int k,
                              int oy, int ox0, int n, int checked, float *y, const float *bias, const float *scale,
                              int act, int strips) {
    __m512 acc[8];
    for (int i = 0; i < 8; i++) acc[i] = _mm512_setzero_ps();
    const int span = 7 * stride + k, base = ox0 * stride - s.pad_left;
    for (int ky = 0; ky < k; ky++) {
        const int iy = oy * stride + ky - s.pad_top;
        if (iy < 0 || iy >= s.h) continue;
        const float *row = x + (long)iy * s.w * c + cg;
        __m512 in[7 * 2 + 7];
        for (int j = 0; j < span; j++)
            in[j] = !checked || (unsigned)(base + j) < (unsigned)s.w ? _mm512_loadu_ps(row + (long)(base + j) * c)
                                                                     : _mm512_setzero_ps();
        for (int kx = 0; kx < k; kx++) {
            const __m512 w = _mm512_loadu_ps(wt + (long)(ky * k + kx) * c + cg);
            for (int i = 0; i < 8; i++) acc[i] = _mm512_fmadd_ps(w, in[i * stride + kx], acc[i]);
        }
    }
    // As the planar path rounds: the kernel adds the bias; a scale (BatchNorm in eval mode) goes after
    // a zero bias, then the shift.
    const __m512 b = bias && !scale ? _mm512_loadu_ps(bias + cg) : _mm512_setzero_ps();
    for (int i = 0; i < 8; i++) {
        if (!strips && i >= n) break;
        __m512 v = _mm512_add_ps(acc[i], b);
        if (scale) v = _mm512_mul_ps(v, _mm512_loadu_ps(scale + cg));
        if (scale && bias) v = _mm512_add_ps(v, _mm512_loadu_ps(bias + cg));
        acc[i] = activate(v, act);
        if (!strips) _mm512_storeu_ps(y + ((long)oy * s.ow + ox0 + i) * c + cg, acc[i]);
    }
    if (strips) store_strips(acc, y, c, cg, (long)oy * s.ow + ox0, n);
}

AVX512 INLINE void nhwc_plane(const float *x, const float *wt, long c, stpm_depthwise_shape s, int stride, int k, float *y,
                              const float *bias, const float *scale, int act, int strips) {
    // Outputs whose every tap lies inside the row: lo ..< hi.
    int lo = (s.pad_left + stride - 1) / stride, hi = s.w - k + s.pad_left < 0 ? 0 : (s.w - k + s.pad_left) / stride + 1;
    if (hi > s.ow) hi = s.ow;
    for (long cg = 0; cg < c; cg += 16) {
        for (int oy = 0; oy < s.oh; oy++) {
            // Blocks from column 0, 8 apart: a row of 16 is two blocks, where blocks from the first inner
            // column (an edge block of lo outputs, then 8, then the rest) took three, and the strips' rows
            // take whole blocks. A block that reaches past either side of lo ..< hi is checked.
            for (int ox = 0; ox < s.ow; ox += 8) {
                const int n = s.ow - ox < 8 ? s.ow - ox : 8;
                if (ox >= lo && ox + 8 <= hi) nhwc_block(x, wt, c, cg, s, stride, k, oy, ox, n, 0, y, bias, scale, act, strips);
                else nhwc_block(x, wt, c, cg, s, stride, k, oy, ox, n, 1, y, bias, scale, act, strips);
            }
        }
    }
}

#define NHWC_BY_SHAPE(STRIPS) \
    if (s.k == 3 && s.stride == 1) nhwc_plane(x, weight, c, s, 1, 3, y, bias, scale, act, STRIPS); \
    else if (s.k == 3 && s.stride == 2) nhwc_plane(x, weight, c, s, 2, 3, y, bias, scale, act, STRIPS); \
    else if (s.k == 5 && s.stride == 1) nhwc_plane(x, weight, c, s, 1, 5, y, bias, scale, act, STRIPS); \
    else if (s.k == 5 && s.stride == 2) nhwc_plane(x, weight, c, s, 2, 5, y, bias, scale, act, STRIPS); \
    else nhwc_plane(x, weight, c, s, s.stride, s.k, y, bias, scale, act, STRIPS);

AVX512 void stpm_depthwise_nhwc_avx512(const float *x, const float *weight, const float *bias, const float *scale, int act,
                                       float *y, long c, stpm_depthwise_shape s) {
    NHWC_BY_SHAPE(0)
}

AVX512 void stpm_depthwise_nhwc_strips_avx512(const float *x, const float *weight, const float *bias, const float *scale,
                                              int act, float *y, long c, stpm_depthwise_shape s) {
    NHWC_BY_SHAPE(1)
}

// The backward pass of one plane. x is laid out as the forward's (padded phase rows), dy as rows padded
// with `lead` = (k - 1) / stride zeros in front and zeros after column ow up to the phase rows' width, so
// every read of both gradients is a whole unaligned vector:
// - weight gradient: tap t of 16 neighbouring outputs reads one vector of x, as in the forward, and
//   multiplies it by the same vector of dy: k*k accumulators, one load of x per FMA;
// - input gradient: phase p of a padded input row r takes, from each output row oy = (r - ky) / stride
//   and each kx with kx % stride = p, w[ky][kx] times dy's row shifted by kx / stride. Blocks of 4 input
//   rows by 32 columns (stride 1: also 16) are accumulated in registers, each vector of dy loaded once for
//   every row of the block it reaches, and stored straight into dx: only the w inner columns of the padded
//   rows are computed (the padded row's edge vectors took a third of the FMAs on 16-wide planes), at stride 2
//   the two phases' vectors interleaved in registers. The slack read past the last row is at most a vector:
//   the lanes of a last vector past the row's end, never stored. At stride 1 dy also has `above` and `below`
//   rows of zeros around it, so that every row of a block reads k rows of dy with no test of which exist: a
//   zero adds w * 0 to a sum, which leaves it unchanged for finite weights (a sum from +0 is never -0).
typedef struct { layout l; int lead, gw, above, below; } backward_layout;

static backward_layout backward_plan(stpm_depthwise_shape s) {
    backward_layout b;
    b.l = plan(s);
    b.lead = (s.k - 1) / s.stride;
    // The rows a block of 4 (or 1) input rows reads: from (its last padded row) / stride down, k rows at stride
    // 1; at stride 2 (k + 4) / 2 at most.
    const int last = (s.pad_top + s.h - 1) / s.stride;
    b.above = s.stride == 1 ? (s.k - 1 > s.pad_top ? s.k - 1 - s.pad_top : 0) : (s.k + 4) / 2;
    b.below = last > s.oh - 1 ? last - (s.oh - 1) : 0;
    b.gw = b.lead + b.l.ws;
    return b;
}

long stpm_depthwise_backward_scratch(stpm_depthwise_shape s) {
    backward_layout b = backward_plan(s);
    return stpm_depthwise_scratch(s) + (long)(b.above + s.oh + b.below) * b.gw + 32;
}

// BatchNorm's input gradient (stpm_depthwise_norm_gradient) of 16 values of dy and of z.
AVX512 INLINE __m512 norm_gradient(__m512 g, __m512 z, const stpm_depthwise_norm_gradient *n) {
    const __m512 y = _mm512_add_ps(_mm512_mul_ps(z, _mm512_set1_ps(n->scale)), _mm512_set1_ps(n->shift));
    __mmask16 keep = 0xffff;
    if (n->act == STPM_ACT_RELU || n->act == STPM_ACT_RELU6) keep = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ);
    if (n->act == STPM_ACT_RELU6) keep &= _mm512_cmp_ps_mask(y, _mm512_set1_ps(6), _CMP_LT_OQ);
    const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(z, _mm512_set1_ps(n->mean)), _mm512_set1_ps(n->inv));
    const __m512 d = _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_mov_ps(keep, g), _mm512_set1_ps(n->a)),
                                   _mm512_mul_ps(xhat, _mm512_set1_ps(n->b)));
    return _mm512_mul_ps(_mm512_set1_ps(n->k), d);
}

// Row oy's first n (1 to 16) values of dy from column j, read through `n` (NULL: as they are); zeros after them.
AVX512 INLINE __m512 gradient_vector(const float *dy, const stpm_depthwise_norm_gradient *n, long at, int count) {
    const __mmask16 m = tail_mask(count);
    const __m512 g = _mm512_maskz_loadu_ps(m, dy + at);
    return n ? _mm512_maskz_mov_ps(m, norm_gradient(g, _mm512_maskz_loadu_ps(m, n->z + at), n)) : g;
}

AVX512 INLINE void fill_gradient(const float *dy, const stpm_depthwise_norm_gradient *n, float *g, stpm_depthwise_shape s,
                                 backward_layout b) {
    stpm_depthwise_norm_gradient local;
    if (n) local = *n, n = &local;
    for (int oy = 0; oy < s.oh; oy++) {
        float *row = g + (long)oy * b.gw, *end = row + b.gw;
        const long at = (long)oy * s.ow;
        for (int j = 0; j < b.lead; j++) row[j] = 0;
        int j = 0;
        for (; j + 16 <= s.ow; j += 16) {
            const __m512 v = _mm512_loadu_ps(dy + at + j);
            _mm512_storeu_ps(row + b.lead + j, n ? norm_gradient(v, _mm512_loadu_ps(n->z + at + j), n) : v);
        }
        // The tail vector and the zeros after it; whole vectors where they fit before the row's end, then
        // one value at a time.
        for (; row + b.lead + j + 16 <= end; j += 16)
            _mm512_storeu_ps(row + b.lead + j, j < s.ow ? gradient_vector(dy, n, at + j, s.ow - j) : _mm512_setzero_ps());
        for (; b.lead + j < b.gw; j++)
            row[b.lead + j] = j < s.ow ? _mm_cvtss_f32(_mm512_castps512_ps128(gradient_vector(dy, n, at + j, 1))) : 0;
    }
}

AVX512 INLINE void weight_gradient(const float *buf, const float *g, stpm_depthwise_shape s, backward_layout b, int stride,
                                   int k, float *dw) {
    __m512 acc[7 * 7];
    for (int t = 0; t < k * k; t++) acc[t] = _mm512_setzero_ps();
    const int ws = b.l.ws, vectors = (s.ow + 15) / 16;
    for (int oy = 0; oy < s.oh; oy++) {
        const float *grow = g + (long)oy * b.gw + b.lead;
        for (int v = 0; v < vectors; v++) {
            const __m512 d = _mm512_loadu_ps(grow + 16 * v);
            for (int ky = 0; ky < k; ky++) {
                const float *row = buf + (long)(oy * stride + ky) * stride * ws + 16 * v;
                for (int kx = 0; kx < k; kx++)
                    acc[ky * k + kx] = _mm512_fmadd_ps(d, _mm512_loadu_ps(row + (kx % stride) * ws + kx / stride), acc[ky * k + kx]);
            }
        }
    }
    for (int t = 0; t < k * k; t++) dw[t] = _mm512_reduce_add_ps(acc[t]);
}

// Stride 1: dL/dx rows iy0 ..< iy0 + rows, nv vectors of 16 input columns from ox0 (the last one stored under `last`),
// straight into dx: only the inner columns of the padded rows, each gradient vector loaded once for every row of
// the block it reaches. Each sum still runs over ky, then kx, from zero: gradient rows t = r0 + rows - 1 - dt
// descend, so that ky = r - t ascends for every row r of the block. The zero rows around dy (`above`, `below`)
// make the rows read the same for every block, so that with k a constant every test of ky is one too.
AVX512 INLINE void input_gradient_rows(const float *g, const float *wt, stpm_depthwise_shape s, backward_layout b, int k,
                                       int iy0, int rows, int ox0, int nv, __mmask16 last, float *dx) {
    __m512 acc[4][2];
    for (int i = 0; i < rows; i++)
        for (int v = 0; v < nv; v++) acc[i][v] = _mm512_setzero_ps();
    const float *top = g + (long)(iy0 + s.pad_top + rows - 1) * b.gw + b.lead + s.pad_left + ox0;
    for (int dt = 0; dt < rows + k - 1; dt++) {
        const float *grow = top - (long)dt * b.gw;
        for (int kx = 0; kx < k; kx++) {
            __m512 d[2];
            for (int v = 0; v < nv; v++) d[v] = _mm512_loadu_ps(grow + 16 * v - kx);
            for (int i = 0; i < rows; i++) {
                const int ky = i + dt - (rows - 1);
                if (ky < 0 || ky >= k) continue;
                const __m512 w = _mm512_set1_ps(wt[ky * k + kx]);
                for (int v = 0; v < nv; v++) acc[i][v] = _mm512_fmadd_ps(w, d[v], acc[i][v]);
            }
        }
    }
    for (int i = 0; i < rows; i++) {
        float *dst = dx + (long)(iy0 + i) * s.w + ox0;
        for (int v = 0; v < nv; v++) {
            if (v == nv - 1 && last != 0xffff) _mm512_mask_storeu_ps(dst + 16 * v, last, acc[i][v]);
            else _mm512_storeu_ps(dst + 16 * v, acc[i][v]);
        }
    }
}

AVX512 INLINE void input_gradient_block_rows(const float *g, const float *wt, stpm_depthwise_shape s, backward_layout b,
                                             int k, int iy0, int rows, float *dx) {
    int ox0 = 0;
    for (; ox0 + 32 <= s.w; ox0 += 32) input_gradient_rows(g, wt, s, b, k, iy0, rows, ox0, 2, 0xffff, dx);
    for (; ox0 < s.w; ox0 += 16) input_gradient_rows(g, wt, s, b, k, iy0, rows, ox0, 1, tail_mask(s.w - ox0), dx);
}

// Stride 2: dL/dx rows iy0 ..< iy0 + rows, input columns x0 ..< x0 + 32 (`m0`, `m1`: those inside the row) straight
// into dx. Padded column X = x + pad_left is phase X % 2, phase column X / 2: the even columns of the block are one
// phase's vector from phase column ja, the odd ones the other phase's from jb, interleaved before the store. Each
// sum runs over ky, then kx of its phase, from zero (gradient rows t = top - dt descending), as the portable kernel
// sums. With q, the parity of the block's last padded row, a constant, so are the rows each gradient row reaches
// (ky = q + i - (rows - 1) + 2 dt): the zero rows around dy stand for those past its ends.
AVX512 INLINE void input_gradient_rows2(const float *g, const float *wt, stpm_depthwise_shape s, backward_layout b, int k,
                                        int iy0, int rows, int x0, __mmask16 m0, __mmask16 m1, float *dx, int q) {
    __m512 acc[4][2];
    for (int i = 0; i < rows; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    const int pe = (x0 + s.pad_left) % 2, ja = (x0 + s.pad_left) / 2, jb = (x0 + s.pad_left + 1) / 2;
    const float *top = g + (long)((iy0 + s.pad_top + rows - 1) / 2) * b.gw + b.lead;
    for (int dt = 0; dt < (k + rows - q) / 2; dt++) {
        const float *grow = top - (long)dt * b.gw;
        for (int kx = 0; kx < k; kx++) {
            const int odd = kx % 2 != pe;
            const __m512 d = _mm512_loadu_ps(grow + (odd ? jb : ja) - kx / 2);
            for (int i = 0; i < rows; i++) {
                const int ky = q + i - (rows - 1) + 2 * dt;
                if (ky < 0 || ky >= k) continue;
                acc[i][odd] = _mm512_fmadd_ps(_mm512_set1_ps(wt[ky * k + kx]), d, acc[i][odd]);
            }
        }
    }
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (int i = 0; i < rows; i++) {
        float *dst = dx + (long)(iy0 + i) * s.w + x0;
        const __m512 a = _mm512_permutex2var_ps(acc[i][0], lo, acc[i][1]), c = _mm512_permutex2var_ps(acc[i][0], hi, acc[i][1]);
        if (m0 == 0xffff) _mm512_storeu_ps(dst, a);
        else _mm512_mask_storeu_ps(dst, m0, a);
        if (m1 == 0xffff) _mm512_storeu_ps(dst + 16, c);
        else if (m1) _mm512_mask_storeu_ps(dst + 16, m1, c);
    }
}

AVX512 INLINE void input_gradient_block_rows2(const float *g, const float *wt, stpm_depthwise_shape s, backward_layout b,
                                              int k, int iy0, int rows, float *dx) {
    int x0 = 0;
    const int q = (iy0 + s.pad_top + rows - 1) % 2;
    for (; x0 + 32 <= s.w; x0 += 32) {
        if (q) input_gradient_rows2(g, wt, s, b, k, iy0, rows, x0, 0xffff, 0xffff, dx, 1);
        else input_gradient_rows2(g, wt, s, b, k, iy0, rows, x0, 0xffff, 0xffff, dx, 0);
    }
    if (x0 < s.w)
        input_gradient_rows2(g, wt, s, b, k, iy0, rows, x0, tail_mask(s.w - x0), s.w - x0 > 16 ? tail_mask(s.w - x0 - 16) : 0, dx, q);
}

AVX512 INLINE void input_gradient(const float *g, const float *wt, stpm_depthwise_shape s, backward_layout b, int stride,
                                  int k, float *dx) {
    int iy0 = 0;
    for (; iy0 + 4 <= s.h; iy0 += 4) {
        // The next block's rows of dx, for writing: dx is not in cache (as the forward's output).
        uintptr_t ahead = (uintptr_t)(dx + (long)(iy0 + 4) * s.w);
        for (long c = 0; c < 16L * s.w; c += 64) _mm_prefetch((const char *)(ahead + c), _MM_HINT_ET0);
        if (stride == 1) input_gradient_block_rows(g, wt, s, b, k, iy0, 4, dx);
        else input_gradient_block_rows2(g, wt, s, b, k, iy0, 4, dx);
    }
    for (; iy0 < s.h; iy0++) {
        if (stride == 1) input_gradient_block_rows(g, wt, s, b, k, iy0, 1, dx);
        else input_gradient_block_rows2(g, wt, s, b, k, iy0, 1, dx);
    }
}

AVX512 INLINE void backward(const float *x, const stpm_depthwise_map *map, const float *weight, const float *dy,
                            const stpm_depthwise_norm_gradient *n, float *dw, float *dx, float *scratch, stpm_depthwise_shape s,
                            int stride, int k) {
    backward_layout b = backward_plan(s);
    // The padded gradient rows between their zero rows, then the slack that a last vector's lanes past the row read.
    float *g = scratch + stpm_depthwise_scratch(s) + (long)b.above * b.gw;
    for (long i = 0; i < (long)b.above * b.gw; i++) g[i - (long)b.above * b.gw] = 0;
    for (long i = 0; i < (long)b.below * b.gw; i++) g[(long)s.oh * b.gw + i] = 0;
    fill_plane(x, map, scratch, s, b.l, stride);
    fill_gradient(dy, n, g, s, b);
    weight_gradient(scratch, g, s, b, stride, k, dw);
    if (dx) input_gradient(g, weight, s, b, stride, k, dx);
}

AVX512 void stpm_depthwise_backward_avx512(const float *x, const float *weight, const float *dy, float *dw, float *dx,
                                           float *scratch, stpm_depthwise_shape s) {
    BY_SHAPE(s, backward, x, 0, weight, dy, 0, dw, dx, scratch, s);
}

AVX512 void stpm_depthwise_backward_mapped_avx512(const float *x, const stpm_depthwise_map *map, const float *weight,
                                                  const float *dy, const stpm_depthwise_norm_gradient *gradient, float *dw,
                                                  float *dx, float *scratch, stpm_depthwise_shape s) {
    BY_SHAPE(s, backward, x, map, weight, dy, gradient, dw, dx, scratch, s);
}
