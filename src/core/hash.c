/* 64-bit FNV-1a (Fowler, Noll, Vo): short keys such as state names and
 * execution ids, hashed for open-addressing and chained tables in memory. */
#include "core/hash.h"

uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * HASH_FNV1A_PRIME;
    return h;
}

uint64_t hash_str(const char *s)
{
    uint64_t h = HASH_FNV1A_BASIS;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * HASH_FNV1A_PRIME;
    return h;
}
