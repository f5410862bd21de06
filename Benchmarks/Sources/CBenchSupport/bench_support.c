// Support for the bench executable: an allocation counter that interposes
// glibc's malloc family from inside the executable (no LD_PRELOAD: symbols
// defined by the executable take precedence over libc's for every shared
// object, including the Swift runtime), CPU time and RSS.
#define _GNU_SOURCE
#include "bench_support.h"
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static volatile int counting;
static uint64_t allocation_count;
static uint64_t free_count;

#define COUNT(counter) do { if (counting) __atomic_fetch_add(&(counter), 1, __ATOMIC_RELAXED); } while (0)

__attribute__((visibility("default"))) void *malloc(size_t size) {
    COUNT(allocation_count);
    return __libc_malloc(size);
}

__attribute__((visibility("default"))) void *calloc(size_t count, size_t size) {
    COUNT(allocation_count);
    return __libc_calloc(count, size);
}

__attribute__((visibility("default"))) void *realloc(void *old, size_t size) {
    void *result = __libc_realloc(old, size);
    if (result != old) COUNT(allocation_count);
    return result;
}

__attribute__((visibility("default"))) void free(void *pointer) {
    if (pointer) COUNT(free_count);
    __libc_free(pointer);
}

__attribute__((visibility("default"))) int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    void *result = __libc_memalign(alignment, size);
    if (!result && size) return ENOMEM;
    COUNT(allocation_count);
    *out = result;
    return 0;
}

__attribute__((visibility("default"))) void *aligned_alloc(size_t alignment, size_t size) {
    COUNT(allocation_count);
    return __libc_memalign(alignment, size);
}

__attribute__((visibility("default"))) void *memalign(size_t alignment, size_t size) {
    COUNT(allocation_count);
    return __libc_memalign(alignment, size);
}

void bench_malloc_counting_start(void) {
    __atomic_store_n(&allocation_count, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&free_count, 0, __ATOMIC_RELAXED);
    counting = 1;
}

bench_malloc_counts bench_malloc_counting_stop(void) {
    counting = 0;
    bench_malloc_counts counts = {
        __atomic_load_n(&allocation_count, __ATOMIC_RELAXED),
        __atomic_load_n(&free_count, __ATOMIC_RELAXED),
    };
    return counts;
}

int64_t bench_cpu_microseconds(void) {
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0) return -1;
    return (int64_t)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000
        + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}

int64_t bench_peak_rss_kib(void) {
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0) return -1;
    return usage.ru_maxrss;
}

int64_t bench_current_rss_kib(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    long size = 0, resident = 0;
    int n = fscanf(f, "%ld %ld", &size, &resident);
    fclose(f);
    if (n != 2) return -1;
    return (int64_t)resident * (sysconf(_SC_PAGESIZE) / 1024);
}

int64_t bench_read_file(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    static char buffer[1 << 20];
    int64_t total = 0;
    ssize_t n;
    while ((n = read(fd, buffer, sizeof buffer)) > 0) total += n;
    close(fd);
    return n < 0 ? -1 : total;
}
