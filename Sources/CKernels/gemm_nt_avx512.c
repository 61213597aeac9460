// The weight gradient's product dy * x^T: both operands have the batch's positions along their rows, so a
// tile of 4 rows of A by 6 rows of B keeps 24 dot products in registers, 16 positions per lane, and loads
// 10 vectors per 24 FMAs straight from the tensors. Depth goes in blocks of KB positions; within a block
// the tiles of the larger operand are the outer loop, so its rows stream from memory once while the
// smaller one's block (at most a few hundred rows of 4 KiB) is read again from L2 for each of them.
// A blocked GEMM would pack both operands, transposed, for every depth pass (about a third of the
// product's time at these shapes).
#include "gemm_nt_avx512.h"
#include "batchnorm_avx512.h"
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define INLINE static inline __attribute__((always_inline)) AVX512
#define KB STPM_SGEMM_NT_KB
#define TA 4
#define TB 6

// The next outer tile's rows of a depth block (the outer operand is the one read from memory), requested into L2 a
// line per depth step by the inner tiles that run before it. Requested all at once, the few hundred prefetches
// queued for the line fill buffers and held up the loads behind them: 11 % of the samples of 128 x 1152 x 8192 on
// an Emerald Rapids core, and spread, 1.01-1.37x on the weight gradients' shapes. `row` and `col`: the next line,
// `left` the lines still due from the running tile.
typedef struct {
    const float *rows;
    long ld, kb, count, row, col, left;
} ahead;

INLINE void request(ahead *h) {
    _mm_prefetch((const char *)(h->rows + h->row * h->ld + h->col), _MM_HINT_T1);
    h->left--;
    if ((h->col += 16) >= h->kb) h->col = 0, h->row++;
}

// C[0..ma, 0..nb) += the dot products of ma rows of A (lda apart) and nb rows of B over depth kb; requests the lines
// due from `h` on the way (the rest at the end, where the tile is shorter than its share).
INLINE void tile(const int ma, const int nb, long kb, const float *a, long lda, const float *b, long ldb, float *c, long ldc,
                 int first, int beta, ahead *h) {
    ahead next = *h;
    __m512 acc[TA][TB];
#pragma clang loop unroll(full)
    for (int i = 0; i < ma; i++)
#pragma clang loop unroll(full)
        for (int j = 0; j < nb; j++) acc[i][j] = _mm512_setzero_ps();
    long p = 0;
    for (; p + 16 <= kb; p += 16) {
        if (next.left > 0) request(&next);
        __m512 va[TA], vb[TB];
#pragma clang loop unroll(full)
        for (int i = 0; i < ma; i++) va[i] = _mm512_loadu_ps(a + i * lda + p);
#pragma clang loop unroll(full)
        for (int j = 0; j < nb; j++) vb[j] = _mm512_loadu_ps(b + j * ldb + p);
#pragma clang loop unroll(full)
        for (int i = 0; i < ma; i++)
#pragma clang loop unroll(full)
            for (int j = 0; j < nb; j++) acc[i][j] = _mm512_fmadd_ps(va[i], vb[j], acc[i][j]);
    }
    if (p < kb) {
        const __mmask16 m = (__mmask16)((1u << (kb - p)) - 1);
        __m512 va[TA], vb[TB];
#pragma clang loop unroll(full)
        for (int i = 0; i < ma; i++) va[i] = _mm512_maskz_loadu_ps(m, a + i * lda + p);
#pragma clang loop unroll(full)
        for (int j = 0; j < nb; j++) vb[j] = _mm512_maskz_loadu_ps(m, b + j * ldb + p);
#pragma clang loop unroll(full)
        for (int i = 0; i < ma; i++)
#pragma clang loop unroll(full)
            for (int j = 0; j < nb; j++) acc[i][j] = _mm512_fmadd_ps(va[i], vb[j], acc[i][j]);
    }
    while (next.left > 0) request(&next);
    *h = next;
#pragma clang loop unroll(full)
    for (int i = 0; i < ma; i++)
#pragma clang loop unroll(full)
        for (int j = 0; j < nb; j++) {
            const float s = _mm512_reduce_add_ps(acc[i][j]);
            float *e = c + i * ldc + j;
            *e = first && !beta ? s : *e + s;
        }
}

typedef void (*tile_fn)(long, const float *, long, const float *, long, float *, long, int, int, ahead *);
#define TILE(MA, NB) \
    static AVX512 void tile##MA##x##NB(long kb, const float *a, long lda, const float *b, long ldb, float *c, long ldc, \
                                       int first, int beta, ahead *h) { tile(MA, NB, kb, a, lda, b, ldb, c, ldc, first, beta, h); }
#define TILES(MA) TILE(MA, 1) TILE(MA, 2) TILE(MA, 3) TILE(MA, 4) TILE(MA, 5) TILE(MA, 6)
TILES(1) TILES(2) TILES(3) TILES(4)
static const tile_fn tiles[TA + 1][TB + 1] = {
    {0},
    {0, tile1x1, tile1x2, tile1x3, tile1x4, tile1x5, tile1x6},
    {0, tile2x1, tile2x2, tile2x3, tile2x4, tile2x5, tile2x6},
    {0, tile3x1, tile3x2, tile3x3, tile3x4, tile3x5, tile3x6},
    {0, tile4x1, tile4x2, tile4x3, tile4x4, tile4x5, tile4x6},
};

// The rows after the `size` from row `at` of an operand `total` rows long (ld apart, depth kb), the next outer
// tile's, to be requested over `tiles` inner tiles.
INLINE ahead ahead_of(const float *rows, long ld, long at, long total, long size, long kb) {
    const long next = at + size, count = next >= total ? 0 : total - next < size ? total - next : size;
    return (ahead){rows + next * ld, ld, kb, count, 0, 0, 0};
}

// The share of the lines still due that the next of the `tiles` inner tiles left requests.
INLINE void share(ahead *h, long tiles) {
    const long per_row = (h->kb + 15) / 16, due = h->count * per_row - (h->row * per_row + h->col / 16);
    h->left = (due + tiles - 1) / tiles;
}

// The tile of C at row i, column j: the TA x TB kernel, or the one for its ragged edge.
INLINE void nt_tile(long m, long n, long kb, long i, long j, const float *a, long lda, const float *b, long ldb, float *c,
                    long ldc, int first, int keep, ahead *h) {
    const int ma = m - i < TA ? (int)(m - i) : TA, nb = n - j < TB ? (int)(n - j) : TB;
    tiles[ma][nb](kb, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc, first, keep, h);
}

// C = 0 for an empty depth with beta 0; true when there is nothing more to do.
static int empty_depth(long m, long n, long k, int keep, float *c, long ldc) {
    if (k > 0) return 0;
    if (!keep)
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j++) c[i * ldc + j] = 0;
    return 1;
}

AVX512 void stpm_sgemm_nt(long m, long n, long k, const float *a, long lda, const float *b, long ldb, float beta, float *c,
                          long ldc) {
    const int keep = beta != 0;
    if (empty_depth(m, n, k, keep, c, ldc)) return;
    for (long p0 = 0; p0 < k; p0 += KB) {
        const long kb = k - p0 < KB ? k - p0 : KB;
        const int first = p0 == 0;
        // The outer loop's operand streams from memory (its next rows prefetched), the inner one's stays in
        // cache: the larger operand goes outside.
        if (m >= n) {
            for (long i = 0; i < m; i += TA) {
                ahead h = ahead_of(a + p0, lda, i, m, TA, kb);
                for (long j = 0; j < n; j += TB) {
                    share(&h, (n - j + TB - 1) / TB);
                    nt_tile(m, n, kb, i, j, a + p0, lda, b + p0, ldb, c, ldc, first, keep, &h);
                }
            }
        } else {
            for (long j = 0; j < n; j += TB) {
                ahead h = ahead_of(b + p0, ldb, j, n, TB, kb);
                for (long i = 0; i < m; i += TA) {
                    share(&h, (m - i + TA - 1) / TA);
                    nt_tile(m, n, kb, i, j, a + p0, lda, b + p0, ldb, c, ldc, first, keep, &h);
                }
            }
        }
    }
}

// The tiles of B are the outer loop whatever the shapes, each tile's rows of a depth block mapped once into
// `mapped` (L1) and read there by every tile of A; each element of C sums the same products in the same order
// as stpm_sgemm_nt, whichever loop is outside.
AVX512 void stpm_sgemm_nt_mapped(long m, long n, long k, const float *a, long lda, const float *b, long ldb, const float *scale,
                                 const float *shift, int act, float beta, float *c, long ldc) {
    const int keep = beta != 0;
    if (empty_depth(m, n, k, keep, c, ldc)) return;
    float mapped[TB * KB] __attribute__((aligned(64)));
    for (long p0 = 0; p0 < k; p0 += KB) {
        const long kb = k - p0 < KB ? k - p0 : KB;
        const int first = p0 == 0;
        for (long j = 0; j < n; j += TB) {
            const int nb = n - j < TB ? (int)(n - j) : TB;
            for (int r = 0; r < nb; r++) stpm_bn_apply_avx512(b + (j + r) * ldb + p0, mapped + r * KB, kb, scale[j + r], shift[j + r], act);
            ahead h = ahead_of(b + p0, ldb, j, n, TB, kb);
            for (long i = 0; i < m; i += TA) {
                const int ma = m - i < TA ? (int)(m - i) : TA;
                share(&h, (m - i + TA - 1) / TA);
                tiles[ma][nb](kb, a + i * lda + p0, lda, mapped, KB, c + i * ldc + j, ldc, first, keep, &h);
            }
        }
    }
}
