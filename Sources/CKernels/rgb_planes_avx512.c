#include "rgb_planes_avx512.h"
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

AVX512 void stpm_rgb_to_planes_avx512(const uint8_t *pixels, long count, float *red, float *green, float *blue) {
    const __m512i spread = _mm512_set_epi32(0, 11, 10, 9, 0, 8, 7, 6, 0, 5, 4, 3, 0, 2, 1, 0);
    const __m512i widen = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1));
    const __m512i byte = _mm512_set1_epi32(255);
    for (long i = 0; i < count; i += 16) {
        const long n = count - i < 16 ? count - i : 16;
        const __mmask16 lanes = (__mmask16)((1u << n) - 1);
        const __m512i bytes = _mm512_maskz_loadu_epi8((1ull << (3 * n)) - 1, pixels + 3 * i);
        const __m512i rgb = _mm512_shuffle_epi8(_mm512_permutexvar_epi32(spread, bytes), widen);
        _mm512_mask_storeu_ps(red + i, lanes, _mm512_cvtepi32_ps(_mm512_and_si512(rgb, byte)));
        _mm512_mask_storeu_ps(green + i, lanes, _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srli_epi32(rgb, 8), byte)));
        _mm512_mask_storeu_ps(blue + i, lanes, _mm512_cvtepi32_ps(_mm512_srli_epi32(rgb, 16)));
    }
}
