#ifndef STPM_MEMORY_REUSE_H
#define STPM_MEMORY_REUSE_H

/// Fixes glibc's malloc thresholds for the whole process: blocks up to 32 MB come from the heap and freed
/// memory below 256 MB is kept. For a process that allocates and frees buffers of the same sizes over and
/// over (the image readers), where the adaptive thresholds handed some of that memory back to the kernel,
/// to be faulted in again, zeroed. Idempotent; no effect without glibc.
void stpm_keep_freed_memory(void);

#endif
