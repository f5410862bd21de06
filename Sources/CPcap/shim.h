#ifndef CHANNEL_EXPORTER_CPCAP_SHIM_H
#define CHANNEL_EXPORTER_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
