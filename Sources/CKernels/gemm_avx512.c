#include "gemm_avx512.h"
#include "transpose16_avx512.h"
#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdint.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define INLINE static inline __attribute__((always_inline)) AVX512

// Register block: MR rows of C by NR = 32 columns (two zmm) in 2 * MR = 28 accumulators, A broadcast,
// B loaded. 32 columns divide the Winograd blocks (64 tiles) and the feature maps; 14 rows waste
// nothing on 28 and leave 4 registers for B and the broadcast.
#define MR 14
#define NR 32
// Depth of one pass: a packed B strip (KC x NR, 48 KiB) fills L1 (48 KiB here) while every A panel
// of the block (MC x KC, 504 KiB) streams from L2 (1 MiB). Measured (make gemm-shapes and an A/B of
// the same shapes in one process): 384 beats 256 by 5-10 % where k >= 1152 (fewer passes over C),
// and 512 gains nothing more. On an Emerald Rapids core (48 KiB L1d, 2 MiB L2) the kernel runs alike at
// 128-384 (155 GFLOP/s, 90 % of its FMA peak, on 24 panels of A from L2 against one strip), and the
// shapes' A B B A at 256 and 192 measured alike or slower (1536^3: 0.93-0.96): a strip that overflows L1
// streams from L2 unharmed.
#define KC STPM_SGEMM_KC
// Rows of A packed per block. 48 panels (a 1 MiB block, B repacked half as often where m > MC) measured alike
// on the Emerald Rapids core's 2 MiB L2: repacking B is not what its larger products lose.
#define MC (MR * 24)
// Rows of B ahead that packing prefetches: 16, 32 and 64 measured alike.
#define PF_ROWS 16
// B strips packed at once (192 KiB, in L2): 4 measured 6 % faster over the shapes than 1, 2 or 8 (8 no better
// on Emerald Rapids either).
#define STRIPS 4
// Floats of a packed A panel fetched ahead of the kernel's broadcasts (4 KiB). A Winograd layer at 16 tiles
// (ResNet-50-1by2's 16x16 stage, batch 1 per network) reads each of its 36 U_e (2.25 MiB in all, evicted by
// the rest of the network since the image before) once per 16 columns, faster than the hardware prefetchers
// fetch it from memory. On an Emerald Rapids core, those 36 GEMMs of 24 such layers in turn: 413 -> 245 us
// per layer; 256 floats ahead gave 0.71 of the time without, 512 0.86 of 256's, 2048 the same as 1024.
#define A_AHEAD 1024

typedef struct {
    const float *scale, *bias;
    // R, laid out as C is (rows ldr apart, the same column origin): added after the bias, before the activation.
    const float *residual;
    long ldr;
    int activation;
    // Scale and bias indexed by the column of C instead of its row.
    int by_column;
    // Whole tiles stored with streaming stores (set by `gemm`, not by the entry points).
    int stream;
} epilogue;

// Per-thread scratch: the A block and STRIPS B strips. Grown once, freed when the thread ends.
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static void scratch_free(void *p) { free(p); }
static void scratch_init(void) { pthread_key_create(&scratch_key, scratch_free); }

static float *scratch(void) {
    pthread_once(&scratch_once, scratch_init);
    float *p = pthread_getspecific(scratch_key);
    if (!p) {
        if (posix_memalign((void **)&p, 64, sizeof(float) * (MC * KC + KC * NR * STRIPS)) != 0) abort();
        pthread_setspecific(scratch_key, p);
    }
    return p;
}

INLINE __m512 activate(__m512 v, int activation) {
    if (activation == STPM_ACT_NONE) return v;
    const __m512 zero = _mm512_setzero_ps();
    // Swift's max(v, 0) is `0 >= v ? 0 : v`: NaN passes, -0 becomes +0.
    v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, zero, _CMP_LE_OQ), v, zero);
    // Swift's min(v, 6) is `6 < v ? 6 : v`, which vminps(6, v) computes exactly.
    if (activation == STPM_ACT_RELU6) v = _mm512_min_ps(_mm512_set1_ps(6), v);
    return v;
}

// The epilogue's per-channel scale or bias for one row of a tile's two vectors: the row's value broadcast,
// or (`by_column`, channels along the columns) the columns' values.
INLINE void channel_operands(const float *values, int by_column, long row, long col, __mmask16 m0, __mmask16 m1,
                             __m512 *v0, __m512 *v1) {
    if (by_column) {
        *v0 = _mm512_maskz_loadu_ps(m0, values + col);
        *v1 = _mm512_maskz_loadu_ps(m1, values + col + 16);
    } else {
        *v0 = *v1 = _mm512_set1_ps(values[row]);
    }
}

// C[0..mr, 0..32) (+)= A panel (kc x mr, interleaved) * B strip (kc rows `bstride` apart), masked to the
// strip's columns; `load` adds C first, `finish` applies the epilogue (rows from `row`, columns from `col`).
// `half`: the strip's columns end within the first 16 (m1 empty), and the second vector of each row is
// neither computed nor stored: Winograd's blocks of 16 tiles (batch 1 at 16 x 16) took twice the FMAs.
INLINE void kernel(const int mr, const int half, long kc, const float *restrict ap, long astride, const float *restrict bp,
                   long bstride, const float *pf, __mmask16 m0, __mmask16 m1, float *c, long ldc, int load, int finish,
                   const epilogue *e, long row, long col) {
    __m512 c0[MR], c1[MR];
#pragma clang loop unroll(full)
    for (int i = 0; i < mr; i++) { c0[i] = _mm512_setzero_ps(); c1[i] = _mm512_setzero_ps(); }
    // The tile of C, rows ldc apart, is fetched while the product runs, not when it is stored (10-40 %
    // on the shapes whose C does not stay in cache: the input gradient's, 1536^3).
    const int stream = e->stream && finish && !load && !half && m0 == 0xffff && m1 == 0xffff;
    if (!stream) {
#pragma clang loop unroll(full)
        for (int i = 0; i < mr; i++) {
            _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
            if (!half) _mm_prefetch((const char *)(c + i * ldc + 16), _MM_HINT_T0);
        }
    }
    // A read where it lies (astride a row of it) needs no prefetch: its own line is fetched instead.
    const long ahead = astride == mr ? A_AHEAD : 0;
    for (long p = 0; p < kc; p++) {
        const __m512 b0 = _mm512_maskz_loadu_ps(m0, bp), b1 = half ? b0 : _mm512_maskz_loadu_ps(m1, bp + 16);
        if (pf) {
            _mm_prefetch((const char *)pf, _MM_HINT_T0);
            _mm_prefetch((const char *)(pf + 16), _MM_HINT_T0);
            pf += bstride;
        }
#pragma clang loop unroll(full)
        for (int i = 0; i < mr; i++) {
            const __m512 a = _mm512_set1_ps(ap[i]);
            c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);
            if (!half) c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);
        }
        _mm_prefetch((const char *)(ap + ahead), _MM_HINT_T0);
        ap += astride;
        bp += bstride;
    }
    // Unrolled, so that the accumulators stay in registers instead of going through the stack.
#pragma clang loop unroll(full)
    for (int i = 0; i < mr; i++) {
        float *cr = c + i * ldc;
        __m512 v0 = c0[i], v1 = c1[i];
        if (load) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, cr));
            if (!half) v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, cr + 16));
        }
        if (finish) {
            // Multiply then add, not fused: the same roundings as BatchNorm's and the bias pass's Swift loops.
            if (e->scale) {
                __m512 s0, s1;
                channel_operands(e->scale, e->by_column, row + i, col, m0, m1, &s0, &s1);
                v0 = _mm512_mul_ps(v0, s0);
                v1 = _mm512_mul_ps(v1, s1);
            }
            if (e->bias) {
                __m512 b0, b1;
                channel_operands(e->bias, e->by_column, row + i, col, m0, m1, &b0, &b1);
                v0 = _mm512_add_ps(v0, b0);
                v1 = _mm512_add_ps(v1, b1);
            }
            if (e->residual) {
                const float *r = e->residual + (row + i) * e->ldr + col;
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, r));
                if (!half) v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, r + 16));
            }
            v0 = activate(v0, e->activation);
            v1 = activate(v1, e->activation);
        }
        if (stream) {
            _mm512_stream_ps(cr, v0);
            _mm512_stream_ps(cr + 16, v1);
            continue;
        }
        _mm512_mask_storeu_ps(cr, m0, v0);
        if (!half) _mm512_mask_storeu_ps(cr + 16, m1, v1);
    }
}

#define KERNEL(R, H, NAME) \
    static AVX512 void NAME(long kc, const float *ap, long as, const float *bp, long bs, const float *pf, __mmask16 m0, \
                            __mmask16 m1, float *c, long ldc, int load, int finish, const epilogue *e, long row, long col) { \
        kernel(R, H, kc, ap, as, bp, bs, pf, m0, m1, c, ldc, load, finish, e, row, col); \
    }
#define KERNELS(R) KERNEL(R, 0, kernel##R) KERNEL(R, 1, half##R)
KERNELS(1) KERNELS(2) KERNELS(3) KERNELS(4) KERNELS(5) KERNELS(6) KERNELS(7)
KERNELS(8) KERNELS(9) KERNELS(10) KERNELS(11) KERNELS(12) KERNELS(13) KERNELS(14)

typedef void (*kernel_fn)(long, const float *, long, const float *, long, const float *, __mmask16, __mmask16, float *, long,
                          int, int, const epilogue *, long, long);
static const kernel_fn kernels[MR + 1] = {
    0, kernel1, kernel2, kernel3, kernel4, kernel5, kernel6, kernel7,
    kernel8, kernel9, kernel10, kernel11, kernel12, kernel13, kernel14,
};
static const kernel_fn halves[MR + 1] = {
    0, half1, half2, half3, half4, half5, half6, half7, half8, half9, half10, half11, half12, half13, half14,
};

static inline __mmask16 lanes(long count) {
    return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? 0 : (__mmask16)((1u << count) - 1);
}

// The rows of the panel from row ir of a block of `rows`: the block split into as few panels of at most MR rows
// as it takes, of sizes differing by at most one (16 rows are 8 + 8, not 14 + 2: a panel of 2 rows keeps 4
// accumulators, whose FMAs then wait on each other). Packing and the kernels split a block alike.
static inline long panel_rows(long rows, long ir) {
    const long panels = (rows + MR - 1) / MR, base = rows / panels, extra = rows % panels;
    return ir < extra * (base + 1) ? base + 1 : base;
}

// Rows i0 ..< i0 + rows, depth p0 ..< p0 + kc of op(A) into panels (panel_rows),
// each kc steps of its rows side by side: the layout the kernel broadcasts from.
static AVX512 void pack_a(int trans_a, long rows, long kc, const float *a, long lda, long i0, long p0, float *dst) {
    for (long ir = 0, mr; ir < rows; ir += mr) {
        mr = panel_rows(rows, ir);
        float *panel = dst + ir * kc;
        if (trans_a) {
            const __mmask16 mi = lanes(mr);
            const float *src = a + p0 * lda + i0 + ir;
            for (long p = 0; p < kc; p++) _mm512_mask_storeu_ps(panel + p * mr, mi, _mm512_maskz_loadu_ps(mi, src + p * lda));
            continue;
        }
        // Rows of A are the panel's columns: transposed 16 x 16 at a time (the compiler's own
        // vectorisation of the scalar copy scattered every element).
        const __mmask16 mi = lanes(mr);
        for (long q0 = 0; q0 < kc; q0 += 16) {
            const __mmask16 mq = lanes(kc - q0);
            __m512 r[16];
            for (long i = 0; i < 16; i++)
                r[i] = i < mr ? _mm512_maskz_loadu_ps(mq, a + (i0 + ir + i) * lda + p0 + q0) : _mm512_setzero_ps();
            transpose16(r);
            const long depth = kc - q0 < 16 ? kc - q0 : 16;
            for (long q = 0; q < depth; q++) _mm512_mask_storeu_ps(panel + (q0 + q) * mr, mi, r[q]);
        }
    }
}

// Columns j0 ..< j0 + cols (at most STRIPS strips), depth p0 ..< p0 + kc of op(B) into KC x NR strips
// KC * NR apart. Past column cols the strip holds zeros or nothing: the kernels mask those lanes.
static AVX512 void pack_b(int trans_b, long kc, long cols, const float *b, long ldb, long p0, long j0, float *dst) {
    if (!trans_b) {
        // A row of B at a time across all the strips: 4 strips read 512 contiguous bytes per row where one
        // read 128 (20-30 % on the batch-8 forward shapes, m = 64-128).
        for (long p = 0; p < kc; p++) {
            const float *src = b + (p0 + p) * ldb + j0;
            for (long t = 0; t * NR < cols; t++) {
                // Rows are ldb apart, usually in different pages, where the hardware prefetchers stop.
                _mm_prefetch((const char *)(src + PF_ROWS * ldb + t * NR), _MM_HINT_T0);
                _mm_prefetch((const char *)(src + PF_ROWS * ldb + t * NR + 16), _MM_HINT_T0);
                float *row = dst + t * KC * NR + p * NR;
                _mm512_store_ps(row, _mm512_maskz_loadu_ps(lanes(cols - t * NR), src + t * NR));
                _mm512_store_ps(row + 16, _mm512_maskz_loadu_ps(lanes(cols - t * NR - 16), src + t * NR + 16));
            }
        }
        return;
    }
    // B stored n x k: rows of B are the strips' columns, transposed 16 x 16 at a time.
    for (long g = 0; g < cols; g += 16) {
        float *strip = dst + g / NR * KC * NR + g % NR;
        for (long q0 = 0; q0 < kc; q0 += 16) {
            const __mmask16 mq = lanes(kc - q0);
            __m512 r[16];
            for (long j = 0; j < 16; j++)
                r[j] = g + j < cols ? _mm512_maskz_loadu_ps(mq, b + (j0 + g + j) * ldb + p0 + q0) : _mm512_setzero_ps();
            transpose16(r);
            const long depth = kc - q0 < 16 ? kc - q0 : 16;
            for (long q = 0; q < depth; q++) _mm512_store_ps(strip + (q0 + q) * NR, r[q]);
        }
    }
}

// B is read in place (no strip packed) when it is not transposed and few A panels share each strip:
// packing would then cost about as much as the multiplications it serves. Measured with the next strip
// prefetched: three panels read in place beat packing by 5-50 % (m = 32, 40 at batch 8); five or
// ten panels measured no better than three.
#define DIRECT_B_MAX_ROWS (3 * MR)

// `b_strips`: op(B) given as whole-depth strips (stpm_sgemm_pack_b_strips' layout), read where they lie.
// `a_in_place`: A (trans_a: stored k x m) broadcast where it lies, a step of depth lda floats on, instead
// of packed: its panels' rows are already contiguous (a channel-major input's positions).
static AVX512 void gemm(int trans_a, long m, long n, long k, const float *a, long lda, const float *packed_a,
                        int a_in_place, int trans_b, const float *b, long ldb, const float *b_strips, float beta, float *c,
                        long ldc, const epilogue *e) {
    if (m <= 0 || n <= 0) return;
    // A C larger than the caches hold (training's whole-batch outputs: 8-50 MB) is evicted before anything reads
    // it again, so its whole tiles go straight to memory: a plain store first reads each line of C in.
    epilogue local = *e;
    local.stream = beta == 0 && k <= KC && ((uintptr_t)c & 63) == 0 && ldc % 16 == 0 &&
                   m * ldc * (long)sizeof(float) >= STPM_SGEMM_STREAM_BYTES;
    e = &local;
    float *ablock = scratch(), *strips = ablock + MC * KC;
    const int direct = !b_strips && !trans_b && m <= DIRECT_B_MAX_ROWS;
    // k == 0 still makes one pass: C = act(scale * beta C + bias).
    for (long pc = 0;; pc += KC) {
        const long kc = k - pc < KC ? k - pc : KC;
        const int load = pc > 0 || beta != 0, finish = pc + kc >= k;
        for (long ic = 0; ic < m; ic += MC) {
            const long mc = m - ic < MC ? m - ic : MC;
            const float *ap;
            if (packed_a) {
                ap = packed_a + pc * m + ic * kc;
            } else if (a_in_place) {
                ap = a + pc * lda + ic;
            } else {
                pack_a(trans_a, mc, kc, a, lda, ic, pc, ablock);
                ap = ablock;
            }
            for (long jr = 0; jr < n; jr += NR) {
                const long nr = n - jr < NR ? n - jr : NR, strip_index = jr / NR % STRIPS;
                const __mmask16 m0 = lanes(nr), m1 = lanes(nr - 16);
                const float *bp;
                long bstride;
                const float *pf = 0;
                if (b_strips) {
                    bp = b_strips + jr * k + pc * NR;
                    bstride = NR;
                    // A producer wrote the strips a while ago (L2): the first panel fetches the next strip.
                    if (jr + NR < n) pf = bp + NR * k;
                } else if (direct) {
                    bp = b + pc * ldb + jr;
                    bstride = ldb;
                    // B rows ldb apart defeat the hardware prefetchers: the first panel fetches the next strip.
                    if (jr + NR < n) pf = bp + NR;
                } else {
                    if (strip_index == 0) pack_b(trans_b, kc, n - jr < NR * STRIPS ? n - jr : NR * STRIPS, b, ldb, pc, jr, strips);
                    bp = strips + strip_index * KC * NR;
                    bstride = NR;
                }
                const kernel_fn *run = nr <= 16 ? halves : kernels;
                for (long ir = 0, mr; ir < mc; ir += mr) {
                    mr = panel_rows(mc, ir);
                    run[mr](kc, a_in_place ? ap + ir : ap + ir * kc, a_in_place ? lda : mr, bp, bstride, pf && ir == 0 ? pf : 0, m0, m1, c + (ic + ir) * ldc + jr, ldc, load,
                            finish, e, ic + ir, jr);
                }
            }
        }
        if (finish) break;
    }
    if (local.stream) _mm_sfence();
}

void stpm_sgemm(int trans_a, int trans_b, long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                float beta, float *c, long ldc, const float *scale, const float *bias, const float *residual, long ldr,
                int activation) {
    const epilogue e = {scale, bias, residual, ldr, activation, 0, 0};
    gemm(trans_a, m, n, k, a, lda, 0, 0, trans_b, b, ldb, 0, beta, c, ldc, &e);
}

void stpm_sgemm_column_epilogue(int trans_a, int trans_b, long m, long n, long k, const float *a, long lda, const float *b,
                                long ldb, float *c, long ldc, const float *scale, const float *bias, int activation) {
    const epilogue e = {scale, bias, 0, 0, activation, 1, 0};
    gemm(trans_a, m, n, k, a, lda, 0, 0, trans_b, b, ldb, 0, 0, c, ldc, &e);
}

void stpm_sgemm_packed(long m, long n, long k, const float *packed_a, int trans_b, const float *b, long ldb,
                       float beta, float *c, long ldc, const float *scale, const float *bias, const float *residual,
                       long ldr, int activation) {
    const epilogue e = {scale, bias, residual, ldr, activation, 0, 0};
    gemm(0, m, n, k, 0, 0, packed_a, 0, trans_b, b, ldb, 0, beta, c, ldc, &e);
}

// The same blocks as `gemm` packs one at a time, all of them in order: depth block pc at pc * m, and
// within it the block of rows from ic at ic * kc, and in that the panel of row ir at ir * kc.
void stpm_sgemm_pack_a(int trans_a, long m, long k, const float *a, long lda, float *packed) {
    for (long pc = 0; pc < k; pc += KC) {
        const long kc = k - pc < KC ? k - pc : KC;
        for (long ic = 0; ic < m; ic += MC)
            pack_a(trans_a, m - ic < MC ? m - ic : MC, kc, a, lda, ic, pc, packed + pc * m + ic * kc);
    }
}

long stpm_sgemm_packed_a_offset(long m, long k, long i, long p, long *rows) {
    const long pc = p / KC * KC, kc = k - pc < KC ? k - pc : KC, ic = i / MC * MC, mc = m - ic < MC ? m - ic : MC;
    long ir = 0, mr = panel_rows(mc, 0);
    while (ir + mr <= i - ic) {
        ir += mr;
        mr = panel_rows(mc, ir);
    }
    *rows = mr;
    return pc * m + ic * kc + ir * kc + (p - pc) * mr + (i - ic - ir);
}

void stpm_sgemm_b_strips(int trans_a, long m, long n, long k, const float *a, long lda, const float *packed_a,
                         const float *b_strips, float *c, long ldc, const float *scale, const float *bias,
                         const float *residual, long ldr, int activation, int by_column) {
    const epilogue e = {scale, bias, residual, ldr, activation, by_column, 0};
    gemm(trans_a, m, n, k, a, lda, packed_a, trans_a && !packed_a, 0, 0, 0, b_strips, 0, c, ldc, &e);
}

long stpm_sgemm_b_strips_floats(long k, long n) { return (n + NR - 1) / NR * NR * k; }

void stpm_sgemm_pack_b_strips(int trans_b, long k, long n, const float *b, long ldb, float *strips) {
    for (long j = 0; j < (n + NR - 1) / NR * NR; j++)
        for (long p = 0; p < k; p++)
            strips[j / NR * k * NR + p * NR + j % NR] = j >= n ? 0 : trans_b ? b[j * ldb + p] : b[p * ldb + j];
}
