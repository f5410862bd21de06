import AMQPObserver
import HTTP1Observer
import PacketDecoding
import TCPReassembly
import TLSDecryption

/// The replay summary: what was read, what was made of it, what went wrong, how fast.
public enum ReplaySummary {
    /// Human-readable, a few lines.
    public static func text(_ r: ReplayResult) -> String {
        let s = r.statistics
        let d = s.decode
        let t = s.reassembly
        let h = s.http
        let a = s.amqp
        var lines = [String]()
        let mb = Double(r.bytes) / 1e6
        lines.append("replayed \(r.files.count) file\(r.files.count == 1 ? "" : "s"): \(r.packets) packets, \(format(mb)) MB in \(format(r.elapsed)) s (\(Int(r.packetsPerSecond.rounded())) packets/s)")
        if let first = s.firstPacketTime, let last = s.lastPacketTime {
            lines.append("capture time:  \(first) .. \(last) (\(format(Double(last - first) / 1e9)) s)")
        }
        if let filtered = r.filteredPackets {
            lines.append("capture.filter: \(filtered) packets left out (not in the count above), as live")
        }
        lines.append("decode:        \(d.tcpSegments) TCP segments, \(d.tcpPayloadBytes) payload bytes, \(d.anomalies) not decoded\(list(DecodeAnomaly.allCases.map { ($0.label, Int(d[$0])) }))")
        let tunnels = TunnelKind.allCases.map { ($0.label, Int(d[decapsulated: $0])) }
        if tunnels.contains(where: { $0.1 > 0 }) {
            lines.append("tunnels:       headers taken off\(list(tunnels))")
        }
        if d.fragments > 0 {
            lines.append(
                "fragments:     \(d.fragments) IP fragments, \(d.reassembledDatagrams) datagrams reassembled, "
                    + "\(d.droppedFragments) fragments dropped\(list(FragmentDrop.allCases.map { ($0.label, Int(d[droppedFragments: $0])) }))"
                    + (s.fragmentedDatagramsHeld > 0
                        ? "; \(s.fragmentedDatagramsHeld) datagram\(s.fragmentedDatagramsHeld == 1 ? "" : "s") incomplete at the end (\(s.fragmentBytesHeld) bytes held)" : ""))
        }
        lines.append("connections:   \(t.connectionsOpened) (fin \(t.connectionsClosedByFin), reset \(t.connectionsClosedByReset), expired \(t.connectionsExpired), evicted \(t.connectionsEvicted), open at end \(t.connectionsEndedByCapture))\(t.natCopyConnections > 0 ? ", \(t.natCopyConnections) seen again behind a NAT (not read again)" : "")")
        lines.append("tcp:           \(t.gaps) gaps (\(t.gapBytes) bytes), \(t.retransmittedBytes) retransmitted bytes, \(t.outOfOrderSegments) out-of-order segments\(list(ReassemblyLimit.allCases.map { ("limit_\($0.label)", Int(t.limitHits[$0])) }))")
        lines.append("http:          \(h.exchangesComplete) exchanges, \(h.responsesWithoutRequest) responses without request, \(h.requestsWithoutResponse) requests without response, \(h.upgrades) upgrades\(h.connectTunnels > 0 ? " (\(h.connectTunnels) CONNECT tunnels read)" : ""), \(h.http2Connections) HTTP/2, \(h.tlsConnections) TLS and \(h.otherProtocolConnections) other-protocol connections (not decoded)\(list(HTTPParseAnomaly.allCases.map { ($0.rawValue, h.count(of: $0)) }))")
        if s.decryptsTLS {
            let x = s.tls
            lines.append("tls:           \(x.connections) connections, \(x.decryptedConnections) decrypted, \(x.recordsDecrypted) records (\(x.plaintextBytes) plaintext bytes), \(x.recordsFailed) records not opened, \(x.resynchronisations) resynchronised after lost records, \(x.keyUpdates) key updates; keys of \(s.tlsKeys.held) connections\(list(TLSFailureReason.allCases.map { ($0.rawValue, x.count(of: $0)) } + [("early_data_records", x.earlyDataRecords), ("malformed_keylog_lines", s.tlsKeys.malformedLines), ("keys_evicted", s.tlsKeys.evicted), ("keys_expired", s.tlsKeys.expired), ("keylog_read_errors", s.tlsKeys.fileErrors)]))")
        }
        if a.connections > 0 {
            lines.append("amqp:          \(a.connections) connections, \(a.frames) frames, \(a.acks) acks, \(a.nacks) nacks, \(a.rejects) rejects\(list(AMQPAnomaly.allCases.map { ($0.rawValue, a.anomalies[$0] ?? 0) }))")
            // What was not turned into an outcome, and why: auto-ack deliveries have no answer to time,
            // a publisher's confirms are not counted at all, answers may match nothing.
            lines.append("amqp unused:   \(a.noAckDeliveries) no-ack deliveries, \(a.unmatchedAnswers) unmatched answers, \(a.lostDeliveries) lost deliveries, \(a.unknownQueueDeliveries) of unknown queue\(list(AMQPDropReason.allCases.map { ("dropped_\($0.rawValue)", a.droppedDeliveries[$0] ?? 0) } + AMQPLimit.allCases.map { ("limit_\($0.rawValue)", a.limitHits[$0] ?? 0) }))")
        }
        if d.truncatedPayloadSegments > 0 {
            lines.append(
                "warning: \(d.truncatedPayloadSegments) TCP segments cut by the capture's snaplen: the bytes cut are gaps, "
                    + "so exchanges around them lose their response or their body's code (record with tcpdump -s 0)")
        }
        for file in r.truncatedFiles { lines.append("warning: \(file)") }
        if r.reordered { lines.append("files taken in the order of their first packets: \(r.files.joined(separator: " "))") }
        for (earlier, later) in zip(r.fileSpans, r.fileSpans.dropFirst()) {
            guard let end = earlier.last, let start = later.first, start < end else { continue }
            lines.append(
                "warning: \(later.path) starts \(format(Double(end.nanoseconds - start.nanoseconds) / 1e9)) s before "
                    + "\(earlier.path) ends: captures of the same time (other interfaces or hosts) are merged by time "
                    + "(mergecap), not replayed one after the other")
        }
        if r.skippedPackets > 0 {
            lines.append("warning: \(r.skippedPackets) packets of interfaces with a link type not decoded, skipped")
        }
        let c = s.clock
        if c.stepsBack > 0 || c.stepsForward > 0 {
            lines.append(
                "warning: packet time jumped \(c.stepsBack) times back (more than 2 s) and \(c.stepsForward) times forward "
                    + "(more than 10 min): taken as the clock stepped, "
                    + "time went on from before each jump (recordings concatenated or shifted, a clock set; latencies "
                    + "across a jump lose it, a recording quiet for longer looks the same)"
                    + (c.returnsToPreviousClock > 0
                        ? "; \(c.returnsToPreviousClock) packets fitted the clock before the last step and went back to it "
                            + "(interfaces whose clocks disagree, interleaved)" : ""))
        }
        if r.packetsBackInTime > 0 {
            lines.append(
                "warning: \(r.packetsBackInTime) packets stamped before a packet that came before them (given that one's time; "
                    + "\(c.stepsBack) of them steps back): if they are a few ms late, sort the file (reordercap IN OUT)")
        }
        return lines.joined(separator: "\n")
    }

    /// One JSON object, for machines.
    public static func json(_ r: ReplayResult) -> String {
        let s = r.statistics
        let d = s.decode
        let t = s.reassembly
        let h = s.http
        let a = s.amqp
        var o = JSONObjectWriter()
        o.field("files", r.files.map(ExchangeLog.quoted).joined(separator: ",").wrapped("[", "]"))
        o.field("packets", "\(r.packets)")
        o.field("bytes", "\(r.bytes)")
        o.field("elapsed_seconds", "\(r.elapsed)")
        o.field("packets_per_second", "\(r.packetsPerSecond)")
        o.field("tcp_segments", "\(d.tcpSegments)")
        o.field("truncated_segments", "\(d.truncatedPayloadSegments)")
        o.field("decode_anomalies", object(DecodeAnomaly.allCases.map { ($0.label, Int(d[$0])) }))
        o.field("decapsulated", object(TunnelKind.allCases.map { ($0.label, Int(d[decapsulated: $0])) }))
        o.field("ip_fragments", "\(d.fragments)")
        o.field("reassembled_datagrams", "\(d.reassembledDatagrams)")
        o.field("ip_fragments_dropped", object(FragmentDrop.allCases.map { ($0.label, Int(d[droppedFragments: $0])) }))
        o.field("fragmented_datagrams_held_at_end", "\(s.fragmentedDatagramsHeld)")
        o.field("fragment_bytes_held_at_end", "\(s.fragmentBytesHeld)")
        o.field("connections", object([
            ("opened", Int(t.connectionsOpened)), ("fin", Int(t.connectionsClosedByFin)), ("reset", Int(t.connectionsClosedByReset)),
            ("expired", Int(t.connectionsExpired)), ("evicted", Int(t.connectionsEvicted)), ("open_at_end", Int(t.connectionsEndedByCapture)),
            ("nat_copies", Int(t.natCopyConnections)),
        ], keepZeros: true))
        o.field("gaps", "\(t.gaps)")
        o.field("gap_bytes", "\(t.gapBytes)")
        o.field("retransmitted_bytes", "\(t.retransmittedBytes)")
        o.field("out_of_order_segments", "\(t.outOfOrderSegments)")
        o.field("reassembly_limit_hits", object(ReassemblyLimit.allCases.map { ($0.label, Int(t.limitHits[$0])) }))
        o.field("http", object([
            ("exchanges", h.exchangesComplete), ("responses_without_request", h.responsesWithoutRequest),
            ("requests_without_response", h.requestsWithoutResponse), ("upgrades", h.upgrades),
            ("connect_tunnels", h.connectTunnels), ("http2_connections", h.http2Connections), ("tls_connections", h.tlsConnections),
            ("other_protocol_connections", h.otherProtocolConnections), ("proxy_protocol_headers", h.proxyProtocolHeaders),
            ("kept_bytes_peak", s.httpKeptBytes.peak), ("kept_bytes_at_end", s.httpKeptBytes.now),
        ], keepZeros: true))
        o.field("http_anomalies", object(HTTPParseAnomaly.allCases.map { ($0.rawValue, h.count(of: $0)) }))
        if s.decryptsTLS {
            let x = s.tls
            o.field("tls", object([
                ("connections", x.connections), ("decrypted_connections", x.decryptedConnections),
                ("records_decrypted", x.recordsDecrypted), ("records_failed", x.recordsFailed),
                ("plaintext_bytes", x.plaintextBytes), ("resynchronisations", x.resynchronisations),
                ("key_updates", x.keyUpdates), ("keys_awaited", x.keysAwaited), ("early_data_records", x.earlyDataRecords),
                ("keys_held", s.tlsKeys.held), ("keylog_lines", s.tlsKeys.linesRead),
                ("malformed_keylog_lines", s.tlsKeys.malformedLines), ("keys_evicted", s.tlsKeys.evicted),
                ("keys_expired", s.tlsKeys.expired),
                ("keylog_read_errors", s.tlsKeys.fileErrors),
            ], keepZeros: true))
            o.field("tls_failures", object(TLSFailureReason.allCases.map { ($0.rawValue, x.count(of: $0)) }, keepZeros: true))
        }
        o.field("amqp", object([
            ("connections", a.connections), ("frames", a.frames), ("acks", a.acks), ("nacks", a.nacks), ("rejects", a.rejects),
            ("unknown_queue_deliveries", a.unknownQueueDeliveries), ("routing_key_queue_deliveries", a.routingKeyQueueDeliveries),
            ("no_ack_deliveries", a.noAckDeliveries), ("unmatched_answers", a.unmatchedAnswers),
            ("answered_while_queued", a.answeredWhileQueued), ("lost_deliveries", a.lostDeliveries),
            ("answers_for_lost_deliveries", a.answersForLostDeliveries),
            ("outstanding_peak", s.amqpOutstanding.peak), ("outstanding_at_end", s.amqpOutstanding.now),
            ("buffered_bytes_peak", s.amqpBufferedBytes.peak), ("buffered_bytes_at_end", s.amqpBufferedBytes.now),
            ("kept_bytes_peak", s.amqpKeptBytes.peak), ("kept_bytes_at_end", s.amqpKeptBytes.now),
        ], keepZeros: true))
        o.field("amqp_dropped_deliveries", object(AMQPDropReason.allCases.map { ($0.rawValue, a.droppedDeliveries[$0] ?? 0) }))
        o.field("amqp_limit_hits", object(AMQPLimit.allCases.map { ($0.rawValue, a.limitHits[$0] ?? 0) }))
        o.field("amqp_anomalies", object(AMQPAnomaly.allCases.map { ($0.rawValue, a.anomalies[$0] ?? 0) }))
        o.field("reordered_files", r.reordered ? "true" : "false")
        o.field("packets_back_in_time", "\(r.packetsBackInTime)")
        o.field("clock_steps", object([
            ("back", Int(s.clock.stepsBack)), ("forward", Int(s.clock.stepsForward)),
            ("previous", Int(s.clock.returnsToPreviousClock)),
        ], keepZeros: true))
        o.field("skipped_packets", "\(r.skippedPackets)")
        if let filtered = r.filteredPackets { o.field("filtered_packets", "\(filtered)") }
        o.field("truncated_files", r.truncatedFiles.map { ExchangeLog.quoted($0.path) }.joined(separator: ",").wrapped("[", "]"))
        return o.finish()
    }

    private static func list(_ counts: [(String, Int)]) -> String {
        let nonZero = counts.filter { $0.1 > 0 }
        return nonZero.isEmpty ? "" : " [" + nonZero.map { "\($0.0)=\($0.1)" }.joined(separator: " ") + "]"
    }

    private static func object(_ counts: [(String, Int)], keepZeros: Bool = false) -> String {
        "{" + counts.filter { keepZeros || $0.1 > 0 }.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    private static func format(_ x: Double) -> String {
        let scaled = (x * 1000).rounded() / 1000
        return "\(scaled)"
    }
}

private struct JSONObjectWriter {
    private var parts = [String]()
    mutating func field(_ name: String, _ rawValue: String) { parts.append("\"\(name)\":\(rawValue)") }
    func finish() -> String { "{" + parts.joined(separator: ",") + "}" }
}

extension String {
    fileprivate func wrapped(_ open: String, _ close: String) -> String { open + self + close }
}
