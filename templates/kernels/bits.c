/* Bit counting. Cortex-M has no popcount instruction and __builtin_popcount
 * is a libgcc call there, so count bits in SWAR byte lanes and sum the lanes
 * once per row: with usada8 on cores with the DSP extension (v7E-M, v8-M
 * Main with DSP), with two SWAR steps elsewhere. */
#if defined(__GNUC__)
#define SBN_NOINLINE __attribute__((noinline)) /* keeps hot loops' registers free */
#else
#define SBN_NOINLINE
#endif

#if defined(__ARM_FEATURE_DSP)
#define SBN_DSP 1
/* acc + sum over the four bytes of |a - b| */
static inline uint32_t sbn_usada8(uint32_t a, uint32_t b, uint32_t acc)
{
    uint32_t r;
    __asm__("usada8 %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
#else
#define SBN_DSP 0
#endif

/* Per-byte popcounts of x; each byte holds 0..8. */
static inline uint32_t sbn_bytecount(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    return (x + (x >> 4)) & 0x0F0F0F0Fu;
}

/* Sum of the four bytes of x. */
static inline uint32_t sbn_bytesum(uint32_t x)
{
#if SBN_DSP
    return sbn_usada8(x, 0u, 0u);
#else
    x = (x & 0x00FF00FFu) + ((x >> 8) & 0x00FF00FFu);
    return (x + (x >> 16)) & 0xFFFFu;
#endif
}

/* Number of differing bits between a and b over n words. Three words are
 * counted in 4-bit lanes (at most 12 each) before widening to byte lanes,
 * which take nine such triples (at most 216) before they are summed. */
SBN_NOINLINE static uint32_t sbn_mismatches(const uint32_t *a, const uint32_t *b, uint32_t n)
{
    uint32_t total = 0u, bytes = 0u, triples = 0u;
    for (; n >= 3u; n -= 3u, a += 3, b += 3) {
        uint32_t x = a[0] ^ b[0], y = a[1] ^ b[1], z = a[2] ^ b[2];
        x -= (x >> 1) & 0x55555555u;
        y -= (y >> 1) & 0x55555555u;
        z -= (z >> 1) & 0x55555555u;
        x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
        y = (y & 0x33333333u) + ((y >> 2) & 0x33333333u);
        z = (z & 0x33333333u) + ((z >> 2) & 0x33333333u);
        x += y + z;
        bytes += (x & 0x0F0F0F0Fu) + ((x >> 4) & 0x0F0F0F0Fu);
        if (++triples == 9u) {
            total += sbn_bytesum(bytes);
            bytes = 0u;
            triples = 0u;
        }
    }
    for (; n > 0u; n--) {
        bytes += sbn_bytecount(*a++ ^ *b++); /* at most 2 more words: 216 + 16 fits */
    }
    return total + sbn_bytesum(bytes);
}

/* Store one output bit; words are cleared by the caller. */
static inline void sbn_set_bit(uint32_t *words, uint32_t index, uint32_t bit)
{
    words[index >> 5] |= bit << (index & 31u);
}
