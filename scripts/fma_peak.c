// The processor's AVX-512 FMA peak on 1..N threads: each thread runs fma_chains.h's loop. Against it,
// `stpm bench`'s sgemm rate says how close the GEMM kernel is to the machine, and so how far any
// GEMM-bound figure (training's ceiling in scripts/bench_peers.py) could still move. `make fma-peak`.
// Usage: fma_peak [threads]   (default 2)
#include "fma_chains.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { STEPS = 100000000 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double rates[64];

static void *chains(void *slot) {
    *(double *)slot = fma_chains(STEPS, now);
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
