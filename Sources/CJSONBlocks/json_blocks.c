// The top-level scan of `cejson_scan` compiled once per classifier (json_scan_template.h),
// the AVX2 and NEON classifiers, and the choice of level at run time: x86-64's baseline is
// SSE2, so the AVX2 code is compiled for AVX2 alone and run only when the processor reports
// it; arm64's baseline has NEON (Advanced SIMD); elsewhere the portable SWAR classifier.
#include "json_blocks.h"

#include <string.h>

// MARK: what every level shares (scalar code, inlined into each)

/// Whitespace, `,` `:` `[` `]` `{` `}` or `"`: a byte that ends a number or literal.
static inline int cejson_is_delimiter(uint8_t b) {
    const uint64_t below64 = 1ULL << 0x09 | 1ULL << 0x0A | 1ULL << 0x0D | 1ULL << 0x20 | 1ULL << 0x22 | 1ULL << 0x2C | 1ULL << 0x3A;
    const uint64_t below128 = 1ULL << (0x5B - 64) | 1ULL << (0x5D - 64) | 1ULL << (0x7B - 64) | 1ULL << (0x7D - 64);
    uint64_t bits = b < 64 ? below64 : (b < 128 ? below128 : 0);
    return (int)(bits >> (b & 63) & 1);
}

static inline int cejson_is_digit_at(const uint8_t *base, size_t count, size_t i) {
    return i < count && (uint8_t)(base[i] - '0') < 10;
}

static inline size_t cejson_skip_digits(const uint8_t *base, size_t count, size_t i) {
    while (cejson_is_digit_at(base, count, i)) i++;
    return i;
}

/// Past the number whose first digit is at `start` (after any `-`: the grammar of the
/// byte-by-byte validator's `skipNumber`), or SIZE_MAX for an integer of more than CPython's
/// 4300 digits (rejected).
static size_t cejson_skip_number(const uint8_t *base, size_t count, size_t start) {
    size_t i = base[start] == '0' ? start + 1 : cejson_skip_digits(base, count, start + 1);
    size_t integer_digits = i - start;
    int is_float = 0;
    if (i + 1 < count && base[i] == '.' && cejson_is_digit_at(base, count, i + 1)) {
        is_float = 1;
        i = cejson_skip_digits(base, count, i + 2);
    }
    if (i < count && (base[i] | 0x20) == 'e') {  // e or E
        size_t probe = i + 1;
        if (probe < count && (base[probe] == '+' || base[probe] == '-')) probe++;
        if (cejson_is_digit_at(base, count, probe)) {
            is_float = 1;
            i = cejson_skip_digits(base, count, probe + 1);
        }
    }
    if (!is_float && integer_digits > 4300) return SIZE_MAX;
    return i;
}

static inline int cejson_run_ends(const uint8_t *base, size_t count, size_t i) {
    return i >= count || cejson_is_delimiter(base[i]);
}

static inline int cejson_number_is_run(const uint8_t *base, size_t count, size_t start) {
    size_t end = cejson_skip_number(base, count, start);
    return end != SIZE_MAX && cejson_run_ends(base, count, end);
}

/// Whether the run of bytes at `p` (outside strings, not a quote or structural character) is
/// a number or literal (Python's NaN, Infinity, -Infinity included) that ends where the run
/// ends. Not inlined: rare but for floats and long integers.
__attribute__((noinline)) static int cejson_is_scalar(const uint8_t *base, size_t count, size_t p) {
    const uint8_t *b = base + p;
    switch (*b) {
    case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
        return cejson_number_is_run(base, count, p);
    case '-':
        if (cejson_is_digit_at(base, count, p + 1)) return cejson_number_is_run(base, count, p + 1);
        return p + 9 <= count && memcmp(b + 1, "Infinity", 8) == 0 && cejson_run_ends(base, count, p + 9);
    case 't': return p + 4 <= count && memcmp(b, "true", 4) == 0 && cejson_run_ends(base, count, p + 4);
    case 'f': return p + 5 <= count && memcmp(b, "false", 5) == 0 && cejson_run_ends(base, count, p + 5);
    case 'n': return p + 4 <= count && memcmp(b, "null", 4) == 0 && cejson_run_ends(base, count, p + 4);
    case 'N': return p + 3 <= count && memcmp(b, "NaN", 3) == 0 && cejson_run_ends(base, count, p + 3);
    case 'I': return p + 8 <= count && memcmp(b, "Infinity", 8) == 0 && cejson_run_ends(base, count, p + 8);
    default: return 0;
    }
}

/// `cejson_is_scalar` for a number whose first byte at `p` is a digit: the usual one not
/// decided by `cejson_is_short_integer`, an integer whose digits run into the next block,
/// without the general grammar (measured: about 40 of the large benchmark body's integers
/// per scan); anything else (a float, the end of the text) by `cejson_number_is_run`.
__attribute__((noinline)) static int cejson_is_number_at(const uint8_t *base, size_t count, size_t p) {
    size_t i = p + 1;
    if (base[p] != '0') {
        while (i < count && (uint8_t)(base[i] - '0') < 10) i++;
    }
    if (i < count && cejson_is_delimiter(base[i])) return i - p <= 4300;
    return cejson_number_is_run(base, count, p);
}

/// Whether the token at block offset `offset` (a digit 1-9) is an integer followed by a
/// delimiter in this block: a whole number (fewer than 64 digits). False leaves it to
/// `cejson_is_number_at`. Adding the token's bit to the digits carries through its run of
/// digits to the byte after it (lost past the block), the only bit of the sum that can be a
/// delimiter (not in `scalars`, the block's scalar bytes other than quotes).
static inline int cejson_is_short_integer(uint64_t digits, uint64_t scalars, size_t offset) {
    return ((digits + (1ULL << offset)) & ~scalars) != 0;
}

/// The same for a `0` (no leading zeros): followed by a delimiter at once, in this block.
static inline int cejson_is_short_zero(uint64_t scalars, size_t offset) {
    return ((2ULL << offset) & ~scalars) != 0;  // (past the block: 0)
}

/// Whether the escape at `i` (the byte after a backslash) is one the byte-by-byte validator
/// takes: `" \ / b f n r t`, or `u` and four hex digits.
static int cejson_is_valid_escape(const uint8_t *base, size_t count, size_t i) {
    if (i >= count) return 0;
    switch (base[i]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        return 1;
    case 'u':
        if (i + 4 >= count) return 0;
        for (size_t k = 1; k <= 4; k++) {
            uint8_t b = base[i + k];
            if (!((uint8_t)(b - '0') < 10 || (uint8_t)((b | 0x20) - 'a') < 6)) return 0;
        }
        return 1;
    default:
        return 0;
    }
}

/// The bits of `escaped` (for block position `start`) whose escape is invalid.
__attribute__((noinline)) static uint64_t cejson_invalid_escapes(const uint8_t *base, size_t count, uint64_t escaped, size_t start) {
    uint64_t invalid = 0;
    for (uint64_t bits = escaped; bits != 0; bits &= bits - 1) {
        unsigned offset = (unsigned)__builtin_ctzll(bits);
        if (!cejson_is_valid_escape(base, count, start + offset)) invalid |= 1ULL << offset;
    }
    return invalid;
}

/// The bytes of `w` (each below 0x80) with upper case made lower: a byte's sums with 0x3F and
/// 0x25 have their high bit set from 'A' and from '[' on (no sum carries into the next byte).
static inline uint64_t cejson_fold_word(uint64_t w) {
    return w | ((w + 0x3F3F3F3F3F3F3F3FULL) & ~(w + 0x2525252525252525ULL) & 0x8080808080808080ULL) >> 2;
}

/// Whether `count` (4…16) ASCII bytes at `name`, upper case made lower, are the key's `bytes`:
/// two words from each (4 or 8 bytes, overlapping), not a byte at a time (measured, callgrind,
/// `bench json` on k1m-small.pcap's 103-byte body: `cejson_note_keys` 117 -> 104 instructions).
static inline int cejson_folded_equal(const uint8_t *name, const uint8_t *bytes, size_t count) {
    if (count <= 8) {
        uint32_t n0, n1, k0, k1;
        memcpy(&n0, name, 4);
        memcpy(&n1, name + count - 4, 4);
        memcpy(&k0, bytes, 4);
        memcpy(&k1, bytes + count - 4, 4);
        return (((uint32_t)cejson_fold_word(n0) ^ k0) | ((uint32_t)cejson_fold_word(n1) ^ k1)) == 0;
    }
    uint64_t n0, n1, k0, k1;
    memcpy(&n0, name, 8);
    memcpy(&n1, name + count - 8, 8);
    memcpy(&k0, bytes, 8);
    memcpy(&k1, bytes + count - 8, 8);
    return ((cejson_fold_word(n0) ^ k0) | (cejson_fold_word(n1) ^ k1)) == 0;
}

/// Whether the name at `name…end` (ASCII without `\`, between its quotes) is `key` as FuzzyGet
/// matches it: its bytes other than `-` and `_`, upper case made lower, are the key's. A name
/// as long as the key is compared as it is (a `-` or `_` in it differs from every byte of the
/// key), by words from 4 bytes on; only a longer one has bytes to drop. Inlined (as a call, it
/// and `cejson_note_key` cost more than the words saved).
__attribute__((always_inline)) static inline int cejson_key_matches(const cejson_key *key, const uint8_t *name, const uint8_t *end) {
    size_t count = key->count;
    size_t length = (size_t)(end - name);
    if (length < count) return 0;  // dropping bytes only makes it shorter
    size_t i = 0;
    if (length == count) {
        if (count >= 4) return cejson_folded_equal(name, key->bytes, count);
        for (; i < count; i++) {
            uint8_t b = name[i];
            if ((uint8_t)(b | (((uint8_t)(b - 'A') < 26) << 5)) != key->bytes[i]) return 0;
        }
        return 1;
    }
    for (; name < end; name++) {
        uint8_t b = *name;
        if (b == '-' || b == '_') continue;
        b |= (uint8_t)(((uint8_t)(b - 'A') < 26) << 5);
        if (i == count || key->bytes[i] != b) return 0;
        i++;
    }
    return i == count;
}

/// The member whose name's quotes are at `name` and `end` (ASCII without `\` between them) and
/// whose value is at `value`, noted for one key as the Swift side's `MatchSlots.note(plain:)`
/// does: without a match yet, the name when it matches; with one, the value when the name is
/// the same bytes (a repeated name: its last value).
__attribute__((always_inline)) static inline void cejson_note_key(
    cejson_match *m, const cejson_key *key, const uint8_t *base, const uint8_t *name, const uint8_t *end, size_t value) {
    if (m->name_end == 0) {
        if (cejson_key_matches(key, name + 1, end)) {
            m->name_start = (size_t)(name - base);
            m->name_end = (size_t)(end - base);
            m->value_start = value;
        }
        return;
    }
    size_t length = (size_t)(end - name);
    if (m->name_end - m->name_start != length) return;
    const uint8_t *a = base + m->name_start;
    for (size_t k = 1; k < length; k++) {
        if (a[k] != name[k]) return;
    }
    m->value_start = value;
}

/// A top-level member (its name's quotes at `name` and `end`, ASCII without `\\` between them;
/// its value at `value`) noted for the keys of `s->search` (`cejson_scan_keys`' grammar calls it
/// where it finds the member). Not inlined: in the grammar, it took the grammar's registers.
///
/// What the grammar may skip from then on: 0x100 and the first byte of the name matched, when it
/// alone decides (one key, matched) and every block is read, without a byte >= 0x80, a backslash
/// or a control byte (no name needs to be checked for being plain): a later name that begins with
/// another byte is another name, noted for nothing. Else 0.
__attribute__((noinline)) static unsigned cejson_note_keys(
    cejson_scanner *s, const uint8_t *name, const uint8_t *end, size_t value) {
    cejson_key_search *search = s->search;
    const uint8_t *base = s->base;
    cejson_note_key(&search->matches[0], &search->keys[0], base, name, end, value);
    if (search->key_count > 1) {
        cejson_note_key(&search->matches[1], &search->keys[1], base, name, end, value);
        return 0;
    }
    const cejson_match *m = &search->matches[0];
    if (m->name_end <= m->name_start + 1 || s->next_block < s->count || (s->high | s->rare_seen) != 0) return 0;
    return 0x100 | base[m->name_start + 1];
}

// MARK: the levels

#define CEJSON_PORTABLE_CLASSIFY(p, out) (*(out) = cejson_classify_portable(p))

#define CEJSON_NAME(x) cejson_##x##_portable
#define CEJSON_TARGET
#define CEJSON_CLASSIFY CEJSON_PORTABLE_CLASSIFY
#define CEJSON_CLASSIFY_RARE cejson_classify_rare_portable
#define CEJSON_PREFIX_XOR cejson_prefix_xor
#include "json_scan_template.h"  // undefines the parameters again

#if CEJSON_SSE2
#define CEJSON_SSE2_CLASSIFY(p, out) (*(out) = cejson_classify(p))

#define CEJSON_NAME(x) cejson_##x##_sse2
#define CEJSON_TARGET
#define CEJSON_CLASSIFY CEJSON_SSE2_CLASSIFY
#define CEJSON_CLASSIFY_RARE cejson_classify_rare
#define CEJSON_PREFIX_XOR cejson_prefix_xor
#include "json_scan_template.h"  // undefines the parameters again
#endif

#if CEJSON_SSE2 && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define CEJSON_AVX2 1
#define CEJSON_AVX2_TARGET __attribute__((target("avx2,pclmul,bmi")))

/// The 64 compare results as bits. The empty asm keeps the mask a mask: without it, LLVM
/// folds the bit tests of the caller into the compares and extracts the bytes one by one
/// (measured: 3 times the instructions per block).
CEJSON_AVX2_TARGET static inline uint64_t cejson_mask32(__m256i lo, __m256i hi) {
    uint64_t mask = (uint64_t)(uint32_t)_mm256_movemask_epi8(lo) | (uint64_t)(uint32_t)_mm256_movemask_epi8(hi) << 32;
    __asm__("" : "+r"(mask));
    return mask;
}

/// The prefix xor as a carry-less product by all ones (simdjson's prefix_xor).
CEJSON_AVX2_TARGET static inline uint64_t cejson_prefix_xor_clmul(uint64_t x) {
    return (uint64_t)_mm_cvtsi128_si64(_mm_clmulepi64_si128(_mm_set_epi64x(0, (long long)x), _mm_set1_epi8((char)0xFF), 0));
}

/// The classes of `cejson_classes` as bits of each byte, from a table of its low nibble and a
/// table of its high nibble (simdjson's classification, Langdale & Lemire 2019, §3.1.1): each
/// class is a set of low nibbles times a set of high nibbles; bytes from 0x80 on look up 0.
/// The bits are ordered so that two masks are one signed compare each: the structural bits
/// above the others (a byte's bits are > 0x0F exactly when it is `{ } [ ] : ,`: only `"`
/// has the sign bit, and it has no other), the blank ones above the scalar ones (< 0x04
/// exactly when neither structural nor blank: 0, a digit, `\` or `"`, negative).
enum {
    CEJSON_DIGIT = 0x01,      // 0x30-0x39
    CEJSON_BACKSLASH = 0x02,  // 0x5C
    CEJSON_SPACE = 0x04,      // 0x20
    CEJSON_CONTROL = 0x08,    // 0x00-0x1F
    CEJSON_BRACKET = 0x10,    // { } [ ]: 0x5B 0x5D 0x7B 0x7D
    CEJSON_COLON = 0x20,      // 0x3A
    CEJSON_COMMA = 0x40,      // 0x2C
    CEJSON_QUOTE = 0x80,      // 0x22 (the high bit: its mask is the bytes' sign bits)
};

CEJSON_AVX2_TARGET static inline void cejson_classify_avx2_inline(const uint8_t *p, cejson_classes *out) {
    enum { A = CEJSON_CONTROL, D = CEJSON_DIGIT | CEJSON_CONTROL };
    // By low nibble 0…F.
    const __m256i low_table = _mm256_setr_epi8(
        D | CEJSON_SPACE, D, (char)(D | CEJSON_QUOTE), D, D, D, D, D, D, D, A | CEJSON_COLON, A | CEJSON_BRACKET,
        A | CEJSON_COMMA | CEJSON_BACKSLASH, A | CEJSON_BRACKET, A, A,
        D | CEJSON_SPACE, D, (char)(D | CEJSON_QUOTE), D, D, D, D, D, D, D, A | CEJSON_COLON, A | CEJSON_BRACKET,
        A | CEJSON_COMMA | CEJSON_BACKSLASH, A | CEJSON_BRACKET, A, A);
    // By high nibble 0…F.
    const __m256i high_table = _mm256_setr_epi8(
        CEJSON_CONTROL, CEJSON_CONTROL, (char)(CEJSON_COMMA | CEJSON_SPACE | CEJSON_QUOTE), CEJSON_COLON | CEJSON_DIGIT, 0,
        CEJSON_BRACKET | CEJSON_BACKSLASH, 0, CEJSON_BRACKET, 0, 0, 0, 0, 0, 0, 0, 0,
        CEJSON_CONTROL, CEJSON_CONTROL, (char)(CEJSON_COMMA | CEJSON_SPACE | CEJSON_QUOTE), CEJSON_COLON | CEJSON_DIGIT, 0,
        CEJSON_BRACKET | CEJSON_BACKSLASH, 0, CEJSON_BRACKET, 0, 0, 0, 0, 0, 0, 0, 0);
    __m256i classes[2], bytes[2];
    for (int k = 0; k < 2; k++) {
        __m256i b = bytes[k] = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32 * k));
        __m256i high = _mm256_and_si256(_mm256_srli_epi16(b, 4), _mm256_set1_epi8(0x0F));
        classes[k] = _mm256_and_si256(_mm256_shuffle_epi8(low_table, b), _mm256_shuffle_epi8(high_table, high));
    }
    out->quote = cejson_mask32(classes[0], classes[1]);
    out->quote_parity = cejson_prefix_xor_clmul(out->quote);
    // Signed compares (see the class bits): structural above 0x0F, scalar below 0x04.
    out->op = cejson_mask32(_mm256_cmpgt_epi8(classes[0], _mm256_set1_epi8(0x0F)), _mm256_cmpgt_epi8(classes[1], _mm256_set1_epi8(0x0F)));
    out->scalar = cejson_mask32(_mm256_cmpgt_epi8(_mm256_set1_epi8(0x04), classes[0]), _mm256_cmpgt_epi8(_mm256_set1_epi8(0x04), classes[1]));
    out->digit = cejson_mask32(_mm256_slli_epi16(classes[0], 7), _mm256_slli_epi16(classes[1], 7));  // bit 0 to 7
    out->rare = !_mm256_testz_si256(_mm256_or_si256(classes[0], classes[1]), _mm256_set1_epi8(CEJSON_CONTROL | CEJSON_BACKSLASH));
    out->high = (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(bytes[0], bytes[1]));
}

CEJSON_AVX2_TARGET static inline cejson_rare_classes cejson_classify_rare_avx2(const uint8_t *p) {
    __m256i backslash[2], control[2], newline[2];
    for (int k = 0; k < 2; k++) {
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32 * k));
        backslash[k] = _mm256_cmpeq_epi8(b, _mm256_set1_epi8('\\'));
        control[k] = _mm256_cmpeq_epi8(_mm256_min_epu8(b, _mm256_set1_epi8(0x1F)), b);
        newline[k] = _mm256_or_si256(
            _mm256_or_si256(_mm256_cmpeq_epi8(b, _mm256_set1_epi8('\t')), _mm256_cmpeq_epi8(b, _mm256_set1_epi8('\n'))),
            _mm256_cmpeq_epi8(b, _mm256_set1_epi8('\r')));
    }
    cejson_rare_classes c = {cejson_mask32(backslash[0], backslash[1]), cejson_mask32(control[0], control[1]),
                             cejson_mask32(newline[0], newline[1])};
    return c;
}

CEJSON_AVX2_TARGET void cejson_classify_avx2(const uint8_t *p, cejson_classes *out) {
    cejson_classify_avx2_inline(p, out);
}

int cejson_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("bmi") ? 1 : 0;
}

#define CEJSON_NAME(x) cejson_##x##_avx2
#define CEJSON_TARGET CEJSON_AVX2_TARGET
#define CEJSON_CLASSIFY cejson_classify_avx2_inline
#define CEJSON_CLASSIFY_RARE cejson_classify_rare_avx2
#define CEJSON_PREFIX_XOR cejson_prefix_xor_clmul
#include "json_scan_template.h"  // undefines the parameters again
#else
void cejson_classify_avx2(const uint8_t *p, cejson_classes *out) {
    *out = cejson_classify(p);
}

int cejson_has_avx2(void) { return 0; }
#endif

#include "json_level_neon.h"

// MARK: the choice

/// The best level, or -1 before it is asked (a benign race: every thread stores the same answer).
static int cejson_level = -1;

int cejson_level_available(int level) {
    switch (level) {
    case CEJSON_LEVEL_PORTABLE: return 1;
#if CEJSON_SSE2
    case CEJSON_LEVEL_SSE2: return 1;
#endif
#if CEJSON_AVX2
    case CEJSON_LEVEL_AVX2: return cejson_has_avx2();
#endif
#if CEJSON_NEON
    case CEJSON_LEVEL_NEON: return 1;  // Advanced SIMD is part of every arm64 processor
#endif
    default: return 0;
    }
}

/// Asks the processor once.
__attribute__((noinline, cold)) static int cejson_ask_level(void) {
    int level = cejson_level_available(CEJSON_LEVEL_AVX2) ? CEJSON_LEVEL_AVX2
        : cejson_level_available(CEJSON_LEVEL_SSE2)      ? CEJSON_LEVEL_SSE2
        : cejson_level_available(CEJSON_LEVEL_NEON)      ? CEJSON_LEVEL_NEON
                                                         : CEJSON_LEVEL_PORTABLE;
    __atomic_store_n(&cejson_level, level, __ATOMIC_RELAXED);
    return level;
}

int cejson_best_level(void) {
    int level = __atomic_load_n(&cejson_level, __ATOMIC_RELAXED);
    return __builtin_expect(level < 0, 0) ? cejson_ask_level() : level;
}

void cejson_scan_init(cejson_scanner *s, const uint8_t *base, size_t count, size_t max_depth, int level) {
    memset(s, 0, offsetof(cejson_scanner, chunk));  // the entries are written before they are read
    s->base = base;
    s->count = base ? count : 0;
    s->max_depth = max_depth;
    // The stack's highest 1 is at the depth: at 63 (the bit stack full) or at the bound, no more.
    s->depth_limit = 1ULL << (max_depth < 63 ? max_depth : 63);
    // The best level (asked once) runs here: no asking the processor again per scan.
    int best = __atomic_load_n(&cejson_level, __ATOMIC_RELAXED);
    s->level = level == best || cejson_level_available(level) ? level : CEJSON_LEVEL_PORTABLE;
    s->anomaly = SIZE_MAX;
}

int cejson_scan_keys(cejson_scanner *s, const uint8_t *base, size_t count, size_t max_depth, int level, cejson_key_search *search) {
    cejson_scan_init(s, base, count, max_depth, level);
    s->search = search;
    switch (s->level) {
#if CEJSON_AVX2
    case CEJSON_LEVEL_AVX2: return cejson_scan_keys_avx2(s);
#endif
#if CEJSON_SSE2
    case CEJSON_LEVEL_SSE2: return cejson_scan_keys_sse2(s);
#endif
#if CEJSON_NEON
    case CEJSON_LEVEL_NEON: return cejson_scan_keys_neon(s);
#endif
    default: return cejson_scan_keys_portable(s);
    }
}

int cejson_scan(cejson_scanner *s, cejson_member *members, size_t capacity, size_t *found) {
    s->members = members;
    s->capacity = capacity;
    s->found = 0;
    int outcome;
    switch (s->level) {
#if CEJSON_AVX2
    case CEJSON_LEVEL_AVX2: outcome = cejson_scan_avx2(s); break;
#endif
#if CEJSON_SSE2
    case CEJSON_LEVEL_SSE2: outcome = cejson_scan_sse2(s); break;
#endif
#if CEJSON_NEON
    case CEJSON_LEVEL_NEON: outcome = cejson_scan_neon(s); break;
#endif
    default: outcome = cejson_scan_portable(s); break;
    }
    *found = s->found;
    return outcome;
}

size_t cejson_token_starts(const uint8_t *base, size_t count, int level, size_t *out, size_t capacity, size_t *anomaly) {
    cejson_scanner s;
    cejson_scan_init(&s, base, count, 0, level);
    size_t n;
    switch (s.level) {
#if CEJSON_AVX2
    case CEJSON_LEVEL_AVX2: n = cejson_token_starts_avx2(&s, out, capacity); break;
#endif
#if CEJSON_SSE2
    case CEJSON_LEVEL_SSE2: n = cejson_token_starts_sse2(&s, out, capacity); break;
#endif
#if CEJSON_NEON
    case CEJSON_LEVEL_NEON: n = cejson_token_starts_neon(&s, out, capacity); break;
#endif
    default: n = cejson_token_starts_portable(&s, out, capacity); break;
    }
    *anomaly = s.anomaly;
    return n;
}
