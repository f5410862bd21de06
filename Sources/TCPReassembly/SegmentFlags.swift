/// Flag tests on `TCPSegment` as plain bit tests (RFC 9293 §3.1 header bits).

import PacketDecoding

extension TCPSegment {
    // `TCPFlags.syn` etc. are lazily initialised globals of another module;
    // on the per-packet path a constant bit test is cheaper.
    @inline(__always) var isSYN: Bool { flags.rawValue & 0x02 != 0 }
    @inline(__always) var isFIN: Bool { flags.rawValue & 0x01 != 0 }
    @inline(__always) var isRST: Bool { flags.rawValue & 0x04 != 0 }
    @inline(__always) var isACK: Bool { flags.rawValue & 0x10 != 0 }
}
