/* sagactl's human output: colours (only on a terminal without NO_COLOR),
 * aligned tables, absolute and relative times, durations and indented JSON,
 * and text from the daemon made harmless for a terminal. */
#ifndef SAGAD_CLI_OUT_H
#define SAGAD_CLI_OUT_H

#include <stdint.h>
#include <stdio.h>
#include <cJSON.h>

typedef enum {
    OUT_PLAIN = 0,
    OUT_BOLD,
    OUT_DIM,
    OUT_RED,
    OUT_GREEN,
    OUT_YELLOW,
    OUT_BLUE
} out_color_t;

/* Decides once whether stdout gets colour: a terminal and NO_COLOR unset or
 * empty, unless `force_off`. */
void out_init(int force_off);

/* The escape sequence that starts colour `c`, or "" when colour is off. */
const char *out_on(out_color_t c);
/* The reset sequence, or "" when colour is off. */
const char *out_off(void);

/* The colour that suits an execution status (SUCCEEDED green, ...). */
out_color_t out_status_color(const char *status);

/* ---- text from outside -------------------------------------------------- */

/* How out_escape shows control characters (C0, DEL, C1 = U+0080..U+009F)
 * and bytes that are not UTF-8 (always as \xff). */
typedef enum {
    OUT_TEXT_LINE = 0,   /* one line: \n \t \r as those two characters,
                            other C0 and DEL as \x1b, C1 as \u009b */
    OUT_TEXT_LINES,      /* the same but \n and \t are kept */
    OUT_TEXT_JSON        /* JSON text: C0 (but \n \t \r), DEL and C1 as
                            \u001b, which keeps JSON strings JSON */
} out_text_t;

/* `len` bytes of s with what a terminal could take as commands escaped.
 * Caller frees; NULL when out of memory. */
char *out_escape(const char *s, size_t len, out_text_t mode);

/* Writes `len` bytes of s (server text: an error, a cause, a name) to f:
 * escaped (out_escape) when f is a terminal, unchanged otherwise, so that
 * pipes and --json get the exact text. */
void out_text(FILE *f, const char *s, size_t len, out_text_t mode);
/* printf into out_text; the format must not carry colour sequences. */
void out_textf(FILE *f, out_text_t mode, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- times --------------------------------------------------------------- */

/* Milliseconds since the epoch now. */
int64_t out_now_ms(void);
/* Parses an RFC 3339 timestamp ("2026-11-25T12:00:00.123Z"). 0 or -1. */
int out_time_parse(const char *s, int64_t *ms);
/* "2026-11-25 13:08:57 UTC" in the local zone. Returns buf. */
char *out_time_abs(int64_t ms, char *buf, size_t cap);
/* "just now", "3s ago", "5m ago", "2h ago", "4d ago" ("in 3s" for the future). Returns buf. */
char *out_time_ago(int64_t ms, int64_t now_ms, char *buf, size_t cap);
/* "0.123s", "12.3s", "2m 03s", "1h 02m", "3d 04h". Returns buf. */
char *out_duration(int64_t ms, char *buf, size_t cap);

/* ---- tables -------------------------------------------------------------- */

/* Rows of cells printed with every column padded to its widest cell
 * (counted in UTF-8 characters), two spaces apart; the last column is not
 * padded. Each cell may have a colour. On a terminal cells are escaped
 * (OUT_TEXT_LINE; the last cell of a row OUT_TEXT_LINES). */
typedef struct out_table_s out_table_t;

/* Caller frees with out_table_free. NULL when out of memory. */
out_table_t *out_table_new(size_t columns);
/* Starts a new row. */
void out_table_row(out_table_t *t);
/* Sets the next cell of the current row (copied; NULL prints as "-"). */
void out_table_cell(out_table_t *t, const char *text, out_color_t color);
void out_table_cellf(out_table_t *t, out_color_t color, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prints every row; the first one in bold when `header` is set. */
void out_table_print(const out_table_t *t, FILE *f, int header);
void out_table_free(out_table_t *t);

/* ---- JSON ---------------------------------------------------------------- */

/* Prints `v` indented by two spaces per level, each line starting with
 * `indent` spaces; strings escaped as OUT_TEXT_JSON on a terminal. */
void out_json_pretty(FILE *f, const cJSON *v, int indent);

#endif
