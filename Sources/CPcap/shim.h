#ifndef CHANNEL_EXPORTER_CPCAP_SHIM_H
#define CHANNEL_EXPORTER_CPCAP_SHIM_H
#include <pcap/pcap.h>
#ifdef __linux__
/* The eventfd that wakes a live handle's wait for packets (PcapHandle.breakLoop). */
#include <sys/eventfd.h>
#endif
#endif
