#include "adler32_avx512.h"
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

enum { BASE = 65521, BLOCKS = 5552 / 64 };

static const int8_t weights[64] = {
    64, 63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43,
    42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21,
    20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1,
};

AVX512 uint32_t stpm_adler32_avx512(uint32_t adler, const uint8_t *data, size_t length) {
    uint32_t a = adler & 0xffff, b = adler >> 16;
    const __m512i weight = _mm512_loadu_si512(weights), ones = _mm512_set1_epi16(1), zero = _mm512_setzero_si512();
    while (length >= 64) {
        const size_t blocks = length / 64 < BLOCKS ? length / 64 : BLOCKS;
        // Over blocks j of bytes x_i: a gains sum_j S_j (S_j the block's sum); b gains 64 * a per block,
        // 64 * sum_j (S_0 + ... + S_j-1) and sum_j sum_i (64 - i) x_i.
        __m512i sums = zero, earlier = zero, weighted = zero;
        for (size_t j = 0; j < blocks; j++) {
            const __m512i x = _mm512_loadu_si512(data + 64 * j);
            earlier = _mm512_add_epi32(earlier, sums);
            sums = _mm512_add_epi32(sums, _mm512_sad_epu8(x, zero));
            weighted = _mm512_add_epi32(weighted, _mm512_madd_epi16(_mm512_maddubs_epi16(x, weight), ones));
        }
        b += (uint32_t)(64 * blocks) * a + ((uint32_t)_mm512_reduce_add_epi32(earlier) << 6)
             + (uint32_t)_mm512_reduce_add_epi32(weighted);
        a += (uint32_t)_mm512_reduce_add_epi32(sums);
        a %= BASE;
        b %= BASE;
        data += 64 * blocks;
        length -= 64 * blocks;
    }
    for (size_t i = 0; i < length; i++) {
        a += data[i];
        b += a;
    }
    return (b % BASE) << 16 | (a % BASE);
}
