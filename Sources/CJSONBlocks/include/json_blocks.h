// Classifying 64 bytes of JSON at a time into bitmasks, bit i for byte i (the first pass
// of simdjson: Langdale & Lemire, "Parsing Gigabytes of JSON per Second", 2019, §3.1).
//
// Static inline so that Swift inlines it into the validator (ChannelMetrics'
// JSONBlockTokens.swift). SSE2 on x86_64 (part of its baseline); elsewhere a byte loop
// with the same results (also compiled on x86_64, where the tests compare the two).
#ifndef CJSONBLOCKS_JSON_BLOCKS_H
#define CJSONBLOCKS_JSON_BLOCKS_H

#include <stdint.h>
#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>
#define CEJSON_SSE2 1
#endif

/// The classes every block needs. `blank` is every byte up to 0x20: whitespace, but also
/// the other control bytes, which `rare` reports (a block without them needs no more).
typedef struct {
    uint64_t quote;      // "
    uint64_t op;         // { } [ ] : ,
    uint64_t blank;      // <= 0x20
    uint64_t rare;       // not 0 when a byte is \ or < 0x20 (not a mask: which bits is unspecified)
    uint64_t digit;      // 0-9
    uint64_t separator;  // : ,
    uint64_t quote_parity; // bit i: the parity of the quotes in bits 0…i (escaped ones counted)
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

/// The definition, one byte at a time.
static inline cejson_classes cejson_classify_portable(const uint8_t *p) {
    cejson_classes c = {0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 64; i++) {
        uint8_t v = p[i];
        uint64_t bit = (uint64_t)1 << i;
        if (v == '"') c.quote |= bit;
        if (v == '{' || v == '}' || v == '[' || v == ']' || v == ':' || v == ',') c.op |= bit;
        if (v <= 0x20) c.blank |= bit;
        if (v == '\\' || v < 0x20) c.rare |= bit;
        if (v >= '0' && v <= '9') c.digit |= bit;
        if (v == ':' || v == ',') c.separator |= bit;
    }
    c.quote_parity = cejson_prefix_xor(c.quote);
    return c;
}

static inline cejson_rare_classes cejson_classify_rare_portable(const uint8_t *p) {
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
    for (int k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        // `{` 0x7B and `[` 0x5B, `}` 0x7D and `]` 0x5D differ only in bit 0x20.
        __m128i folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
        __m128i separator = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(':')), _mm_cmpeq_epi8(v, _mm_set1_epi8(',')));
        __m128i op = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(folded, _mm_set1_epi8('{')), _mm_cmpeq_epi8(folded, _mm_set1_epi8('}'))), separator);
        c.separator |= cejson_mask16(separator, k);
        // Unsigned v <= n: min(v, n) == v.
        __m128i blank = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x20)), v);
        __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v);
        rare = _mm_or_si128(rare, _mm_or_si128(control, _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
        c.quote |= cejson_mask16(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), k);
        c.op |= cejson_mask16(op, k);
        c.blank |= cejson_mask16(blank, k);
        // Signed compares: bytes from 0x80 on are negative, below '0'.
        __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)), _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
        c.digit |= cejson_mask16(digit, k);
    }
    // Whether there is any: the exact bits come from cejson_classify_rare.
    c.rare = (uint64_t)(uint16_t)_mm_movemask_epi8(rare);
    c.quote_parity = cejson_prefix_xor(c.quote);
    return c;
#else
    return cejson_classify_portable(p);
#endif
}

/// `cejson_classify` with AVX2 when the processor has it (checked once; SSE2 otherwise, and
/// the byte loop on other architectures): 32 bytes per instruction instead of 16. Not
/// inline: the AVX2 code is compiled for AVX2, which the caller is not.
void cejson_classify_block(const uint8_t *p, cejson_classes *out);

/// The AVX2 classification itself (for the tests; only when `cejson_has_avx2()`).
void cejson_classify_avx2(const uint8_t *p, cejson_classes *out);

/// Whether the processor runs AVX2 and PCLMUL (false on other architectures).
int cejson_has_avx2(void);

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

#endif
