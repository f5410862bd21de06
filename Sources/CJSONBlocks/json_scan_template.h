// The scan of `cejson_scan` for one classifier, included once per level by json_blocks.c
// (which defines CEJSON_NAME, CEJSON_TARGET, CEJSON_CLASSIFY, CEJSON_CLASSIFY_RARE and
// CEJSON_PREFIX_XOR), so that the AVX2 one is compiled for AVX2 throughout, the classifier
// inlined.
//
// The first pass (simdjson's stage 1, Langdale & Lemire 2019, §3.1) turns each 64-byte block
// into the start of every token, a bitmask: each `{ } [ ] : ,` outside strings, each opening
// quote, and the first byte of each run of other bytes outside strings (a number, a literal,
// or garbage the grammar rejects) — except a *joined* structural byte: one whose block holds
// a byte neither blank nor structural just before it (the end of a string, number or
// literal) and just after it (the first byte of the token after it). In valid JSON only a
// `:` or `,` is joined (a bracket never stands between two such bytes), so the classifiers
// need no separator class. Where the grammar expects `:` or `,` and finds another token, it
// checks the byte before that token (outside strings only whitespace or a joined byte can
// be there, and it must be the separator expected); a joined separator anywhere else, or a
// joined bracket, puts a value or name right after a value or name, where the grammar
// expects `:`, `,` or a closing bracket, which it rejects. (Most separators of compact JSON
// are joined: `"name":"value","name":12` has two tokens per member.)
//
// Exact up to its first anomaly: in-string is the parity of the unescaped quotes, escapes
// are found as simdjson does (runs of backslashes, odd ones escape) and each escape is
// checked as the byte-by-byte validator reads it. An anomaly — a control byte in a string,
// a control byte other than `\t \n \r` outside one, an invalid escape — ends the stream:
// the text is then undecided and the byte-by-byte validator finds the exact rejection.
//
// The second pass (stage 2, §4) walks the grammar token by token with the open containers
// in a bit stack (63 levels; deeper is undecided), checking each run outside strings as a
// number or literal that ends where the run ends. Why it is exact when it says valid: every
// byte outside strings is whitespace, a structural character, an opening quote, or part of
// a run starting at a token; strings are checked by the first pass; the grammar between
// tokens is the byte-by-byte validator's.

#ifndef CEJSON_NAME
#error "json_blocks.c defines CEJSON_NAME and the classifier before including this file"
#endif

/// The token starts of a block from its classes, its quotes (escaped ones dropped) and its
/// in-string bits (`block_tokens`' last part, shared by the usual and the rare block); stores
/// them and the block's digits and delimiters, updates the scalar carry.
CEJSON_TARGET __attribute__((always_inline)) static inline void CEJSON_NAME(store_tokens)(
    cejson_scanner *s, const cejson_classes *c, unsigned dropped, uint64_t quote, uint64_t in_string) {
    uint64_t op = c->op >> dropped;
    uint64_t scalar = c->scalar >> dropped;  // the high bits past the text: none, as if spaces
    uint64_t non_quote_scalar = scalar & ~quote;
    uint64_t follows = non_quote_scalar << 1 | s->scalar_carry;
    s->scalar_carry = non_quote_scalar >> 63;
    uint64_t outside = ~(in_string | quote);
    s->high |= c->high;  // (a dropped byte, read with the block before, is in the text too)
    s->digits = c->digit >> dropped;
    s->delimiters = ~scalar | c->quote >> dropped;
    // A structural byte between two bytes neither blank nor structural, in this block, is no
    // token: a `:` or `,` (a bracket there is an error the grammar finds all the same).
    uint64_t joined = op & scalar << 1 & scalar >> 1;
    s->tokens = (((op | (scalar & ~follows)) & outside) | (quote & in_string)) & ~joined;
}

/// `block_tokens` for a block with a backslash or control byte (or escaped by the block
/// before): escaped quotes dropped from `quote` and its parity, in-string, and the anomalies.
/// Apart, and classified again: the usual block then needs no frame of its own (no registers
/// saved, no spills: measured).
CEJSON_TARGET __attribute__((noinline)) static void CEJSON_NAME(rare_block_tokens)(
    cejson_scanner *s, const uint8_t *p, size_t start, unsigned dropped) {
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
    CEJSON_NAME(store_tokens)(s, &c, dropped, quote, in_string);
    if (anomalies != 0) {
        s->anomaly = start + (size_t)__builtin_ctzll(anomalies);
        s->next_block = s->count;
        s->tokens = 0;
    }
}

/// Stores the token starts of the 64 bytes at `p` less its first `dropped` (0…63) ones, text
/// position `start` on, as if spaces followed; updates the carries, the block's digits and
/// delimiters. No tokens and the stream ended at an anomaly.
CEJSON_TARGET __attribute__((always_inline)) static inline void CEJSON_NAME(block_tokens)(cejson_scanner *s, const uint8_t *p, size_t start, unsigned dropped) {
    cejson_classes c;
    CEJSON_CLASSIFY(p, &c);
    if (__builtin_expect((c.rare | s->escape_carry) != 0, 0)) {
        CEJSON_NAME(rare_block_tokens)(s, p, start, dropped);
        return;
    }
    uint64_t quote = c.quote >> dropped;
    // The classifier's parity holds for the whole block without escaped quotes.
    uint64_t quote_parity = dropped == 0 ? c.quote_parity : CEJSON_PREFIX_XOR(quote);
    // Opening quote and the string's bytes: 1; closing quote and outside: 0.
    uint64_t in_string = quote_parity ^ s->in_string_carry;
    s->in_string_carry = (uint64_t)((int64_t)in_string >> 63);
    CEJSON_NAME(store_tokens)(s, &c, dropped, quote, in_string);
}

/// The last block of a text of 64 bytes or more, shorter than 64: the last 64 bytes of the
/// text, the ones before `start` (read with the block before) dropped. Apart from the padded
/// copy: no frame of its own (measured: 10 instructions fewer per text).
CEJSON_TARGET __attribute__((noinline)) static void CEJSON_NAME(read_shifted_block)(cejson_scanner *s, size_t start, size_t length) {
    CEJSON_NAME(block_tokens)(s, s->base + (s->count - 64), start, (unsigned)(64 - length));
}

/// The only block of a text shorter than 64 bytes: a copy padded with spaces.
CEJSON_TARGET __attribute__((noinline)) static void CEJSON_NAME(read_padded_block)(cejson_scanner *s, size_t start, size_t length) {
    uint8_t padded[64];
    memset(padded, 0x20, 64);
    memcpy(padded, s->base + start, length);
    CEJSON_NAME(block_tokens)(s, padded, start, 0);
}

/// Reads the block at `next_block` into the scanner (its token starts, digits and
/// delimiters, `block_start`): the last one as if followed by spaces (the last 64 bytes of
/// the text, shifted, or a padded copy of a text shorter than 64). Once a block: not inlined
/// into each place the grammar takes a token.
CEJSON_TARGET __attribute__((noinline)) static void CEJSON_NAME(read_block)(cejson_scanner *s) {
    size_t start = s->next_block;
    size_t count = s->count;
    s->block_start = start;
    s->next_block = start + 64;
    size_t length = count - start;
    if (__builtin_expect(length >= 64, 1)) {
        CEJSON_NAME(block_tokens)(s, s->base + start, start, 0);
    } else if (start != 0) {  // blocks start at multiples of 64: the text has 64 bytes or more
        CEJSON_NAME(read_shifted_block)(s, start, length);
    } else {
        CEJSON_NAME(read_padded_block)(s, start, length);
    }
}

/// Takes the next token into `p`, its place in the current block (at `block`); undecided at
/// the end or an anomaly. (Places in the block, not in the text: no addition per token, the
/// block's start is in each load's address; measured.)
#define CEJSON_TAKE(p)                                              \
    do {                                                            \
        while (tokens == 0) {                                       \
            if (s->next_block >= count) goto undecided;             \
            CEJSON_NAME(read_block)(s);                             \
            tokens = s->tokens;                                     \
            block = base + s->block_start;                          \
        }                                                           \
        (p) = (ptrdiff_t)__builtin_ctzll(tokens);                   \
        tokens &= tokens - 1;                                       \
    } while (0)

/// The place in the text of `p`, a place in the current block.
#define CEJSON_IN_TEXT(p) ((size_t)(block - base) + (size_t)(p))

/// The value whose first token is at `p` (a place in the current block; in the containers of `stack`), then `goto after`; a
/// container opens and goes to its first member or value.
#define CEJSON_VALUE(after)                                                                          \
    do {                                                                                             \
        uint8_t first = block[p];                                                                    \
        if (first == '"') goto after; /* its bytes were checked by the first pass */                \
        if ((uint8_t)(first - '0') < 10) {                                                           \
            /* The usual integer, from the block's digit mask; any other number byte by byte. */    \
            if (!cejson_is_short_integer(s->digits, s->delimiters, (size_t)p, first)                \
                && !cejson_is_number_at(base, count, CEJSON_IN_TEXT(p)))                             \
                goto undecided;                                                                      \
            goto after;                                                                              \
        }                                                                                            \
        if ((first | 0x20) == '{') { /* `{` or `[` */                                                \
            if (stack >= s->depth_limit) goto undecided; /* 63 levels or the depth bound */          \
            CEJSON_TAKE(q);                                                                          \
            if (block[q] == first + 2) goto after; /* `}` is `{` + 2, `]` is `[` + 2: empty */       \
            stack = stack << 1 | (uint64_t)(first >> 5 & 1); /* `{` 0x7B has bit 5, `[` 0x5B not */ \
            p = q;                                                                                   \
            if (first == '{') goto object_member;                                                    \
            goto array_value;                                                                        \
        }                                                                                            \
        if (!cejson_is_scalar(base, count, CEJSON_IN_TEXT(p))) goto undecided;                       \
        goto after;                                                                                  \
    } while (0)

/// After a value in a container closed by `close`: a `,` (a token, or joined: the byte before
/// the next token) leads to `next`, the closing bracket to `closed`.
#define CEJSON_AFTER_VALUE(close, next)                     \
    do {                                                    \
        CEJSON_TAKE(q);                                     \
        if (block[q - 1] == ',') {                          \
            /* A joined comma (no token): `q` is next. */   \
            p = q;                                          \
            goto next;                                      \
        }                                                   \
        if (block[q] == ',') {                              \
            CEJSON_TAKE(p);                                 \
            goto next;                                      \
        }                                                   \
        if (block[q] != (close)) goto undecided;            \
    } while (0)

/// The name at `p` and the colon after it; `p` then at the value (the joined colon's value is
/// the token after the name: only the name's bytes and whitespace are between them, and the
/// byte before a value token is outside strings). `key` and `colon` point at the name and the
/// colon (the blocks of all three may differ; the top level's members need them).
#define CEJSON_NAME_AND_COLON()                    \
    do {                                           \
        if (block[p] != '"') goto undecided;       \
        key = block + p;                           \
        CEJSON_TAKE(q);                            \
        if (block[q - 1] == ':') {                 \
            colon = block + q - 1;                 \
            p = q;                                 \
        } else {                                   \
            if (block[q] != ':') goto undecided;   \
            colon = block + q;                     \
            CEJSON_TAKE(p);                        \
        }                                          \
    } while (0)

/// The grammar as a state machine (simdjson's stage 2): the state is the place in the code —
/// a member of the top-level object (whose members are handed back), of a nested object, a
/// value of an array — so no token asks which container it is in.
CEJSON_TARGET static int CEJSON_NAME(scan)(cejson_scanner *s) {
    const uint8_t *base = s->base;
    // The length and the depth bound are read where used (rarely): in registers, they
    // pushed the grammar's own state to the stack (measured).
#define count (s->count)
#define max_depth (s->max_depth)
    uint64_t tokens = s->tokens;
    const uint8_t *block = base;  // the current block (its first byte), at the start the text's
    ptrdiff_t p, q;
    const uint8_t *key, *colon;
    // Open containers, the top-level object included; one bit each, innermost lowest:
    // 1 = object, 0 = array; above them a 1, whose place is the depth (`depth_limit`). Up to
    // 63 levels (deeper is undecided).
    uint64_t stack = 3;
    if (s->resume) {
        block = base + s->block_start;
        p = (ptrdiff_t)(s->value - s->block_start);
        goto top_value;
    }
    if (count == 0) goto undecided;
    CEJSON_TAKE(p);
    if (block[p] != '{') {
        return CEJSON_NOT_AN_OBJECT;
    }
    if (max_depth < 1) goto undecided;
    CEJSON_TAKE(p);
    if (block[p] == '}') goto end;

top_member:
    CEJSON_NAME_AND_COLON();
    {
        // Only whitespace is between the name's closing quote and the colon (a byte there
        // would be a token), and the first pass checked the name's bytes.
        const uint8_t *end = colon - 1;
        while (*end != '"') end--;
        if (end <= key) goto undecided;
        // Every block read so far (the name's among them) without a byte >= 0x80, a backslash
        // or a control byte: plain without looking (the usual text).
        size_t plain = 1;
        if ((s->high | s->rare_seen) != 0) {
            for (const uint8_t *i = key + 1; i < end; i++) {
                if (*i >= 0x80 || *i == '\\') {
                    plain = 0;
                    break;
                }
            }
        }
        // The members array is reached through the scanner: in registers, it pushed the
        // grammar's state to the stack (measured).
        cejson_member *m = &s->members[s->found++];
        m->name_start = (size_t)(key - base);
        m->name_end = (size_t)(end - base);
        m->value_start = CEJSON_IN_TEXT(p);
        m->plain = plain;
        if (s->found == s->capacity) {
            s->tokens = tokens;
            s->block_start = (size_t)(block - base);
            s->resume = 1;
            s->value = CEJSON_IN_TEXT(p);
            return CEJSON_MORE;
        }
    }
top_value:
    CEJSON_VALUE(top_after_value);
top_after_value:
    CEJSON_AFTER_VALUE('}', top_member);
    goto end;

object_member:
    CEJSON_NAME_AND_COLON();
    CEJSON_VALUE(object_after_value);
object_after_value:
    CEJSON_AFTER_VALUE('}', object_member);
    goto closed;

array_value:
    CEJSON_VALUE(array_after_value);
array_after_value:
    CEJSON_AFTER_VALUE(']', array_value);
closed:
    stack >>= 1;
    if (stack == 3) goto top_after_value;
    if (stack & 1) goto object_after_value;
    goto array_after_value;

end:
    // Only whitespace after the top-level object, and no anomaly anywhere.
    if (tokens != 0) return CEJSON_UNDECIDED;
    while (s->next_block < count) {
        CEJSON_NAME(read_block)(s);
        if (s->tokens != 0) return CEJSON_UNDECIDED;
    }
    return s->anomaly == SIZE_MAX ? CEJSON_VALID : CEJSON_UNDECIDED;
undecided:
    return CEJSON_UNDECIDED;
#undef count
#undef max_depth
}

/// The token starts of the whole text (`cejson_token_starts`).
CEJSON_TARGET static size_t CEJSON_NAME(token_starts)(cejson_scanner *s, size_t *out, size_t capacity) {
    size_t n = 0;
    while (s->next_block < s->count) {
        CEJSON_NAME(read_block)(s);
        for (uint64_t t = s->tokens; t != 0 && n < capacity; t &= t - 1) out[n++] = s->block_start + (size_t)__builtin_ctzll(t);
    }
    return n;
}

#undef CEJSON_TAKE
#undef CEJSON_IN_TEXT
#undef CEJSON_VALUE
#undef CEJSON_AFTER_VALUE
#undef CEJSON_NAME_AND_COLON

// The level's parameters, defined by json_blocks.c before each inclusion.
#undef CEJSON_NAME
#undef CEJSON_TARGET
#undef CEJSON_CLASSIFY
#undef CEJSON_CLASSIFY_RARE
#undef CEJSON_PREFIX_XOR
