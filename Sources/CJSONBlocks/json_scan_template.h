// The scan of `cejson_scan` for one classifier, included once per level by json_blocks.c
// (which defines CEJSON_NAME, CEJSON_TARGET, CEJSON_CLASSIFY, CEJSON_CLASSIFY_RARE and
// CEJSON_PREFIX_XOR), so that the AVX2 one is compiled for AVX2 throughout, the classifier
// inlined; its first pass is in json_first_pass.h, its grammar in json_grammar.h (twice: `scan`
// and `scan_keys`), included with it.
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
// The first pass runs ahead of the second, apart (`fill`): `CEJSON_FIRST_BLOCKS` blocks at
// the start of a text (a text that is not an object is told by its first token), then
// `CEJSON_CHUNK_BLOCKS` at a time, each block's token starts, digits and scalar bytes into
// the scanner, the carries in registers from block to block; the grammar takes its tokens
// from there. The token stream is the same as one block at a time: only computed earlier;
// an anomaly still ends it at its block (that block without tokens, none read after it).
// (The bytes >= 0x80 seen, `high`, may then count blocks the grammar has not reached: a
// top-level name is then checked byte by byte for being plain, with the same answer.)
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

#include "json_first_pass.h"  // the first pass (`fill`), for the same level

/// `cejson_is_number_at` for the number at `at` in the text, a digit 1-9 at `offset` in the
/// current block that `cejson_is_short_integer` did not decide. The usual one (measured: about
/// 40 of the benchmark's large body per scan) is an integer whose digits run to the end of
/// the block, the sum carried out: when the first pass has read the next block, its digits
/// and scalar bytes tell whether the digits go on there from its first byte and end at a
/// delimiter (`cejson_is_short_integer` from the next block's offset 0; a delimiter at its
/// first byte ends the number at the block edge).
CEJSON_TARGET __attribute__((noinline)) static int CEJSON_NAME(is_number_at)(cejson_scanner *s, size_t at, size_t offset) {
    size_t next = s->chunk_next;  // the next block's output (the current one's is before it)
    uint64_t sum;
    if (__builtin_add_overflow(s->chunk[CEJSON_CHUNK_BLOCKS - 1 + next], 1ULL << offset, &sum) && next < s->chunk_count
        && ((s->chunk[CEJSON_CHUNK_BLOCKS + next] + 1) & ~s->chunk[2 * CEJSON_CHUNK_BLOCKS + next]) != 0) {
        return 1;
    }
    return cejson_is_number_at(s->base, s->count, at);
}

/// Takes the next token into `p`, its place in the current block (at `block`, whose output
/// is at `chunk_next - 1`); past the first pass's blocks it reads the next ones; undecided
/// at the end or an anomaly. (Places in the block, not in the text: no addition per token,
/// the block's start is in each load's address; measured. The place in the output in the
/// scanner, not in a register: the grammar's state kept its registers; measured.)
#define CEJSON_TAKE(p)                                                                 \
    do {                                                                               \
        while (tokens == 0) {                                                          \
            size_t taken = s->chunk_next;                                              \
            if (taken == s->chunk_count) {                                             \
                if (CEJSON_NAME(fill)(s) == 0) goto undecided;    \
                taken = 0;                                                             \
            }                                                                          \
            s->chunk_next = taken + 1;                                                 \
            tokens = s->chunk[taken];                                           \
            block += 64;                                                               \
        }                                                                              \
        (p) = (ptrdiff_t)__builtin_ctzll(tokens);                                      \
        tokens &= tokens - 1;                                                          \
    } while (0)

/// The place in the text of `p`, a place in the current block.
#define CEJSON_IN_TEXT(p) ((size_t)(block - base) + (size_t)(p))

/// The value whose first token is at `p` (a place in the current block; in the containers of
/// `stack`) in context `ctx` (the top-level object, an object, an array): a jump by its first
/// byte through the context's table (measured: fewer instructions than asking which byte it
/// is, one class after the other) to the context's cases (`CEJSON_VALUE_CASES`); a string
/// goes straight on (its bytes were checked by the first pass).
#define CEJSON_VALUE(ctx) goto *ctx##_by_first[block[p]]

/// The jump table of context `ctx`, whose values are followed by `after`: bytes that start no
/// value are undecided (`cejson_is_scalar` takes no other).
#define CEJSON_VALUE_TABLE(ctx, after)                                                                           \
    static const void *const ctx##_by_first[256] = {                                                             \
        [0 ... 255] = &&undecided, ['"'] = &&after, ['0'] = &&ctx##_zero, ['1' ... '9'] = &&ctx##_integer,       \
        ['{'] = &&ctx##_object, ['['] = &&ctx##_array, ['-'] = &&ctx##_scalar, ['t'] = &&ctx##_scalar,           \
        ['f'] = &&ctx##_scalar, ['n'] = &&ctx##_scalar, ['N'] = &&ctx##_scalar, ['I'] = &&ctx##_scalar,          \
    }

/// The current block's digits and scalar bytes (the first pass's output).
#define CEJSON_DIGITS (s->chunk[CEJSON_CHUNK_BLOCKS - 1 + s->chunk_next])
#define CEJSON_SCALARS (s->chunk[2 * CEJSON_CHUNK_BLOCKS - 1 + s->chunk_next])

/// The values of context `ctx` other than strings, then `goto after`: the usual integer from
/// the block's digit mask, any other number or literal byte by byte; a container opens and
/// goes to its first member or value (an empty one is the value whole).
#define CEJSON_VALUE_CASES(ctx, after)                                                                           \
    ctx##_zero:                                                                                                  \
    if (!cejson_is_short_zero(CEJSON_SCALARS, (size_t)p) && !cejson_is_number_at(base, count, CEJSON_IN_TEXT(p))) \
        goto undecided;                                                                                          \
    goto after;                                                                                                  \
    ctx##_integer:                                                                                               \
    if (!cejson_is_short_integer(CEJSON_DIGITS, CEJSON_SCALARS, (size_t)p)                                       \
        && !CEJSON_NAME(is_number_at)(s, CEJSON_IN_TEXT(p), (size_t)p))                                          \
        goto undecided;                                                                                          \
    goto after;                                                                                                  \
    ctx##_object:                                                                                                \
    if (stack >= s->depth_limit) goto undecided; /* 63 levels or the depth bound */                              \
    CEJSON_TAKE(q);                                                                                              \
    if (block[q] == '}') goto after;                                                                             \
    stack = stack << 1 | 1;                                                                                      \
    p = q;                                                                                                       \
    goto object_member;                                                                                          \
    ctx##_array:                                                                                                 \
    if (stack >= s->depth_limit) goto undecided;                                                                 \
    CEJSON_TAKE(q);                                                                                              \
    if (block[q] == ']') goto after;                                                                             \
    stack = stack << 1;                                                                                          \
    p = q;                                                                                                       \
    goto array_value;                                                                                            \
    ctx##_scalar:                                                                                                \
    if (!cejson_is_scalar(base, count, CEJSON_IN_TEXT(p))) goto undecided;                                       \
    goto after

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

// The grammar twice: `scan` hands the top-level members back, `scan_keys` matches their
// names against the keys itself (json_grammar.h).
#define CEJSON_GRAMMAR_KEYS 0
#include "json_grammar.h"
#define CEJSON_GRAMMAR_KEYS 1
#include "json_grammar.h"

/// The token starts of the whole text (`cejson_token_starts`).
CEJSON_TARGET static size_t CEJSON_NAME(token_starts)(cejson_scanner *s, size_t *out, size_t capacity) {
    size_t n = 0;
    size_t block_start = 0;
    for (;;) {
        size_t filled = CEJSON_NAME(fill)(s);
        if (filled == 0) break;
        for (size_t k = 0; k < filled; k++, block_start += 64) {
            for (uint64_t t = s->chunk[k]; t != 0 && n < capacity; t &= t - 1) out[n++] = block_start + (size_t)__builtin_ctzll(t);
        }
    }
    return n;
}

#undef CEJSON_TAKE
#undef CEJSON_IN_TEXT
#undef CEJSON_VALUE
#undef CEJSON_VALUE_TABLE
#undef CEJSON_VALUE_CASES
#undef CEJSON_DIGITS
#undef CEJSON_SCALARS
#undef CEJSON_AFTER_VALUE
#undef CEJSON_NAME_AND_COLON

// The level's parameters, defined by json_blocks.c before each inclusion.
#undef CEJSON_NAME
#undef CEJSON_TARGET
#undef CEJSON_CLASSIFY
#undef CEJSON_CLASSIFY_RARE
#undef CEJSON_PREFIX_XOR
