#ifndef STPM_WINOGRAD_AVX512_H
#define STPM_WINOGRAD_AVX512_H

/// The tiles of a Winograd F(4x4, 3x3) block: `count` consecutive 4x4 output tiles from tile `first`, in
/// image, tile row, tile column order, over a batch of n images of h x w (tiles_h x tiles_w tiles each).
/// V [C][36][stride] and M [O][36][stride] hold the block's tiles in lanes (Winograd.swift's layout).
/// The transforms read their input unpadded, channel c's image i at c * channel_stride + i * h * w floats
/// (channel_stride n h w for a whole batch; more for a band of a batch's images).
typedef struct {
    int n, h, w, tiles_h, tiles_w, first, count, stride;
    long channel_stride;
} stpm_winograd_block;

/// V[c][e][t] = (Bᵀ d_t B)_e for the block's tiles, d_t the 6x6 window of x [C][..][h][w] a row above and a column
/// left of the tile, zeros outside the image (the convolution's padding of 1).
void stpm_winograd_input_avx512(const float *x, int channels, stpm_winograd_block b, float *v);

/// y[o] = act(Aᵀ M[o][.][t] A + bias[o]) for the block's tiles into y [O][N][h][w] (tiles cut at the image's
/// bottom/right edge); bias may be NULL; act one of gemm_avx512.h's STPM_ACT_*.
void stpm_winograd_output_avx512(const float *m, int outputs, stpm_winograd_block b, const float *bias, int act,
                                 float *y);

/// W[c][e][t] = (A dy_t Aᵀ)_e for the block's tiles, the 4x4 gradient tile dy_t read from dy [C][..][h][w] laid out
/// as the input transform's x (zeros past the image).
void stpm_winograd_gradient_avx512(const float *dy, int channels, stpm_winograd_block b, float *w);

#endif
