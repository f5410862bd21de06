/// What a gap or the end of a direction does to one direction's HTTP/1.1 framing.
import PacketDecoding

extension HTTPMessageParser {
    /// `length` bytes of this direction are missing.
    mutating func gap(length: Int, time: Timestamp) -> GapOutcome {
        switch state {
        case .idle, .startLine, .fieldLines, .awaitingFraming, .http2Preface, .tlsRecordHeader, .proxyHeaderV1,
            .proxyHeaderV2:
            if isResynchronising {
                resetHead()
                messageFirstByte = nil
                state = .startLine(StartLineScanner(kind: expectedKind))
                return .whileResynchronising
            }
            loseSync(atLineStart: true)
            return .lost(.gapInHeaders)
        case .body(let remaining):
            messageSawGap = true
            messageLastByte = time
            if length < remaining {
                state = .body(remaining: remaining - length)
                return .absorbed
            }
            if length == remaining {
                endMessage()
                return .completed
            }
            loseSync(atLineStart: true)
            return .completedThenLost(.gapInHeaders, bodyBytes: remaining)
        case .chunkData(let remaining) where length < remaining:
            messageSawGap = true
            messageLastByte = time
            state = .chunkData(remaining: remaining - length)
            return .absorbed
        case .chunkData, .chunkSize, .chunkDataEnd, .trailers:
            loseSync(atLineStart: true)
            return .lost(.gapInChunkFraming)
        case .untilClose:
            messageSawGap = true
            messageLastByte = time
            return .absorbed
        case .skipLine:
            resetHead()
            messageFirstByte = nil
            state = .startLine(StartLineScanner(kind: expectedKind))
            return .whileResynchronising
        case .awaitingUpgradeDecision:
            droppedWhileAwaitingUpgrade = true
            discardEarlyTunnelBytes()
            return .ignored
        case .ignoring, .tunnel:
            return .ignored
        }
    }

    /// The direction ended; what was in progress.
    mutating func finish() -> FinishOutcome {
        // Nothing more comes: a head left unfinished is let go now, not kept while the connection's
        // observer waits as a spare (and its bytes charged meanwhile).
        defer {
            state = .ignoring
            resetHead()
            discardEarlyTunnelBytes()
        }
        switch state {
        case .idle, .skipLine, .awaitingUpgradeDecision, .ignoring, .tunnel:
            return .betweenMessages
        case .startLine, .fieldLines, .http2Preface, .tlsRecordHeader, .proxyHeaderV1, .proxyHeaderV2:
            return isResynchronising ? .betweenMessages : .headIncomplete
        case .awaitingFraming, .body, .chunkSize, .chunkData, .chunkDataEnd, .trailers:
            return .bodyIncomplete
        case .untilClose:
            return .bodyComplete
        }
    }
}
