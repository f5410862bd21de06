// The AVX2 variant of cejson_classify and the choice between it and SSE2 at run time:
// x86-64's baseline is SSE2, so AVX2 code is compiled for it alone and called only when
// the processor reports it.
#include "json_blocks.h"

#if CEJSON_SSE2 && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define CEJSON_AVX2 1

__attribute__((target("avx2"))) static inline uint64_t cejson_mask32(__m256i lo, __m256i hi) {
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(lo) | (uint64_t)(uint32_t)_mm256_movemask_epi8(hi) << 32;
}

__attribute__((target("avx2,pclmul"))) void cejson_classify_avx2(const uint8_t *p, cejson_classes *out) {
    __m256i quote[2], op[2], blank[2], digit[2], separator[2];
    __m256i rare = _mm256_setzero_si256();
    for (int k = 0; k < 2; k++) {
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32 * k));
        // `{` 0x7B and `[` 0x5B, `}` 0x7D and `]` 0x5D differ only in bit 0x20.
        __m256i folded = _mm256_or_si256(b, _mm256_set1_epi8(0x20));
        separator[k] = _mm256_or_si256(_mm256_cmpeq_epi8(b, _mm256_set1_epi8(':')), _mm256_cmpeq_epi8(b, _mm256_set1_epi8(',')));
        op[k] = _mm256_or_si256(
            _mm256_or_si256(_mm256_cmpeq_epi8(folded, _mm256_set1_epi8('{')), _mm256_cmpeq_epi8(folded, _mm256_set1_epi8('}'))),
            separator[k]);
        // Unsigned b <= n: min(b, n) == b.
        blank[k] = _mm256_cmpeq_epi8(_mm256_min_epu8(b, _mm256_set1_epi8(0x20)), b);
        __m256i control = _mm256_cmpeq_epi8(_mm256_min_epu8(b, _mm256_set1_epi8(0x1F)), b);
        rare = _mm256_or_si256(rare, _mm256_or_si256(control, _mm256_cmpeq_epi8(b, _mm256_set1_epi8('\\'))));
        quote[k] = _mm256_cmpeq_epi8(b, _mm256_set1_epi8('"'));
        // Signed compares: bytes from 0x80 on are negative, below '0'.
        digit[k] = _mm256_and_si256(_mm256_cmpgt_epi8(b, _mm256_set1_epi8('0' - 1)), _mm256_cmpgt_epi8(_mm256_set1_epi8('9' + 1), b));
    }
    out->quote = cejson_mask32(quote[0], quote[1]);
    // The prefix xor as a carry-less product by all ones (simdjson's prefix_xor).
    out->quote_parity = (uint64_t)_mm_cvtsi128_si64(
        _mm_clmulepi64_si128(_mm_set_epi64x(0, (long long)out->quote), _mm_set1_epi8((char)0xFF), 0));
    out->op = cejson_mask32(op[0], op[1]);
    out->blank = cejson_mask32(blank[0], blank[1]);
    out->rare = (uint64_t)(uint32_t)_mm256_movemask_epi8(rare);
    out->digit = cejson_mask32(digit[0], digit[1]);
    out->separator = cejson_mask32(separator[0], separator[1]);
}

int cejson_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("pclmul") ? 1 : 0;
}
#else
void cejson_classify_avx2(const uint8_t *p, cejson_classes *out) {
    *out = cejson_classify(p);
}

int cejson_has_avx2(void) { return 0; }
#endif

/// 1: AVX2, 0: not, -1: not asked yet (a benign race: every thread stores the same answer).
static int cejson_level = -1;

/// The SSE2 (or byte loop) classification, apart: inlined, its registers would be saved on
/// every call of `cejson_classify_block`, the AVX2 one included (measured: 14 instructions).
__attribute__((noinline)) static void cejson_classify_baseline(const uint8_t *p, cejson_classes *out) {
    *out = cejson_classify(p);
}

/// Asks the processor once.
__attribute__((noinline, cold)) static int cejson_ask_level(void) {
    int level = cejson_has_avx2();
    __atomic_store_n(&cejson_level, level, __ATOMIC_RELAXED);
    return level;
}

void cejson_classify_block(const uint8_t *p, cejson_classes *out) {
#if CEJSON_AVX2
    int level = __atomic_load_n(&cejson_level, __ATOMIC_RELAXED);
    if (__builtin_expect(level < 0, 0)) level = cejson_ask_level();
    if (level) {
        cejson_classify_avx2(p, out);
        return;
    }
#endif
    cejson_classify_baseline(p, out);
}
