// Depthwise convolution, one (channel, image) plane at a time, in AVX-512.
//
// The plane is first copied into `buf`, zero-padded and, for stride 2, split into even and odd
// columns (phase rows), so that every filter tap of 16 neighbouring outputs is one unaligned vector load:
// output (oy, ox) reads phase kx % s of padded row oy*s + ky at column ox + kx/s. The forward then keeps
// a block of 4 output rows x 32 columns in registers across all k*k taps: each loaded input vector
// serves every output row of the block it touches, and bias and activation are applied before the
// one store. The taps are summed in the portable kernel's order (ky, then kx, from zero, bias last),
// so both paths give the same floats.
#include "depthwise_avx512.h"
#include "gemm_avx512.h"
#include <immintrin.h>
#include <stdint.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define INLINE static inline __attribute__((always_inline))

// Padded rows the outputs read, and the floats between two phase rows: enough for the 32 columns a
// block reads past its last output, and for every input column (the backward writes them all back).
typedef struct { int rows, ws; } layout;

static layout plan(stpm_depthwise_shape s) {
    int cols = (s.w + s.pad_left + s.stride - 1) / s.stride;
    if (cols < s.ow) cols = s.ow;
    layout l = { (s.oh - 1) * s.stride + s.k, (cols + 15) / 16 * 16 + 32 };
    return l;
}

// The output gradient with zero borders, for the input gradient's correlation: `lead` rows above and
// below, 16 columns before.
static int grad_lead(stpm_depthwise_shape s) { return (s.k - 1) / s.stride; }
static int grad_width(layout l) { return l.ws + 16; }
static long grad_count(stpm_depthwise_shape s, layout l) {
    return (long)(s.oh + 2 * grad_lead(s) + 1) * grad_width(l);
}

long stpm_depthwise_scratch(stpm_depthwise_shape s) {
    layout l = plan(s);
    long phase_buffer = (long)l.rows * s.stride * l.ws;
    return 2 * phase_buffer + grad_count(s, l);
}

// Lanes i in 0..<lanes (at most 32) with 0 <= base + i < w.
INLINE uint64_t lane_mask(long base, long w, int lanes) {
    long lo = base < 0 ? -base : 0, hi = w - base;
    if (hi > lanes) hi = lanes;
    if (hi <= lo) return 0;
    return ((1ull << hi) - 1) & ~((1ull << lo) - 1);
}

INLINE __mmask16 tail_mask(int n) { return n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1); }

// dst[j] = src[j*stride + phase - pad] for j in 0..<ws (a multiple of 16), zero outside 0..<w or for a
// NULL src (a padding row). Whole vectors are stored (masked stores are slow on AMD); loads are masked
// only where a vector crosses the row's ends (masked-off lanes are never read, so no bounds check).
AVX512 INLINE void fill_row(float *dst, const float *src, int w, int stride, int phase, int pad, int ws) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    // Input columns j*stride + phase - pad in 0..<w: j in lo..<hi.
    int lo = pad - phase <= 0 ? 0 : (pad - phase + stride - 1) / stride;
    int hi = (w - 1 + pad - phase) < 0 ? 0 : (w - 1 + pad - phase) / stride + 1;
    if (!src) lo = hi = 0;
    for (int j0 = 0; j0 < ws; j0 += 16) {
        __m512 v = _mm512_setzero_ps();
        const float *at = src + (long)j0 * stride + phase - pad;
        // Stride 2 reads 31 floats of 32: the 32nd may lie past the tensor.
        if (j0 >= lo && j0 + 16 + (stride - 1) <= hi) {
            v = stride == 1 ? _mm512_loadu_ps(at)
                            : _mm512_permutex2var_ps(_mm512_loadu_ps(at), even, _mm512_loadu_ps(at + 16));
        } else if (j0 < hi && j0 + 16 > lo) {
            uint64_t m = lane_mask((long)j0 * stride + phase - pad, w, 16 * stride);
            if (stride == 1) {
                v = _mm512_maskz_loadu_ps((__mmask16)m, at);
            } else {
                __m512 a = _mm512_maskz_loadu_ps((__mmask16)m, at);
                __m512 b = _mm512_maskz_loadu_ps((__mmask16)(m >> 16), at + 16);
                v = _mm512_permutex2var_ps(a, even, b);
            }
        }
        _mm512_storeu_ps(dst + j0, v);
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

AVX512 INLINE void fill_plane(const float *x, float *buf, stpm_depthwise_shape s, layout l) {
    for (int r = 0; r < l.rows; r++) {
        int iy = r - s.pad_top;
        const float *src = iy >= 0 && iy < s.h ? x + (long)iy * s.w : 0;
        if (iy + prefetch_rows >= 0 && iy < s.h) prefetch_row(x, iy + prefetch_rows, s.w);
        for (int p = 0; p < s.stride; p++)
            fill_row(buf + ((long)r * s.stride + p) * l.ws, src, s.w, s.stride, p, s.pad_left, l.ws);
    }
}

AVX512 INLINE __m512 activate(__m512 a, int act) {
    if (act == STPM_ACT_RELU || act == STPM_ACT_RELU6) a = _mm512_max_ps(a, _mm512_setzero_ps());
    if (act == STPM_ACT_RELU6) a = _mm512_min_ps(a, _mm512_set1_ps(6));
    return a;
}

// `rows` output rows from oy0 and nv vectors of 16 columns from ox0, the last vector stored under `last`.
AVX512 INLINE void forward_block(const float *buf, int ws, int stride, int k, const float *wt, float bias, int act,
                                 float *y, int ow, int oy0, int ox0, int rows, int nv, __mmask16 last) {
    __m512 acc[4][2];
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
    for (; oy0 + 4 <= oh; oy0 += 4) {
        // The next block's output rows, for writing (y is not in cache either): a cold 128x128 stride-1
        // plane went from 9.0 to 6.4 us. Past the plane's end these are the next plane's first rows.
        uintptr_t ahead = (uintptr_t)(y + (long)(oy0 + 4) * ow);
        for (long c = 0; c < 16L * ow; c += 64) _mm_prefetch((const char *)(ahead + c), _MM_HINT_ET0);
        forward_rows(buf, ws, stride, k, wt, bias, act, y, ow, oy0, 4);
    }
    for (; oy0 < oh; oy0++) forward_rows(buf, ws, stride, k, wt, bias, act, y, ow, oy0, 1);
}

AVX512 void stpm_depthwise_forward_avx512(const float *x, const float *weight, float bias, int act, float *y,
                                          float *scratch, stpm_depthwise_shape s) {
    layout l = plan(s);
    fill_plane(x, scratch, s, l);
    // The shapes of EfficientNet-Lite0 with every loop bound a constant; any other k through the same code.
    if (s.k == 3 && s.stride == 1) forward_plane(scratch, l.ws, 1, 3, weight, bias, act, y, s.oh, s.ow);
    else if (s.k == 3 && s.stride == 2) forward_plane(scratch, l.ws, 2, 3, weight, bias, act, y, s.oh, s.ow);
    else if (s.k == 5 && s.stride == 1) forward_plane(scratch, l.ws, 1, 5, weight, bias, act, y, s.oh, s.ow);
    else if (s.k == 5 && s.stride == 2) forward_plane(scratch, l.ws, 2, 5, weight, bias, act, y, s.oh, s.ow);
    else forward_plane(scratch, l.ws, s.stride, s.k, weight, bias, act, y, s.oh, s.ow);
}

// dweight[t] = sum over outputs of dy * the input tap t read (the forward's reads, one accumulator per tap).
AVX512 INLINE void weight_grad(const float *buf, int ws, int stride, int k, const float *dy, int oh, int ow,
                               float *dweight) {
    __m512 acc[49];
    for (int t = 0; t < k * k; t++) acc[t] = _mm512_setzero_ps();
    for (int oy = 0; oy < oh; oy++) {
        for (int ox0 = 0; ox0 < ow; ox0 += 16) {
            __m512 g = _mm512_maskz_loadu_ps(tail_mask(ow - ox0), dy + (long)oy * ow + ox0);
            for (int ky = 0; ky < k; ky++) {
                const float *row = buf + (long)(oy * stride + ky) * stride * ws + ox0;
                for (int kx = 0; kx < k; kx++) {
                    __m512 in = _mm512_loadu_ps(row + (kx % stride) * ws + kx / stride);
                    acc[ky * k + kx] = _mm512_fmadd_ps(g, in, acc[ky * k + kx]);
                }
            }
        }
    }
    for (int t = 0; t < k * k; t++) dweight[t] = _mm512_reduce_add_ps(acc[t]);
}

// The gradient of every phase row the input fills: phase p of padded row r at column j gathers
// w[ky][kx] * dy[oy][ox] over the taps with r = oy*stride + ky, kx % stride = p and j = ox + kx/stride,
// read from the zero-bordered gradient `gp` (so the taps past an edge read zeros). Here phase p of the rows
// r0 <= r < r1 with r % stride == py: the same taps (and broadcast weights) for all of them.
AVX512 INLINE void input_grad_rows(float *dbuf, int ws, int stride, int k, const float *wt, const float *gp, int gw,
                                   int lead, int r0, int r1, int py, int p) {
    for (int r = r0 + (py - r0 % stride + stride) % stride; r < r1; r += stride) {
        float *dst = dbuf + ((long)r * stride + p) * ws;
        for (int j0 = 0; j0 < ws; j0 += 16) {
            __m512 acc = _mm512_setzero_ps();
            for (int ky = py; ky < k; ky += stride) {
                const float *row = gp + (long)((r - ky) / stride + lead) * gw + 16 + j0;
                for (int kx = p; kx < k; kx += stride)
                    acc = _mm512_fmadd_ps(_mm512_set1_ps(wt[ky * k + kx]), _mm512_loadu_ps(row - kx / stride), acc);
            }
            _mm512_storeu_ps(dst + j0, acc);
        }
    }
}

AVX512 INLINE void input_grad(float *dbuf, int ws, int stride, int k, const float *wt, const float *gp, int gw,
                              int lead, int r0, int r1) {
    for (int py = 0; py < stride; py++)
        for (int p = 0; p < stride; p++) input_grad_rows(dbuf, ws, stride, k, wt, gp, gw, lead, r0, r1, py, p);
}

// Stores v at dst's lanes in mask m: a whole store when all 16 are in (masked stores are slow on AMD).
AVX512 INLINE void store_lanes(float *dst, __mmask16 m, __m512 v) {
    if (m == 0xffff) _mm512_storeu_ps(dst, v);
    else if (m) _mm512_mask_storeu_ps(dst, m, v);
}

// dx[iy][ix] = the phase-row gradient at the position x[iy][ix] was copied to (zero for rows no output reads).
AVX512 static void unfill_plane(const float *dbuf, float *dx, stpm_depthwise_shape s, layout l) {
    const __m512i lo_idx = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi_idx = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (int iy = 0; iy < s.h; iy++) {
        int r = iy + s.pad_top;
        float *out = dx + (long)iy * s.w;
        if (r >= l.rows) {
            for (int ix = 0; ix < s.w; ix += 16) store_lanes(out + ix, tail_mask(s.w - ix), _mm512_setzero_ps());
            continue;
        }
        const float *even = dbuf + (long)r * s.stride * l.ws;
        if (s.stride == 1) {
            for (int ix = 0; ix < s.w; ix += 16)
                store_lanes(out + ix, tail_mask(s.w - ix), _mm512_loadu_ps(even + s.pad_left + ix));
            continue;
        }
        const float *odd = even + l.ws;
        // Padded columns c0 .. c0+31 interleaved from both phases; x's column is c - pad_left.
        for (int c0 = 0; c0 < s.w + s.pad_left; c0 += 32) {
            __m512 e = _mm512_loadu_ps(even + c0 / 2), o = _mm512_loadu_ps(odd + c0 / 2);
            uint64_t m = lane_mask((long)c0 - s.pad_left, s.w, 32);
            float *at = out + c0 - s.pad_left;
            store_lanes(at, (__mmask16)m, _mm512_permutex2var_ps(e, lo_idx, o));
            store_lanes(at + 16, (__mmask16)(m >> 16), _mm512_permutex2var_ps(e, hi_idx, o));
        }
    }
}

AVX512 INLINE void backward_plane(const float *buf, float *dbuf, const float *gp, int gw, int lead, int stride, int k,
                                  const float *weight, const float *dy, float *dweight, int compute_dx,
                                  stpm_depthwise_shape s, layout l) {
    weight_grad(buf, l.ws, stride, k, dy, s.oh, s.ow, dweight);
    if (!compute_dx) return;
    int r1 = s.pad_top + s.h < l.rows ? s.pad_top + s.h : l.rows;
    input_grad(dbuf, l.ws, stride, k, weight, gp, gw, lead, s.pad_top, r1);
}

AVX512 void stpm_depthwise_backward_avx512(const float *x, const float *weight, const float *dy, float *dweight,
                                           float *dx, float *scratch, stpm_depthwise_shape s) {
    layout l = plan(s);
    long phase_buffer = (long)l.rows * s.stride * l.ws;
    float *buf = scratch, *dbuf = scratch + phase_buffer, *gp = dbuf + phase_buffer;
    int lead = grad_lead(s), gw = grad_width(l);
    fill_plane(x, buf, s, l);
    if (dx) {
        for (int r = 0; r < s.oh + 2 * lead + 1; r++) {
            int oy = r - lead;
            if (oy + prefetch_rows >= 0 && oy < s.oh) prefetch_row(dy, oy + prefetch_rows, s.ow);
            fill_row(gp + (long)r * gw, oy >= 0 && oy < s.oh ? dy + (long)oy * s.ow : 0, s.ow, 1, 0, 16, gw);
        }
    }
    int want = dx != 0;
    if (s.k == 3 && s.stride == 1) backward_plane(buf, dbuf, gp, gw, lead, 1, 3, weight, dy, dweight, want, s, l);
    else if (s.k == 3 && s.stride == 2) backward_plane(buf, dbuf, gp, gw, lead, 2, 3, weight, dy, dweight, want, s, l);
    else if (s.k == 5 && s.stride == 1) backward_plane(buf, dbuf, gp, gw, lead, 1, 5, weight, dy, dweight, want, s, l);
    else if (s.k == 5 && s.stride == 2) backward_plane(buf, dbuf, gp, gw, lead, 2, 5, weight, dy, dweight, want, s, l);
    else backward_plane(buf, dbuf, gp, gw, lead, s.stride, s.k, weight, dy, dweight, want, s, l);
    if (dx) unfill_plane(dbuf, dx, s, l);
}
