#include "pro_scan_avx512.h"
#include <immintrin.h>

// No "fma" here, and no contraction: a fused multiply-add would round the area's terms differently from Swift's.
#pragma clang fp contract(off)
#define AVX512 __attribute__((target("avx512f,avx512vl,avx512dq")))

AVX512 long stpm_pro_scan_avx512(const uint64_t *keys, long count, long kinds, const uint8_t *kind_lanes,
                                 const uint32_t *region_kind, const double *region_weight, const float *ok_pixels,
                                 const double *regions, double limit, double *state, int32_t *false_positives,
                                 uint8_t *live_lanes, uint8_t *reached_lanes) {
    __m512d sum = _mm512_loadu_pd(state), last_x = _mm512_loadu_pd(state + 8), last_y = _mm512_loadu_pd(state + 16);
    __m512d beyond_x = _mm512_loadu_pd(state + 24), beyond_y = _mm512_loadu_pd(state + 32);
    __m512d pro_sum = _mm512_loadu_pd(state + 40), pro = _mm512_loadu_pd(state + 48);
    __m256i fp = _mm256_loadu_si256((const __m256i *)false_positives);
    const __m256 ok = _mm256_loadu_ps(ok_pixels);
    const __m512d region_count = _mm512_loadu_pd(regions);
    const __m512d one = _mm512_set1_pd(1), half = _mm512_set1_pd(0.5), lim = _mm512_set1_pd(limit);
    const __m256i one_count = _mm256_set1_epi32(1);
    __mmask8 live = *live_lanes, reached = *reached_lanes;
    long pos = count - 1;
    while (pos >= 0 && live) {
        const uint64_t score = keys[pos] >> 32;
        __mmask8 touched = 0, held_defects = 0;
        do {
            const uint64_t tag = keys[pos] & 0xFFFFFFFFu;
            if (tag < (uint64_t)kinds) {
                const __mmask8 m = kind_lanes[tag];
                fp = _mm256_mask_add_epi32(fp, m, fp, one_count);
                touched |= m;
            } else {
                const uint64_t r = tag - (uint64_t)kinds;
                const __mmask8 m = kind_lanes[region_kind[r]];
                pro_sum = _mm512_mask_add_pd(pro_sum, m, pro_sum, _mm512_set1_pd(region_weight[r]));
                touched |= m;
                held_defects |= m;
            }
            pos--;
        } while (pos >= 0 && keys[pos] >> 32 == score);
        // Counting goes on in lanes that are complete (nothing reads them): masking the counts with `live` would make
        // every key wait for the last point's division.
        touched &= live;
        if (!touched) continue;
        // min(a, 1) as Swift's min(a, 1) for the numbers a lane can hold (never NaN while it is live). A lane's PRO
        // changes only with its defect pixels; the scalar scan's recomputation elsewhere gives the same value.
        if (held_defects) pro = _mm512_mask_min_pd(pro, held_defects, _mm512_div_pd(pro_sum, region_count), one);
        const __m512d x = _mm512_min_pd(_mm512_cvtps_pd(_mm256_div_ps(_mm256_cvtepi32_ps(fp), ok)), one);
        const __mmask8 over = _mm512_mask_cmp_pd_mask(touched, x, lim, _CMP_GT_OQ);
        beyond_x = _mm512_mask_mov_pd(beyond_x, over, x);
        beyond_y = _mm512_mask_mov_pd(beyond_y, over, pro);
        live &= (__mmask8)~over;
        const __mmask8 in = touched & (__mmask8)~over;
        const __m512d term = _mm512_mul_pd(_mm512_mul_pd(half, _mm512_add_pd(pro, last_y)), _mm512_sub_pd(x, last_x));
        sum = _mm512_mask_add_pd(sum, in, sum, term);
        last_x = _mm512_mask_mov_pd(last_x, in, x);
        last_y = _mm512_mask_mov_pd(last_y, in, pro);
        reached |= _mm512_mask_cmp_pd_mask(in, x, lim, _CMP_EQ_OQ);
    }
    _mm512_storeu_pd(state, sum);
    _mm512_storeu_pd(state + 8, last_x);
    _mm512_storeu_pd(state + 16, last_y);
    _mm512_storeu_pd(state + 24, beyond_x);
    _mm512_storeu_pd(state + 32, beyond_y);
    _mm512_storeu_pd(state + 40, pro_sum);
    _mm512_storeu_pd(state + 48, pro);
    _mm256_storeu_si256((__m256i *)false_positives, fp);
    *live_lanes = live;
    *reached_lanes = reached;
    return pos + 1;
}
