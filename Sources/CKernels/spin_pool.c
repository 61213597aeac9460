// The pool's state is one job at a time, guarded by `busy`. A job is published by writing its descriptor
// and then `claim`, the generation in the high 32 bits and the next unclaimed index in the low ones, and
// woken by moving `generation`, the futex sleeping workers wait on. A thread claims an index by a
// compare-exchange on `claim` that also checks the generation, after reading the descriptor: a descriptor
// is rewritten only once its job's indices are all claimed and run, so a successful claim proves that the
// descriptor read before it was that job's.
#define _GNU_SOURCE
#include "spin_pool.h"
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { max_workers = 63 };

static atomic_flag busy = ATOMIC_FLAG_INIT;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static int started;

typedef void (*body_fn)(void *, long);
// The descriptor: atomics (relaxed) because a thread may read them while the next job's caller writes them.
static _Atomic(body_fn) job_body;
static _Atomic(void *) job_context;
static _Atomic long job_count;
static _Atomic uint64_t claim;
static _Atomic long unfinished;
static _Atomic uint32_t generation;
static _Atomic int sleepers;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static inline void relax(void) { __builtin_ia32_pause(); }

// ThreadSanitizer does not see this file's atomics (the C target is not instrumented, the Swift code is): where
// its runtime is linked, the hand-offs are announced to it, so that a part's reads of what the caller wrote
// before the job, and the caller's reads of what the parts wrote, are not reported as races.
extern void __tsan_acquire(void *addr) __attribute__((weak));
extern void __tsan_release(void *addr) __attribute__((weak));
static inline void announce_acquire(void *addr) { if (__tsan_acquire) __tsan_acquire(addr); }
static inline void announce_release(void *addr) { if (__tsan_release) __tsan_release(addr); }

// Claims and runs the current job's indices until none is left.
static void run_parts(void) {
    for (;;) {
        uint64_t c = atomic_load_explicit(&claim, memory_order_acquire);
        const body_fn body = atomic_load_explicit(&job_body, memory_order_relaxed);
        void *context = atomic_load_explicit(&job_context, memory_order_relaxed);
        const long count = atomic_load_explicit(&job_count, memory_order_relaxed);
        const long index = (long)(c & 0xffffffffu);
        if (index >= count) return;
        if (!atomic_compare_exchange_weak_explicit(&claim, &c, c + 1, memory_order_acq_rel, memory_order_relaxed)) continue;
        announce_acquire(&claim);
        body(context, index);
        announce_release(&unfinished);
        atomic_fetch_sub_explicit(&unfinished, 1, memory_order_release);
    }
}

static void *worker(void *unused) {
    (void)unused;
    uint32_t seen = atomic_load(&generation);
    for (;;) {
        uint64_t since = now_ns();
        unsigned spins = 0;
        uint32_t g;
        while ((g = atomic_load_explicit(&generation, memory_order_acquire)) == seen) {
            relax();
            // The clock is read every 64 pauses only.
            if ((++spins & 63) != 0 || now_ns() - since < STPM_POOL_SPIN_MICROSECONDS * 1000u) continue;
            atomic_fetch_add(&sleepers, 1);
            syscall(SYS_futex, &generation, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
            atomic_fetch_sub(&sleepers, 1);
            since = now_ns();
        }
        seen = g;
        run_parts();
    }
    return NULL;
}

// Starts workers until `needed` run; returns how many do (fewer if the system refuses threads).
static int ensure_workers(int needed) {
    pthread_mutex_lock(&start_lock);
    while (started < needed && started < max_workers) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        const int failed = pthread_create(&thread, &attr, worker, NULL);
        pthread_attr_destroy(&attr);
        if (failed) break;
        started++;
    }
    const int n = started;
    pthread_mutex_unlock(&start_lock);
    return n;
}

int stpm_pool_run(long count, void (*body)(void *context, long index), void *context) {
    if (count <= 0) return 1;
    if (count > 0xffffffffL || atomic_flag_test_and_set_explicit(&busy, memory_order_acquire)) return 0;
    if (count > 1 && ensure_workers(count - 1 < max_workers ? (int)(count - 1) : max_workers) == 0) {
        atomic_flag_clear_explicit(&busy, memory_order_release);
        return 0;
    }
    atomic_store_explicit(&job_body, body, memory_order_relaxed);
    atomic_store_explicit(&job_context, context, memory_order_relaxed);
    atomic_store_explicit(&job_count, count, memory_order_relaxed);
    atomic_store_explicit(&unfinished, count, memory_order_relaxed);
    const uint32_t g = atomic_load_explicit(&generation, memory_order_relaxed) + 1;
    announce_release(&claim);
    atomic_store_explicit(&claim, (uint64_t)g << 32, memory_order_release);
    atomic_store(&generation, g);
    if (atomic_load(&sleepers) > 0) syscall(SYS_futex, &generation, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
    run_parts();
    // The last parts run on workers: spin, then yield the core to them (or to others) if it takes long.
    const uint64_t since = now_ns();
    for (unsigned spins = 1; atomic_load_explicit(&unfinished, memory_order_acquire) > 0; spins++) {
        relax();
        if ((spins & 63) == 0 && now_ns() - since > STPM_POOL_SPIN_MICROSECONDS * 1000u) sched_yield();
    }
    announce_acquire(&unfinished);
    atomic_flag_clear_explicit(&busy, memory_order_release);
    return 1;
}
