/// In-order delivery, out-of-order buffering and gaps for one direction of a connection.

import PacketDecoding

extension ReassemblerState {
    /// The peer acknowledged `ack` of `half`: a hole it has passed was lost
    /// from the capture only (the receiver has those bytes) and becomes a gap.
    mutating func acknowledge(
        _ ack: TCPSequence, of half: inout HalfStream, consumer: ConsumerReference, direction: StreamDirection,
        time: Timestamp
    ) {
        half.noteAcknowledgment(ack)
        let advance = half.nextSequence.distance(to: ack)
        guard advance > 0 && advance < Self.maximumAckAdvance && half.hasHole else { return }
        drain(&half, upTo: ack, consumer: consumer, direction: direction, time: time)
    }

    /// Data and FIN of one segment for its sender's direction.
    mutating func receive(
        _ segment: TCPSegment, into half: inout HalfStream, otherBuffered: (bytes: Int, pieces: Int),
        consumer: ConsumerReference, direction: StreamDirection
    ) {
        let time = segment.timestamp
        var start = TCPSequence(segment.sequenceNumber)
        if segment.isSYN { start = start.advanced(by: 1) }  // the SYN takes one number
        if !half.isStarted {
            // Capture started mid-connection and no ACK of the peer's has placed this
            // direction yet (`exchange`): the first byte seen is the start.
            half.nextSequence = start
            half.flags.insert(.started)
        }
        let length = segment.payloadLength
        if half.nextSequence.distance(to: start) >= configuration.maxSequenceAdvance
            && !resynchronize(&half, toward: start, consumer: consumer, direction: direction, time: time)
        {
            stats.ignoredSegments[.outOfWindow] += 1
            return
        }
        if segment.isFIN && !half.flags.contains(.finSeen) {
            half.finSequence = start.advanced(by: length)
            half.flags.insert(.finSeen)
        }
        if length > 0 {
            let payload = UnsafeRawBufferPointer(
                start: segment.payload.baseAddress, count: Swift.min(segment.payload.count, length))
            if half.nextSequence < start {
                bufferOutOfOrder(payload, at: start, length: length, into: &half, otherBuffered: otherBuffered,
                                 consumer: consumer, direction: direction, time: time)
            } else {
                deliverInOrder(payload, at: start, length: length, into: &half, consumer: consumer,
                               direction: direction, time: time)
            }
        } else {
            deliverReady(&half, consumer: consumer, direction: direction, time: time)
        }
        // The peer may already have acknowledged past a hole we now know of.
        if half.hasHole && half.flags.contains(.peerAckSeen) {
            let advance = half.nextSequence.distance(to: half.peerAck)
            if advance > 0 && advance < Self.maximumAckAdvance {
                drain(&half, upTo: half.peerAck, consumer: consumer, direction: direction, time: time)
            }
        }
        if half.hasHole && half.holeSince != .min && time.nanoseconds &- half.holeSince >= holeTimeout {
            drainFirstHole(&half, consumer: consumer, direction: direction, time: time)
        }
    }

    /// A segment far ahead is believable when the peer has acknowledged
    /// bytes beyond the next expected one (the capture lost them): declare
    /// those lost and check again. True when the segment is now within reach.
    private mutating func resynchronize(
        _ half: inout HalfStream, toward start: TCPSequence, consumer: ConsumerReference,
        direction: StreamDirection, time: Timestamp
    ) -> Bool {
        guard half.flags.contains(.peerAckSeen) else { return false }
        let advance = half.nextSequence.distance(to: half.peerAck)
        guard advance > 0 && advance < Self.maximumAckAdvance else { return false }
        let target = half.peerAck < start ? half.peerAck : start
        drain(&half, upTo: target, consumer: consumer, direction: direction, time: time)
        if !half.isEnded && half.nextSequence < target {
            gap(&half, to: target, consumer: consumer, direction: direction, time: time)
            deliverReady(&half, consumer: consumer, direction: direction, time: time)
        }
        return !half.isEnded && half.nextSequence.distance(to: start) < configuration.maxSequenceAdvance
    }

    /// A segment that starts at or before the next expected byte: its new
    /// bytes go to the consumer straight from the capture buffer.
    private mutating func deliverInOrder(
        _ payload: UnsafeRawBufferPointer, at start: TCPSequence, length: Int, into half: inout HalfStream,
        consumer: ConsumerReference, direction: StreamDirection, time: Timestamp
    ) {
        let skip = start.distance(to: half.nextSequence)
        guard skip < length else {
            stats.retransmittedBytes &+= UInt64(length)
            return
        }
        stats.retransmittedBytes &+= UInt64(skip)
        if skip < payload.count {
            consumer.streamData(UnsafeRawBufferPointer(rebasing: payload[skip...]), direction: direction, time: time)
            half.nextSequence = start.advanced(by: payload.count)
        }
        // Bytes beyond `payload` were cut by snaplen: they are a gap.
        let end = start.advanced(by: length)
        deliverReady(&half, consumer: consumer, direction: direction, time: time,
                     recent: (start, payload), missingUntil: payload.count < length ? end : nil)
    }

    /// Copies a segment that lies beyond a hole, within the limits; over a
    /// limit, gives up on everything before it (gaps) and delivers it now.
    private mutating func bufferOutOfOrder(
        _ payload: UnsafeRawBufferPointer, at start: TCPSequence, length: Int, into half: inout HalfStream,
        otherBuffered: (bytes: Int, pieces: Int), consumer: ConsumerReference, direction: StreamDirection,
        time: Timestamp
    ) {
        guard !payload.isEmpty else { return }  // all of it cut by snaplen: the hole stays a hole
        // Limits count each piece's overhead too, so tiny segments cannot exceed them.
        let cost = payload.count + OutOfOrderBuffer.pieceOverhead
        var hit: ReassemblyLimit?
        if half.bufferedFootprint + otherBuffered.bytes + cost > configuration.maxBufferedBytesPerConnection {
            hit = .bufferedBytesPerConnection
        } else if bufferedFootprint + cost > configuration.maxBufferedBytesTotal {
            hit = .bufferedBytesTotal
        } else if half.bufferedPieces + otherBuffered.pieces + 1 > configuration.maxSegmentsPerConnection {
            hit = .segmentsPerConnection
        }
        if let hit {
            stats.limitHits[hit] += 1
            drain(&half, upTo: nil, consumer: consumer, direction: direction, time: time)
            guard !half.isEnded else { return }
            if half.nextSequence < start { gap(&half, to: start, consumer: consumer, direction: direction, time: time) }
            deliverInOrder(payload, at: start, length: length, into: &half, consumer: consumer,
                           direction: direction, time: time)
            return
        }
        let buffer: OutOfOrderBuffer
        if let existing = half.buffer {
            buffer = existing
        } else {
            buffer = OutOfOrderBuffer()
            half.buffer = buffer
        }
        let outcome = buffer.insert(sequence: start, bytes: payload, missingAfter: length - payload.count,
                                    time: time, base: half.nextSequence)
        if outcome.addedPieces > 0 { stats.outOfOrderSegments += 1 }
        stats.bufferedBytes += outcome.addedBytes
        bufferedFootprint += outcome.addedBytes + outcome.addedPieces * OutOfOrderBuffer.pieceOverhead
        stats.retransmittedBytes &+= UInt64(outcome.duplicateBytes)
        stats.conflictingOverlapBytes &+= UInt64(outcome.conflictingBytes)
        if buffer.isEmpty { half.buffer = nil }
    }

    /// Delivers buffered pieces that have become contiguous (each with its
    /// own packet's time), gaps out bytes known to be cut off before
    /// `missingUntil`, and ends the direction when its FIN is reached.
    /// `recent` is the in-order segment just delivered, to compare overlaps with.
    mutating func deliverReady(
        _ half: inout HalfStream, consumer: ConsumerReference, direction: StreamDirection, time: Timestamp,
        recent: (start: TCPSequence, bytes: UnsafeRawBufferPointer)? = nil, missingUntil: TCPSequence? = nil
    ) {
        var missingUntil = missingUntil
        while !half.isEnded {
            if half.flags.contains(.finSeen) && !(half.nextSequence < half.finSequence) {
                end(&half, reason: .fin, consumer: consumer, direction: direction, time: time)
                return
            }
            if let buffer = half.buffer, let first = buffer.first, !(half.nextSequence < first.sequence) {
                let piece = buffer.removeFirst()
                stats.bufferedBytes -= piece.bytes.count
                bufferedFootprint -= piece.bytes.count + OutOfOrderBuffer.pieceOverhead
                let skip = min(piece.sequence.distance(to: half.nextSequence), piece.bytes.count)
                if skip > 0 {
                    stats.retransmittedBytes &+= UInt64(skip)
                    if let recent { countConflicts(piece, skip: skip, against: recent) }
                }
                if skip < piece.bytes.count {
                    piece.bytes.withUnsafeBytes { bytes in
                        consumer.streamData(UnsafeRawBufferPointer(rebasing: bytes[skip...]), direction: direction,
                                            time: piece.time)
                    }
                    half.nextSequence = piece.end
                }
                if piece.missingAfter > 0 {
                    let end = piece.end.advanced(by: piece.missingAfter)
                    if missingUntil.map({ $0 < end }) ?? true { missingUntil = end }
                }
                continue
            }
            if let until = missingUntil, half.nextSequence < until {
                var target = until
                if let pending = half.pendingStart, pending < target { target = pending }
                gap(&half, to: target, consumer: consumer, direction: direction, time: time)
                continue
            }
            break
        }
        if half.buffer?.isEmpty == true { half.buffer = nil }
    }

    /// Declares the bytes up to `limit` (nil: up to all buffered data and the
    /// FIN) missing wherever nothing was buffered, delivering what was.
    mutating func drain(
        _ half: inout HalfStream, upTo limit: TCPSequence?, consumer: ConsumerReference, direction: StreamDirection,
        time: Timestamp
    ) {
        deliverReady(&half, consumer: consumer, direction: direction, time: time)
        while !half.isEnded, let pending = half.pendingStart {
            var target = pending
            if let limit {
                guard half.nextSequence < limit else { break }
                if limit < target { target = limit }
            }
            gap(&half, to: target, consumer: consumer, direction: direction, time: time)
            deliverReady(&half, consumer: consumer, direction: direction, time: time)
        }
    }

    /// Gives up on the first hole only (its wait ran out).
    mutating func drainFirstHole(
        _ half: inout HalfStream, consumer: ConsumerReference, direction: StreamDirection, time: Timestamp
    ) {
        guard let pending = half.pendingStart else { return }
        drain(&half, upTo: pending, consumer: consumer, direction: direction, time: time)
    }

    /// Tells the consumer that the bytes up to `target` will never arrive.
    mutating func gap(
        _ half: inout HalfStream, to target: TCPSequence, consumer: ConsumerReference, direction: StreamDirection,
        time: Timestamp
    ) {
        let length = half.nextSequence.distance(to: target)
        guard length > 0 else { return }
        stats.gaps += 1
        stats.gapBytes &+= UInt64(length)
        consumer.streamGap(length: length, direction: direction, time: time)
        half.nextSequence = target
    }

    /// Ends one direction (exactly once) and frees its buffer.
    mutating func end(
        _ half: inout HalfStream, reason: StreamEndReason, consumer: ConsumerReference, direction: StreamDirection,
        time: Timestamp
    ) {
        guard !half.isEnded else { return }
        half.flags.insert(.ended)
        stats.bufferedBytes -= half.bufferedBytes
        bufferedFootprint -= half.bufferedFootprint
        half.buffer = nil
        half.holeSince = .min
        consumer.streamEnd(direction: direction, reason: reason, time: time)
    }

    /// Starts or restarts the hole clock: a hole waits `holeTimeout` from the
    /// moment it blocks delivery, and again after any progress.
    mutating func settleHole(_ half: inout HalfStream, previousNext: TCPSequence, now: Int64) {
        if half.hasHole {
            if half.holeSince == .min || half.nextSequence != previousNext { half.holeSince = now }
        } else {
            half.holeSince = .min
        }
    }

    /// Counts buffered bytes that differ from the in-order segment that overtook them.
    private mutating func countConflicts(
        _ piece: OutOfOrderBuffer.Piece, skip: Int, against recent: (start: TCPSequence, bytes: UnsafeRawBufferPointer)
    ) {
        let offset = recent.start.distance(to: piece.sequence)
        guard offset >= 0 else { return }
        let count = min(skip, recent.bytes.count - offset)
        guard count > 0 else { return }
        var differing = 0
        for k in 0..<count where piece.bytes[k] != recent.bytes[offset + k] { differing += 1 }
        stats.conflictingOverlapBytes &+= UInt64(differing)
    }
}
