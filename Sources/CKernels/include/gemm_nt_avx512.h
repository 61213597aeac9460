#ifndef STPM_GEMM_NT_AVX512_H
#define STPM_GEMM_NT_AVX512_H

/// C[i,j] = beta C[i,j] + sum_p A[i,p] B[j,p] on the calling thread, AVX-512 only: a weight gradient (dy times
/// the input, both stored with the batch's positions p along their rows), deep (k) and small (m x n). Both
/// operands are read in place, 16 positions per vector, with no packing; beta is 0 or 1 (0 never reads C).
/// Each element sums its products by depth blocks of `STPM_SGEMM_NT_KB`, each in 16 lanes then across them.
void stpm_sgemm_nt(long m, long n, long k, const float *a, long lda, const float *b, long ldb, float beta, float *c,
                   long ldc);

/// As stpm_sgemm_nt, each row j of B read as act(B[j,p] * scale[j] + shift[j]), rounded as stpm_bn_apply_avx512 rounds
/// it (`act` one of gemm_avx512.h's STPM_ACT_*): the output of a train-mode BatchNorm that no tensor holds. Each
/// depth block of a tile's rows of B is mapped once, then read by every tile of A; the products are those of
/// stpm_sgemm_nt on the mapped B, bit for bit.
void stpm_sgemm_nt_mapped(long m, long n, long k, const float *a, long lda, const float *b, long ldb, const float *scale,
                          const float *shift, int act, float beta, float *c, long ldc);

/// Depth of one block: positions whose rows of the smaller operand stay in L2 while the larger streams.
enum { STPM_SGEMM_NT_KB = 1024 };

#endif
