// The partner table: URL authority -> partner value and path -> action code (REFERENCE-BEHAVIOUR §3).

import TCPReassembly  // SlotIndex
import Yams

/// Known partner hosts, keyed by authority (`host[:port]`) exactly as in the URL called: the `Host`
/// header, or an absolute-form target's authority through a forward proxy (`HTTPRequestSummary.host`).
public struct PartnerTable: Sendable, Hashable {
    /// One partner: the hosts that share it, its `partner` label value and its actions by path.
    public struct Entry: Sendable, Hashable {
        public var hosts: [String]
        /// `"1"`, `"2"` or `""`; a non-empty value is also the call's `tcode`.
        public var partner: String
        /// Exact request path (no query) → action code (`""` when listed without one).
        public var actions: [String: String]

        public init(hosts: [String], partner: String, actions: [String: String]) {
            self.hosts = hosts
            self.partner = partner
            self.actions = actions
        }
    }

    public enum LoadError: Error, CustomStringConvertible {
        case invalid(String)

        public var description: String {
            switch self {
            case .invalid(let why): return "invalid partner table: \(why)"
            }
        }
    }

    public let entries: [Entry]
    private let byAuthority: [String: Int]
    /// Bit `n` set when a host is `n` bytes long (bit 63: 63 or more), all hosts being ASCII;
    /// nil when a host is not ASCII. Most outgoing calls go to hosts not in the table: an
    /// ASCII authority of a length no host has is not in it (String equality between ASCII
    /// texts is byte equality), which spares SipHash over the authority on every call.
    private let asciiHostLengths: UInt64?
    /// When every host is ASCII: the hosts (the first of equal ones) with their entry, found by
    /// a cheap seeded hash of their bytes (`LabelSetKey.valueHash`) and compared in full. For an
    /// ASCII authority String equality is byte equality, so this finds what `byAuthority` finds
    /// without SipHash over the authority (measured: about 480 instructions per outgoing call).
    private let asciiHosts: [(host: String, hash: UInt64, entry: Int)]
    private let asciiIndex: SlotIndex

    public init(entries: [Entry]) {
        self.entries = entries
        var index: [String: Int] = [:]
        var lengths: UInt64? = 0
        var hosts: [(host: String, hash: UInt64, entry: Int)] = []
        for (i, entry) in entries.enumerated() {
            for host in entry.hosts {
                if index[host] == nil {
                    index[host] = i
                    hosts.append((host, LabelSetKey.valueHash(host), i))
                }
                if let known = lengths {
                    lengths = host.utf8IsASCII ? known | Self.lengthBit(host.utf8.count) : nil
                }
            }
        }
        byAuthority = index
        asciiHostLengths = lengths
        var slots = SlotIndex(minimumCapacity: max(16, 2 * hosts.count))
        if lengths != nil {
            for (slot, host) in hosts.enumerated() { slots.insert(hash: UInt32(truncatingIfNeeded: host.hash), slot: slot) }
        } else {
            hosts = []
        }
        asciiHosts = hosts
        asciiIndex = slots
    }

    private static func lengthBit(_ length: Int) -> UInt64 { 1 << UInt64(min(length, 63)) }

    /// Parses `partners:` YAML: a list of `{hosts: [..], partner: "1", actions: {path: code}}`
    /// (scalars may be numbers; they are taken as their text). Accepts the list itself or a
    /// mapping with a `partners` key.
    public init(yaml: String) throws {
        // Every value is taken as its text, so plain scalars need no tag: Yams' default resolver
        // compiles its regular expressions (ICU) on first use, 9 M instructions, 29 % of the
        // instructions of a `replay` that reads no configuration file.
        guard let root = try Yams.compose(yaml: yaml, .basic) else { throw LoadError.invalid("empty document") }
        let list: Node
        if case .mapping(let mapping) = root {
            guard let partners = mapping["partners"] else { throw LoadError.invalid("no `partners` key") }
            list = partners
        } else {
            list = root
        }
        guard case .sequence(let items) = list else { throw LoadError.invalid("`partners` is not a list") }
        var entries: [Entry] = []
        for (i, item) in items.enumerated() {
            let line = item.mark.map { " (line \($0.line))" } ?? ""
            guard case .mapping(let fields) = item else { throw LoadError.invalid("partner #\(i + 1) is not a mapping\(line)") }
            for (key, _) in fields {
                guard let name = key.string, ["hosts", "partner", "actions"].contains(name) else {
                    throw LoadError.invalid("partner #\(i + 1): unknown key `\(key.string ?? "?")`\(line)")
                }
            }
            guard case .sequence(let hostNodes)? = fields["hosts"], !hostNodes.isEmpty else {
                throw LoadError.invalid("partner #\(i + 1): `hosts` must be a non-empty list\(line)")
            }
            let hosts = try hostNodes.map { node -> String in
                guard let text = node.scalar?.string else { throw LoadError.invalid("partner #\(i + 1): a host is not text\(line)") }
                return text
            }
            let partner = fields["partner"]?.scalar?.string ?? ""
            var actions: [String: String] = [:]
            if let actionNode = fields["actions"] {
                guard case .mapping(let pairs) = actionNode else {
                    throw LoadError.invalid("partner #\(i + 1): `actions` must be a mapping\(line)")
                }
                for (path, code) in pairs {
                    guard let p = path.scalar?.string else { continue }
                    actions[p] = code.scalar?.string ?? ""
                }
            }
            entries.append(Entry(hosts: hosts, partner: partner, actions: actions))
        }
        self.init(entries: entries)
    }

    /// The table built into channel-exporter 1.2.2 (`builtInYAML`).
    public static func builtIn() throws -> PartnerTable {
        try parsedBuiltIn.get()
    }

    /// Parsed once: every pipeline of a sharded replay builds its configuration, and each parse of
    /// the YAML took about 3 M instructions (1 ms) of the replay's start.
    private static let parsedBuiltIn = Result { try PartnerTable(yaml: builtInYAML) }

    /// The entry for an authority, compared exactly (case-sensitive, port included).
    public func lookup(authority: String) -> Entry? {
        if let asciiHostLengths, authority.utf8IsASCII {
            if asciiHostLengths & Self.lengthBit(authority.utf8.count) == 0 { return nil }
            let hash = LabelSetKey.valueHash(authority)
            let found = asciiIndex.find(hash: UInt32(truncatingIfNeeded: hash)) {
                asciiHosts[$0].hash == hash && asciiHosts[$0].host == authority
            }
            return found.map { entries[asciiHosts[$0].entry] }
        }
        return byAuthority[authority].map { entries[$0] }
    }

    public static func == (lhs: PartnerTable, rhs: PartnerTable) -> Bool { lhs.entries == rhs.entries }
    public func hash(into hasher: inout Hasher) { hasher.combine(entries) }
}
