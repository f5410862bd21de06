/// Copies of segments that arrived ahead of the next expected byte of one direction.

import PacketDecoding

/// Sorted, non-overlapping pieces of one direction's stream beyond a hole.
///
/// Only out-of-order data is copied (gopacket copies only what it cannot
/// pass through). An insert adds at most one piece and at most the bytes of
/// the segment, so the caller can check limits before inserting.
final class OutOfOrderBuffer {
    struct Piece {
        var sequence: TCPSequence
        /// Capture time of the packet that carried these bytes.
        var time: Timestamp
        var bytes: [UInt8]
        /// Bytes after this piece that the packet carried but snaplen cut off.
        var missingAfter: Int

        var end: TCPSequence { sequence.advanced(by: bytes.count) }
    }

    /// What an insert did, for the statistics.
    struct InsertOutcome {
        var addedBytes = 0
        var addedPieces = 0
        /// Bytes that were already buffered (retransmitted or overlapping).
        var duplicateBytes = 0
        /// Of those, bytes whose content differed from the buffered copy.
        var conflictingBytes = 0
    }

    private(set) var pieces: [Piece] = []
    private(set) var byteCount = 0

    /// What one piece costs beyond its bytes (array header, allocation,
    /// entry): limits count it so that many tiny segments cannot exceed them.
    static let pieceOverhead = 64

    /// Bytes plus the overhead of each piece; what the limits are checked against.
    var footprint: Int { byteCount + pieces.count * Self.pieceOverhead }

    var isEmpty: Bool { pieces.isEmpty }
    var first: Piece? { pieces.first }

    /// Buffers `bytes` (starting at `sequence`, ahead of `base`) where no
    /// piece holds them yet. Overlap with a piece's edge keeps the buffered
    /// bytes; pieces wholly inside the new segment are replaced by it. Both
    /// count as duplicates; differing bytes also as conflicts.
    func insert(
        sequence: TCPSequence, bytes: UnsafeRawBufferPointer, missingAfter: Int, time: Timestamp, base: TCPSequence
    ) -> InsertOutcome {
        var outcome = InsertOutcome()
        let origin = base.distance(to: sequence)
        var start = origin
        var end = origin + bytes.count
        var missing = missingAfter
        guard start < end else { return outcome }

        // First piece that ends after the new segment starts (arrivals are
        // mostly increasing, so search from the back).
        var index = pieces.count
        while index > 0 && base.distance(to: pieces[index - 1].end) > start { index -= 1 }

        // Front overlap: keep the buffered bytes.
        if index < pieces.count {
            let piece = pieces[index]
            let pieceStart = base.distance(to: piece.sequence)
            if pieceStart <= start {
                let overlapEnd = min(end, pieceStart + piece.bytes.count)
                compare(piece, from: start - pieceStart, with: bytes, from: start - origin,
                        count: overlapEnd - start, into: &outcome)
                start = overlapEnd
                index += 1
                if start >= end { return outcome }
            }
        }
        // Pieces wholly inside [start, end): the new copy replaces them.
        var last = index
        while last < pieces.count && base.distance(to: pieces[last].end) <= end {
            let piece = pieces[last]
            compare(piece, from: 0, with: bytes, from: base.distance(to: piece.sequence) - origin,
                    count: piece.bytes.count, into: &outcome)
            outcome.addedBytes -= piece.bytes.count
            outcome.addedPieces -= 1
            last += 1
        }
        pieces.removeSubrange(index..<last)
        // Back overlap: keep the buffered bytes of the next piece.
        if index < pieces.count {
            let piece = pieces[index]
            let pieceStart = base.distance(to: piece.sequence)
            if pieceStart < end {
                compare(piece, from: 0, with: bytes, from: pieceStart - origin, count: end - pieceStart, into: &outcome)
                end = pieceStart
                missing = 0
            }
        }
        guard start < end else {
            byteCount += outcome.addedBytes
            return outcome
        }
        let copy = Array(UnsafeRawBufferPointer(rebasing: bytes[(start - origin)..<(end - origin)]))
        let piece = Piece(sequence: base.advanced(by: start), time: time, bytes: copy, missingAfter: missing)
        pieces.insert(piece, at: index)
        outcome.addedBytes += copy.count
        outcome.addedPieces += 1
        byteCount += outcome.addedBytes
        return outcome
    }

    /// Removes and returns the first piece.
    func removeFirst() -> Piece {
        let piece = pieces.removeFirst()
        byteCount -= piece.bytes.count
        return piece
    }

    private func compare(
        _ piece: Piece, from pieceOffset: Int, with bytes: UnsafeRawBufferPointer, from offset: Int, count: Int,
        into outcome: inout InsertOutcome
    ) {
        guard count > 0 else { return }
        outcome.duplicateBytes += count
        var differing = 0
        for k in 0..<count where piece.bytes[pieceOffset + k] != bytes[offset + k] { differing += 1 }
        outcome.conflictingBytes += differing
    }
}
