#ifndef STPM_MAXPOOL_AVX512_H
#define STPM_MAXPOOL_AVX512_H

/// Floats of scratch stpm_maxpool3s2_avx512 needs for one plane (a buffer per thread, reused plane after plane).
long stpm_maxpool3s2_scratch(long w, long ow);

/// 3x3 stride-2 max pooling of `planes` h x w planes, x_stride floats apart, into oh x ow planes y_stride
/// floats apart, `pad_top` rows and `pad_left` (at most 2) columns of padding that never wins before the
/// input (those after are implied by oh and ow). Every window must hold at least one input element. Several
/// planes a call, because the ResNet stems pool bands of one or two rows per channel: one call per band
/// pads the scratch once and crosses from Swift once, not per channel. Needs AVX-512 (F, VL, BW, DQ).
void stpm_maxpool3s2_avx512(const float *x, long planes, long x_stride, long h, long w, long pad_top, long pad_left,
                            float *y, long y_stride, long oh, long ow, float *scratch);

/// As stpm_maxpool3s2_avx512 (no scratch), in training: also writes, per output, where its window's first maximum in
/// scan order lies (a later value wins only when strictly greater: -inf and NaN never win) as (row - first row) * 3 +
/// (column - first column) of the window clipped to the input, 0 when nothing wins, into `argmax` (planes
/// `argmax_stride` bytes apart); the output is that maximum (-inf when nothing wins).
void stpm_maxpool3s2_argmax_avx512(const float *x, long planes, long x_stride, long h, long w, long pad_top,
                                   long pad_left, float *y, long y_stride, long oh, long ow, unsigned char *argmax,
                                   long argmax_stride);

#endif
