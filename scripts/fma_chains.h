// The FMA peak's loop, shared by fma_peak.c and gemm_shapes.c: 16 independent chains of 512-bit FMAs
// (enough to cover the FMA latency on two ports), nothing loaded or stored, for `steps` steps timed by
// `clock`; GFLOP/s.
#include <immintrin.h>

__attribute__((target("avx512f"))) static double fma_chains(long steps, double (*clock)(void)) {
    enum { CHAINS = 16 };
    __m512 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i);
    const __m512 a = _mm512_set1_ps(1.0000001f), b = _mm512_set1_ps(0.999999f);
    const double start = clock();
    for (long k = 0; k < steps; k++) {
#pragma clang loop unroll(full)
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    }
    const double seconds = clock() - start;
    // Keep the chains' results alive so that the loop is not removed.
    __m512 sum = acc[0];
    for (int i = 1; i < CHAINS; i++) sum = _mm512_add_ps(sum, acc[i]);
    volatile float sink = _mm512_reduce_add_ps(sum);
    (void)sink;
    return (double)steps * CHAINS * 32 / seconds / 1e9;
}
