/*
 * The four functions that gcc may call on its own even with -ffreestanding
 * (struct copies, zeroed local arrays). The firmware links -nostdlib, so
 * they are provided here. Byte loops: small, and their speed never matters
 * here; the loop-distribution pass is disabled so that gcc does not turn
 * each loop back into a call to itself.
 */
#include <stddef.h>

#define SBN_NO_LOOP_PATTERNS __attribute__((optimize("no-tree-loop-distribute-patterns")))

void *memcpy(void *dst, const void *src, size_t n) SBN_NO_LOOP_PATTERNS;
void *memmove(void *dst, const void *src, size_t n) SBN_NO_LOOP_PATTERNS;
void *memset(void *dst, int c, size_t n) SBN_NO_LOOP_PATTERNS;
int memcmp(const void *a, const void *b, size_t n) SBN_NO_LOOP_PATTERNS;

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n-- > 0u) {
        *d++ = *s++;
    }
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d < s) {
        while (n-- > 0u) {
            *d++ = *s++;
        }
    } else {
        while (n-- > 0u) {
            d[n] = s[n];
        }
    }
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    while (n-- > 0u) {
        *d++ = (unsigned char)c;
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a;
    const unsigned char *y = b;
    for (; n > 0u; n--, x++, y++) {
        if (*x != *y) {
            return *x < *y ? -1 : 1;
        }
    }
    return 0;
}
