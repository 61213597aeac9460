#ifndef STPM_GEMM_AVX512_H
#define STPM_GEMM_AVX512_H

/// Activations the GEMM epilogue applies in registers before the store, with the Swift path's exact
/// semantics (Activation.swift): ReLU is `0 >= x ? 0 : x` (NaN stays NaN), ReLU6 then `6 < y ? 6 : y`.
enum { STPM_ACT_NONE = 0, STPM_ACT_RELU = 1, STPM_ACT_RELU6 = 2 };

/// Depth of one pass over C: products deeper than this accumulate into C pass after pass (the tests
/// straddle it).
enum { STPM_SGEMM_KC = 384 };

/// C of at least this many bytes (m rows, ldc floats apart), 64-byte aligned with ldc a multiple of 16, computed
/// in one depth pass with beta 0, is written with streaming stores in whole tiles (the edges as usual): it does
/// not stay in cache for its reader, and a plain store reads every line in first. Measured on EfficientNet-Lite0's
/// training step: thresholds of 1-12 MB saved alike, 32 MB less.
enum { STPM_SGEMM_STREAM_BYTES = 8 << 20 };

/// Row-major single-precision GEMM on the calling thread, AVX-512 only (ask stpm_cpu_has_avx512 first):
///   C[i,j] = act(scale[i] * (sum_p op(A)[i,p] op(B)[p,j] + beta C[i,j]) + bias[i] + R[i,j])
/// op(A) is m x k (A stored k x m when trans_a), op(B) is k x n (B stored n x k when trans_b); beta is 0 or 1,
/// and with 0 C is never read. `scale` and `bias` (m entries each) may be NULL, and so may `residual`
/// (R, m x n, rows `ldr` apart: a residual block's shortcut, added after the bias, each step rounded).
/// Scratch memory is per thread, grown on first use and kept for the thread's lifetime: no allocation in steady state.
void stpm_sgemm(int trans_a, int trans_b, long m, long n, long k,
                const float *a, long lda, const float *b, long ldb,
                float beta, float *c, long ldc,
                const float *scale, const float *bias, const float *residual, long ldr, int activation);

/// As stpm_sgemm with beta 0 and `scale` and `bias` (n entries each) indexed by the column j of C:
///   C[i,j] = act(scale[j] * sum_p op(A)[i,p] op(B)[p,j] + bias[j])
/// (a convolution whose output is laid out channels last: one column per channel).
void stpm_sgemm_column_epilogue(int trans_a, int trans_b, long m, long n, long k,
                                const float *a, long lda, const float *b, long ldb,
                                float *c, long ldc,
                                const float *scale, const float *bias, int activation);

/// As stpm_sgemm with op(A) given already packed by stpm_sgemm_pack_a (constant weights are packed once).
void stpm_sgemm_packed(long m, long n, long k, const float *packed_a,
                       int trans_b, const float *b, long ldb,
                       float beta, float *c, long ldc,
                       const float *scale, const float *bias, const float *residual, long ldr, int activation);

/// Packs op(A) (m x k) into the kernel's layout: exactly m * k floats.
void stpm_sgemm_pack_a(int trans_a, long m, long k, const float *a, long lda, float *packed);

/// Where stpm_sgemm_pack_a (untransposed) puts row i, depth p of an m x k matrix, for a producer that writes that
/// layout itself (the Winograd filter transform): rows i ..< i + *rows (i the first row of its panel) at depths
/// p ..< p + d (one depth block, STPM_SGEMM_KC deep) are the *rows * d floats from there, depth by depth.
long stpm_sgemm_packed_a_offset(long m, long k, long i, long p, long *rows);

/// Columns per strip of the right operand: the kernel's register block (two vectors).
enum { STPM_SGEMM_NR = 32 };

/// op(B) (k x n) as the kernel reads it, with no packing per call: strips of STPM_SGEMM_NR columns, strip
/// s at s * k * STPM_SGEMM_NR, depth p of it at p * STPM_SGEMM_NR, column j of B at lane j % STPM_SGEMM_NR
/// of strip j / STPM_SGEMM_NR. Lanes past column n are never read into C (they may hold anything).
long stpm_sgemm_b_strips_floats(long k, long n);
void stpm_sgemm_pack_b_strips(int trans_b, long k, long n, const float *b, long ldb, float *strips);

/// As stpm_sgemm with beta 0, op(B) given as strips (a producer wrote them so, or stpm_sgemm_pack_b_strips),
/// and op(A) given as A (`packed_a` NULL; transposed, it is read in place, not packed) or packed by
/// stpm_sgemm_pack_a (`a` ignored); `by_column` as in
/// stpm_sgemm_column_epilogue (scale and bias of n entries, no residual), else as stpm_sgemm.
void stpm_sgemm_b_strips(int trans_a, long m, long n, long k, const float *a, long lda, const float *packed_a,
                         const float *b_strips, float *c, long ldc, const float *scale, const float *bias,
                         const float *residual, long ldr, int activation, int by_column);

#endif
