/// The canonical, fixed-size key of a TCP connection, the same for both directions.

import PacketDecoding

/// Both endpoints of a connection, the lower one first (gopacket `flows.go`:
/// a canonical `Flow` with a `FastHash`), so both directions find one entry.
/// 37 bytes, no allocation, compared field by field.
struct ConnectionKey: Equatable {
    var lowAddressHigh: UInt64
    var lowAddressLow: UInt64
    var highAddressHigh: UInt64
    var highAddressLow: UInt64
    var lowPort: UInt16
    var highPort: UInt16
    var isIPv6: Bool

    /// The key of `segment`'s connection and whether its source is the lower endpoint.
    @inline(__always)
    init(source: Endpoint, destination: Endpoint, sourceIsLow: inout Bool) {
        let low: Endpoint, high: Endpoint
        if source < destination {
            low = source; high = destination; sourceIsLow = true
        } else {
            low = destination; high = source; sourceIsLow = false
        }
        lowAddressHigh = low.address.high
        lowAddressLow = low.address.low
        highAddressHigh = high.address.high
        highAddressLow = high.address.low
        lowPort = low.port
        highPort = high.port
        isIPv6 = low.address.isIPv6
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
        let ports = UInt64(lowPort) << 16 | UInt64(highPort)
        var h = Self.mix(lowAddressLow ^ seed, highAddressLow ^ seed.byteSwapped ^ 0x9E37_79B9_7F4A_7C15)
        if isIPv6 {
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
