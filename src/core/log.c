/* Leveled logging to stderr. Each line is formatted into one buffer and written
 * with a single write(2) so lines from a crash-restart loop never interleave. */
#include "core/log.h"
#include "core/timefmt.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static log_level_t min_level = LOG_INFO;
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

void log_msg(log_level_t level, const char *fmt, ...)
{
    if (level < min_level)
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
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
