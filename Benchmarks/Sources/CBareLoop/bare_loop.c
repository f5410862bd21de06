#include "bare_loop.h"
#include <pcap/pcap.h>
#include <stdio.h>

bare_loop_result bare_loop_run(const char *path, int big_buffer) {
    bare_loop_result r = {0, 0, 0};
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc;
    static char iobuf[1 << 20];
    if (big_buffer) {
        FILE *fp = fopen(path, "rb");
        if (!fp) { r.error = 1; return r; }
        setvbuf(fp, iobuf, _IOFBF, sizeof iobuf);
        pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, err);
    } else {
        pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
    }
    if (!pc) { r.error = 1; return r; }
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;
    while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
        r.packets++;
        r.bytes += h->caplen;
    }
    if (rc == -1) r.error = 2;
    pcap_close(pc);
    return r;
}
