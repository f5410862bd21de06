// AMQPMethodID.swift — AMQP 0-9-1 class/method ids (spec §1, amqp0-9-1.xml) and RabbitMQ's extensions.

/// A method's class id and method id, the first four octets of a method frame payload (§4.2.4).
public struct AMQPMethodID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var classID: UInt16
    public var methodID: UInt16

    @inlinable
    public init(classID: UInt16, methodID: UInt16) {
        self.classID = classID
        self.methodID = methodID
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.classID, lhs.methodID) < (rhs.classID, rhs.methodID)
    }

    static let connectionClose = Self(classID: 10, methodID: 50)
    static let connectionCloseOk = Self(classID: 10, methodID: 51)
    static let connectionTuneOk = Self(classID: 10, methodID: 31)
    static let channelOpen = Self(classID: 20, methodID: 10)
    static let channelClose = Self(classID: 20, methodID: 40)
    static let channelCloseOk = Self(classID: 20, methodID: 41)
    static let basicConsume = Self(classID: 60, methodID: 20)
    static let basicConsumeOk = Self(classID: 60, methodID: 21)
    static let basicCancel = Self(classID: 60, methodID: 30)
    static let basicCancelOk = Self(classID: 60, methodID: 31)
    static let basicDeliver = Self(classID: 60, methodID: 60)
    static let basicGet = Self(classID: 60, methodID: 70)
    static let basicGetOk = Self(classID: 60, methodID: 71)
    static let basicGetEmpty = Self(classID: 60, methodID: 72)
    static let basicAck = Self(classID: 60, methodID: 80)
    static let basicReject = Self(classID: 60, methodID: 90)
    static let basicRecoverAsync = Self(classID: 60, methodID: 100)
    static let basicRecover = Self(classID: 60, methodID: 110)
    static let basicNack = Self(classID: 60, methodID: 120)

    /// `class.method` as in the spec (`basic.deliver`), or `c.m` numbers when unknown.
    public var description: String { name ?? "\(classID).\(methodID)" }

    /// The spec's name, nil for ids neither AMQP 0-9-1 nor RabbitMQ define.
    public var name: String? {
        guard let (className, methods) = Self.table[classID], let method = methods[methodID] else { return nil }
        return "\(className).\(method)"
    }

    /// True for the ids of AMQP 0-9-1 (amqp0-9-1.xml) and RabbitMQ's extensions
    /// (connection.blocked/unblocked/update-secret, exchange.bind/unbind, confirm, basic.nack).
    public var isKnown: Bool {
        switch (classID, methodID) {
        case (10, 10), (10, 11), (10, 20), (10, 21), (10, 30), (10, 31), (10, 40), (10, 41), (10, 50), (10, 51),
            (10, 60), (10, 61), (10, 70), (10, 71):
            return true
        case (20, 10), (20, 11), (20, 20), (20, 21), (20, 40), (20, 41):
            return true
        case (40, 10), (40, 11), (40, 20), (40, 21), (40, 30), (40, 31), (40, 40), (40, 51):
            return true
        case (50, 10), (50, 11), (50, 20), (50, 21), (50, 30), (50, 31), (50, 40), (50, 41), (50, 50), (50, 51):
            return true
        case (60, 10), (60, 11), (60, 20), (60, 21), (60, 30), (60, 31), (60, 40), (60, 50), (60, 60), (60, 70),
            (60, 71), (60, 72), (60, 80), (60, 90), (60, 100), (60, 110), (60, 111), (60, 120):
            return true
        case (85, 10), (85, 11), (90, 10), (90, 11), (90, 20), (90, 21), (90, 30), (90, 31):
            return true
        default:
            return false
        }
    }

    /// Known class ids, in the order of their slots.
    private static let classIDs: [UInt16] = [10, 20, 40, 50, 60, 85, 90]
    /// Method ids are n * 10 + r with n <= 12 and r <= 2 (basic.get-empty is 72).
    private static let methodSlots = 39
    static let slotCount = classIDs.count * methodSlots

    /// A dense index for a known id (counters without hashing).
    var slot: Int {
        let classIndex: Int
        switch classID {
        case 10: classIndex = 0
        case 20: classIndex = 1
        case 40: classIndex = 2
        case 50: classIndex = 3
        case 60: classIndex = 4
        case 85: classIndex = 5
        default: classIndex = 6
        }
        return classIndex * Self.methodSlots + Int(methodID / 10) * 3 + Int(methodID % 10)
    }

    init(slot: Int) {
        let methodIndex = slot % Self.methodSlots
        self.init(
            classID: Self.classIDs[slot / Self.methodSlots],
            methodID: UInt16(methodIndex / 3 * 10 + methodIndex % 3))
    }

    private static let table: [UInt16: (String, [UInt16: String])] = [
        10: ("connection", [10: "start", 11: "start-ok", 20: "secure", 21: "secure-ok", 30: "tune", 31: "tune-ok",
                            40: "open", 41: "open-ok", 50: "close", 51: "close-ok", 60: "blocked", 61: "unblocked",
                            70: "update-secret", 71: "update-secret-ok"]),
        20: ("channel", [10: "open", 11: "open-ok", 20: "flow", 21: "flow-ok", 40: "close", 41: "close-ok"]),
        40: ("exchange", [10: "declare", 11: "declare-ok", 20: "delete", 21: "delete-ok", 30: "bind", 31: "bind-ok",
                          40: "unbind", 51: "unbind-ok"]),
        50: ("queue", [10: "declare", 11: "declare-ok", 20: "bind", 21: "bind-ok", 30: "purge", 31: "purge-ok",
                       40: "delete", 41: "delete-ok", 50: "unbind", 51: "unbind-ok"]),
        60: ("basic", [10: "qos", 11: "qos-ok", 20: "consume", 21: "consume-ok", 30: "cancel", 31: "cancel-ok",
                       40: "publish", 50: "return", 60: "deliver", 70: "get", 71: "get-ok", 72: "get-empty",
                       80: "ack", 90: "reject", 100: "recover-async", 110: "recover", 111: "recover-ok", 120: "nack"]),
        85: ("confirm", [10: "select", 11: "select-ok"]),
        90: ("tx", [10: "select", 11: "select-ok", 20: "commit", 21: "commit-ok", 30: "rollback", 31: "rollback-ok"]),
    ]
}
