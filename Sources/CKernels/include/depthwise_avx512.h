#ifndef STPM_DEPTHWISE_AVX512_H
#define STPM_DEPTHWISE_AVX512_H

/// One plane of a depthwise convolution: an h x w input, a k x k filter, stride 1 or 2, `pad_top` rows
/// and `pad_left` columns of zeros before the input (those after are implied by oh and ow).
typedef struct {
    int h, w, k, stride, pad_top, pad_left, oh, ow;
} stpm_depthwise_shape;

/// Floats of scratch one plane needs (one buffer per thread, reused plane after plane).
long stpm_depthwise_scratch(stpm_depthwise_shape s);

/// y = act(conv(x) + bias) for one plane, act one of gemm_avx512.h's STPM_ACT_*. Needs AVX-512 (F, VL, BW, DQ).
void stpm_depthwise_forward_avx512(const float *x, const float *weight, float bias, int act, float *y,
                                   float *scratch, stpm_depthwise_shape s);

/// Floats of scratch the backward pass of one plane needs.
long stpm_depthwise_backward_scratch(stpm_depthwise_shape s);

/// The backward pass of one plane, for dy (oh x ow): dw[t] = sum of dy * (what tap t read of x), one Float sum
/// per tap, written (not added); with a non-NULL dx, dL/dx (h x w), written. Each input-gradient element sums
/// its taps in the portable kernel's order (ky, then kx, from zero). Needs AVX-512 (F, VL, BW, DQ).
void stpm_depthwise_backward_avx512(const float *x, const float *weight, const float *dy, float *dw, float *dx,
                                    float *scratch, stpm_depthwise_shape s);

/// How a plane is read that a train-mode BatchNorm and an activation would otherwise have to write out
/// first: each value v of the plane is read as act(v * scale + shift), rounded as BatchNorm2d's forward
/// and Activation's (a product, then a sum, then max with 0 and min with 6); the padding stays zero.
typedef struct {
    float scale, shift;
    int act;
} stpm_depthwise_map;

/// dy read as BatchNorm's input gradient instead (the BatchNorm that follows this convolution in the
/// forward pass, whose dL/d(output) dy is): with z the convolution's output plane (oh x ow, BatchNorm's
/// input), y = z * scale + shift and g = dy where act'(y) = 1, else 0,
///   dy' = k * ((g - a) - ((z - mean) * inv) * b),
/// rounded as Activation.normGradient.
typedef struct {
    const float *z;
    float scale, shift;
    int act;
    float mean, inv, k, a, b;
} stpm_depthwise_norm_gradient;

/// As stpm_depthwise_forward_avx512, x read through `map` (NULL: as it is).
void stpm_depthwise_forward_mapped_avx512(const float *x, const stpm_depthwise_map *map, const float *weight, float bias,
                                          int act, float *y, float *scratch, stpm_depthwise_shape s);

/// As stpm_depthwise_backward_avx512, x read through `map` and dy through `gradient` (either NULL: as it is).
void stpm_depthwise_backward_mapped_avx512(const float *x, const stpm_depthwise_map *map, const float *weight,
                                           const float *dy, const stpm_depthwise_norm_gradient *gradient, float *dw,
                                           float *dx, float *scratch, stpm_depthwise_shape s);

/// The same convolution on channels-last tensors: x [h][w][c], y [oh][ow][c], c a multiple of 16, weights
/// [k*k][c] (tap-major). y = act(conv(x) + bias), or with `scale` (BatchNorm in eval mode)
/// act((conv(x) + 0) * scale + bias); `bias` and `scale` have c entries, either may be NULL.
void stpm_depthwise_nhwc_avx512(const float *x, const float *weight, const float *bias, const float *scale, int act,
                                float *y, long c, stpm_depthwise_shape s);

/// As stpm_depthwise_nhwc_avx512, y written as the right operand of the GEMM that reads it next (a 1x1
/// projection, stpm_sgemm_b_strips with k = c and n = oh * ow): output position p = oy * ow + ox of channel
/// ch at (p / STPM_SGEMM_NR) * c * STPM_SGEMM_NR + ch * STPM_SGEMM_NR + p % STPM_SGEMM_NR, so that the GEMM
/// packs nothing. Lanes of the last strip past position oh * ow are left as they were.
void stpm_depthwise_nhwc_strips_avx512(const float *x, const float *weight, const float *bias, const float *scale, int act,
                                       float *y, long c, stpm_depthwise_shape s);

#endif
