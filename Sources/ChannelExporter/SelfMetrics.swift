import AMQPObserver
import ChannelMetrics
import HTTP1Observer
import PacketCapture
import PacketDecoding
import TCPReassembly
import TLSDecryption

/// What the `channel_exporter_*` self-metrics are rendered from (a value, copied out of the pipeline).
struct SelfMetricsInput: Sendable {
    var pipeline: PipelineStatistics?
    var capture: CaptureStatistics?
    var reloads = 0
    var reloadFailures = 0
    var startTime: Double = 0
}

/// The observer's own health: what it saw, what it could not parse, which limits it hit.
enum SelfMetrics {
    typealias Samples = [(labels: [(String, String)], value: Double)]

    static func render(_ input: SelfMetricsInput, metrics: ChannelMetrics?, format: ExpositionFormat) -> String {
        var w = ExpositionWriter(format: format)
        write(input, metrics: metrics, to: &w)
        return w.output
    }

    static func write(_ input: SelfMetricsInput, metrics: ChannelMetrics?, to w: inout ExpositionWriter) {
        w.gauge(
            name: "channel_exporter_build_info", help: "Build information (always 1)",
            samples: [([("swift", BuildInfo.swiftVersion), ("version", BuildInfo.version)], 1)])
        if input.startTime > 0 {
            w.gauge(name: "channel_exporter_start_time_seconds", help: "Start time of the process since the Unix epoch in seconds", samples: [([], input.startTime)])
        }
        w.counter(
            name: "channel_exporter_config_reloads", help: "Configuration reloads (SIGHUP) by result",
            samples: [([("result", "success")], Double(input.reloads)), ([("result", "failure")], Double(input.reloadFailures))])
        if let capture = input.capture {
            // A capture whose interface went away (a pod's veth) captures nothing while /metrics
            // still answers: this is what an alert can look at (`channel_exporter_capture_up == 0`).
            w.gauge(
                name: "channel_exporter_capture_up", help: "1 while the capture is open, 0 while its interface is gone and it waits to open it again",
                samples: [([], capture.isCapturing ? 1 : 0)])
            w.counter(
                name: "channel_exporter_capture_interruptions", help: "Times the capture was lost while running (interface deleted, renamed or moved)",
                samples: [([], Double(capture.interruptions))])
            w.counter(name: "channel_exporter_capture_received_packets", help: "Packets the kernel passed to the capture (pcap_stats ps_recv)", samples: [([], Double(capture.received))])
            w.counter(
                name: "channel_exporter_capture_dropped_packets", help: "Packets dropped before the observer saw them (pcap_stats), by where",
                samples: [([("where", "kernel")], Double(capture.droppedByKernel)), ([("where", "interface")], Double(capture.droppedByInterface))])
        }
        if let p = input.pipeline { writePipeline(p, to: &w) }
        metrics?.writeSelfMetrics(to: &w)
    }

    private static func writePipeline(_ p: PipelineStatistics, to w: inout ExpositionWriter) {
        let d = p.decode
        w.counter(name: "channel_exporter_packets", help: "Packets seen", samples: [([], Double(d.packets))])
        w.counter(name: "channel_exporter_bytes", help: "Captured bytes seen", samples: [([], Double(d.bytes))])
        w.counter(name: "channel_exporter_tcp_segments", help: "TCP segments decoded", samples: [([], Double(d.tcpSegments))])
        // A snaplen below the traffic's segment sizes shows up only as gaps and unanswered
        // requests; this names the cause (the capture, not the network, lost those bytes).
        w.counter(
            name: "channel_exporter_tcp_truncated_segments", help: "TCP segments whose payload the capture's snaplen cut (the bytes cut are gaps)",
            samples: [([], Double(d.truncatedPayloadSegments))])
        w.counter(
            name: "channel_exporter_decode_anomalies", help: "Packets not decoded to a TCP segment, by reason",
            samples: DecodeAnomaly.allCases.map { ([("reason", $0.label)], Double(d[$0])) })
        // On an overlay network's node the pods' traffic between nodes is all inside tunnels:
        // this says it was seen, and by which kind (a packet in two tunnels counts for both).
        w.counter(
            name: "channel_exporter_decapsulated_packets", help: "Tunnel headers taken off packets to decode what they carry, by tunnel",
            samples: TunnelKind.allCases.map { ([("tunnel", $0.label)], Double(d[decapsulated: $0])) })
        // IP fragments (an overlay whose underlay MTU leaves no room for its headers, TCP without
        // DF over a smaller MTU): each is also an ipv4_fragment/ipv6_fragment anomaly above, but
        // the one that completes its datagram; these say how many datagrams came of them and why
        // the rest did not.
        w.counter(name: "channel_exporter_ip_fragments", help: "IP fragments handed to the reassembler", samples: [([], Double(d.fragments))])
        w.counter(
            name: "channel_exporter_reassembled_datagrams", help: "IP datagrams reassembled from fragments and decoded",
            samples: [([], Double(d.reassembledDatagrams))])
        w.counter(
            name: "channel_exporter_ip_fragments_dropped", help: "IP fragments dropped instead of reassembled, by reason",
            samples: FragmentDrop.allCases.map { ([("reason", $0.label)], Double(d[droppedFragments: $0])) })
        // What reassembly holds now, against `limits.max_fragmented_datagrams` and
        // `limits.max_fragment_bytes_total`: a level near a bound says the `datagram_limit` and
        // `byte_limit` drops are near, before they come.
        w.gauge(
            name: "channel_exporter_ip_fragmented_datagrams_held",
            help: "IP datagrams being reassembled from fragments now", samples: [([], Double(p.fragmentedDatagramsHeld))])
        w.gauge(
            name: "channel_exporter_ip_fragment_bytes_held",
            help: "Bytes held for IP datagrams being reassembled now, as limits.max_fragment_bytes_total counts them",
            samples: [([], Double(p.fragmentBytesHeld))])
        // Packet timestamps follow the capturing host's real-time clock: a step of it (NTP, chrony,
        // `date -s`), recordings concatenated or shifted, packets a little out of order. The
        // pipeline's time neither goes back nor leaps (`PacketClock`); these say when it had to.
        w.counter(
            name: "channel_exporter_packets_back_in_time",
            help: "Packets stamped before a packet that came before them (out of order, or the clock stepped back)",
            samples: [([], Double(p.clock.packetsBackInTime))])
        w.counter(
            name: "channel_exporter_clock_steps",
            help: "Jumps of packet time taken as the capturing clock stepped, not as time passing, by direction "
                + "(previous: back to the clock before the last step, as interfaces whose clocks disagree interleave)",
            samples: [
                ([("direction", "back")], Double(p.clock.stepsBack)), ([("direction", "forward")], Double(p.clock.stepsForward)),
                ([("direction", "previous")], Double(p.clock.returnsToPreviousClock)),
            ])

        let r = p.reassembly
        w.gauge(name: "channel_exporter_flows_active", help: "TCP connections tracked now", samples: [([], Double(r.connectionsActive))])
        w.counter(name: "channel_exporter_flows_opened", help: "TCP connections tracked since start", samples: [([], Double(r.connectionsOpened))])
        w.counter(
            name: "channel_exporter_flows_ended", help: "TCP connections ended, by how",
            samples: [
                ([("reason", "fin")], Double(r.connectionsClosedByFin)), ([("reason", "reset")], Double(r.connectionsClosedByReset)),
                ([("reason", "expired")], Double(r.connectionsExpired)), ([("reason", "evicted")], Double(r.connectionsEvicted)),
                ([("reason", "capture_ended")], Double(r.connectionsEndedByCapture)),
            ])
        // A NAT between two interfaces of the capture shows each of its connections twice (Docker's
        // published ports on `any`): the second copy is not read, or every exchange would count twice.
        w.counter(
            name: "channel_exporter_flows_nat_copies",
            help: "TCP connections seen again on the far side of a NAT (other addresses or ports, same sequence numbers), not read twice",
            samples: [([], Double(r.natCopyConnections))])
        w.counter(name: "channel_exporter_tcp_gaps", help: "Holes in TCP streams given up on", samples: [([], Double(r.gaps))])
        w.counter(name: "channel_exporter_tcp_gap_bytes", help: "Bytes missing from TCP streams", samples: [([], Double(r.gapBytes))])
        w.counter(name: "channel_exporter_tcp_retransmitted_bytes", help: "Payload bytes seen more than once", samples: [([], Double(r.retransmittedBytes))])
        w.counter(name: "channel_exporter_tcp_conflicting_overlap_bytes", help: "Retransmitted bytes that differed from the first copy", samples: [([], Double(r.conflictingOverlapBytes))])
        w.gauge(name: "channel_exporter_tcp_buffered_bytes", help: "Out-of-order bytes buffered now", samples: [([], Double(r.bufferedBytes))])
        w.counter(
            name: "channel_exporter_tcp_limit_hits", help: "Reassembly limits reached, by limit",
            samples: ReassemblyLimit.allCases.map { ([("limit", $0.label)], Double(r.limitHits[$0])) })

        let h = p.http
        w.counter(
            name: "channel_exporter_http_exchanges", help: "HTTP exchanges observed, by kind",
            samples: [
                ([("kind", "complete")], Double(h.exchangesComplete)),
                ([("kind", "response_without_request")], Double(h.responsesWithoutRequest)),
                ([("kind", "request_without_response")], Double(h.requestsWithoutResponse)),
                ([("kind", "upgrade")], Double(h.upgrades)),
            ])
        // Not exchanges: connections whose HTTP/2 is not decoded (an h2c upgrade's is also an `upgrade` above).
        w.counter(
            name: "channel_exporter_http2_connections",
            help: "Connections found speaking HTTP/2, not decoded (the client's preface at their start, or a 101 to h2c)",
            samples: [([], Double(h.http2Connections))])
        w.counter(
            name: "channel_exporter_connect_tunnels",
            help: "CONNECT tunnels (forward proxies) whose stream was read after their 2xx, as a connection of its own (also an `upgrade`)",
            samples: [([], Double(h.connectTunnels))])
        w.counter(
            name: "channel_exporter_tls_connections",
            help: "Connections found carrying TLS where HTTP was expected, not decrypted (HTTPS on a watched port; "
                + "with the clients' key logs in tls.keylog_files they are read: channel_exporter_tls_decrypted_connections)",
            samples: [([], Double(h.tlsConnections))])
        if p.decryptsTLS {
            // Served once there were keys to decrypt by (a key log configured, or secrets a capture
            // carries), and from then on for the process's life, through reloads that take the key
            // logs out: without keys, `no_key` at 0 while no connection is read would mislead, and
            // `tls_connections` above counts what is not read.
            let x = p.tls
            w.counter(
                name: "channel_exporter_tls_decrypted_connections",
                help: "TLS connections at least one record of which was decrypted with a key log's secrets",
                samples: [([], Double(x.decryptedConnections))])
            w.counter(
                name: "channel_exporter_tls_decryption_failures",
                help: "TLS connections not decrypted (or no longer), by reason: the first that stopped them",
                samples: TLSFailureReason.allCases.map { ([("reason", $0.rawValue)], Double(x.count(of: $0))) })
            w.counter(
                name: "channel_exporter_tls_records",
                help: "Protected TLS records, by outcome (opened, or not authenticated and skipped)",
                samples: [([("outcome", "decrypted")], Double(x.recordsDecrypted)), ([("outcome", "failed")], Double(x.recordsFailed))])
            w.counter(
                name: "channel_exporter_tls_plaintext_bytes", help: "Application data bytes decrypted and read",
                samples: [([], Double(x.plaintextBytes))])
            w.counter(
                name: "channel_exporter_tls_resynchronisations",
                help: "Lost TLS ciphertext after which reading went on at a later record (a gap in the plaintext)",
                samples: [([], Double(x.resynchronisations))])
            w.gauge(
                name: "channel_exporter_tls_keys", help: "Connections whose key log secrets are held",
                samples: [([], Double(p.tlsKeys.held))])
            w.counter(
                name: "channel_exporter_tls_keylog_malformed_lines", help: "Key log lines not of the NSS key log format, skipped",
                samples: [([], Double(p.tlsKeys.malformedLines))])
        }
        w.counter(
            name: "channel_exporter_other_protocol_connections",
            help: "Connections whose client began with no HTTP/1 request line, not decoded (Redis, PostgreSQL, SSH... on a watched connection)",
            samples: [([], Double(h.otherProtocolConnections))])
        w.counter(
            name: "channel_exporter_proxy_protocol_headers",
            help: "PROXY protocol headers (v1, v2) skipped before a connection's first request",
            samples: [([], Double(h.proxyProtocolHeaders))])
        w.gauge(
            name: "channel_exporter_http_kept_bytes", help: "Bytes HTTP connections keep now (split heads, body prefixes, waiting requests)",
            samples: [([], Double(p.httpKeptBytes.now))])
        w.counter(
            name: "channel_exporter_http_anomalies", help: "HTTP parse anomalies, by reason",
            samples: HTTPParseAnomaly.allCases.map { ([("reason", $0.rawValue)], Double(h.count(of: $0))) })

        let a = p.amqp
        w.counter(
            name: "channel_exporter_amqp_outcomes", help: "Consumer deliveries answered, by answer",
            samples: [([("answer", "ack")], Double(a.acks)), ([("answer", "nack")], Double(a.nacks)), ([("answer", "reject")], Double(a.rejects))])
        w.counter(name: "channel_exporter_amqp_frames", help: "AMQP frames parsed", samples: [([], Double(a.frames))])
        w.counter(
            name: "channel_exporter_amqp_anomalies", help: "AMQP parse anomalies, by reason",
            samples: AMQPAnomaly.allCases.map { ([("reason", $0.rawValue)], Double(a.anomalies[$0] ?? 0)) })
        w.counter(
            name: "channel_exporter_amqp_dropped_deliveries",
            help: "Deliveries not counted as outcomes (unanswered, or given back by the client at a cancel), by reason",
            samples: AMQPDropReason.allCases.map { ([("reason", $0.rawValue)], Double(a.droppedDeliveries[$0] ?? 0)) })
        // Only `replay` showed these: live, a full bound (`limits.max_amqp_*`) went unseen.
        w.counter(
            name: "channel_exporter_amqp_limit_hits", help: "AMQP observer limits reached, by limit",
            samples: AMQPLimit.allCases.map { ([("limit", $0.rawValue)], Double(a.limitHits[$0] ?? 0)) })
        w.counter(name: "channel_exporter_amqp_unknown_queue_deliveries", help: "Deliveries whose queue could not be learnt", samples: [([], Double(a.unknownQueueDeliveries))])
        w.counter(
            name: "channel_exporter_amqp_no_ack_deliveries", help: "Deliveries to auto-ack (no-ack) consumers and gets: no answer to time, no observation",
            samples: [([], Double(a.noAckDeliveries))])
        w.counter(
            name: "channel_exporter_amqp_unmatched_answers", help: "Consumer acks, nacks and rejects for no outstanding delivery",
            samples: [([], Double(a.unmatchedAnswers))])
        w.gauge(
            name: "channel_exporter_amqp_outstanding_deliveries", help: "Consumer deliveries awaiting their answer now",
            samples: [([], Double(p.amqpOutstanding.now))])
        w.gauge(
            name: "channel_exporter_amqp_kept_bytes",
            help: "Bytes the AMQP connections keep in their channels now: channels, consumers, requests awaiting replies, unanswered deliveries",
            samples: [([], Double(p.amqpKeptBytes.now))])
    }
}
