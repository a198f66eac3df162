/* Leveled logging to stderr. Each line is formatted into one buffer and written
 * with a single write(2) so lines from a crash-restart loop never interleave.
 * Warnings and errors are rate-limited per call site, so a failing disk
 * retried in a loop cannot flood the log. */
#include "core/log.h"
#include "core/timefmt.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static log_level_t min_level = LOG_LEVEL_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(log_level_t level) { min_level = level; }

log_level_t log_get_level(void) { return min_level; }

int log_level_parse(const char *name, log_level_t *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (log_level_t)i;
            return 0;
        }
    }
    return -1;
}

/* A call site is its format string (a literal: one address per site). Each
 * may print LOG_BURST lines per LOG_WINDOW_MS; the first line after a window
 * with suppressed lines says how many were dropped. Sites past LOG_SITES are
 * not limited (more distinct failing sites than that is no loop). */
#define LOG_SITES 64
#define LOG_BURST 5
#define LOG_WINDOW_MS 1000

typedef struct log_site_s {
    const char *fmt;
    int64_t window_start_ms;
    unsigned printed;       /* lines printed in the current window */
    uint64_t suppressed;    /* lines dropped since the last printed one */
} log_site_t;

static log_site_t sites[LOG_SITES];
static pthread_mutex_t sites_mu = PTHREAD_MUTEX_INITIALIZER;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether the site may print now; *dropped is set to the lines it dropped
 * since it last printed (to be reported on this line). */
static int site_admit(const char *fmt, uint64_t *dropped)
{
    *dropped = 0;
    uintptr_t h = (uintptr_t)fmt;
    size_t i = (size_t)((h ^ (h >> 7)) % LOG_SITES);
    int64_t now = mono_ms();
    int ok = 1;
    pthread_mutex_lock(&sites_mu);
    for (size_t n = 0; n < LOG_SITES; n++, i = (i + 1) % LOG_SITES) {
        log_site_t *s = &sites[i];
        if (s->fmt && s->fmt != fmt)
            continue;
        if (!s->fmt) {
            s->fmt = fmt;
            s->window_start_ms = now;
        }
        if (now - s->window_start_ms >= LOG_WINDOW_MS) {
            s->window_start_ms = now;
            s->printed = 0;
        }
        if (s->printed >= LOG_BURST) {
            s->suppressed++;
            ok = 0;
        } else {
            s->printed++;
            *dropped = s->suppressed;
            s->suppressed = 0;
        }
        break;
    }
    pthread_mutex_unlock(&sites_mu);
    return ok;
}

void log_msg(log_level_t level, const char *fmt, ...)
{
    if (level < min_level)
        return;
    uint64_t dropped = 0;
    if (level >= LOG_LEVEL_WARN && !site_admit(fmt, &dropped))
        return;
    char line[2048];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char when[TIMEFMT_MAX];
    timefmt_utc_ms((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, when);
    int n = snprintf(line, sizeof line, "%s %s ", when, level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    if (dropped) {
        m = snprintf(line + n, sizeof line - (size_t)n - 1,
                     " (%llu more like this suppressed)", (unsigned long long)dropped);
        if (m > 0)
            n += m;
        if (n > (int)sizeof line - 2)
            n = (int)sizeof line - 2;
    }
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
