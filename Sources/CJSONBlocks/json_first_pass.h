// The first pass of `cejson_scan` for one classifier (simdjson's stage 1, Langdale & Lemire
// 2019, §3.1): each 64-byte block's token starts, digits and scalar bytes into the scanner,
// a read (`fill`) at a time. Included by json_scan_template.h (whose header says what the
// tokens are and why the scan is exact), with its level's parameters.

#ifndef CEJSON_NAME
#error "json_scan_template.h includes this file with the level's parameters"
#endif

/// A block's output (at `out` in `chunk`) from its classes, its quotes (escaped ones dropped)
/// and its in-string bits (the last part of the usual and the rare block alike): the token
/// starts, digits and scalar bytes; updates the scalar carry and the bytes >= 0x80 seen.
CEJSON_TARGET __attribute__((always_inline)) static inline void CEJSON_NAME(store_tokens)(
    uint64_t *out, uint64_t *scalar_carry, uint64_t *high, const cejson_classes *c, unsigned dropped, uint64_t quote,
    uint64_t in_string) {
    uint64_t op = c->op >> dropped;
    uint64_t scalar = c->scalar >> dropped;  // the high bits past the text: none, as if spaces
    uint64_t non_quote_scalar = scalar & ~quote;
    uint64_t follows = non_quote_scalar << 1 | *scalar_carry;
    *scalar_carry = non_quote_scalar >> 63;
    *high |= c->high;  // (a dropped byte, read with the block before, is in the text too)
    out[CEJSON_CHUNK_BLOCKS] = c->digit >> dropped;
    out[2 * CEJSON_CHUNK_BLOCKS] = non_quote_scalar;
    // A structural byte between two bytes neither blank nor structural, in this block, is no
    // token: a `:` or `,` (a bracket there is an error the grammar finds all the same).
    uint64_t joined = op & scalar << 1 & scalar >> 1;
    // Outside strings the structural bytes and the first scalar byte of each run (a quote
    // is neither: in `scalar` but not in `non_quote_scalar`), in strings the opening quotes.
    out[0] = (((op | (non_quote_scalar & ~follows)) & ~in_string) | (quote & in_string)) & ~joined;
}

/// The entry of a block with a backslash or control byte (or escaped by the block before):
/// escaped quotes dropped from `quote` and its parity, in-string, and the anomalies; the
/// carries through the scanner. Apart, and classified again: the usual block then needs no
/// frame of its own (no registers saved, no spills: measured). Whether it has an anomaly
/// (its tokens then none, and the stream ends there).
CEJSON_TARGET __attribute__((noinline)) static int CEJSON_NAME(rare_block_tokens)(
    cejson_scanner *s, const uint8_t *p, size_t start, unsigned dropped, size_t k) {
    s->rare_seen = 1;
    cejson_classes c;
    CEJSON_CLASSIFY(p, &c);
    cejson_rare_classes r = CEJSON_CLASSIFY_RARE(p);
    uint64_t quote = c.quote >> dropped;
    uint64_t quote_parity = dropped == 0 ? c.quote_parity : CEJSON_PREFIX_XOR(quote);
    uint64_t control = r.control >> dropped;
    uint64_t newline = r.newline >> dropped;
    uint64_t backslash = r.backslash >> dropped;
    uint64_t anomalies = 0;
    if (backslash | s->escape_carry) {
        uint64_t escaped = cejson_escaped_bytes(backslash, &s->escape_carry);
        quote &= ~escaped;
        quote_parity = CEJSON_PREFIX_XOR(quote);
        anomalies = cejson_invalid_escapes(s->base, s->count, escaped, start);
    }
    // Opening quote and the string's bytes: 1; closing quote and outside: 0.
    uint64_t in_string = quote_parity ^ s->in_string_carry;
    s->in_string_carry = (uint64_t)((int64_t)in_string >> 63);
    // Any control byte in a string; outside, those that are not whitespace.
    anomalies |= control & (in_string | ~newline);
    CEJSON_NAME(store_tokens)(s->chunk + k, &s->scalar_carry, &s->high, &c, dropped, quote, in_string);
    if (anomalies != 0) {
        s->anomaly = start + (size_t)__builtin_ctzll(anomalies);
        s->chunk[k] = 0;
        return 1;
    }
    return 0;
}

/// The entry of the 64 bytes at `p` less its first `dropped` (0…63) ones, text position
/// `start` on, as if spaces followed, the carries through the scanner (the last block of a
/// text: shifted or padded); whether it has an anomaly.
CEJSON_TARGET __attribute__((always_inline)) static inline int CEJSON_NAME(block_tokens)(
    cejson_scanner *s, const uint8_t *p, size_t start, unsigned dropped, size_t k) {
    cejson_classes c;
    CEJSON_CLASSIFY(p, &c);
    if (__builtin_expect((c.rare | s->escape_carry) != 0, 0)) return CEJSON_NAME(rare_block_tokens)(s, p, start, dropped, k);
    uint64_t quote = c.quote >> dropped;
    // The classifier's parity holds for the whole block without escaped quotes.
    uint64_t quote_parity = dropped == 0 ? c.quote_parity : CEJSON_PREFIX_XOR(quote);
    // Opening quote and the string's bytes: 1; closing quote and outside: 0.
    uint64_t in_string = quote_parity ^ s->in_string_carry;
    s->in_string_carry = (uint64_t)((int64_t)in_string >> 63);
    CEJSON_NAME(store_tokens)(s->chunk + k, &s->scalar_carry, &s->high, &c, dropped, quote, in_string);
    return 0;
}

/// The last block of a text shorter than 64 bytes past `start`: the last 64 bytes of the
/// text, the ones before `start` (read with the block before) dropped, or, for a text
/// shorter than 64, a copy padded with spaces. Whether it has an anomaly.
CEJSON_TARGET __attribute__((noinline)) static int CEJSON_NAME(read_last_block)(cejson_scanner *s, size_t start, size_t k) {
    size_t length = s->count - start;
    if (start != 0) {  // blocks start at multiples of 64: the text has 64 bytes or more
        return CEJSON_NAME(block_tokens)(s, s->base + (s->count - 64), start, (unsigned)(64 - length), k);
    }
    uint8_t padded[64];
    memset(padded, 0x20, 64);
    memcpy(padded, s->base + start, length);
    return CEJSON_NAME(block_tokens)(s, padded, start, 0, k);
}

/// The whole blocks from `p` to `end` (text position `p - origin` on: `origin` is the text's
/// first byte or its padded copy's), each block's output from `*out` on (moved past them), the
/// carries in registers from one block to the next and the classifier's constants loaded once
/// (measured: a call per block cost about 20 instructions more); the bytes >= 0x80 seen into
/// `*high`. Whether a block had an anomaly (`*out` past it: no more blocks are read).
CEJSON_TARGET __attribute__((always_inline)) static inline int CEJSON_NAME(whole_blocks)(
    cejson_scanner *s, const uint8_t *p, const uint8_t *end, const uint8_t *origin, uint64_t **out, uint64_t *high) {
    // The loop's state in locals, and one pointer into the output (measured: an index and the
    // scanner's fields spilled more of it to the stack).
    uint64_t in_string_carry = s->in_string_carry;
    uint64_t scalar_carry = s->scalar_carry;
    uint64_t seen = 0;
    uint64_t *o = *out;
    int anomaly = 0;
    if (p != end && s->escape_carry != 0) goto rare;  // the first block begins escaped
    while (p != end) {
        // The usual block: whole, without a backslash or control byte, not escaped. A block
        // begins escaped only after one taken apart, which takes it too: no test of the escape
        // carry here (measured, callgrind, k1m-small.pcap's bodies of 2-8 KB: 77 -> 71.5
        // instructions a block).
        cejson_classes c;
        CEJSON_CLASSIFY(p, &c);
        if (__builtin_expect(c.rare != 0, 0)) goto rare;
        {
            // Opening quote and the string's bytes: 1; closing quote and outside: 0.
            uint64_t in_string = c.quote_parity ^ in_string_carry;
            in_string_carry = (uint64_t)((int64_t)in_string >> 63);
            CEJSON_NAME(store_tokens)(o, &scalar_carry, &seen, &c, 0, c.quote, in_string);
        }
        p += 64;
        o++;
        continue;
    rare:
        // A block with a backslash or control byte, and each one after it that begins escaped.
        do {
            s->in_string_carry = in_string_carry;
            s->scalar_carry = scalar_carry;
            anomaly = CEJSON_NAME(rare_block_tokens)(s, p, (size_t)(p - origin), 0, (size_t)(o - s->chunk));
            in_string_carry = s->in_string_carry;
            scalar_carry = s->scalar_carry;
            p += 64;
            o++;
            if (anomaly) goto done;
        } while (s->escape_carry != 0 && p != end);
    }
done:
    s->in_string_carry = in_string_carry;
    s->scalar_carry = scalar_carry;
    *out = o;
    *high |= seen;
    return anomaly;
}

/// The end of a read: the output's blocks up to `out`, the text read up to `next`. How many.
static inline size_t CEJSON_NAME(filled)(cejson_scanner *s, uint64_t *out, uint64_t high, size_t next) {
    s->high |= high;
    s->next_block = next;
    size_t k = (size_t)(out - s->chunk);
    s->chunk_count = k;
    s->chunk_next = 0;
    return k;
}

/// The first pass over a whole text of at most `CEJSON_SHORT_TEXT` bytes (the usual response
/// body), from a copy padded with spaces to whole blocks: each block as `fill` takes a whole
/// one, its last block not apart (`read_last_block`: a call of its own that loads the
/// classifier's constants again and shifts the masks). The same output as `fill`'s (the last
/// block is read as if spaces followed either way). Measured (callgrind, `bench json` on
/// k1m-small.pcap's 103-byte body): 270 -> 240 instructions, the copy included.
CEJSON_TARGET __attribute__((noinline)) static size_t CEJSON_NAME(fill_short)(cejson_scanner *s) {
    uint8_t padded[CEJSON_SHORT_TEXT] __attribute__((aligned(32)));
    size_t count = s->count;
    const uint8_t *base = s->base;
    memset(padded, 0x20, sizeof padded);
    if (count >= 32) {
        // Up to 96 bytes 32 at a time, then the last 32 (overlapping): no call of `memcpy` for
        // the usual body (measured, callgrind, k1m-small.pcap's bodies of at most 128 bytes: 13
        // instructions fewer a body).
        _Static_assert(CEJSON_SHORT_TEXT <= 128, "the copy's four pieces cover at most 128 bytes");
        memcpy(padded, base, 32);
        if (count >= 64) memcpy(padded + 32, base + 32, 32);
        if (count >= 96) memcpy(padded + 64, base + 64, 32);
        memcpy(padded + count - 32, base + count - 32, 32);
    } else {
        memcpy(padded, base, count);
    }
    uint64_t high = 0;
    uint64_t *out = s->chunk;
    CEJSON_NAME(whole_blocks)(s, padded, padded + (count + 63) / 64 * 64, padded, &out, &high);
    return CEJSON_NAME(filled)(s, out, high, count);
}

/// `fill` of a text longer than `CEJSON_SHORT_TEXT` or past its start.
CEJSON_TARGET __attribute__((noinline)) static size_t CEJSON_NAME(fill_long)(cejson_scanner *s) {
    const uint8_t *base = s->base;
    size_t count = s->count;
    size_t start = s->next_block;
    size_t limit = start == 0 ? CEJSON_FIRST_BLOCKS : CEJSON_CHUNK_BLOCKS;
    size_t end = count - start > 64 * limit ? start + 64 * limit : count;
    uint64_t high = 0;
    const uint8_t *whole_end = base + start + (end - start) / 64 * 64;
    uint64_t *out = s->chunk;  // the block's output
    if (CEJSON_NAME(whole_blocks)(s, base + start, whole_end, base, &out, &high)) {
        end = count;
    } else if (whole_end != base + end) {  // the text's last block, shorter than 64 bytes
        CEJSON_NAME(read_last_block)(s, (size_t)(whole_end - base), (size_t)(out - s->chunk));
        out++;
    }
    return CEJSON_NAME(filled)(s, out, high, end);
}

/// The first pass over the next blocks (at most `CEJSON_CHUNK_BLOCKS`, `CEJSON_FIRST_BLOCKS`
/// at the start, from `next_block`), apart from the grammar: their output into `chunk`
/// (`chunk_count` blocks). After an anomaly no more blocks (its own has no tokens). How many.
/// (The two cases apart, each a tail call: with the long one's body here, its frame was set up
/// before the short one was called.)
CEJSON_TARGET __attribute__((noinline)) static size_t CEJSON_NAME(fill)(cejson_scanner *s) {
    size_t start = s->next_block;
    if (start >= s->count) return 0;
    if (start == 0 && s->count <= CEJSON_SHORT_TEXT) return CEJSON_NAME(fill_short)(s);
    return CEJSON_NAME(fill_long)(s);
}
