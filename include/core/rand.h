/* Fast non-cryptographic randomness for ids and simulations: xoshiro256**
 * seeded once from the kernel (getrandom), so no call ever blocks. */
#ifndef SAGAD_CORE_RAND_H
#define SAGAD_CORE_RAND_H

#include <stdint.h>

#define RAND_UUID_LEN 37   /* 36 characters and the NUL */

/* A uniformly distributed 64-bit value. */
uint64_t rand_u64(void);
/* Same, with the signature the ASL engine's injected randomness expects. */
uint64_t rand_u64_ud(void *ud);
/* A 64-bit value from the kernel's cryptographic generator (getrandom,
 * drawn 256 bytes at a time), for secrets such as task tokens; the engine's
 * asl_env_t.secure64 signature. Falls back to /dev/urandom; with neither
 * it stops the process rather than hand out something predictable. */
uint64_t rand_secure_u64(void *ud);
/* A uniform double in [0, 1). */
double rand_unit(void);
/* A time-ordered random UUID (version 7: 48 bits of Unix milliseconds, then
 * 74 random bits) in lower-case text. Returns buf. */
char *rand_uuid(char buf[RAND_UUID_LEN]);

#endif
