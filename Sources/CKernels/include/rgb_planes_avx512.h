#ifndef STPM_RGB_PLANES_AVX512_H
#define STPM_RGB_PLANES_AVX512_H

#include <stdint.h>

/// `count` interleaved RGB pixels as three float planes (the values 0 ... 255, exact), 16 pixels a step:
/// their 48 bytes spread to 16 dwords by two shuffles, each channel masked out and converted. Nothing past
/// the pixels or the planes is read or written. Needs AVX-512 (F, BW).
void stpm_rgb_to_planes_avx512(const uint8_t *pixels, long count, float *red, float *green, float *blue);

#endif
