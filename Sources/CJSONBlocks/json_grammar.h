// The grammar of `cejson_scan` (simdjson's stage 2), included twice by json_scan_template.h for
// each level: with CEJSON_GRAMMAR_KEYS 0 as `scan`, which hands the top-level members back in
// the caller's array (batches, resumed), and with 1 as `scan_keys`, which matches each top-level
// name against the keys of `s->search` where it finds it (`cejson_note_keys`) and returns
// `CEJSON_NOT_PLAIN` at a name with escapes or non-ASCII bytes. Everything else is the same code.

#ifndef CEJSON_GRAMMAR_KEYS
#error "json_scan_template.h defines CEJSON_GRAMMAR_KEYS before including this file"
#endif

#if CEJSON_GRAMMAR_KEYS
#define CEJSON_GRAMMAR_NAME CEJSON_NAME(scan_keys)
#else
#define CEJSON_GRAMMAR_NAME CEJSON_NAME(scan)
#endif

/// The grammar as a state machine (simdjson's stage 2): the state is the place in the code —
/// a member of the top-level object (whose members are handed back or matched), of a nested
/// object, a value of an array — so no token asks which container it is in.
CEJSON_TARGET static int CEJSON_GRAMMAR_NAME(cejson_scanner *s) {
    const uint8_t *base = s->base;
    // The length and the depth bound are read where used (rarely): in registers, they
    // pushed the grammar's own state to the stack (measured).
#define count (s->count)
#define max_depth (s->max_depth)
    uint64_t tokens = s->tokens;
    // The current block (its first byte; before the first one, 64 bytes before the text).
    const uint8_t *block = (const uint8_t *)((uintptr_t)base - 64);
    ptrdiff_t p, q;
    const uint8_t *key, *colon;
    // Open containers, the top-level object included; one bit each, innermost lowest:
    // 1 = object, 0 = array; above them a 1, whose place is the depth (`depth_limit`). Up to
    // 63 levels (deeper is undecided).
    uint64_t stack = 3;
#if CEJSON_GRAMMAR_KEYS
    // 0, or 0x100 and the first byte of the one name a top-level name must begin with to be
    // noted (`cejson_note_keys`).
    unsigned watch = 0;
#endif
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Winitializer-overrides"
    CEJSON_VALUE_TABLE(top, top_after_value);
    CEJSON_VALUE_TABLE(object, object_after_value);
    CEJSON_VALUE_TABLE(array, array_after_value);
#pragma clang diagnostic pop
#if !CEJSON_GRAMMAR_KEYS
    if (s->resume) {
        block = base + s->block_start;
        p = (ptrdiff_t)(s->value - s->block_start);
        goto top_value;
    }
#endif
    if (count == 0) goto undecided;
    // The usual short text's first pass at once, not through `fill` from the first token's
    // `CEJSON_TAKE` (measured, callgrind, `cejson_scan_keys` on k1m-small.pcap's bodies of at
    // most 128 bytes: 15 instructions fewer a body).
    if (count <= CEJSON_SHORT_TEXT) CEJSON_NAME(fill_short)(s);
    CEJSON_TAKE(p);
    if (block[p] != '{') {
        return CEJSON_NOT_AN_OBJECT;
    }
    if (max_depth < 1) goto undecided;
    CEJSON_TAKE(p);
    if (block[p] == '}') goto end;

top_member:
    CEJSON_NAME_AND_COLON();
#if CEJSON_GRAMMAR_KEYS
    // A name that begins with another byte than the one matched, when that name alone decides
    // (see `cejson_note_keys`): not noted (measured, callgrind, `cejson_scan_keys` on
    // k1m-small.pcap's bodies: 55 instructions fewer a body of at most 128 bytes, 44 more a body
    // of 2-8 KB, where the text is not all read at its first names).
    if (watch != 0 && key[1] != (uint8_t)watch) goto top_value;
#endif
    {
        // Only whitespace is between the name's closing quote and the colon (a byte there
        // would be a token), and the first pass checked the name's bytes.
        const uint8_t *end = colon - 1;
        while (*end != '"') end--;
        if (end <= key) goto undecided;
        // Every block read so far (the name's among them) without a byte >= 0x80, a backslash
        // or a control byte: plain without looking (the usual text).
#if CEJSON_GRAMMAR_KEYS
        if ((s->high | s->rare_seen) != 0) {
            for (const uint8_t *i = key + 1; i < end; i++) {
                if (*i >= 0x80 || *i == '\\') return CEJSON_NOT_PLAIN;
            }
        }
        // Matched where found: no member array for the caller to go through again (measured,
        // callgrind, `bench json` on k1m-small.pcap's 103-byte body: 883 -> 768 instructions in C).
        watch = cejson_note_keys(s, key, end, CEJSON_IN_TEXT(p));
#else
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
#endif
    }
top_value:
    CEJSON_VALUE(top);
top_after_value:
    CEJSON_AFTER_VALUE('}', top_member);
    goto end;
    CEJSON_VALUE_CASES(top, top_after_value);

object_member:
    CEJSON_NAME_AND_COLON();
    CEJSON_VALUE(object);
object_after_value:
    CEJSON_AFTER_VALUE('}', object_member);
    goto closed;
    CEJSON_VALUE_CASES(object, object_after_value);

array_value:
    CEJSON_VALUE(array);
array_after_value:
    CEJSON_AFTER_VALUE(']', array_value);
closed:
    stack >>= 1;
    if (stack == 3) goto top_after_value;
    if (stack & 1) goto object_after_value;
    goto array_after_value;
    CEJSON_VALUE_CASES(array, array_after_value);

end:
    // Only whitespace after the top-level object, and no anomaly anywhere.
    if (tokens != 0) return CEJSON_UNDECIDED;
    do {
        for (size_t k = s->chunk_next; k < s->chunk_count; k++) {
            if (s->chunk[k] != 0) return CEJSON_UNDECIDED;
        }
    } while (s->next_block < count && CEJSON_NAME(fill)(s) != 0);
    return s->anomaly == SIZE_MAX ? CEJSON_VALID : CEJSON_UNDECIDED;
undecided:
    return CEJSON_UNDECIDED;
#undef count
#undef max_depth
}

#undef CEJSON_GRAMMAR_NAME
#undef CEJSON_GRAMMAR_KEYS
