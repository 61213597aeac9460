// Times stpm's AVX-512 sgemm against OpenBLAS on the convolution GEMMs the three backbones run at
// 256 px: forward (A = packed weights), the weight gradient (NT: dy * cols^T, on stpm_sgemm_nt where
// BLAS.swift sends it), the input gradient (TN: W^T * dy) and the Winograd layers' 36 products per block
// of tiles (winogradConvolution's), batch 1 and 8, on 1 and 2 threads split as BLAS.swift and
// Winograd.swift split them. Each class's rate is also given as a percentage of the FMA peak measured
// in the same process (fma_peak.c's loop), so that a loaded machine's figures still compare. `make gemm-shapes`.
// Usage: gemm_shapes [threads...] [-v] [-p PASS]   (-v: one line per shape; -p: only the passes whose name starts
// with PASS: fwd, wgrad, igrad, winograd)
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../Sources/CKernels/include/gemm_avx512.h"
#include "../Sources/CKernels/include/gemm_nt_avx512.h"
#include "fma_chains.h"

extern void openblas_set_num_threads(int);

typedef struct { int c, o, k, s, out; } conv; // in channels, out channels, kernel, stride, output side

// Dense convolutions only (depthwise ones are not GEMMs); 3x3 stride-1 forward may run as Winograd.
static const conv resnet18[] = {
    {3, 64, 7, 2, 128}, {64, 64, 3, 1, 64}, {64, 64, 3, 1, 64}, {64, 64, 3, 1, 64}, {64, 64, 3, 1, 64},
    {64, 128, 3, 2, 32}, {128, 128, 3, 1, 32}, {64, 128, 1, 2, 32}, {128, 128, 3, 1, 32}, {128, 128, 3, 1, 32},
    {128, 256, 3, 2, 16}, {256, 256, 3, 1, 16}, {128, 256, 1, 2, 16}, {256, 256, 3, 1, 16}, {256, 256, 3, 1, 16},
};
static const conv effnet[] = {
    {3, 32, 3, 2, 128}, {32, 16, 1, 1, 128}, {16, 96, 1, 1, 128}, {96, 24, 1, 1, 64}, {24, 144, 1, 1, 64},
    {144, 24, 1, 1, 64}, {24, 144, 1, 1, 64}, {144, 40, 1, 1, 32}, {40, 240, 1, 1, 32}, {240, 40, 1, 1, 32},
    {40, 240, 1, 1, 32}, {240, 80, 1, 1, 16}, {80, 480, 1, 1, 16}, {480, 80, 1, 1, 16}, {80, 480, 1, 1, 16},
    {480, 80, 1, 1, 16}, {80, 480, 1, 1, 16}, {480, 112, 1, 1, 16}, {112, 672, 1, 1, 16}, {672, 112, 1, 1, 16},
    {112, 672, 1, 1, 16}, {672, 112, 1, 1, 16},
};
static const conv resnet50half[] = {
    {3, 64, 7, 2, 128},
    {64, 32, 1, 1, 64}, {32, 32, 3, 1, 64}, {32, 128, 1, 1, 64}, {64, 128, 1, 1, 64},
    {128, 32, 1, 1, 64}, {32, 32, 3, 1, 64}, {32, 128, 1, 1, 64},
    {128, 32, 1, 1, 64}, {32, 32, 3, 1, 64}, {32, 128, 1, 1, 64},
    {128, 64, 1, 2, 32}, {64, 64, 3, 1, 32}, {64, 256, 1, 1, 32}, {128, 256, 1, 2, 32},
    {256, 64, 1, 1, 32}, {64, 64, 3, 1, 32}, {64, 256, 1, 1, 32},
    {256, 64, 1, 1, 32}, {64, 64, 3, 1, 32}, {64, 256, 1, 1, 32},
    {256, 64, 1, 1, 32}, {64, 64, 3, 1, 32}, {64, 256, 1, 1, 32},
    {256, 128, 1, 2, 16}, {128, 128, 3, 1, 16}, {128, 512, 1, 1, 16}, {256, 512, 1, 2, 16},
    {512, 128, 1, 1, 16}, {128, 128, 3, 1, 16}, {128, 512, 1, 1, 16},
    {512, 128, 1, 1, 16}, {128, 128, 3, 1, 16}, {128, 512, 1, 1, 16},
    {512, 128, 1, 1, 16}, {128, 128, 3, 1, 16}, {128, 512, 1, 1, 16},
    {512, 128, 1, 1, 16}, {128, 128, 3, 1, 16}, {128, 512, 1, 1, 16},
    {512, 128, 1, 1, 16}, {128, 128, 3, 1, 16}, {128, 512, 1, 1, 16},
};
static const struct { const char *name; const conv *layers; int count; } nets[] = {
    {"resnet18", resnet18, sizeof resnet18 / sizeof *resnet18},
    {"efficientnet-lite0", effnet, sizeof effnet / sizeof *effnet},
    {"resnet50-1by2", resnet50half, sizeof resnet50half / sizeof *resnet50half},
};

enum { FWD, WGRAD, IGRAD, WINOGRAD };
static const char *pass_names[] = {"fwd", "wgrad NT", "igrad TN", "winograd"};

typedef struct {
    int pass, blas;
    long m, n, k;
    // WINOGRAD: tiles per block (the product's n), the blocks, and the tiles in all.
    long tb, blocks, tiles;
    const float *a, *packed, *b;
    float *c, *partials;
} job;

// One thread's block of C, as BLAS.swift's gemm() splits: columns in multiples of 32 when n >= m or
// A is packed, else rows in multiples of 16.
typedef struct { const job *j; int t, threads; } part;

// The weight gradient on one thread as serialGemm runs it: deep products on stpm_sgemm_nt.
static int deep(long m, long n, long k) { return k >= 4 * (m > n ? m : n); }
static void wgrad(long m, long n, long k, const float *a, long lda, const float *b, long ldb, float *c, long ldc) {
    if (deep(m, n, k)) stpm_sgemm_nt(m, n, k, a, lda, b, ldb, 0, c, ldc);
    else stpm_sgemm(0, 1, m, n, k, a, lda, b, ldb, 0, c, ldc, 0, 0, 0, 0, 0);
}

// Blocks b0 ..< b1 of a Winograd layer's tiles: per block the 36 products M_e = U_e V_e (o x tb, depth c), V_e and
// M_e rows 36 tb apart, e after e tb floats on, as winogradConvolution lays them out (each thread its own V and M).
static void winograd_blocks(const job *j, long b0, long b1, float *v, float *mm) {
    for (long blk = b0; blk < b1; blk++) {
        const long count = j->tiles - blk * j->tb < j->tb ? j->tiles - blk * j->tb : j->tb, ld = 36 * j->tb;
        for (int e = 0; e < 36; e++) {
            if (j->blas)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, j->m, count, j->k, 1, j->a + e * j->m * j->k, j->k,
                            v + e * j->tb, ld, 0, mm + e * j->tb, ld);
            else
                stpm_sgemm_packed(j->m, count, j->k, j->packed + e * j->m * j->k, 0, v + e * j->tb, ld, 0, mm + e * j->tb, ld,
                                  0, 0, 0, 0, 0);
        }
    }
}

static void run_block(const job *j, long i0, long rows, long j0, long cols) {
    switch (j->pass) {
    case FWD: // C[o, n] = W[o, k] cols[k, n]
        if (j->blas)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, cols, j->k, 1, j->a + i0 * j->k, j->k,
                        j->b + j0, j->n, 0, j->c + i0 * j->n + j0, j->n);
        else
            stpm_sgemm_packed(rows, cols, j->k, j->packed, 0, j->b + j0, j->n, 0, j->c + j0, j->n, 0, 0, 0, 0, 0);
        break;
    case WGRAD: // dW[o, ck] = dy[o, k] cols[ck, k]^T
        if (j->blas)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, cols, j->k, 1, j->a + i0 * j->k, j->k,
                        j->b + j0 * j->k, j->k, 0, j->c + i0 * j->n + j0, j->n);
        else
            wgrad(rows, cols, j->k, j->a + i0 * j->k, j->k, j->b + j0 * j->k, j->k, j->c + i0 * j->n + j0, j->n);
        break;
    case IGRAD: // dcols[ck, n] = W[o, ck]^T dy[o, n]
        if (j->blas)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rows, cols, j->k, 1, j->a + i0, j->m, j->b + j0, j->n,
                        0, j->c + i0 * j->n + j0, j->n);
        else
            stpm_sgemm(1, 0, rows, cols, j->k, j->a + i0, j->m, j->b + j0, j->n, 0, j->c + i0 * j->n + j0, j->n, 0, 0, 0, 0, 0);
        break;
    }
}

static void *run_part(void *arg) {
    const part *p = arg;
    const job *j = p->j;
    if (j->pass == WINOGRAD) { // whole blocks per thread, each its own V (b) and M (c)
        const long per = (j->blocks + p->threads - 1) / p->threads, b0 = p->t * per, b1 = b0 + per < j->blocks ? b0 + per : j->blocks;
        const long size = 36 * j->k * j->tb;
        winograd_blocks(j, b0, b1, (float *)j->b + p->t * size, j->c + p->t * 36 * j->m * j->tb);
    } else if (j->pass == WGRAD && deep(j->m, j->n, j->k)) { // depth split, partial C per thread
        const long kc = STPM_SGEMM_NT_KB, block = ((j->k + p->threads - 1) / p->threads + kc - 1) / kc * kc;
        long p0 = p->t * block, depth = j->k - p0 < block ? j->k - p0 : block;
        if (p0 > j->k) p0 = j->k;
        if (depth < 0) depth = 0;
        float *out = p->t == 0 ? j->c : j->partials + (p->t - 1) * j->m * j->n;
        wgrad(j->m, j->n, depth, j->a + p0, j->k, j->b + p0, j->k, out, j->n);
    } else if (j->n >= j->m || j->pass == FWD) {
        const long block = ((j->n + p->threads - 1) / p->threads + 31) / 32 * 32, j0 = p->t * block;
        const long cols = j->n - j0 < block ? j->n - j0 : block;
        if (cols > 0) run_block(j, 0, j->m, j0, cols);
    } else {
        const long block = ((j->m + p->threads - 1) / p->threads + 15) / 16 * 16, i0 = p->t * block;
        const long rows = j->m - i0 < block ? j->m - i0 : block;
        if (rows > 0) run_block(j, i0, rows, 0, j->n);
    }
    return 0;
}

static void run(const job *j, int threads) {
    if (j->pass == WINOGRAD && j->blas) openblas_set_num_threads(1); // OpenBLAS per block, the blocks on our threads
    if (j->pass != WINOGRAD && (j->blas || threads == 1 || j->m * j->n * j->k < (1L << 21))) {
        if (j->blas) {
            openblas_set_num_threads(threads);
            run_block(j, 0, j->m, 0, j->n);
        } else {
            part p = {j, 0, 1};
            run_part(&p);
        }
        return;
    }
    pthread_t th[8];
    part parts[8];
    for (int t = 0; t < threads; t++) {
        parts[t] = (part){j, t, threads};
        if (t) pthread_create(&th[t], 0, run_part, &parts[t]);
    }
    run_part(&parts[0]);
    for (int t = 1; t < threads; t++) pthread_join(th[t], 0);
    if (j->pass == WGRAD && deep(j->m, j->n, j->k))
        for (int t = 1; t < threads; t++)
            for (long i = 0; i < j->m * j->n; i++) j->c[i] += j->partials[(t - 1) * j->m * j->n + i];
}

// One thread: the thread's CPU time, so that other processes on a loaded machine do not count; two:
// wall time (compare ratios of the same run).
static int threads_now = 1;
static double now(void) {
    struct timespec ts;
    clock_gettime(threads_now == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static float *randoms(long count) {
    float *p = aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64);
    for (long i = 0; i < count; i++) p[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    return p;
}

// The tiles per block that winogradConvolution takes (WinogradGeometry.blockTiles).
static long block_tiles(long c, long o, long tiles, int threads) {
    const long fit = 196608 / (36 * (c + o)) / 8 * 8, share = ((tiles + threads - 1) / threads + 7) / 8 * 8;
    const long cap = fit > 64 ? fit : 64, tb = cap < share ? cap : share;
    return tb > 8 ? tb : 8;
}

// Best timing of one GEMM over at least 3 runs and 50 ms (a short interruption on a shared machine then
// costs one run, not the figure), seconds; checks stpm against OpenBLAS once. WINOGRAD: m = o, k = c,
// n = the layer's tiles.
static double time_shape(int pass, long m, long n, long k, int threads, int blas) {
    job j = {pass, blas, m, n, k};
    long asize = m * k, bsize = k * n, csize = m * n;
    if (pass == WINOGRAD) {
        j.tiles = n;
        j.tb = block_tiles(k, m, n, threads);
        j.blocks = (n + j.tb - 1) / j.tb;
        j.n = j.tb;
        asize = 36 * m * k, bsize = threads * 36 * k * j.tb, csize = threads * 36 * m * j.tb;
    }
    float *a = randoms(asize), *b = randoms(bsize), *c = randoms(csize), *packed = 0;
    if (pass == FWD || pass == WINOGRAD) {
        packed = aligned_alloc(64, (asize * sizeof(float) + 63) / 64 * 64);
        for (long e = 0; e < (pass == WINOGRAD ? 36 : 1); e++) stpm_sgemm_pack_a(0, m, k, a + e * m * k, k, packed + e * m * k);
    }
    float *partials = malloc(sizeof(float) * 7 * m * n);
    j.a = a, j.packed = packed, j.b = b, j.c = c, j.partials = partials;
    run(&j, threads); // warm-up (scratch, pages)
    double best = 1e30, spent = 0;
    for (int r = 0; r < 3 || spent < 0.05; r++) {
        const double t0 = now();
        run(&j, threads);
        const double t = now() - t0;
        spent += t;
        if (t < best) best = t;
    }
    if (!blas) { // the product must be right, or the timing means nothing
        float *ref = malloc(csize * sizeof(float));
        job jr = j;
        jr.blas = 1;
        jr.c = ref;
        // Winograd's blocks leave the last block of each thread in its M: the reference splits them alike.
        run(&jr, pass == WINOGRAD ? threads : 1);
        for (long i = 0; i < csize; i++)
            if (fabsf(ref[i] - c[i]) > 1e-3f * (1 + fabsf(ref[i]))) {
                fprintf(stderr, "MISMATCH %s m=%ld n=%ld k=%ld at %ld: %g vs %g\n", pass_names[pass], m, n, k, i, c[i], ref[i]);
                exit(1);
            }
        free(ref);
    }
    free(a), free(b), free(c), free(packed), free(partials);
    return best;
}

static double peak_rates[8];

// fma_chains.h's loop on one thread for a few milliseconds, in the clock `now` reads.
static void *fma_chains_now(void *slot) {
    *(double *)slot = fma_chains(2000000, now);
    return 0;
}

// The FMA peak on `threads` threads now (the best of 5), in the clock the GEMMs are timed with.
static double fma_peak(int threads) {
    double best = 0;
    for (int r = 0; r < 5; r++) {
        pthread_t th[8];
        for (int t = 1; t < threads; t++) pthread_create(&th[t], 0, fma_chains_now, &peak_rates[t]);
        fma_chains_now(&peak_rates[0]);
        double total = peak_rates[0];
        for (int t = 1; t < threads; t++) {
            pthread_join(th[t], 0);
            total += peak_rates[t];
        }
        if (total > best) best = total;
    }
    return best;
}

int main(int argc, char **argv) {
    int threads[4], nthreads = 0, verbose = 0;
    const char *only = "";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v")) verbose = 1;
        else if (!strcmp(argv[i], "-p") && i + 1 < argc) only = argv[++i];
        else if (nthreads < 4) threads[nthreads++] = atoi(argv[i]);
    }
    if (!nthreads) threads[nthreads++] = 1;
    printf("%-19s %5s %-9s %3s %9s %9s %6s %6s\n", "backbone", "batch", "pass", "thr", "stpm", "openblas", "ratio", "%peak");
    for (int t = 0; t < nthreads; t++)
        for (unsigned net = (threads_now = threads[t], 0); net < sizeof nets / sizeof *nets; net++)
            for (int batch = 1; batch <= 8; batch += 7)
                for (int pass = FWD; pass <= WINOGRAD; pass++) {
                    if (strncmp(pass_names[pass], only, strlen(only))) continue;
                    double flops = 0, ts = 0, tb = 0;
                    for (int l = 0; l < nets[net].count; l++) {
                        const conv cv = nets[net].layers[l];
                        const long ck = (long)cv.c * cv.k * cv.k, cols = (long)batch * cv.out * cv.out;
                        if (pass == IGRAD && l == 0) continue; // the image needs no gradient
                        // Winograd: the stride-1 3x3 layers (Conv2d's choice also weighs their size), F(4x4, 3x3) tiles.
                        if (pass == WINOGRAD && (cv.k != 3 || cv.s != 1)) continue;
                        long m = cv.o, n = cols, k = ck;
                        if (pass == WGRAD) n = ck, k = cols;
                        if (pass == IGRAD) m = ck, n = cols, k = cv.o;
                        if (pass == WINOGRAD) n = batch * ((cv.out + 3) / 4) * ((cv.out + 3) / 4), k = cv.c;
                        const double f = 2.0 * m * n * k * (pass == WINOGRAD ? 36 : 1);
                        const double s = time_shape(pass, m, n, k, threads[t], 0);
                        const double b = time_shape(pass, m, n, k, threads[t], 1);
                        if (verbose)
                            printf("  %-9s m=%4ld n=%6ld k=%6ld thr %d  stpm %6.1f  openblas %6.1f GFLOP/s\n", pass_names[pass],
                                   m, n, k, threads[t], f / s * 1e-9, f / b * 1e-9);
                        flops += f, ts += s, tb += b;
                    }
                    if (!flops) continue;
                    const double peak = fma_peak(threads[t]);
                    printf("%-19s %5d %-9s %3d %9.1f %9.1f %6.2f %5.0f%%\n", nets[net].name, batch, pass_names[pass], threads[t],
                           flops / ts * 1e-9, flops / tb * 1e-9, tb / ts, 100 * flops / ts * 1e-9 / peak);
                    fflush(stdout);
                }
    return 0;
}
