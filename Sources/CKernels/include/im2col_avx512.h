#ifndef STPM_IM2COL_AVX512_H
#define STPM_IM2COL_AVX512_H

/// dst[i] = src[2 i] for i < count (a stride-2 convolution tap's row of columns), reading no float past
/// src[2 (count - 1)]. Needs AVX-512 (F, VL).
void stpm_even_lanes_avx512(const float *src, long count, float *dst);

#endif
