#!/bin/sh
# Capture files as other tools write them, made from a real capture by the real tools
# (Wireshark's editcap and tshark 4.0, gzip): PacketCaptureTests/CaptureFormatTests reads them.
#
#   keepalive-curl-12.{nokiapcap,rh6_1pcap,suse6_3pcap}  editcap -F of the first 12 packets of
#       http/keepalive-curl.pcap: pcap magic numbers libpcap knows, longer record headers
#       (20, 24, 28 bytes) it does not; replay refuses them and names the conversion.
#   keepalive-curl-12.pcapng.gz  the same packets as pcapng, gzip-compressed (as Wireshark
#       saves "compressed with gzip"); replay names the decompression.
# Not named .pcap/.pcapng: CaptureParityTests reads every such file with libpcap.
# Reruns give the same files but for 3 padding bytes per SuSE 6.3 record header, which
# editcap 4.0 leaves as they were in its memory (nothing reads them).
set -eu
cd "$(dirname "$0")"
source=../http/keepalive-curl.pcap
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
editcap -F pcap -r "$source" "$work/first12.pcap" 1-12
for format in nokiapcap rh6_1pcap suse6_3pcap; do
    editcap -F "$format" "$work/first12.pcap" "keepalive-curl-12.$format"
done
tshark -r "$work/first12.pcap" -F pcapng -w "$work/first12.pcapng"
gzip -n -c "$work/first12.pcapng" > keepalive-curl-12.pcapng.gz
