// Which header fields a message head keeps, told by their names a machine word at a time.

/// The header fields the observer reads.
enum KnownField {
    case host, userAgent, methodCode, tCode, contentType, contentEncoding
    case contentLength, transferEncoding, expect, upgrade

    /// Framing and `Host`-like fields match by name ignoring case only (RFC 9110 §5.1);
    /// the fields the reference library reads by WSGI key (`User-Agent`, `Method-Code`,
    /// `T-Code`) also ignore `-` and `_` (REFERENCE-BEHAVIOUR §6).
    static func classify(_ name: UnsafeRawBufferPointer) -> KnownField? {
        // Whole words at a time: the names in little-endian words, with the case bit (0x20) set in the
        // mask at each letter; equal to `equalsIgnoringCase` with the name literal (tested against it).
        switch name.count {
        case 4:
            if name.word32(at: 0, equals: 0x7473_6F68, caseMask: 0x2020_2020) { return .host }
        case 6:
            if name.word32(at: 0, equals: 0x6570_7865, caseMask: 0x2020_2020)
                && name.word32(at: 2, equals: 0x7463_6570, caseMask: 0x2020_2020)
            {
                return .expect
            }
        case 7:
            if name.word32(at: 0, equals: 0x7267_7075, caseMask: 0x2020_2020)
                && name.word32(at: 3, equals: 0x6564_6172, caseMask: 0x2020_2020)
            {
                return .upgrade
            }
        case 12:
            if name.word64(at: 0, equals: 0x2D74_6E65_746E_6F63, caseMask: 0x0020_2020_2020_2020)
                && name.word64(at: 4, equals: 0x6570_7974_2D74_6E65, caseMask: 0x2020_2020_0020_2020)
            {
                return .contentType
            }
        case 14:
            if name.word64(at: 0, equals: 0x2D74_6E65_746E_6F63, caseMask: 0x0020_2020_2020_2020)
                && name.word64(at: 6, equals: 0x6874_676E_656C_2D74, caseMask: 0x2020_2020_2020_0020)
            {
                return .contentLength
            }
        case 16:
            if name.word64(at: 0, equals: 0x2D74_6E65_746E_6F63, caseMask: 0x0020_2020_2020_2020)
                && name.word64(at: 8, equals: 0x676E_6964_6F63_6E65, caseMask: 0x2020_2020_2020_2020)
            {
                return .contentEncoding
            }
        case 17:
            if name.word64(at: 0, equals: 0x7265_6673_6E61_7274, caseMask: 0x2020_2020_2020_2020)
                && name.word64(at: 8, equals: 0x6E69_646F_636E_652D, caseMask: 0x2020_2020_2020_2000)
                && name.word64(at: 9, equals: 0x676E_6964_6F63_6E65, caseMask: 0x2020_2020_2020_2020)
            {
                return .transferEncoding
            }
        default: break
        }
        // The loose names are 5-10 letters plus at most a few separators; their first letter picks one.
        guard name.count >= 5 && name.count <= 32 else { return nil }
        // `User-Agent` as usually spelled, by words (a loose match, so the byte-wise comparison below agrees).
        if name.count == 10 && name.word64(at: 0, equals: 0x6567_612D_7265_7375, caseMask: 0x2020_2000_2020_2020)
            && name.word32(at: 6, equals: 0x746E_6567, caseMask: 0x2020_2020)
        {
            return .userAgent
        }
        switch name[0] | 0x20 {
        case 0x74 /* t */: return name.equalsIgnoringCaseAndSeparators("tcode") ? .tCode : nil
        case 0x75 /* u */: return name.equalsIgnoringCaseAndSeparators("useragent") ? .userAgent : nil
        case 0x6D /* m */: return name.equalsIgnoringCaseAndSeparators("methodcode") ? .methodCode : nil
        case 0x2D /* - */, 0x7F /* _ (0x5F | 0x20) */:
            // A name may begin with separators (`_t_code`): compare it in full.
            if name.equalsIgnoringCaseAndSeparators("tcode") { return .tCode }
            if name.equalsIgnoringCaseAndSeparators("useragent") { return .userAgent }
            if name.equalsIgnoringCaseAndSeparators("methodcode") { return .methodCode }
            return nil
        default: return nil
        }
    }
}
