#ifndef STPM_RESIZE_AVX512_H
#define STPM_RESIZE_AVX512_H

#include <stdint.h>

/// The two passes of Pillow's bilinear resize on 8-bit images (PillowResize.swift computes the axis:
/// output i reads inputs first[i] ..< first[i] + count[i] with weights[i * taps ..< i * taps + count[i]],
/// 22-bit fixed point, zero beyond count[i]). Both round as Pillow does, (sum + 2^21) >> 22 clamped to
/// 0...255, so the bytes equal the portable path's. Need AVX-512 (F, VL, BW, DQ).

/// Rows of `row_length` bytes: out row i = the weighted sum of input rows first[i] + t.
void stpm_resize_vertical_avx512(const uint8_t *src, long row_length, uint8_t *dst, long out_rows,
                                 const long *first, const long *count, const int32_t *weights, long taps);

/// `rows` rows of `in_width` RGB pixels to rows of `out_width`: out pixel i = the weighted sum of input
/// pixels first[i] + t, per channel. Each pixel is read and written as 4 bytes, so one byte past the last
/// row must be readable in `src` and writable in `dst`; out_width >= 2, and 48 * in_width must fit an int.
void stpm_resize_horizontal_rgb_avx512(const uint8_t *src, long in_width, long rows, uint8_t *dst, long out_width,
                                       const long *first, const long *count, const int32_t *weights, long taps);

/// The same pass one row at a time, 16 output pixels at once, where every 16 consecutive output pixels read
/// at most 32 input pixels (scales near 1, as 300x400 -> 256x256): those are loaded once as 32 lanes and
/// each tap picks its lanes by a permute, and the 16 pixels are stored as 48 bytes, with no gather or
/// scatter. Nothing outside `src`'s and `dst`'s rows is read or written. Returns 0, having written
/// nothing, when some 16 output pixels reach wider (the caller takes the pass above), or when the
/// scratch for the taps' lanes cannot be allocated.
int stpm_resize_horizontal_rgb_rows_avx512(const uint8_t *src, long in_width, long rows, uint8_t *dst, long out_width,
                                           const long *first, const long *count, const int32_t *weights, long taps);

#endif
