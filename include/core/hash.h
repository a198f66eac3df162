/* The one string hash for in-memory tables: 64-bit FNV-1a (offset basis
 * 0xcbf29ce484222325, prime 0x100000001b3). Not for anything persisted or
 * exposed to an attacker who picks colliding keys at will. */
#ifndef SAGAD_CORE_HASH_H
#define SAGAD_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A_BASIS UINT64_C(0xcbf29ce484222325)   /* 14695981039346656037 */
#define HASH_FNV1A_PRIME UINT64_C(0x100000001b3)

/* FNV-1a of the bytes of `s` up to its NUL (borrowed). */
uint64_t hash_str(const char *s);

/* FNV-1a of n bytes at p, continuing from h (HASH_FNV1A_BASIS to start):
 * hash_bytes(hash_bytes(HASH_FNV1A_BASIS, a, na), b, nb) hashes a then b. */
uint64_t hash_bytes(uint64_t h, const void *p, size_t n);

#endif
