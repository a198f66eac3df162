/* Leveled logging to stderr, one line per event of note.
 * Lines look like "2026-11-25T12:00:00.123Z info listening on 127.0.0.1:8080". */
#ifndef SAGAD_CORE_LOG_H
#define SAGAD_CORE_LOG_H

typedef enum {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO  = 1,
    LOG_LEVEL_WARN  = 2,
    LOG_LEVEL_ERROR = 3
} log_level_t;

/* Lines below `level` are dropped. Default LOG_LEVEL_INFO. */
void log_set_level(log_level_t level);
log_level_t log_get_level(void);

/* Parses "debug", "info", "warn", "error". Returns 0 or -1 when unknown. */
int log_level_parse(const char *name, log_level_t *out);

/* Writes one line. Warnings and errors are rate-limited per call site (per
 * `fmt` address: pass a literal): at most 5 lines a second each; the next
 * line printed from that site ends with "(N more like this suppressed)".
 * Thread-safe. */
void log_msg(log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
