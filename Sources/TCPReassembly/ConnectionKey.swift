/// The canonical, fixed-size key of a TCP connection, the same for both directions.

import PacketDecoding

/// Both endpoints of a connection, the lower one first (gopacket `flows.go`:
/// a canonical `Flow` with a `FastHash`), so both directions find one entry.
/// Five words, no allocation: equality is five word compares.
struct ConnectionKey: Equatable {
    var lowAddressHigh: UInt64
    var lowAddressLow: UInt64
    var highAddressHigh: UInt64
    var highAddressLow: UInt64
    /// `lowPort << 32 | highPort << 16 | isIPv6`, one word.
    var portsAndFamily: UInt64

    /// The key of `segment`'s connection and whether its source is the lower endpoint.
    ///
    /// Endpoints are ordered by address (high word, low word), then port.
    /// Both endpoints of a packet belong to one address family, so the
    /// family takes no part in the order.
    @inline(__always)
    init(source: Endpoint, destination: Endpoint, sourceIsLow: inout Bool) {
        let s = source.address, d = destination.address
        let sourceFirst: Bool
        if s.high != d.high {
            sourceFirst = s.high < d.high
        } else if s.low != d.low {
            sourceFirst = s.low < d.low
        } else {
            sourceFirst = source.port < destination.port
        }
        sourceIsLow = sourceFirst
        let low = sourceFirst ? source : destination
        let high = sourceFirst ? destination : source
        lowAddressHigh = low.address.high
        lowAddressLow = low.address.low
        highAddressHigh = high.address.high
        highAddressLow = high.address.low
        portsAndFamily = UInt64(low.port) << 32 | UInt64(high.port) << 16 | (s.isIPv6 ? 1 : 0)
    }

    var lowPort: UInt16 { UInt16(truncatingIfNeeded: portsAndFamily >> 32) }
    var highPort: UInt16 { UInt16(truncatingIfNeeded: portsAndFamily >> 16) }
    var isIPv6: Bool { portsAndFamily & 1 != 0 }

    /// Without branches: a lookup compares a key per probe.
    @inline(__always)
    static func == (lhs: ConnectionKey, rhs: ConnectionKey) -> Bool {
        (lhs.lowAddressHigh ^ rhs.lowAddressHigh) | (lhs.lowAddressLow ^ rhs.lowAddressLow)
            | (lhs.highAddressHigh ^ rhs.highAddressHigh) | (lhs.highAddressLow ^ rhs.highAddressLow)
            | (lhs.portsAndFamily ^ rhs.portsAndFamily) == 0
    }

    var lowEndpoint: Endpoint {
        Endpoint(address: Self.address(lowAddressHigh, lowAddressLow, isIPv6), port: lowPort)
    }

    var highEndpoint: Endpoint {
        Endpoint(address: Self.address(highAddressHigh, highAddressLow, isIPv6), port: highPort)
    }

    private static func address(_ high: UInt64, _ low: UInt64, _ isIPv6: Bool) -> IPAddress {
        isIPv6 ? IPAddress(ipv6High: high, low: low) : IPAddress(ipv4: UInt32(truncatingIfNeeded: low))
    }

    /// A fast keyed hash (multiply-fold mixing, as in wyhash). The seed is
    /// random per reassembler so that remote peers cannot aim for collisions.
    /// Addresses and ports go through separate rounds: folding ports into
    /// the address words would let address and port bits cancel (many
    /// clients in one subnet with nearby ports would then collide).
    @inline(__always)
    func hash(seed: UInt64) -> UInt32 {
        let ports = portsAndFamily
        var h = Self.mix(lowAddressLow ^ seed, highAddressLow ^ seed.byteSwapped ^ 0x9E37_79B9_7F4A_7C15)
        if portsAndFamily & 1 != 0 {
            h = Self.mix(h ^ lowAddressHigh, highAddressHigh ^ seed ^ 0xBF58_476D_1CE4_E5B9)
        }
        h = Self.mix(h ^ ports, 0x94D0_49BB_1331_11EB)
        return UInt32(truncatingIfNeeded: h ^ h >> 32)
    }

    @inline(__always)
    private static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }
}
