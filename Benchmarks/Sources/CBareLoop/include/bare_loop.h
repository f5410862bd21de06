#ifndef BARE_LOOP_H
#define BARE_LOOP_H
#include <stdint.h>

/// Result of one pass over a capture file.
typedef struct {
    uint64_t packets;
    uint64_t bytes;
    int error; /* 0 on success */
} bare_loop_result;

/// The floor: open `path` with libpcap and call pcap_next_ex until the end,
/// counting packets and captured bytes. `big_buffer` non-zero reads through a
/// FILE* with a 1 MiB stdio buffer (as our file source does).
bare_loop_result bare_loop_run(const char *path, int big_buffer);

#endif
