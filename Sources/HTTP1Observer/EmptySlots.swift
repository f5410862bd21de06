// Values owning nothing (an empty, small or literal string, the empty array, nil): stored over without a release, copied without a retain, left in an ended exchange.

// An assignment to a stored `String`, `String?` or class reference releases the old value through a
// runtime call, even when that value owns no storage (`""` as `take()` leaves it, the literal
// `"HTTP/1.1"`, nil): the compiler cannot tell what a stored slot holds. On the exchange path such
// slots are the usual case (a summary's fields moved out when its request was emitted, a pooled
// response's emptied fields), about a dozen calls per exchange. These stores compare the old value's
// bits with those of the value owning nothing instead (two words, no call) and then initialize the slot
// over it, which leaks nothing; any other old value is assigned over as before.

extension String {
    /// Stores `value`; the old value is not released when it is the empty literal.
    @inline(__always)
    mutating func replaceEmpty(with value: consuming String) {
        if Self.sameBits(self, "") {
            initializeSlot(&self, to: value)
        } else {
            self = value
        }
    }

    /// Stores `value`; the old value is not released when it is the empty literal or one of `literals`
    /// (string literals of at most 15 UTF-8 bytes are small: kept in the value itself, no storage).
    @inline(__always)
    mutating func replaceEmpty(with value: consuming String, orSmallLiterals literals: (String, String)) {
        if Self.sameBits(self, "") || Self.sameBits(self, literals.0) || Self.sameBits(self, literals.1) {
            initializeSlot(&self, to: value)
        } else {
            self = value
        }
    }

    /// The two strings are the same bits (the same small string, or the same storage).
    @inline(__always)
    static func sameBits(_ a: String, _ b: String) -> Bool {
        unsafeBitCast(a, to: (UInt64, UInt64).self) == unsafeBitCast(b, to: (UInt64, UInt64).self)
    }
}

extension Optional {
    /// Stores `value`; the old value is not released when it is nil (a `String?` or reference slot:
    /// specialized where it is used, in this module).
    @inline(__always)
    mutating func replaceNil(with value: consuming Wrapped?) {
        if case .none = self {
            initializeSlot(&self, to: value)
        } else {
            self = value
        }
    }
}

extension Array {
    /// Stores `value`; the old value is not released when it is the shared empty array (an empty
    /// literal, or what `removeAll()` leaves: the runtime's one empty storage, no allocation).
    @inline(__always)
    mutating func replaceEmpty(with value: consuming [Element]) {
        if unsafeBitCast(self, to: UInt.self) == unsafeBitCast([Element](), to: UInt.self) {
            initializeSlot(&self, to: value)
        } else {
            self = value
        }
    }
}

/// Initializes `slot` to `value` without destroying what it held (the caller checked that it owns
/// nothing). A function taking the slot's address: a closure passed to `withUnsafeMutablePointer`
/// could not move the consumed value on, it copied it (a retain and a release).
@inline(__always)
private func initializeSlot<T>(_ slot: UnsafeMutablePointer<T>, to value: consuming T) {
    slot.initialize(to: value)
}

// The end of an exchange the observer built: once the sink is done with it, its 13 strings and 2 arrays
// were released one runtime call each by the exchange's destroy, about 330 instructions, though most of
// them own no storage (nil, small strings such as "GET", `HTTP/1.1`, most hosts and queries, the empty
// array). The exchange is moved into raw memory instead, and only the values that own storage are
// deinitialized there; the memory is left holding nothing that needs a release.

/// A string slot (`String` or `String?`) whose value owns storage: a native string. Nil is all zero
/// bits; an empty, small or literal string is immortal (the top bit of its second word, where a native
/// string's object pointer is), and releasing it does nothing.
@inline(__always)
private func ownsStorage(string slot: UnsafeRawPointer) -> Bool {
    slot.load(fromByteOffset: 8, as: Int64.self) > 0
}

extension String {
    /// A copy of the `String` or `String?` at `slot`: bit for bit, without a retain call, when it owns
    /// no storage (the runtime's retain does nothing then). Cached values are copied so into each head
    /// (hosts, versions, small paths and User-Agents).
    @inline(__always)
    static func copy<T>(at slot: UnsafePointer<T>) -> T {
        assert(MemoryLayout<T>.size == 16)
        if ownsStorage(string: slot) { return slot.pointee }
        return owningNothing(UnsafeRawPointer(slot).loadUnaligned(as: (UInt64, UInt64).self))
    }

    /// The string (or `String?`) of `bits`, which own no storage: taken as it is, where a bit cast
    /// gave a borrowed value that was retained to be returned.
    @inline(__always)
    static func owningNothing<T>(_ bits: (UInt64, UInt64)) -> T {
        var bits = bits
        return withUnsafeMutableBytes(of: &bits) { $0.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: T.self).move() }
    }
}

extension UnsafeMutablePointer {
    /// Deinitializes the `String` or `String?` here when it owns storage; the memory is raw afterwards.
    @inline(__always)
    func deinitializeString() {
        assert(MemoryLayout<Pointee>.size == 16)
        // A string that owns storage is no nil: released as the `String` it is (moved out and dropped,
        // one release call; `deinitialize` went through the type's metadata).
        if ownsStorage(string: self) { _ = UnsafeMutableRawPointer(self).assumingMemoryBound(to: String.self).move() }
    }
}

extension UnsafeMutablePointer<[UInt8]> {
    /// Moves the array here into the pool of `spares` unless it is the shared empty one (which owns
    /// nothing); the memory is raw afterwards.
    @inline(__always)
    func reclaimArray(into spares: SharedParserState) {
        if UnsafeRawPointer(self).load(as: UInt.self) != unsafeBitCast([UInt8](), to: UInt.self) {
            spares.reclaimBuffer(move())
        }
    }
}

extension UnsafeMutablePointer<HTTPExchange> {
    /// Moves `exchange` here and deinitializes what of it owns storage (see above), its body buffers
    /// taken back by the pool of `spares` (emptied: see `SharedParserState.reclaimBuffer`): the memory
    /// is raw afterwards, ready for the next exchange.
    @inline(__always)
    func discard(_ exchange: consuming HTTPExchange, reclaimingBodiesInto spares: SharedParserState) {
        initialize(to: exchange)
        if case .some = pointee.request {
            let request = UnsafeMutableRawPointer(pointer(to: \.request)!).assumingMemoryBound(to: HTTPRequestSummary.self)
            request.pointer(to: \.method)!.deinitializeString()
            request.pointer(to: \.storedTarget)!.deinitializeString()
            request.pointer(to: \.rawPath)!.deinitializeString()
            request.pointer(to: \.path)!.deinitializeString()
            request.pointer(to: \.query)!.deinitializeString()
            request.pointer(to: \.version)!.deinitializeString()
            request.pointer(to: \.host)!.deinitializeString()
            request.pointer(to: \.userAgent)!.deinitializeString()
            request.pointer(to: \.methodCode)!.deinitializeString()
            request.pointer(to: \.tCode)!.deinitializeString()
            request.pointer(to: \.contentType)!.deinitializeString()
            request.pointer(to: \.bodyPrefix)!.reclaimArray(into: spares)
        }
        if case .some = pointee.response {
            let response = UnsafeMutableRawPointer(pointer(to: \.response)!).assumingMemoryBound(to: HTTPResponseSummary.self)
            response.pointer(to: \.contentType)!.deinitializeString()
            response.pointer(to: \.contentEncoding)!.deinitializeString()
            response.pointer(to: \.bodyPrefix)!.reclaimArray(into: spares)
        }
    }
}
