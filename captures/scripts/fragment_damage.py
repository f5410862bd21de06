"""Damaged copies of a capture whose IPv4 packets are fragmented (make-fragment-fixtures.sh), and
what each must give, worked out here from the fragments themselves (not by the decoder):

    fragment_damage.py SOURCE.pcap OUT_DIR

Writes, beside SOURCE (NAME = its name without .underlay.pcap or .pcap):
    NAME.fragment-dropped.pcap     the last fragment of the first fragmented datagram left out
    NAME.fragments-reordered.pcap  every fragmented datagram's fragments in reverse order (each
                                   packet takes the timestamp of the slot it moves into)
    NAME.fragment-duplicated.pcap  the first fragment of the first fragmented datagram twice
and fragments.tsv: per capture (the source too) the IPv4 fragments, the datagrams they complete,
the fragments held at the end and the duplicates.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapfile  # noqa: E402


def fragment_key(data):
    """(src, dst, protocol, id, offset, more, length) of an Ethernet/IPv4 fragment, else None."""
    if len(data) < 34 or struct.unpack_from(">H", data, 12)[0] != 0x0800:
        return None
    ip = 14
    flags = struct.unpack_from(">H", data, ip + 6)[0]
    if flags & 0x3FFF == 0:
        return None
    ihl = (data[ip] & 0x0F) * 4
    total = struct.unpack_from(">H", data, ip + 2)[0]
    key = (bytes(data[ip + 12:ip + 16]), bytes(data[ip + 16:ip + 20]), data[ip + 9], struct.unpack_from(">H", data, ip + 4)[0])
    return key, (flags & 0x1FFF) * 8, bool(flags & 0x2000), total - ihl


def tally(records):
    """fragments, datagrams completed, fragments held at the end, duplicates: as RFC 791 reassembly
    with Linux's rules (an exact duplicate ignored; these copies have no other overlap)."""
    held, fragments, complete, duplicates = {}, 0, 0, 0
    for r in records:
        f = fragment_key(r.data)
        if f is None:
            continue
        key, offset, more, length = f
        fragments += 1
        pieces = held.setdefault(key, {"pieces": set(), "end": None})
        if (offset, length) in pieces["pieces"]:
            duplicates += 1
            continue
        pieces["pieces"].add((offset, length))
        if not more:
            pieces["end"] = offset + length
        end = pieces["end"]
        if end is not None and sum(n for _, n in pieces["pieces"]) == end:
            complete += 1
            del held[key]
    return fragments, complete, sum(len(p["pieces"]) for p in held.values()), duplicates


def groups(records):
    """Indices of each fragmented datagram's packets, in capture order, by first appearance."""
    by_key = {}
    for i, r in enumerate(records):
        f = fragment_key(r.data)
        if f is not None:
            by_key.setdefault(f[0], []).append(i)
    return [g for g in by_key.values() if len(g) > 1]


def copy(cap, records):
    return pcapfile.Capture(nanos=cap.nanos, snaplen=cap.snaplen, linktype=cap.linktype, records=records)


def main():
    source, out = sys.argv[1], sys.argv[2]
    name = os.path.basename(source).replace(".underlay.pcap", "").replace(".pcap", "")
    cap = pcapfile.read(source)
    records = cap.records
    fragmented = groups(records)
    if not fragmented:
        sys.exit("%s: no fragmented datagram" % source)
    first = fragmented[0]

    dropped = [r for i, r in enumerate(records) if i != first[-1]]

    reordered = list(records)
    for group in fragmented:
        for slot, source_index in zip(group, reversed(group)):
            r = records[source_index]
            at = records[slot]
            reordered[slot] = pcapfile.Record(at.sec, at.frac, r.orig_len, r.data)

    duplicated = []
    for i, r in enumerate(records):
        duplicated.append(r)
        if i == first[0]:
            duplicated.append(pcapfile.Record(r.sec, r.frac, r.orig_len, bytearray(r.data)))

    rows = [(os.path.basename(source), records)]
    for suffix, damaged in (("fragment-dropped", dropped), ("fragments-reordered", reordered),
                            ("fragment-duplicated", duplicated)):
        path = os.path.join(out, "%s.%s.pcap" % (name, suffix))
        pcapfile.write(path, copy(cap, damaged))
        rows.append((os.path.basename(path), damaged))
    with open(os.path.join(out, "fragments.tsv"), "w") as tsv:
        tsv.write("capture\tfragments\tdatagrams\theld_at_end\tduplicates\n")
        for file, recs in rows:
            tsv.write("%s\t%d\t%d\t%d\t%d\n" % ((file,) + tally(recs)))
    print(open(os.path.join(out, "fragments.tsv")).read(), end="")


if __name__ == "__main__":
    main()
