// The processor's AVX-512 FMA peak on 1..N threads: each thread runs 16 independent chains of
// 512-bit FMAs (enough to cover the FMA latency on two ports), nothing loaded or stored. Against it,
// `stpm bench`'s sgemm rate says how close the GEMM kernel is to the machine, and so how far any
// GEMM-bound figure (training's ceiling in scripts/bench_peers.py) could still move. `make fma-peak`.
// Usage: fma_peak [threads]   (default 2)
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { CHAINS = 16, STEPS = 100000000 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double rates[64];

__attribute__((target("avx512f"))) static void *chains(void *slot) {
    __m512 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i);
    const __m512 a = _mm512_set1_ps(1.0000001f), b = _mm512_set1_ps(0.999999f);
    const double start = now();
    for (long k = 0; k < STEPS; k++) {
#pragma clang loop unroll(full)
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    }
    const double seconds = now() - start;
    // Keep the chains' results alive so that the loop is not removed.
    __m512 sum = acc[0];
    for (int i = 1; i < CHAINS; i++) sum = _mm512_add_ps(sum, acc[i]);
    volatile float sink = _mm512_reduce_add_ps(sum);
    (void)sink;
    *(double *)slot = (double)STEPS * CHAINS * 32 / seconds / 1e9;
    return 0;
}

int main(int argc, char **argv) {
    const int threads = argc > 1 ? atoi(argv[1]) : 2;
    if (threads < 1 || threads > 64) {
        fprintf(stderr, "fma_peak: threads must be 1-64\n");
        return 2;
    }
    for (int n = 1; n <= threads; n++) {
        pthread_t t[64];
        for (int i = 0; i < n; i++) pthread_create(&t[i], 0, chains, &rates[i]);
        double total = 0;
        for (int i = 0; i < n; i++) {
            pthread_join(t[i], 0);
            total += rates[i];
        }
        printf("%d thread%s: AVX-512 FMA peak %.1f GFLOP/s\n", n, n == 1 ? "" : "s", total);
    }
    return 0;
}
