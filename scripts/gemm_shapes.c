// Times stpm's AVX-512 sgemm against OpenBLAS on the convolution GEMMs the three backbones run at
// 256 px: forward (A = packed weights), the weight gradient (NT: dy * cols^T) and the input gradient
// (TN: W^T * dy), batch 1 and 8, on 1 and 2 threads split as BLAS.swift splits them. `make gemm-shapes`.
// Usage: gemm_shapes [threads...] [-v]   (-v: one line per shape)
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../Sources/CKernels/include/gemm_avx512.h"

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

enum { FWD, WGRAD, IGRAD };
static const char *pass_names[] = {"fwd", "wgrad NT", "igrad TN"};

typedef struct {
    int pass, blas;
    long m, n, k;
    const float *a, *packed, *b;
    float *c, *partials;
} job;

// One thread's block of C, as BLAS.swift's gemm() splits: columns in multiples of 32 when n >= m or
// A is packed, else rows in multiples of 16.
typedef struct { const job *j; int t, threads; } part;

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
            stpm_sgemm(0, 1, rows, cols, j->k, j->a + i0 * j->k, j->k, j->b + j0 * j->k, j->k, 0,
                       j->c + i0 * j->n + j0, j->n, 0, 0, 0, 0, 0);
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
    if (j->pass == WGRAD && j->k >= 4 * (j->m > j->n ? j->m : j->n)) { // depth split, partial C per thread
        const long kc = STPM_SGEMM_KC, block = ((j->k + p->threads - 1) / p->threads + kc - 1) / kc * kc;
        long p0 = p->t * block, depth = j->k - p0 < block ? j->k - p0 : block;
        if (p0 > j->k) p0 = j->k;
        if (depth < 0) depth = 0;
        float *out = p->t == 0 ? j->c : j->partials + (p->t - 1) * j->m * j->n;
        stpm_sgemm(0, 1, j->m, j->n, depth, j->a + p0, j->k, j->b + p0, j->k, 0, out, j->n, 0, 0, 0, 0, 0);
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
    if (j->blas || threads == 1 || j->m * j->n * j->k < (1L << 21)) {
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
    if (j->pass == WGRAD && j->k >= 4 * (j->m > j->n ? j->m : j->n))
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

// Best of `reps` timings of one GEMM, seconds; checks stpm against OpenBLAS once.
static double time_shape(int pass, long m, long n, long k, int threads, int blas, int reps) {
    const long asize = m * k, bsize = k * n;
    float *a = randoms(asize), *b = randoms(bsize), *c = randoms(m * n), *packed = 0;
    if (pass == FWD) {
        packed = aligned_alloc(64, (asize * sizeof(float) + 63) / 64 * 64);
        stpm_sgemm_pack_a(0, m, k, a, k, packed);
    }
    float *partials = malloc(sizeof(float) * 7 * m * n);
    job j = {pass, blas, m, n, k, a, packed, b, c, partials};
    run(&j, threads); // warm-up (scratch, pages)
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        const double t0 = now();
        run(&j, threads);
        const double t = now() - t0;
        if (t < best) best = t;
    }
    if (!blas) { // the product must be right, or the timing means nothing
        float *ref = malloc(m * n * sizeof(float));
        job jr = j;
        jr.blas = 1;
        jr.c = ref;
        run(&jr, 1);
        for (long i = 0; i < m * n; i++)
            if (fabsf(ref[i] - c[i]) > 1e-3f * (1 + fabsf(ref[i]))) {
                fprintf(stderr, "MISMATCH %s m=%ld n=%ld k=%ld at %ld: %g vs %g\n", pass_names[pass], m, n, k, i, c[i], ref[i]);
                exit(1);
            }
        free(ref);
    }
    free(a), free(b), free(c), free(packed), free(partials);
    return best;
}

int main(int argc, char **argv) {
    int threads[4], nthreads = 0, verbose = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v")) verbose = 1;
        else if (nthreads < 4) threads[nthreads++] = atoi(argv[i]);
    }
    if (!nthreads) threads[nthreads++] = 1;
    printf("%-19s %5s %-9s %3s %9s %9s %6s\n", "backbone", "batch", "pass", "thr", "stpm", "openblas", "ratio");
    for (int t = 0; t < nthreads; t++)
        for (unsigned net = (threads_now = threads[t], 0); net < sizeof nets / sizeof *nets; net++)
            for (int batch = 1; batch <= 8; batch += 7)
                for (int pass = FWD; pass <= IGRAD; pass++) {
                    double flops = 0, ts = 0, tb = 0;
                    for (int l = 0; l < nets[net].count; l++) {
                        const conv cv = nets[net].layers[l];
                        const long ck = (long)cv.c * cv.k * cv.k, cols = (long)batch * cv.out * cv.out;
                        if (pass == IGRAD && l == 0) continue; // the image needs no gradient
                        long m = cv.o, n = cols, k = ck;
                        if (pass == WGRAD) n = ck, k = cols;
                        if (pass == IGRAD) m = ck, n = cols, k = cv.o;
                        const double f = 2.0 * m * n * k;
                        const int reps = f > 2e9 ? 2 : f > 2e8 ? 4 : 10;
                        const double s = time_shape(pass, m, n, k, threads[t], 0, reps);
                        const double b = time_shape(pass, m, n, k, threads[t], 1, reps);
                        if (verbose)
                            printf("  %-9s m=%4ld n=%6ld k=%6ld thr %d  stpm %6.1f  openblas %6.1f GFLOP/s\n", pass_names[pass],
                                   m, n, k, threads[t], f / s * 1e-9, f / b * 1e-9);
                        flops += f, ts += s, tb += b;
                    }
                    printf("%-19s %5d %-9s %3d %9.1f %9.1f %6.2f\n", nets[net].name, batch, pass_names[pass], threads[t],
                           flops / ts * 1e-9, flops / tb * 1e-9, tb / ts);
                    fflush(stdout);
                }
    return 0;
}
