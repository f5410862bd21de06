#ifndef BENCH_SUPPORT_H
#define BENCH_SUPPORT_H
#include <stdint.h>

/// Allocation calls seen by the interposed malloc family while counting is on.
typedef struct {
    uint64_t allocations; /* malloc, calloc, realloc(NULL or moving), posix_memalign, aligned_alloc, memalign */
    uint64_t frees;       /* free of a non-NULL pointer */
} bench_malloc_counts;

/// Starts counting from zero. The interposer forwards to glibc's allocator
/// always; it only counts between start and stop, so timed runs (counting off)
/// pay one extra call and a branch per allocation, nothing more.
void bench_malloc_counting_start(void);
/// Stops counting and returns what was counted since the start.
bench_malloc_counts bench_malloc_counting_stop(void);

/// user + system CPU time of the process so far, in microseconds (getrusage RUSAGE_SELF).
int64_t bench_cpu_microseconds(void);
/// Peak resident set size of the process so far, in KiB (getrusage ru_maxrss).
int64_t bench_peak_rss_kib(void);
/// Current resident set size in KiB (/proc/self/statm), -1 if unavailable.
int64_t bench_current_rss_kib(void);
/// Reads the whole file once (1 MiB reads) so the timed runs find it in the
/// page cache; returns the bytes read or -1.
int64_t bench_read_file(const char *path);

#endif
