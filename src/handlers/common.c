/* Random identifiers and input-field readers for the built-in handlers. The
 * generator is xoshiro256** (Blackman and Vigna), seeded once from getrandom. */
#include "handlers/common.h"
#include "core/log.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng[4];
static int rng_ready;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void rng_seed(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        /* No entropy yet (early boot): time and pid still make ids unique enough. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^
               ((uint64_t)getpid() << 32);
        log_warn("getrandom failed; seeding identifiers from the clock");
    }
    for (int i = 0; i < 4; i++)
        rng[i] = splitmix64(&seed);
    rng_ready = 1;
}

uint64_t handlers_random_u64(void)
{
    if (!rng_ready)
        rng_seed();
    uint64_t result = rotl(rng[1] * 5, 7) * 9;
    uint64_t t = rng[1] << 17;
    rng[2] ^= rng[0];
    rng[3] ^= rng[1];
    rng[1] ^= rng[2];
    rng[0] ^= rng[3];
    rng[2] ^= t;
    rng[3] = rotl(rng[3], 45);
    return result;
}

double handlers_random_unit(void)
{
    return (double)(handlers_random_u64() >> 11) * 0x1.0p-53;
}

void handlers_uuid4(char *out)
{
    uint64_t hi = handlers_random_u64(), lo = handlers_random_u64();
    hi = (hi & ~0xF000ull) | 0x4000ull;                    /* version 4 */
    lo = (lo & ~(3ull << 62)) | (2ull << 62);              /* variant 10 */
    snprintf(out, HANDLERS_UUID_LEN, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64
             "-%012" PRIx64, hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF, lo >> 48,
             lo & UINT64_C(0xFFFFFFFFFFFF));
}

int handlers_get_string(const char *handler, const cJSON *input, const char *key,
                        bool required, const char **out, asl_error_t *err)
{
    const cJSON *v = cJSON_IsObject(input) ? cJSON_GetObjectItemCaseSensitive(input, key) : NULL;
    *out = NULL;
    if (!v || cJSON_IsNull(v)) {
        if (!required)
            return 0;
        return asl_error_set(err, HANDLERS_E_INVALID_INPUT, "%s: input needs the string field '%s'",
                             handler, key);
    }
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return asl_error_set(err, HANDLERS_E_INVALID_INPUT,
                             "%s: field '%s' must be a non-empty string", handler, key);
    *out = v->valuestring;
    return 0;
}

int handlers_get_int(const char *handler, const cJSON *input, const char *key, bool required,
                     int64_t dflt, int64_t min, int64_t max, int64_t *out, asl_error_t *err)
{
    const cJSON *v = cJSON_IsObject(input) ? cJSON_GetObjectItemCaseSensitive(input, key) : NULL;
    *out = dflt;
    if (!v || cJSON_IsNull(v)) {
        if (!required)
            return 0;
        return asl_error_set(err, HANDLERS_E_INVALID_INPUT,
                             "%s: input needs the integer field '%s'", handler, key);
    }
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!isfinite(d) || d != floor(d) || d < (double)min || d > (double)max)
        return asl_error_set(err, HANDLERS_E_INVALID_INPUT,
                             "%s: field '%s' must be an integer from %" PRId64 " to %" PRId64,
                             handler, key, min, max);
    *out = (int64_t)d;
    return 0;
}

int handlers_db_error(asl_error_t *err, const char *handler, store_t *st)
{
    return asl_error_set(err, HANDLERS_E_DATABASE, "%s: database error: %s", handler,
                         sqlite3_errmsg(store_db(st)));
}
