// BatchNorm's per-channel passes in AVX-512, to the portable Swift passes' floats (see the header). A chunk's
// sum is a chain of 64 dependent vector adds per 1024 values, latency-bound, so four chunks run side by side
// as four independent chains; each is still summed lane by lane in the portable order, and the chunks are
// combined in Double in their order.
#include "batchnorm_avx512.h"
#include "gemm_avx512.h"
#include <immintrin.h>

// Products and sums are rounded one by one, as Swift rounds them: no contraction into FMAs.
#pragma clang fp contract(off)

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define INLINE static inline __attribute__((always_inline)) AVX512

enum { chunk = 1024, side_by_side = 4 };

// The portable (s0 + s1).sum(): the two 8-lane halves added, then their lanes left to right from -0.
INLINE float fold(__m512 acc) {
    float v[8];
    _mm256_storeu_ps(v, _mm256_add_ps(_mm512_castps512_ps256(acc), _mm512_extractf32x8_ps(acc, 1)));
    float r = -0.0f;
    for (int j = 0; j < 8; j++) r += v[j];
    return r;
}

// y = x * scale + shift rounded twice; the lanes where the activation's derivative at y is 1.
INLINE __mmask16 passing(__m512 x, __m512 scale, __m512 shift, int act) {
    const __m512 y = _mm512_add_ps(_mm512_mul_ps(x, scale), shift);
    __mmask16 keep = 0xffff;
    if (act == STPM_ACT_RELU || act == STPM_ACT_RELU6) keep = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ);
    if (act == STPM_ACT_RELU6) keep &= _mm512_cmp_ps_mask(y, _mm512_set1_ps(6), _CMP_LT_OQ);
    return keep;
}

static inline int passes(float x, float scale, float shift, int act) {
    float y = x * scale;
    y = y + shift;
    if (act == STPM_ACT_RELU) return y > 0;
    if (act == STPM_ACT_RELU6) return y > 0 && y < 6;
    return 1;
}

// Swift's max(v, 0) (`0 >= v ? 0 : v`: NaN passes, -0 becomes +0) and min(v, 6) (`6 < v ? 6 : v`).
INLINE __m512 activate(__m512 v, int act) {
    if (act == STPM_ACT_NONE) return v;
    v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LE_OQ), v, _mm512_setzero_ps());
    if (act == STPM_ACT_RELU6) v = _mm512_min_ps(_mm512_set1_ps(6), v);
    return v;
}

static inline float activate1(float v, int act) {
    if (act == STPM_ACT_NONE) return v;
    v = 0 >= v ? 0 : v;
    if (act == STPM_ACT_RELU6) v = 6 < v ? 6 : v;
    return v;
}

// What one value adds to a plain sum (`deviation` 0) or to the squared deviation from `mean`.
INLINE __m512 term(__m512 v, int deviation, __m512 mean) {
    if (!deviation) return v;
    const __m512 d = _mm512_sub_ps(v, mean);
    return _mm512_mul_ps(d, d);
}

static inline float term1(float v, int deviation, float mean) {
    if (!deviation) return v;
    const float d = v - mean;
    return d * d;
}

INLINE double chunked(const float *p, long count, int deviation, float mean) {
    const __m512 m = _mm512_set1_ps(mean);
    double total = 0;
    long start = 0;
    for (; start + side_by_side * chunk <= count; start += side_by_side * chunk) {
        __m512 acc[side_by_side];
        for (int c = 0; c < side_by_side; c++) acc[c] = _mm512_setzero_ps();
        for (long i = 0; i < chunk; i += 16)
            for (int c = 0; c < side_by_side; c++)
                acc[c] = _mm512_add_ps(acc[c], term(_mm512_loadu_ps(p + start + c * chunk + i), deviation, m));
        for (int c = 0; c < side_by_side; c++) total += (double)fold(acc[c]);
    }
    for (; start < count; start += chunk) {
        const long end = count - start < chunk ? count : start + chunk;
        __m512 acc = _mm512_setzero_ps();
        long i = start;
        for (; i + 16 <= end; i += 16) acc = _mm512_add_ps(acc, term(_mm512_loadu_ps(p + i), deviation, m));
        float t = fold(acc);
        for (; i < end; i++) t += term1(p[i], deviation, mean);
        total += (double)t;
    }
    return total;
}

AVX512 double stpm_bn_sum_avx512(const float *p, long count) { return chunked(p, count, 0, 0); }

AVX512 double stpm_bn_squared_deviation_avx512(const float *p, long count, float mean) { return chunked(p, count, 1, mean); }

// Adds 16 values' g' and g' * x to the chunk's two accumulators.
INLINE void masked_step(const float *g, const float *x, __m512 scale, __m512 shift, int act, __m512 *sg, __m512 *sd) {
    const __m512 xv = _mm512_loadu_ps(x);
    const __m512 gv = _mm512_maskz_mov_ps(passing(xv, scale, shift, act), _mm512_loadu_ps(g));
    *sg = _mm512_add_ps(*sg, gv);
    *sd = _mm512_add_ps(*sd, _mm512_mul_ps(gv, xv));
}

INLINE void masked_sums(const float *g, const float *x, long count, float scale, float shift, int act, double *sum_g,
                        double *sum_gx) {
    const __m512 sc = _mm512_set1_ps(scale), sh = _mm512_set1_ps(shift);
    double tg = 0, td = 0;
    long start = 0;
    for (; start + side_by_side * chunk <= count; start += side_by_side * chunk) {
        __m512 sg[side_by_side], sd[side_by_side];
        for (int c = 0; c < side_by_side; c++) sg[c] = sd[c] = _mm512_setzero_ps();
        for (long i = 0; i < chunk; i += 16)
            for (int c = 0; c < side_by_side; c++) {
                const long at = start + c * chunk + i;
                masked_step(g + at, x + at, sc, sh, act, &sg[c], &sd[c]);
            }
        for (int c = 0; c < side_by_side; c++) {
            tg += (double)fold(sg[c]);
            td += (double)fold(sd[c]);
        }
    }
    for (; start < count; start += chunk) {
        const long end = count - start < chunk ? count : start + chunk;
        __m512 sg = _mm512_setzero_ps(), sd = _mm512_setzero_ps();
        long i = start;
        for (; i + 16 <= end; i += 16) masked_step(g + i, x + i, sc, sh, act, &sg, &sd);
        float a = fold(sg), d = fold(sd);
        for (; i < end; i++) {
            const float gi = passes(x[i], scale, shift, act) ? g[i] : 0;
            a += gi;
            d += gi * x[i];
        }
        tg += (double)a;
        td += (double)d;
    }
    *sum_g = tg;
    *sum_gx = td;
}

AVX512 void stpm_bn_masked_sums_avx512(const float *g, const float *x, long count, float scale, float shift, int act,
                                       double *sum_g, double *sum_gx) {
    // The activation a constant in each copy of the loops.
    if (act == STPM_ACT_RELU6) masked_sums(g, x, count, scale, shift, STPM_ACT_RELU6, sum_g, sum_gx);
    else if (act == STPM_ACT_RELU) masked_sums(g, x, count, scale, shift, STPM_ACT_RELU, sum_g, sum_gx);
    else masked_sums(g, x, count, scale, shift, STPM_ACT_NONE, sum_g, sum_gx);
}

INLINE void apply(const float *src, float *dst, long count, float scale, float shift, int act) {
    const __m512 sc = _mm512_set1_ps(scale), sh = _mm512_set1_ps(shift);
    long i = 0;
    for (; i + 16 <= count; i += 16)
        _mm512_storeu_ps(dst + i, activate(_mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(src + i), sc), sh), act));
    for (; i < count; i++) {
        float y = src[i] * scale;
        dst[i] = activate1(y + shift, act);
    }
}

AVX512 void stpm_bn_apply_avx512(const float *src, float *dst, long count, float scale, float shift, int act) {
    if (act == STPM_ACT_RELU6) apply(src, dst, count, scale, shift, STPM_ACT_RELU6);
    else if (act == STPM_ACT_RELU) apply(src, dst, count, scale, shift, STPM_ACT_RELU);
    else apply(src, dst, count, scale, shift, STPM_ACT_NONE);
}

INLINE void norm_gradient(const float *g, const float *x, float *dx, long count, float scale, float shift, int act, float mean,
                          float inv, float k, float a, float b) {
    const __m512 sc = _mm512_set1_ps(scale), sh = _mm512_set1_ps(shift), mv = _mm512_set1_ps(mean), iv = _mm512_set1_ps(inv);
    const __m512 kv = _mm512_set1_ps(k), av = _mm512_set1_ps(a), bv = _mm512_set1_ps(b);
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        const __m512 xv = _mm512_loadu_ps(x + i);
        const __m512 gv = _mm512_maskz_mov_ps(passing(xv, sc, sh, act), _mm512_loadu_ps(g + i));
        const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(xv, mv), iv);
        _mm512_storeu_ps(dx + i, _mm512_mul_ps(kv, _mm512_sub_ps(_mm512_sub_ps(gv, av), _mm512_mul_ps(xhat, bv))));
    }
    for (; i < count; i++) {
        const float xhat = (x[i] - mean) * inv, gi = passes(x[i], scale, shift, act) ? g[i] : 0;
        const float t = xhat * b;
        dx[i] = k * ((gi - a) - t);
    }
}

AVX512 void stpm_bn_norm_gradient_avx512(const float *g, const float *x, float *dx, long count, float scale, float shift,
                                         int act, float mean, float inv, float k, float a, float b) {
    if (act == STPM_ACT_RELU6) norm_gradient(g, x, dx, count, scale, shift, STPM_ACT_RELU6, mean, inv, k, a, b);
    else if (act == STPM_ACT_RELU) norm_gradient(g, x, dx, count, scale, shift, STPM_ACT_RELU, mean, inv, k, a, b);
    else norm_gradient(g, x, dx, count, scale, shift, STPM_ACT_NONE, mean, inv, k, a, b);
}

// A side of a residual join: x as it lies, or normalised as it is read (x * scale + shift, rounded twice).
INLINE __m512 side(__m512 x, int normalized, __m512 scale, __m512 shift) {
    return normalized ? _mm512_add_ps(_mm512_mul_ps(x, scale), shift) : x;
}

static inline float side1(float x, int normalized, float scale, float shift) {
    if (!normalized) return x;
    float y = x * scale;
    return y + shift;
}

INLINE void join(const float *a, int na, float sa, float ta, const float *b, int nb, float sb, float tb, float *dst, long count,
                 int act) {
    const __m512 sav = _mm512_set1_ps(sa), tav = _mm512_set1_ps(ta), sbv = _mm512_set1_ps(sb), tbv = _mm512_set1_ps(tb);
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        const __m512 u = side(_mm512_loadu_ps(a + i), na, sav, tav), v = side(_mm512_loadu_ps(b + i), nb, sbv, tbv);
        _mm512_storeu_ps(dst + i, activate(_mm512_add_ps(u, v), act));
    }
    for (; i < count; i++) dst[i] = activate1(side1(a[i], na, sa, ta) + side1(b[i], nb, sb, tb), act);
}

AVX512 void stpm_bn_join_avx512(const float *a, int normalize_a, float scale_a, float shift_a, const float *b, int normalize_b,
                                float scale_b, float shift_b, float *dst, long count, int act) {
    if (act == STPM_ACT_RELU6) join(a, normalize_a, scale_a, shift_a, b, normalize_b, scale_b, shift_b, dst, count, STPM_ACT_RELU6);
    else if (act == STPM_ACT_RELU) join(a, normalize_a, scale_a, shift_a, b, normalize_b, scale_b, shift_b, dst, count, STPM_ACT_RELU);
    else join(a, normalize_a, scale_a, shift_a, b, normalize_b, scale_b, shift_b, dst, count, STPM_ACT_NONE);
}
