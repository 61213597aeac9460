#ifndef STPM_SPIN_POOL_H
#define STPM_SPIN_POOL_H

/// A pool of worker threads for the fork-join loops of one network pass (`parallelChunks`): a training step
/// splits a few hundred short loops and GEMMs across the cores, one after another. A worker that has just run
/// a part spins for about `STPM_POOL_SPIN_MICROSECONDS` before it sleeps, so that the next loop finds it
/// awake: waking a sleeping thread (and, in a virtual machine, its idle virtual CPU) took long enough that
/// the calling thread, having done its own part, waited at most joins.
enum { STPM_POOL_SPIN_MICROSECONDS = 200 };

/// Runs body(context, i) once for every i in 0 ..< count, on the calling thread and up to count - 1 workers
/// (started on first use, kept for the process's lifetime), and returns 1 once all have returned. Parts are
/// claimed in index order by whichever thread is free, the caller included, so a worker that the system has
/// not scheduled delays nothing. Returns 0, running nothing, when the pool is already running another
/// caller's parts (a nested or concurrent call): the caller then runs the parts another way.
int stpm_pool_run(long count, void (*body)(void *context, long index), void *context);

#endif
