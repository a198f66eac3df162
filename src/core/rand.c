/* xoshiro256** (Blackman and Vigna), seeded from getrandom(2) on first use;
 * and getrandom itself, pooled, where values must be unpredictable. */
#include "core/rand.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint64_t s[4];
static int seeded;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static void seed(void)
{
    if (getrandom(s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s) {
        /* Early boot without entropy: mix time and pid; ids stay unique enough. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t z = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + (uint64_t)getpid();
        for (int i = 0; i < 4; i++) {
            z += 0x9E3779B97F4A7C15ull;
            uint64_t x = z;
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
            s[i] = x ^ (x >> 31);
        }
    }
    seeded = 1;
}

uint64_t rand_u64(void)
{
    if (!seeded)
        seed();
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t rand_u64_ud(void *ud)
{
    (void)ud;
    return rand_u64();
}

/* Fills buf from the kernel: getrandom, else /dev/urandom. Never falls back
 * to anything predictable: a token must not be guessable, so without either
 * source the process stops. */
static void secure_fill(void *buf, size_t len)
{
    ssize_t n;
    do {
        n = getrandom(buf, len, 0);
    } while (n < 0 && errno == EINTR);
    if (n == (ssize_t)len)
        return;
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f ? fread(buf, 1, len, f) : 0;
    if (f)
        fclose(f);
    if (got == len)
        return;
    fprintf(stderr, "sagad: no cryptographic randomness (getrandom and /dev/urandom failed); "
                    "cannot make task tokens\n");
    abort();
}

uint64_t rand_secure_u64(void *ud)
{
    static uint64_t pool[32];
    static size_t left;
    (void)ud;
    if (left == 0) {
        secure_fill(pool, sizeof pool);
        left = sizeof pool / sizeof pool[0];
    }
    uint64_t v = pool[--left];
    pool[left] = 0;   /* a value handed out is not kept */
    return v;
}

double rand_unit(void)
{
    return (double)(rand_u64() >> 11) * 0x1.0p-53;
}

char *rand_uuid(char buf[RAND_UUID_LEN])
{
    /* Version 7: the Unix time in ms first, so ids made close together sort
     * together and B-tree inserts append instead of landing on random pages. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    uint64_t a = (ms << 16) | 0x7000 | (rand_u64() & 0x0FFF);
    uint64_t b = (rand_u64() & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
    /* By hand: snprintf costs ~3k instructions, four ids per order saga. */
    static const char hex[] = "0123456789abcdef";
    char *p = buf;
    for (int i = 60; i >= 0; i -= 4) {
        *p++ = hex[(a >> i) & 0xF];
        if (i == 32 || i == 16)
            *p++ = '-';
    }
    *p++ = '-';
    for (int i = 60; i >= 0; i -= 4) {
        *p++ = hex[(b >> i) & 0xF];
        if (i == 48)
            *p++ = '-';
    }
    *p = '\0';
    return buf;
}
