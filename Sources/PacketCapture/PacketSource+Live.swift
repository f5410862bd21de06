/// The live capture loop: packets read in place in the kernel's ring, time going on while the
/// interface is quiet, and a capture lost while running opened again when its interface is back.
internal import PacketDecoding
import Synchronization

#if canImport(Glibc)
internal import Glibc
#endif

extension PacketSource {
    /// Reads `first`, then, each time the capture is lost and `options.reopenDelays` allows, the
    /// interface opened again, until `stop()`.
    func readLive(
        _ first: PcapHandle, options: LiveCaptureOptions, into summary: inout CaptureSummary,
        whenIdle: (Timestamp) throws -> Void, whenCaptureChanges: (LiveCaptureEvent) -> Void,
        _ handler: (CapturedPacket) throws -> Void
    ) throws {
        var handle = first
        while let lost = try readLive(handle, into: &summary, whenIdle: whenIdle, handler) {
            guard let delays = options.reopenDelays else {
                throw CaptureError.liveCaptureFailed(interface: options.interface, detail: lost)
            }
            let since = Self.wallClock()
            shared.withLock {
                $0.statistics.isCapturing = false
                $0.statistics.interruptions += 1
            }
            whenCaptureChanges(.lost(lost))
            guard
                let next = try reopen(
                    options, delays: delays, whenIdle: whenIdle, whenCaptureChanges: whenCaptureChanges)
            else { return }
            handle = next
            // The new handle's counters start at zero; the totals go on from where they were.
            shared.withLock {
                $0.statistics.isCapturing = true
                $0.rawStatistics = (0, 0, 0)
            }
            whenCaptureChanges(.resumed(afterSeconds: Double(Self.wallClock().nanoseconds - since.nanoseconds) / 1e9))
        }
    }

    /// Reads `handle` until `stop()` (nil) or until the capture fails: then the packets still in
    /// the ring are read, and libpcap's words returned.
    private func readLive(
        _ handle: PcapHandle, into summary: inout CaptureSummary, whenIdle: (Timestamp) throws -> Void,
        _ handler: (CapturedPacket) throws -> Void
    ) throws -> String? {
        shared.withLock { $0.current = handle }
        defer {
            refreshStatistics(handle)
            release(handle)
        }
        var nextRefresh = Int64.min
        func take(_ packet: CapturedPacket) throws {
            summary.packets += 1
            summary.bytes += packet.bytes.count
            // Statistics by packet time: no clock read per packet.
            if packet.timestamp.nanoseconds >= nextRefresh {
                refreshStatistics(handle)
                nextRefresh = packet.timestamp.nanoseconds &+ 1_000_000_000
            }
            try handler(packet)
        }
        while !stopRequested.load(ordering: .relaxed) {
            // The packets are read in place in the kernel's ring, a batch per call; `stop()`
            // breaks libpcap's loop before the next packet of a batch.
            switch try handle.dispatchLive(take) {
            case .packets:
                continue
            case .timeout:
                refreshStatistics(handle)
                try whenIdle(Self.wallClock())
            case .end:
                return nil
            case .error(let detail):
                _ = try handle.drainAfterLoss(take)
                return detail
            }
        }
        return nil
    }

    /// Opens `options.interface` again: a first attempt after `delays.lowerBound` milliseconds,
    /// then after twice as long each time up to `delays.upperBound`, calling `whenIdle` every
    /// wake-up interval meanwhile (idle connections end, statistics are published, a reload is
    /// applied). nil when `stop()` came first.
    private func reopen(
        _ options: LiveCaptureOptions, delays: ClosedRange<Int32>, whenIdle: (Timestamp) throws -> Void,
        whenCaptureChanges: (LiveCaptureEvent) -> Void
    ) throws -> PcapHandle? {
        let step = max(options.wakeupInterval, 1)
        var delay = max(delays.lowerBound, 1)
        var waited: Int32 = 0
        var lastFailure: String?
        while !stopRequested.load(ordering: .relaxed) {
            let wait = min(step, delay - waited)
            usleep(UInt32(wait) * 1000)
            waited += wait
            try whenIdle(Self.wallClock())
            guard waited >= delay, !stopRequested.load(ordering: .relaxed) else { continue }
            waited = 0
            delay = min(delay.multipliedReportingOverflow(by: 2).partialValue, delays.upperBound)
            do {
                return try PcapHandle.openLive(options)
            } catch {
                // Said once, not at every attempt: an interface away for an hour would flood the log.
                if error.description != lastFailure {
                    lastFailure = error.description
                    whenCaptureChanges(.reopenFailed(error.description))
                }
            }
        }
        return nil
    }

    /// Now, on the clock the kernel stamps packets with (CLOCK_REALTIME).
    static func wallClock() -> Timestamp {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Timestamp(seconds: Int64(now.tv_sec), nanoseconds: Int64(now.tv_nsec))
    }

    /// Reads `pcap_stats` and adds the deltas (mod 2³²) to the 64-bit totals.
    func refreshStatistics(_ handle: PcapHandle) {
        guard let raw = handle.rawStatistics() else { return }
        shared.withLock { state in
            let last = state.rawStatistics
            state.statistics.received &+= UInt64(raw.received &- last.received)
            state.statistics.droppedByKernel &+= UInt64(raw.dropped &- last.dropped)
            state.statistics.droppedByInterface &+= UInt64(raw.interfaceDropped &- last.interfaceDropped)
            state.rawStatistics = raw
        }
    }
}
