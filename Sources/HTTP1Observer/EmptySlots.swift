// Stores into string, array and reference slots that hold a value owning nothing (an empty or small literal, the empty array, nil), without a release.

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
