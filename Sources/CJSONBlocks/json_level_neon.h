// The NEON level (little-endian arm64, where Advanced SIMD is part of the baseline): its
// classifier and its scan, included once by json_blocks.c after what every level shares.

#if defined(__aarch64__) && defined(__ARM_NEON) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#include <arm_neon.h>
#define CEJSON_NEON 1

/// The 64 compare results (0xFF or 0) of 4 vectors as bits: each byte weighted by its bit,
/// then pairwise sums fold 8 bytes into one (simdjson's arm64 `to_bitmask`).
static inline uint64_t cejson_neon_mask(uint8x16_t m0, uint8x16_t m1, uint8x16_t m2, uint8x16_t m3) {
    const uint8x16_t weights = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    uint8x16_t s0 = vpaddq_u8(vandq_u8(m0, weights), vandq_u8(m1, weights));
    uint8x16_t s1 = vpaddq_u8(vandq_u8(m2, weights), vandq_u8(m3, weights));
    s0 = vpaddq_u8(s0, s1);
    s0 = vpaddq_u8(s0, s0);
    return vgetq_lane_u64(vreinterpretq_u64_u8(s0), 0);
}

#define CEJSON_NEON_MASK(m) cejson_neon_mask((m)[0], (m)[1], (m)[2], (m)[3])

static inline void cejson_classify_neon_inline(const uint8_t *p, cejson_classes *out) {
    uint8x16_t quote[4], op[4], blank[4], digit[4];
    uint8x16_t rare = vdupq_n_u8(0);
    uint8x16_t any = vdupq_n_u8(0);
    for (int k = 0; k < 4; k++) {
        uint8x16_t v = vld1q_u8(p + 16 * k);
        any = vorrq_u8(any, v);
        // `{` 0x7B and `[` 0x5B, `}` 0x7D and `]` 0x5D differ only in bit 0x20.
        uint8x16_t folded = vorrq_u8(v, vdupq_n_u8(0x20));
        uint8x16_t separator = vorrq_u8(vceqq_u8(v, vdupq_n_u8(':')), vceqq_u8(v, vdupq_n_u8(',')));
        op[k] = vorrq_u8(vorrq_u8(vceqq_u8(folded, vdupq_n_u8('{')), vceqq_u8(folded, vdupq_n_u8('}'))), separator);
        quote[k] = vceqq_u8(v, vdupq_n_u8('"'));
        blank[k] = vcleq_u8(v, vdupq_n_u8(0x20));
        digit[k] = vcltq_u8(vsubq_u8(v, vdupq_n_u8('0')), vdupq_n_u8(10));
        rare = vorrq_u8(rare, vorrq_u8(vcltq_u8(v, vdupq_n_u8(0x20)), vceqq_u8(v, vdupq_n_u8('\\'))));
    }
    out->quote = CEJSON_NEON_MASK(quote);
    out->op = CEJSON_NEON_MASK(op);
    out->scalar = ~(out->op | CEJSON_NEON_MASK(blank));
    out->digit = CEJSON_NEON_MASK(digit);
    // Whether there is any: the exact bits come from cejson_classify_rare_neon.
    out->rare = vmaxvq_u8(rare);
    out->high = vmaxvq_u8(any) >> 7;
    out->quote_parity = cejson_prefix_xor(out->quote);
}

static inline cejson_rare_classes cejson_classify_rare_neon(const uint8_t *p) {
    uint8x16_t backslash[4], control[4], newline[4];
    for (int k = 0; k < 4; k++) {
        uint8x16_t v = vld1q_u8(p + 16 * k);
        backslash[k] = vceqq_u8(v, vdupq_n_u8('\\'));
        control[k] = vcltq_u8(v, vdupq_n_u8(0x20));
        newline[k] = vorrq_u8(vorrq_u8(vceqq_u8(v, vdupq_n_u8('\t')), vceqq_u8(v, vdupq_n_u8('\n'))), vceqq_u8(v, vdupq_n_u8('\r')));
    }
    cejson_rare_classes c = {CEJSON_NEON_MASK(backslash), CEJSON_NEON_MASK(control), CEJSON_NEON_MASK(newline)};
    return c;
}
#undef CEJSON_NEON_MASK

void cejson_classify_neon(const uint8_t *p, cejson_classes *out) {
    cejson_classify_neon_inline(p, out);
}

#define CEJSON_NAME(x) cejson_##x##_neon
#define CEJSON_TARGET
#define CEJSON_CLASSIFY cejson_classify_neon_inline
#define CEJSON_CLASSIFY_RARE cejson_classify_rare_neon
#define CEJSON_PREFIX_XOR cejson_prefix_xor
#include "json_scan_template.h"  // undefines the parameters again
#else
void cejson_classify_neon(const uint8_t *p, cejson_classes *out) {
    *out = cejson_classify_portable(p);
}
#endif
