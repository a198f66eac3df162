/* Human output for sagactl: colour decided once from the terminal and
 * NO_COLOR, tables padded by visible width, times and durations people read,
 * and no byte from the daemon that could drive the operator's terminal. */
#include "cli/out.h"
#include "asl/json.h"
#include "core/timefmt.h"
#include "core/jsonin.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int g_color;

void out_init(int force_off)
{
    const char *nc = getenv("NO_COLOR");
    g_color = !force_off && isatty(STDOUT_FILENO) && !(nc && *nc);
}

const char *out_on(out_color_t c)
{
    static const char *const seq[] = {"", "\033[1m", "\033[2m", "\033[31m",
                                      "\033[32m", "\033[33m", "\033[34m"};
    if (!g_color || (unsigned)c >= sizeof seq / sizeof seq[0])
        return "";
    return seq[c];
}

const char *out_off(void)
{
    return g_color ? "\033[0m" : "";
}

out_color_t out_status_color(const char *s)
{
    if (!s)
        return OUT_PLAIN;
    if (strcmp(s, "SUCCEEDED") == 0)
        return OUT_GREEN;
    if (strcmp(s, "RUNNING") == 0)
        return OUT_YELLOW;
    if (strcmp(s, "FAILED") == 0 || strcmp(s, "TIMED_OUT") == 0 || strcmp(s, "ABORTED") == 0)
        return OUT_RED;
    return OUT_PLAIN;
}

/* ---- text from outside ----------------------------------------------------- */

/* Appends the escape for control byte or C1 code point c; returns its length. */
static size_t escape_one(char *o, unsigned c, out_text_t mode)
{
    if (mode == OUT_TEXT_JSON || c >= 0x80)
        return (size_t)sprintf(o, "\\u%04x", c);
    if (mode == OUT_TEXT_LINE && (c == '\n' || c == '\t' || c == '\r'))
        return (size_t)sprintf(o, "\\%c", c == '\n' ? 'n' : c == '\t' ? 't' : 'r');
    return (size_t)sprintf(o, "\\x%02x", c);
}

static int kept(unsigned char c, out_text_t mode)
{
    if (c >= 0x20 && c != 0x7f)
        return 1;
    if (mode == OUT_TEXT_LINE)
        return 0;
    return c == '\n' || c == '\t' || (mode == OUT_TEXT_JSON && c == '\r');
}

char *out_escape(const char *s, size_t len, out_text_t mode)
{
    /* At most 6 bytes ("\u009b") for each byte in. */
    char *buf = malloc(len * 6 + 1), *o = buf;
    if (!buf)
        return NULL;
    for (size_t i = 0; i < len;) {
        unsigned char b = (unsigned char)s[i];
        if (b < 0x80) {
            if (kept(b, mode))
                *o++ = (char)b;
            else
                o += escape_one(o, b, mode);
            i++;
            continue;
        }
        size_t n = jsonin_utf8_length(s + i, len - i);
        if (n == 0) {
            o += (size_t)sprintf(o, "\\x%02x", b);
            i++;
        } else if (b == 0xC2 && (unsigned char)s[i + 1] < 0xA0) {
            o += escape_one(o, (unsigned char)s[i + 1], mode);   /* U+0080..U+009F */
            i += 2;
        } else {
            memcpy(o, s + i, n);
            o += n;
            i += n;
        }
    }
    *o = '\0';
    return buf;
}

void out_text(FILE *f, const char *s, size_t len, out_text_t mode)
{
    if (!isatty(fileno(f))) {
        fwrite(s, 1, len, f);
        return;
    }
    char *e = out_escape(s, len, mode);
    if (e)
        fputs(e, f);
    free(e);
}

void out_textf(FILE *f, out_text_t mode, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    out_text(f, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1, mode);
}

/* ---- times ------------------------------------------------------------------ */

int64_t out_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int out_time_parse(const char *s, int64_t *ms)
{
    asl_timestamp_t t;
    if (!s || !asl_timestamp_parse(s, &t))
        return -1;
    *ms = asl_timestamp_to_ms(&t);
    return 0;
}

char *out_time_abs(int64_t ms, char *buf, size_t cap)
{
    time_t secs = (time_t)timefmt_floor_sec(ms, NULL);
    struct tm tm;
    localtime_r(&secs, &tm);
    strftime(buf, cap, "%Y-%m-%d %H:%M:%S %Z", &tm);
    return buf;
}

char *out_time_ago(int64_t ms, int64_t now_ms, char *buf, size_t cap)
{
    int64_t d = now_ms - ms;
    int future = d < 0;
    int64_t s = (future ? -d : d) / 1000;
    char n[32];
    if (s < 1) {
        snprintf(buf, cap, "just now");
        return buf;
    }
    if (s < 60)
        snprintf(n, sizeof n, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(n, sizeof n, "%lldm", (long long)(s / 60));
    else if (s < 86400)
        snprintf(n, sizeof n, "%lldh", (long long)(s / 3600));
    else
        snprintf(n, sizeof n, "%lldd", (long long)(s / 86400));
    snprintf(buf, cap, future ? "in %s" : "%s ago", n);
    return buf;
}

char *out_duration(int64_t ms, char *buf, size_t cap)
{
    if (ms < 0)
        ms = 0;
    long long s = (long long)(ms / 1000);
    if (ms < 10000)
        snprintf(buf, cap, "%lld.%03llds", s, (long long)(ms % 1000));
    else if (ms < 60000)
        snprintf(buf, cap, "%lld.%llds", s, (long long)(ms % 1000) / 100);
    else if (s < 3600)
        snprintf(buf, cap, "%lldm %02llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, cap, "%lldh %02lldm", s / 3600, (s % 3600) / 60);
    else
        snprintf(buf, cap, "%lldd %02lldh", s / 86400, (s % 86400) / 3600);
    return buf;
}

/* ---- tables ----------------------------------------------------------------- */

typedef struct cell_s {
    char *text;
    out_color_t color;
} cell_t;

struct out_table_s {
    size_t cols;
    cell_t *cells;     /* rows * cols */
    size_t rows, cap_rows;
    size_t next;       /* next cell in the current row */
};

out_table_t *out_table_new(size_t columns)
{
    out_table_t *t = calloc(1, sizeof *t);
    if (t)
        t->cols = columns;
    return t;
}

void out_table_row(out_table_t *t)
{
    if (t->rows == t->cap_rows) {
        size_t nc = t->cap_rows ? t->cap_rows * 2 : 16;
        cell_t *p = realloc(t->cells, nc * t->cols * sizeof *p);
        if (!p)
            abort();
        t->cells = p;
        t->cap_rows = nc;
    }
    memset(&t->cells[t->rows * t->cols], 0, t->cols * sizeof *t->cells);
    t->rows++;
    t->next = 0;
}

void out_table_cell(out_table_t *t, const char *text, out_color_t color)
{
    if (!t->rows || t->next >= t->cols)
        return;
    cell_t *c = &t->cells[(t->rows - 1) * t->cols + t->next++];
    c->text = strdup(text ? text : "-");
    if (!c->text)
        abort();
    c->color = color;
}

void out_table_cellf(out_table_t *t, out_color_t color, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    out_table_cell(t, buf, color);
}

/* Characters, not bytes: UTF-8 continuation bytes do not count. */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

/* The cells as shown on f: escaped copies on a terminal (caller frees each
 * with free), else the cells' own text. NULL when out of memory. */
static char **shown_cells(const out_table_t *t, FILE *f)
{
    size_t n = t->rows * t->cols;
    char **shown = calloc(n ? n : 1, sizeof *shown);
    if (!shown)
        return NULL;
    int tty = isatty(fileno(f));
    for (size_t r = 0; r < t->rows; r++) {
        size_t last = t->cols;
        while (last > 0 && !t->cells[r * t->cols + last - 1].text)
            last--;
        for (size_t c = 0; c < last; c++) {
            const char *txt = t->cells[r * t->cols + c].text;
            txt = txt ? txt : "";
            char *e = tty ? out_escape(txt, strlen(txt), c + 1 < last ? OUT_TEXT_LINE
                                                                      : OUT_TEXT_LINES)
                          : strdup(txt);
            if (!e) {
                for (size_t i = 0; i < n; i++)
                    free(shown[i]);
                free(shown);
                return NULL;
            }
            shown[r * t->cols + c] = e;
        }
    }
    return shown;
}

void out_table_print(const out_table_t *t, FILE *f, int header)
{
    size_t *w = calloc(t->cols ? t->cols : 1, sizeof *w);
    char **shown = shown_cells(t, f);
    if (!w || !shown) {
        free(w);
        free(shown);
        return;
    }
    for (size_t r = 0; r < t->rows; r++)
        for (size_t c = 0; c < t->cols; c++) {
            const char *txt = shown[r * t->cols + c];
            size_t cw = txt ? width(txt) : 0;
            if (cw > w[c])
                w[c] = cw;
        }
    for (size_t r = 0; r < t->rows; r++) {
        size_t last = t->cols;
        while (last > 0 && !shown[r * t->cols + last - 1])
            last--;
        for (size_t c = 0; c < last; c++) {
            const char *txt = shown[r * t->cols + c];
            out_color_t col = header && r == 0 ? OUT_BOLD : t->cells[r * t->cols + c].color;
            if (col != OUT_PLAIN)
                fprintf(f, "%s%s%s", out_on(col), txt, out_off());
            else
                fputs(txt, f);
            if (c + 1 < last)
                fprintf(f, "%*s", (int)(w[c] - width(txt) + 2), "");
        }
        fputc('\n', f);
    }
    for (size_t i = 0; i < t->rows * t->cols; i++)
        free(shown[i]);
    free(shown);
    free(w);
}

void out_table_free(out_table_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->rows * t->cols; i++)
        free(t->cells[i].text);
    free(t->cells);
    free(t);
}

/* ---- JSON ------------------------------------------------------------------- */

static void print_scalar(FILE *f, const cJSON *v)
{
    char *s = asl_json_print(v);
    if (s)
        out_text(f, s, strlen(s), OUT_TEXT_JSON);
    else
        fputs("null", f);
    free(s);
}

static void pretty(FILE *f, const cJSON *v, int indent)
{
    int is_obj = cJSON_IsObject(v);
    if (!is_obj && !cJSON_IsArray(v)) {
        print_scalar(f, v);
        return;
    }
    if (!v->child) {
        fputs(is_obj ? "{}" : "[]", f);
        return;
    }
    fputs(is_obj ? "{\n" : "[\n", f);
    for (const cJSON *c = v->child; c; c = c->next) {
        fprintf(f, "%*s", indent + 2, "");
        if (is_obj) {
            cJSON *k = cJSON_CreateString(c->string ? c->string : "");
            print_scalar(f, k);
            cJSON_Delete(k);
            fputs(": ", f);
        }
        pretty(f, c, indent + 2);
        fputs(c->next ? ",\n" : "\n", f);
    }
    fprintf(f, "%*s%s", indent, "", is_obj ? "}" : "]");
}

void out_json_pretty(FILE *f, const cJSON *v, int indent)
{
    fprintf(f, "%*s", indent, "");
    pretty(f, v, indent);
    fputc('\n', f);
}
