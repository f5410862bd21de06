// What fragment reassembly drops, and its bounds (FragmentReassembler.swift reassembles).

/// Why fragments were dropped instead of reassembled; each dropped fragment is counted once
/// (`DecodeCounters[droppedFragments:]`), so fragments seen = fragments in reassembled datagrams
/// + fragments held now + fragments dropped.
///
/// What happens to a datagram follows Linux (`inet_frag_queue_insert`), the receiver whose
/// view we want: an exact duplicate is ignored, any other overlap discards the whole datagram,
/// for IPv6 as RFC 5722 (with erratum 3089) requires and for IPv4 alike (Linux since 4.19):
/// overlapping fragments are how IDS evasion and "teardrop" attacks work, and a receiver that
/// discards them never hands the application what a choice of ours would have rebuilt.
public enum FragmentDrop: Int, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    /// The same offset and length as a fragment already held: this fragment only (a capture on
    /// two interfaces, a link that duplicates).
    case duplicate
    /// Overlaps a fragment held without being its duplicate: the whole datagram (RFC 5722).
    case overlap
    /// Would make the datagram longer than 65,535 bytes (IPv4 total length, IPv6 payload
    /// length; RFC 8200 §4.5): the whole datagram.
    case tooLarge
    /// No data, a fragment other than the last whose length is not a multiple of 8, a second
    /// last fragment with another end, or data past the last fragment's end: the whole datagram
    /// (this fragment only when it has no data or a bad length).
    case malformed
    /// The capture holds less of the fragment than was sent (snaplen): this fragment only; its
    /// datagram cannot complete and times out.
    case truncated
    /// Not complete within the timeout of its first fragment (by packet time).
    case timeout
    /// The first fragment of a datagram while `FragmentLimits.maxDatagrams` are in flight.
    case datagramLimit
    /// Holding it would take the bytes held past `FragmentLimits.maxBytes`: the whole datagram.
    case byteLimit
    /// More than `FragmentLimits.maxFragmentsPerDatagram` fragments: the whole datagram.
    case fragmentLimit

    /// Stable snake_case name for metrics and summaries.
    public var label: String {
        switch self {
        case .duplicate: "duplicate"
        case .overlap: "overlap"
        case .tooLarge: "too_large"
        case .malformed: "malformed"
        case .truncated: "truncated"
        case .timeout: "timeout"
        case .datagramLimit: "datagram_limit"
        case .byteLimit: "byte_limit"
        case .fragmentLimit: "fragment_limit"
        }
    }

    public var description: String { label }
}

/// The bounds of fragment reassembly. Nothing a peer sends grows memory past them: each
/// fragment over a bound is dropped and counted (`FragmentDrop`).
///
/// At a bound new datagrams are refused and nothing held is evicted, as Linux does since 4.17
/// (`inet_frag_find` finds no queue while the memory is over `ipfrag_high_thresh`; there is no
/// evictor). Linux refuses the fragments of datagrams it holds too, and keeps those until they time
/// out; here a fragment that does not fit drops its datagram (`byteLimit`): it can no longer
/// complete on the receiver either, and its bytes go to datagrams that can (docs/tunnels-and-kubernetes.md).
public struct FragmentLimits: Sendable, Hashable {
    /// Datagrams being reassembled at once; 0 turns reassembly off (fragments are counted as
    /// `ipv4_fragment`/`ipv6_fragment` and dropped, as before reassembly existed).
    public var maxDatagrams: Int
    /// Bytes held for them together (each datagram's buffer up to its highest fragment's end,
    /// and its header). Linux's `ipfrag_high_thresh` is 4 MiB.
    public var maxBytes: Int
    /// How long after its first fragment an IPv4 datagram may take to complete, in packet time:
    /// Linux's `net.ipv4.ipfrag_time`, 30 s.
    public var timeout: Duration
    /// The same for IPv6: Linux's `net.ipv6.ip6frag_time`, 60 s (RFC 8200 §4.5's 60 seconds).
    /// One value for both gave IPv6 datagrams up after 30 s that the receiver still completed.
    public var ipv6Timeout: Duration
    /// Fragments one datagram may have: 65,535 bytes in 1,280-byte IPv6 fragments are 52, in
    /// 576-byte ones 120. Bounds the work a fragment costs (its place is found in a sorted list).
    public var maxFragmentsPerDatagram: Int

    public init(
        maxDatagrams: Int = 1024, maxBytes: Int = 4 << 20, timeout: Duration = .seconds(30),
        ipv6Timeout: Duration = .seconds(60), maxFragmentsPerDatagram: Int = 256
    ) {
        self.maxDatagrams = maxDatagrams
        self.maxBytes = maxBytes
        self.timeout = timeout
        self.ipv6Timeout = ipv6Timeout
        self.maxFragmentsPerDatagram = maxFragmentsPerDatagram
    }

    public static let standard = FragmentLimits()
    /// No reassembly.
    public static let off = FragmentLimits(maxDatagrams: 0, maxBytes: 0)

    /// The timeout of a datagram of IPv6 or IPv4, in nanoseconds.
    func timeoutNanoseconds(ipv6: Bool) -> Int64 {
        let (seconds, attoseconds) = (ipv6 ? ipv6Timeout : timeout).components
        return seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }
}
