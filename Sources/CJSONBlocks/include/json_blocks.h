// The top-level scan of a JSON object over 64-byte blocks (simdjson's two stages: Langdale &
// Lemire, "Parsing Gigabytes of JSON per Second", 2019, §3-4), and the block classifiers.
//
// The classifiers, one per level, all with the same results: portable C on every
// architecture (SWAR: 8 bytes in a 64-bit word), SSE2 on x86_64 (part of its baseline), AVX2
// when the processor has it (json_blocks.c, compiled for AVX2 alone), NEON on little-endian
// arm64 (json_blocks.c). The byte loop that
// defines them is here for the tests, which compare every level with it.
#ifndef CJSONBLOCKS_JSON_BLOCKS_H
#define CJSONBLOCKS_JSON_BLOCKS_H

#include <stddef.h>
#include <stdint.h>
#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>
#define CEJSON_SSE2 1
#endif

/// The classes every block needs. `scalar` is every byte neither structural nor up to 0x20
/// (whitespace, but also the other control bytes, which `rare` reports: a block without them
/// needs no more): the bytes of strings, numbers and literals.
typedef struct {
    uint64_t quote;      // "
    uint64_t op;         // { } [ ] : ,
    uint64_t scalar;     // neither { } [ ] : , nor <= 0x20
    uint64_t rare;       // not 0 when a byte is \ or < 0x20 (not a mask: which bits is unspecified)
    uint64_t digit;      // 0-9
    uint64_t quote_parity; // bit i: the parity of the quotes in bits 0…i (escaped ones counted)
    uint64_t high;       // not 0 when a byte is >= 0x80 (not a mask: which bits is unspecified)
} cejson_classes;

/// Bit i = the parity of bits 0…i of `x`.
static inline uint64_t cejson_prefix_xor(uint64_t x) {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}

/// The classes behind `rare`, asked for only when it is not zero.
typedef struct {
    uint64_t backslash;  // \ (0x5C)
    uint64_t control;    // < 0x20
    uint64_t newline;    // \t \n \r: the control bytes that are whitespace outside strings
} cejson_rare_classes;

/// The definition, one byte at a time (for the tests: the classifiers must agree with it).
static inline cejson_classes cejson_classify_bytewise(const uint8_t *p) {
    cejson_classes c = {0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 64; i++) {
        uint8_t v = p[i];
        uint64_t bit = (uint64_t)1 << i;
        if (v == '"') c.quote |= bit;
        int op = v == '{' || v == '}' || v == '[' || v == ']' || v == ':' || v == ',';
        if (op) c.op |= bit;
        if (!op && v > 0x20) c.scalar |= bit;
        if (v == '\\' || v < 0x20) c.rare |= bit;
        if (v >= '0' && v <= '9') c.digit |= bit;
        if (v >= 0x80) c.high |= bit;
    }
    c.quote_parity = cejson_prefix_xor(c.quote);
    return c;
}

static inline cejson_rare_classes cejson_classify_rare_bytewise(const uint8_t *p) {
    cejson_rare_classes c = {0, 0, 0};
    for (int i = 0; i < 64; i++) {
        uint8_t v = p[i];
        uint64_t bit = (uint64_t)1 << i;
        if (v == '\\') c.backslash |= bit;
        if (v < 0x20) c.control |= bit;
        if (v == '\t' || v == '\n' || v == '\r') c.newline |= bit;
    }
    return c;
}

// MARK: the portable classifier: SWAR, 8 bytes in a 64-bit word (Hacker's Delight §6-1,
// made exact per byte), the same masks as the byte loop bit for bit.
//
// Every class is ASCII, so a byte is in it when its high bit is clear and its low 7 bits are
// (or are below) some value. `low7 = w & 0x7F…` is taken once; a sum over it has the high
// bit of each byte set when that byte's low 7 bits differ from `c` (`(low7 ^ c) + 0x7F`) or
// reach `n` (`low7 + 0x80 - n`): each sum is at most 0xFE per byte, so no carry crosses a
// byte (the classic `(w - 0x01…) & ~w` is only exact for "any byte"). A class of several
// values ANDs their sums; OR-ing `w` rules out bytes from 0x80 on; the class is the bytes
// whose high bit is then clear.

/// The 8 bytes at `p`, byte k in bits 8k…8k+7 whatever the byte order (mask bit = text
/// offset, as on little-endian x86).
static inline uint64_t cejson_load_word(const uint8_t *p) {
    uint64_t w;
    __builtin_memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#elif !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "CJSONBlocks needs the compiler's __BYTE_ORDER__"
#endif
    return w;
}

#define CEJSON_ONES 0x0101010101010101ULL
#define CEJSON_LOW7 0x7F7F7F7F7F7F7F7FULL
#define CEJSON_HIGH 0x8080808080808080ULL

/// High bit of each byte clear where `low7`'s byte is `c` (< 0x80).
static inline uint64_t cejson_swar_differs(uint64_t low7, uint8_t c) {
    return (low7 ^ (CEJSON_ONES * c)) + CEJSON_LOW7;
}

/// High bit of each byte clear where `low7`'s byte is below `n` (1…128).
static inline uint64_t cejson_swar_reaches(uint64_t low7, uint8_t n) {
    return low7 + CEJSON_ONES * (uint8_t)(0x80 - n);
}

/// 0x80 in each byte of `w` whose high bit is clear in `sums` (an AND of the sums above).
static inline uint64_t cejson_swar_class(uint64_t sums, uint64_t w) {
    return ~(sums | w) & CEJSON_HIGH;
}

/// The high bits of the 8 bytes of `m` (nothing else set) as 8 bits, byte k to bit k: bit
/// 8k + 7 times bit 7(7 - k) of the constant lands on bit 56 + k, no two products on one
/// bit, so nothing carries.
static inline uint64_t cejson_swar_bits(uint64_t m) {
    return m * 0x0002040810204081ULL >> 56;
}

/// The portable level's classifier: `cejson_classify_bytewise` 8 bytes at a time. Inlined into
/// the block scan (LLVM kept it a call, the classes passed through memory: 2% more).
__attribute__((always_inline)) static inline cejson_classes cejson_classify_portable(const uint8_t *p) {
    cejson_classes c = {0, 0, 0, 0, 0, 0, 0};
    uint64_t not_rare = ~0ULL;
    uint64_t any = 0;
    uint64_t blank = 0;
    for (int k = 0; k < 8; k++) {
        uint64_t w = cejson_load_word(p + 8 * k);
        any |= w;
        uint64_t low7 = w & CEJSON_LOW7;
        unsigned shift = 8 * (unsigned)k;
        // `{` 0x7B and `[` 0x5B, `}` 0x7D and `]` 0x5D differ only in bit 0x20.
        uint64_t folded = low7 | CEJSON_ONES * 0x20;
        uint64_t separator = cejson_swar_differs(low7, ':') & cejson_swar_differs(low7, ',');
        uint64_t op = separator & cejson_swar_differs(folded, '{') & cejson_swar_differs(folded, '}');
        not_rare &= (cejson_swar_reaches(low7, 0x20) & cejson_swar_differs(low7, '\\')) | w;
        // 0x30 <= b < 0x3A: reaches 0x30 (high bit set), not 0x3A (clear).
        uint64_t digit = cejson_swar_class(cejson_swar_reaches(low7, 0x3A), w) & cejson_swar_reaches(low7, 0x30);
        c.quote |= cejson_swar_bits(cejson_swar_class(cejson_swar_differs(low7, '"'), w)) << shift;
        c.op |= cejson_swar_bits(cejson_swar_class(op, w)) << shift;
        blank |= cejson_swar_bits(cejson_swar_class(cejson_swar_reaches(low7, 0x21), w)) << shift;
        c.digit |= cejson_swar_bits(digit) << shift;
    }
    // Whether there is any: the exact bits come from cejson_classify_rare_portable.
    c.rare = ~not_rare & CEJSON_HIGH;
    c.high = any & CEJSON_HIGH;
    c.scalar = ~(c.op | blank);
    c.quote_parity = cejson_prefix_xor(c.quote);
    return c;
}

static inline cejson_rare_classes cejson_classify_rare_portable(const uint8_t *p) {
    cejson_rare_classes c = {0, 0, 0};
    for (int k = 0; k < 8; k++) {
        uint64_t w = cejson_load_word(p + 8 * k);
        uint64_t low7 = w & CEJSON_LOW7;
        unsigned shift = 8 * (unsigned)k;
        uint64_t newline = cejson_swar_differs(low7, '\t') & cejson_swar_differs(low7, '\n') & cejson_swar_differs(low7, '\r');
        c.backslash |= cejson_swar_bits(cejson_swar_class(cejson_swar_differs(low7, '\\'), w)) << shift;
        c.control |= cejson_swar_bits(cejson_swar_class(cejson_swar_reaches(low7, 0x20), w)) << shift;
        c.newline |= cejson_swar_bits(cejson_swar_class(newline, w)) << shift;
    }
    return c;
}
#if CEJSON_SSE2
/// The 16 compare results of `m` as bits, shifted to lane `k` of 4.
static inline uint64_t cejson_mask16(__m128i m, int k) {
    return (uint64_t)(uint16_t)_mm_movemask_epi8(m) << (16 * k);
}
#endif

static inline cejson_classes cejson_classify(const uint8_t *p) {
#if CEJSON_SSE2
    cejson_classes c = {0, 0, 0, 0, 0, 0, 0};
    __m128i rare = _mm_setzero_si128();
    __m128i any = _mm_setzero_si128();
    uint64_t blank_bits = 0;
    for (int k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        any = _mm_or_si128(any, v);
        // `{` 0x7B and `[` 0x5B, `}` 0x7D and `]` 0x5D differ only in bit 0x20.
        __m128i folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
        __m128i separator = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(':')), _mm_cmpeq_epi8(v, _mm_set1_epi8(',')));
        __m128i op = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(folded, _mm_set1_epi8('{')), _mm_cmpeq_epi8(folded, _mm_set1_epi8('}'))), separator);
        // Unsigned v <= n: min(v, n) == v.
        __m128i blank = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x20)), v);
        __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v);
        rare = _mm_or_si128(rare, _mm_or_si128(control, _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
        c.quote |= cejson_mask16(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), k);
        c.op |= cejson_mask16(op, k);
        blank_bits |= cejson_mask16(blank, k);
        // Signed compares: bytes from 0x80 on are negative, below '0'.
        __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)), _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
        c.digit |= cejson_mask16(digit, k);
    }
    // Whether there is any: the exact bits come from cejson_classify_rare.
    c.rare = (uint64_t)(uint16_t)_mm_movemask_epi8(rare);
    c.high = (uint64_t)(uint16_t)_mm_movemask_epi8(any);
    c.scalar = ~(c.op | blank_bits);
    c.quote_parity = cejson_prefix_xor(c.quote);
    return c;
#else
    return cejson_classify_portable(p);
#endif
}

/// The AVX2 classification (for the tests; only when `cejson_has_avx2()`).
void cejson_classify_avx2(const uint8_t *p, cejson_classes *out);

/// Whether the processor runs AVX2, PCLMUL and BMI1 (false on other architectures).
int cejson_has_avx2(void);

/// The NEON classification (for the tests; only where `cejson_level_available(CEJSON_LEVEL_NEON)`).
void cejson_classify_neon(const uint8_t *p, cejson_classes *out);

static inline cejson_rare_classes cejson_classify_rare(const uint8_t *p) {
#if CEJSON_SSE2
    cejson_rare_classes c = {0, 0, 0};
    for (int k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        __m128i newline = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))),
            _mm_cmpeq_epi8(v, _mm_set1_epi8('\r')));
        c.backslash |= cejson_mask16(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')), k);
        c.control |= cejson_mask16(_mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v), k);
        c.newline |= cejson_mask16(newline, k);
    }
    return c;
#else
    return cejson_classify_rare_portable(p);
#endif
}

/// The bytes escaped by a backslash (the byte after each backslash that starts an escape:
/// in a run of n backslashes, the 1st, 3rd, …), given the block's backslashes and the carry
/// from the block before, which it updates (simdjson's `find_escaped_branchless`).
static inline uint64_t cejson_escaped_bytes(uint64_t backslashes, uint64_t *carry) {
    const uint64_t even_bits = 0x5555555555555555ULL;
    uint64_t backslash = backslashes & ~*carry;  // an escaped backslash starts nothing
    uint64_t follows_escape = backslash << 1 | *carry;
    // The runs that start on an odd bit, added to the runs: a run's carry lands past its end.
    uint64_t odd_run_starts = backslash & ~even_bits & ~follows_escape;
    uint64_t runs_starting_on_even_bits;
    *carry = __builtin_add_overflow(odd_run_starts, backslash, &runs_starting_on_even_bits) ? 1 : 0;
    uint64_t invert = runs_starting_on_even_bits << 1;
    return (even_bits ^ invert) & follows_escape;
}

// MARK: the scan

/// Which classifier a scan uses: portable C (SWAR), SSE2 (x86_64), AVX2 + PCLMUL + BMI1 (x86_64,
/// when the processor has them), NEON (little-endian arm64). All give the same results.
enum {
    CEJSON_LEVEL_PORTABLE = 0,
    CEJSON_LEVEL_SSE2 = 1,
    CEJSON_LEVEL_AVX2 = 2,
    CEJSON_LEVEL_NEON = 3,
};

/// The best level this processor runs (asked once).
int cejson_best_level(void);

/// Whether `level` runs here (the portable one always).
int cejson_level_available(int level);

/// What `cejson_scan` tells.
enum {
    /// The first token is not `{` (nothing validated: the text may or may not be JSON).
    CEJSON_NOT_AN_OBJECT = 0,
    /// A valid document, a top-level object: its last members are in the array.
    CEJSON_VALID = 1,
    /// Left to the byte-by-byte validator: an error, an anomaly of the token stream (a control
    /// byte, an invalid escape), nesting beyond 63 levels or the depth bound, a long number.
    CEJSON_UNDECIDED = 2,
    /// The member array is full: note them and call again to go on.
    CEJSON_MORE = 3,
    /// (`cejson_scan_keys`) A top-level name with escapes or non-ASCII bytes: not matched there.
    CEJSON_NOT_PLAIN = 4,
};

/// A member of the top-level object: the opening and closing quotes of its name, and where
/// its value starts (after whitespace). `plain`: the name's bytes are ASCII without `\`.
typedef struct {
    size_t name_start;
    size_t name_end;
    size_t value_start;
    size_t plain;
} cejson_member;

/// A key searched for among the top-level names as the reference's FuzzyGet matches them
/// (`-` and `_` dropped, then lower case): its normalized text, ASCII, at most 16 bytes.
typedef struct {
    uint8_t bytes[16];
    size_t count;
} cejson_key;

/// The first top-level name matching a key (its quotes) and where the value of that name's
/// last occurrence starts; `name_end` 0: none yet.
typedef struct {
    size_t name_start;
    size_t name_end;
    size_t value_start;
} cejson_match;

/// The most keys the scan matches itself (the label rules ask for one or two).
#define CEJSON_MAX_KEYS 2

/// The keys `cejson_scan_keys` matches against the top-level names (one or two), and its matches.
typedef struct {
    size_t key_count;
    cejson_key keys[CEJSON_MAX_KEYS];
    cejson_match matches[CEJSON_MAX_KEYS];
} cejson_key_search;

/// How many blocks the first pass reads at a time (the output a scanner holds: measured, 32
/// cost fewer instructions than 16 on the benchmark's large body, the same on the small
/// one), and at the start of a text: fewer, for a text that is not an object (its first
/// token tells).
#define CEJSON_CHUNK_BLOCKS 32
#define CEJSON_FIRST_BLOCKS 8

/// The longest text the first pass reads from a padded copy, all its blocks at once
/// (json_first_pass.h, `fill_short`): the usual response body.
#define CEJSON_SHORT_TEXT 128

/// A scan in progress: the carries between blocks and where the grammar stands. Opaque to the
/// caller (set up by `cejson_scan_init`), fixed size: nothing grows with the text.
typedef struct {
    const uint8_t *base;
    size_t count;
    size_t max_depth;
    uint64_t depth_limit;     // the open containers' bit stack from which one more is too deep
    int level;
    int resume;               // 0: from the start; 1: at the value `value` of a top-level member
    size_t value;
    size_t next_block;        // the start of the next block to classify
    size_t block_start;       // on resuming: the start of the current block,
    uint64_t tokens;          // … its token starts not given yet,
    size_t chunk_next;        // the next block of the first pass's output to take
    size_t chunk_count;       // how many blocks are in it
    uint64_t in_string_carry; // all ones when the block before ended inside a string
    uint64_t scalar_carry;    // 1 when the last byte of the block before was a scalar byte (not a quote)
    uint64_t escape_carry;    // 1 when the first byte of the next block is escaped
    size_t anomaly;           // the first anomaly (the token stream ends there), or SIZE_MAX
    uint64_t high;            // not 0 once a block read had a byte >= 0x80 (every block, when valid)
    uint64_t rare_seen;       // not 0 once a block read had a backslash or control byte, or began escaped
    cejson_member *members;   // during a call of `cejson_scan`: the caller's array, its capacity,
    size_t capacity;          // how many members are in it
    size_t found;
    cejson_key_search *search; // during `cejson_scan_keys`: the keys and their matches
    // The first pass's output for the blocks it read last (not set up by `cejson_scan_init`):
    // their token starts (see json_scan_template.h), and for the grammar's integers their
    // digits and their scalar bytes other than quotes (the bytes that do not end a number or
    // literal), in that order: block k's at k, CEJSON_CHUNK_BLOCKS + k and
    // 2 * CEJSON_CHUNK_BLOCKS + k (the grammar finds them by the index alone).
    uint64_t chunk[3 * CEJSON_CHUNK_BLOCKS];
} cejson_scanner;

// Swift's `withUnsafeTemporaryAllocation` (TopLevelBlockScan.swift) puts up to 1024 bytes on
// the stack without asking the runtime (measured: 64 blocks, beyond it, cost more per scan).
_Static_assert(sizeof(cejson_scanner) <= 1024, "the scanner must fit Swift's stack allocation");

/// A scan of `base[0..<count]` (a top-level object is at depth 1, which must not exceed
/// `max_depth`) with the classifier of `level` (one that `cejson_level_available` says runs).
void cejson_scan_init(cejson_scanner *s, const uint8_t *base, size_t count, size_t max_depth, int level);

/// Scans on: validates the text as Python's json.loads does (NaN, Infinity, -Infinity
/// included) when it is an object, and writes its top-level members in document order into
/// `members` (at most `capacity` ≥ 1; how many in `*found`). `CEJSON_MORE` when the array is
/// full: call again with the same scanner.
int cejson_scan(cejson_scanner *s, cejson_member *members, size_t capacity, size_t *found);

/// A whole scan (`cejson_scan_init`, then the grammar of `cejson_scan` to the end) whose
/// top-level names are matched against `search`'s keys where the grammar finds them, each as
/// the reference's FuzzyGet matches them and noted as `MatchSlots.note(plain:)` notes a name:
/// the first matching name, the value of its last occurrence. What `cejson_scan` tells at the
/// end, or `CEJSON_NOT_PLAIN` at a name with escapes or non-ASCII bytes (matched by the Swift
/// side: decoded) — as `cejson_scan`'s members handed back and matched one after the other
/// would tell. The matching is a call from the grammar, not inlined into it (inlined, it took
/// the grammar's registers: 2 % more instructions on the benchmark's large body); once one key
/// is matched in a text read whole and plain, the grammar calls it only for a name that begins
/// with the matched name's first byte (any other is another name).
int cejson_scan_keys(cejson_scanner *s, const uint8_t *base, size_t count, size_t max_depth, int level, cejson_key_search *search);

/// For the tests: the token starts (`cejson_scan`'s tokens; see json_scan_template.h) of the
/// whole text into `out` (at most `capacity`), their number returned; `*anomaly` is where the
/// first anomaly is (the stream ends there), or SIZE_MAX.
size_t cejson_token_starts(const uint8_t *base, size_t count, int level, size_t *out, size_t capacity, size_t *anomaly);

#endif
