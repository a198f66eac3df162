/* Configuration parsing. A table maps each key to a typed setter so that the
 * file, the command line and the unit tests all go through one path. */
#include "core/config.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef int (*setter_fn)(config_t *cfg, const char *value, const char **why);

static int parse_long(const char *v, long min, long max, long *out)
{
    char *end;
    errno = 0;
    if (*v == '\0' || isspace((unsigned char)*v))
        return -1;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

static int copy_str(char *dst, size_t cap, const char *v, const char **why)
{
    if (strlen(v) >= cap) {
        *why = "value is too long";
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

int config_parse_hostport(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon;
    size_t hl;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -1;
        hl = (size_t)(close - s - 1);
        s++;
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return -1;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= hostlen)
        return -1;
    long p;
    if (parse_long(colon + 1, 0, 65535, &p) < 0)
        return -1;
    memcpy(host, s, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

/* A numeric address only: sagad binds it as given, before opening anything. */
static int set_listen(config_t *c, const char *v, const char **why)
{
    char host[sizeof c->listen_host];
    unsigned char addr[16];
    int port;
    if (config_parse_hostport(v, host, sizeof host, &port) < 0) {
        *why = "expected HOST:PORT (IPv6 as [ADDR]:PORT), port 0-65535";
        return -1;
    }
    if (inet_pton(strchr(host, ':') ? AF_INET6 : AF_INET, host, addr) != 1) {
        *why = "expected a numeric IPv4 or IPv6 address, e.g. 127.0.0.1:8080 or [::1]:8080";
        return -1;
    }
    memcpy(c->listen_host, host, sizeof host);
    c->listen_port = port;
    return 0;
}

static int set_database(config_t *c, const char *v, const char **why)
{
    if (!*v) {
        *why = "expected a file path";
        return -1;
    }
    return copy_str(c->database, sizeof c->database, v, why);
}

/* Calls fn for each item of a comma-separated list, spaces around it
 * trimmed; stops at the first nonzero return and returns it. */
static int each_item(const char *list, int (*fn)(const char *item, size_t len, void *ud), void *ud)
{
    for (const char *p = list;; p++) {
        size_t n = strcspn(p, ",");
        const char *item = p;
        size_t len = n;
        while (len && *item == ' ')
            item++, len--;
        while (len && item[len - 1] == ' ')
            len--;
        int rc = fn(item, len, ud);
        if (rc)
            return rc;
        p += n;
        if (!*p)
            return 0;
    }
}

static int count_dir(const char *item, size_t len, void *ud)
{
    int *n = ud;
    (void)item;
    return !len || ++*n > CONFIG_SAGAS_DIRS_MAX ? -1 : 0;
}

/* One directory, or several separated by commas (a single one means what it
 * always meant). */
static int set_sagas_dir(config_t *c, const char *v, const char **why)
{
    int n = 0;
    if (each_item(v, count_dir, &n) < 0) {
        *why = "expected a directory path, or up to 8 separated by commas";
        return -1;
    }
    return copy_str(c->sagas_dir, sizeof c->sagas_dir, v, why);
}

/* One directory, or empty for none. */
static int set_vendor_sagas_dir(config_t *c, const char *v, const char **why)
{
    if (strchr(v, ',')) {
        *why = "expected one directory path (or empty for none)";
        return -1;
    }
    return copy_str(c->vendor_sagas_dir, sizeof c->vendor_sagas_dir, v, why);
}

static int set_redis(config_t *c, const char *v, const char **why)
{
    char host[256];
    int port;
    if (*v && *v != '/' && config_parse_hostport(v, host, sizeof host, &port) < 0) {
        *why = "expected HOST:PORT, a unix socket path starting with /, or empty";
        return -1;
    }
    return copy_str(c->redis, sizeof c->redis, v, why);
}

static int set_channel(config_t *c, const char *v, const char **why)
{
    if (!*v) {
        *why = "expected a channel name";
        return -1;
    }
    return copy_str(c->events_channel, sizeof c->events_channel, v, why);
}

/* Any key name, or empty to turn streams off. */
static int set_stream(config_t *c, const char *v, const char **why)
{
    return copy_str(c->events_stream, sizeof c->events_stream, v, why);
}

static int set_failure_rate(config_t *c, const char *v, const char **why)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (!*v || errno || *end || isnan(d) || d < 0.0 || d > 1.0) {
        *why = "expected a number in [0,1]";
        return -1;
    }
    c->payment_failure_rate = d;
    return 0;
}

#define INT_SETTER(name, field, min, max, text)                              \
    static int name(config_t *c, const char *v, const char **why)           \
    {                                                                        \
        long n;                                                              \
        if (parse_long(v, (min), (max), &n) < 0) {                           \
            *why = text;                                                     \
            return -1;                                                       \
        }                                                                    \
        c->field = n;                                                        \
        return 0;                                                            \
    }

INT_SETTER(set_max_body, max_body_bytes, 1, 1L << 30, "expected an integer from 1 to 1073741824")
INT_SETTER(set_stream_maxlen, events_stream_maxlen, 1, 1000000000000L,
           "expected an integer from 1 to 1000000000000")
INT_SETTER(set_latency, payment_latency_ms, 0, 600000, "expected milliseconds from 0 to 600000")
INT_SETTER(set_max_conns, max_connections, 1, 1000000, "expected an integer from 1 to 1000000")
INT_SETTER(set_idle, idle_timeout_ms, 1, 86400000, "expected milliseconds from 1 to 86400000")
INT_SETTER(set_header_to, header_timeout_ms, 1, 86400000, "expected milliseconds from 1 to 86400000")
INT_SETTER(set_body_to, body_timeout_ms, 1, 86400000, "expected milliseconds from 1 to 86400000")
INT_SETTER(set_history, history_limit, 10, 10000000, "expected an integer from 10 to 10000000")
INT_SETTER(set_retention, retention_hours, 0, 87600, "expected hours from 0 to 87600")
INT_SETTER(set_lease, lease_ms, 300, 600000, "expected milliseconds from 300 to 600000")

/* A node's name: printable, no spaces, so logs and /healthz show it as is. */
static int set_node_id(config_t *c, const char *v, const char **why)
{
    size_t n = strlen(v);
    if (n >= sizeof c->node_id ||
        strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-[]") != n) {
        *why = "expected up to 127 of A-Z a-z 0-9 _ . : - [ ] (empty: the listen address)";
        return -1;
    }
    return copy_str(c->node_id, sizeof c->node_id, v, why);
}

INT_SETTER(set_http_timeout, http_task_timeout_ms, 1, 86400000,
           "expected milliseconds from 1 to 86400000")

/* One prefix of http_task_allow: scheme, a host, no query or fragment. */
static int allow_item_ok(const char *p, size_t n, const char **why)
{
    size_t skip = n >= 7 && strncasecmp(p, "http://", 7) == 0    ? 7
                  : n >= 8 && strncasecmp(p, "https://", 8) == 0 ? 8
                                                                 : 0;
    if (!skip) {
        *why = "expected comma-separated URL prefixes starting with http:// or https://";
        return -1;
    }
    if (skip == n || p[skip] == '/' || p[skip] == ':' || p[skip] == '@') {
        *why = "a URL prefix must name a host after http:// or https://";
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)p[i]) || p[i] == '?' || p[i] == '#' || p[i] == '@' ||
            (unsigned char)p[i] < 0x20) {
            *why = "a URL prefix may not hold spaces, '?', '#' or '@'";
            return -1;
        }
    return 0;
}

static int set_http_allow(config_t *c, const char *v, const char **why)
{
    for (const char *p = v; *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, ",");
        size_t len = n;
        while (len && p[len - 1] == ' ')
            len--;
        if (allow_item_ok(p, len, why) < 0)
            return -1;
        p += n;
        if (*p == ',' && !*++p) {
            *why = "a comma must be followed by another URL prefix";
            return -1;
        }
    }
    return copy_str(c->http_task_allow, sizeof c->http_task_allow, v, why);
}

static int set_payment_provider(config_t *c, const char *v, const char **why)
{
    static const char *const names[] = {"simulator", "http", "activity"};
    static const config_payment_t values[] = {CONFIG_PAYMENT_SIMULATOR, CONFIG_PAYMENT_HTTP,
                                              CONFIG_PAYMENT_ACTIVITY};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(v, names[i]) == 0) {
            c->payment_provider = values[i];
            return 0;
        }
    *why = "expected simulator, http or activity";
    return -1;
}

/* Empty unsets it; config_check insists on it for payment_provider = http. */
static int set_payment_url(config_t *c, const char *v, const char **why)
{
    if (*v && (allow_item_ok(v, strlen(v), why) < 0 || strchr(v, ','))) {
        *why = "expected the provider's base URL: http:// or https://, a host, "
               "and no spaces, '?', '#', '@' or ','";
        return -1;
    }
    return copy_str(c->payment_url, sizeof c->payment_url, v, why);
}

/* An activity name prefix, short enough for "<it>.refund" to be one. */
static int set_payment_activity(config_t *c, const char *v, const char **why)
{
    size_t n = strlen(v);
    if (n == 0 || n > CONFIG_PAYMENT_ACTIVITY_MAX ||
        strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != n) {
        *why = "expected 1 to 73 of A-Z a-z 0-9 _ . -";
        return -1;
    }
    return copy_str(c->payment_activity, sizeof c->payment_activity, v, why);
}

static int set_log_level(config_t *c, const char *v, const char **why)
{
    log_level_t l;
    if (log_level_parse(v, &l) < 0) {
        *why = "expected one of debug, info, warn, error";
        return -1;
    }
    c->log_level = (int)l;
    return 0;
}

static int set_history_format(config_t *c, const char *v, const char **why)
{
    if (strcmp(v, "replay") == 0) {
        c->history_events = 0;
    } else if (strcmp(v, "events") == 0) {
        c->history_events = 1;
    } else {
        *why = "expected replay or events";
        return -1;
    }
    return 0;
}

static int set_exec_events(config_t *c, const char *v, const char **why)
{
    if (strcmp(v, "off") == 0) {
        c->execution_events = CONFIG_EXEC_EVENTS_OFF;
    } else if (strcmp(v, "terminal") == 0) {
        c->execution_events = CONFIG_EXEC_EVENTS_TERMINAL;
    } else if (strcmp(v, "all") == 0) {
        c->execution_events = CONFIG_EXEC_EVENTS_ALL;
    } else {
        *why = "expected off, terminal or all";
        return -1;
    }
    return 0;
}

static int set_exec_events_payload(config_t *c, const char *v, const char **why)
{
    if (strcmp(v, "off") != 0 && strcmp(v, "on") != 0) {
        *why = "expected off or on";
        return -1;
    }
    c->execution_events_payload = strcmp(v, "on") == 0;
    return 0;
}

static int set_auth_tokens_file(config_t *c, const char *v, const char **why)
{
    return copy_str(c->auth_tokens_file, sizeof c->auth_tokens_file, v, why);
}

/* ARN parts: a region is lowercase letters, digits and '-'; an account is
 * 12 digits, as AWS's are. */
static int set_aws_region(config_t *c, const char *v, const char **why)
{
    size_t n = strlen(v);
    if (n == 0 || n >= sizeof c->aws_region || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-") != n) {
        *why = "expected a region such as us-east-1 (lowercase letters, digits and -)";
        return -1;
    }
    memcpy(c->aws_region, v, n + 1);
    return 0;
}

static int set_aws_account(config_t *c, const char *v, const char **why)
{
    if (strlen(v) != 12 || strspn(v, "0123456789") != 12) {
        *why = "expected an account id of 12 digits";
        return -1;
    }
    memcpy(c->aws_account, v, 13);
    return 0;
}

/* "MACHINE: HANDLER, PREFIX*; MACHINE: ...": every entry names a machine
 * and at least one handler. */
static int set_handler_allow(config_t *c, const char *v, const char **why)
{
    for (const char *p = v; *p;) {
        p += strspn(p, " \t;");
        size_t n = strcspn(p, ";");
        const char *colon = memchr(p, ':', n);
        if (n && (!colon || colon == p || strspn(colon + 1, " \t,") == (size_t)(p + n - colon - 1))) {
            *why = "expected MACHINE: HANDLER[, HANDLER...] entries separated by ';' "
                   "(a trailing * matches a prefix, e.g. order-admin: stock.*)";
            return -1;
        }
        p += n;
    }
    return copy_str(c->handler_allow, sizeof c->handler_allow, v, why);
}

static int set_order_saga(config_t *c, const char *v, const char **why)
{
    if (strcmp(v, "off") != 0 && strcmp(v, "on") != 0) {
        *why = "expected on or off";
        return -1;
    }
    c->order_saga = strcmp(v, "on") == 0;
    return 0;
}

static int set_auth(config_t *c, const char *v, const char **why)
{
    if (strcmp(v, "tokens") != 0 && strcmp(v, "none") != 0) {
        *why = "expected tokens or none";
        return -1;
    }
    c->auth_none = strcmp(v, "none") == 0;
    return 0;
}

static const struct {
    const char *key;
    setter_fn set;
} keys[] = {
    {"listen", set_listen},
    {"database", set_database},
    {"sagas_dir", set_sagas_dir},
    {"vendor_sagas_dir", set_vendor_sagas_dir},
    {"order_saga", set_order_saga},
    {"redis", set_redis},
    {"events_channel", set_channel},
    {"events_stream", set_stream},
    {"events_stream_maxlen", set_stream_maxlen},
    {"payment_failure_rate", set_failure_rate},
    {"payment_latency_ms", set_latency},
    {"payment_provider", set_payment_provider},
    {"payment_url", set_payment_url},
    {"payment_activity", set_payment_activity},
    {"max_body_bytes", set_max_body},
    {"log_level", set_log_level},
    {"max_connections", set_max_conns},
    {"idle_timeout_ms", set_idle},
    {"header_timeout_ms", set_header_to},
    {"body_timeout_ms", set_body_to},
    {"history_limit", set_history},
    {"retention_hours", set_retention},
    {"history_format", set_history_format},
    {"http_task_allow", set_http_allow},
    {"http_task_timeout_ms", set_http_timeout},
    {"execution_events", set_exec_events},
    {"execution_events_payload", set_exec_events_payload},
    {"auth_tokens_file", set_auth_tokens_file},
    {"auth", set_auth},
    {"handler_allow", set_handler_allow},
    {"aws_region", set_aws_region},
    {"aws_account", set_aws_account},
    {"node_id", set_node_id},
    {"lease_ms", set_lease},
};

void config_defaults(config_t *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->listen_host, "127.0.0.1");
    c->listen_port = 8080;
    strcpy(c->database, "var/sagad.db");
    strcpy(c->sagas_dir, "sagas");
    c->order_saga = 1;
    strcpy(c->redis, "127.0.0.1:6379");
    strcpy(c->events_channel, "sagad.events");
    strcpy(c->events_stream, "sagad.events");
    c->events_stream_maxlen = 1000000;
    c->payment_failure_rate = 0.2;
    c->payment_latency_ms = 0;
    c->payment_provider = CONFIG_PAYMENT_SIMULATOR;
    strcpy(c->payment_activity, "payment");
    strcpy(c->aws_region, "local");
    strcpy(c->aws_account, "000000000000");
    c->max_body_bytes = 262144;
    c->log_level = LOG_LEVEL_INFO;
    c->max_connections = 4096;
    c->idle_timeout_ms = 60000;
    c->header_timeout_ms = 10000;
    c->body_timeout_ms = 10000;
    c->history_limit = 25000;
    c->execution_events = CONFIG_EXEC_EVENTS_TERMINAL;
    c->retention_hours = 168;
    c->lease_ms = 5000;
    c->http_task_timeout_ms = 60000;
}

static void where(char *buf, size_t cap, const char *origin, int line)
{
    if (line > 0)
        snprintf(buf, cap, "%s:%d", origin, line);
    else
        snprintf(buf, cap, "%s", origin);
}

int config_set(config_t *cfg, const char *key, const char *value,
               const char *origin, int line, char err[CONFIG_ERR_MAX])
{
    char at[300];
    where(at, sizeof at, origin, line);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(keys[i].key, key) != 0)
            continue;
        const char *why = "invalid value";
        if (keys[i].set(cfg, value, &why) < 0) {
            snprintf(err, CONFIG_ERR_MAX, "%s: key '%s': invalid value '%.100s': %s",
                     at, key, value, why);
            return -1;
        }
        if (strcmp(key, "payment_provider") == 0)
            snprintf(cfg->payment_provider_at, sizeof cfg->payment_provider_at, "%s", at);
        return 0;
    }
    snprintf(err, CONFIG_ERR_MAX, "%s: key '%.100s': unknown key", at, key);
    return -1;
}

/* 127.0.0.0/8 or ::1: only this machine can connect. */
static int loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0;
}

/* Remembers the first problem for the single-error entry points. */
typedef struct first_s {
    char *err;
    int n;
} first_t;

static void keep_first(const char *problem, void *ud)
{
    first_t *f = ud;
    if (f->n++ == 0)
        snprintf(f->err, CONFIG_ERR_MAX, "%s", problem);
}

static int check_all(const config_t *cfg, config_report_fn report, void *ud)
{
    char err[CONFIG_ERR_MAX];
    int n = 0;
    if (!loopback(cfg->listen_host) && !cfg->auth_tokens_file[0] && !cfg->auth_none) {
        snprintf(err, sizeof err,
                 "configuration: key 'listen': %s is reachable from other machines, and without "
                 "auth_tokens_file anyone there could change definitions, stock and executions; "
                 "set auth_tokens_file, or auth = none to run without authentication",
                 cfg->listen_host);
        report(err, ud);
        n++;
    }
    if (cfg->payment_provider == CONFIG_PAYMENT_HTTP && !cfg->payment_url[0]) {
        snprintf(err, sizeof err,
                 "%s: key 'payment_provider': 'http' needs payment_url, the provider's base "
                 "URL (http:// or https://)",
                 cfg->payment_provider_at[0] ? cfg->payment_provider_at : "configuration");
        report(err, ud);
        n++;
    }
    return n;
}

int config_check(const config_t *cfg, char err[CONFIG_ERR_MAX])
{
    first_t f = {err, 0};
    return check_all(cfg, keep_first, &f) ? -1 : 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Reads every line, reporting each bad one; returns how many were. */
static int load_file(config_t *cfg, const char *path, config_report_fn report, void *ud)
{
    char err[CONFIG_ERR_MAX];
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, sizeof err, "%s: cannot read config file: %s", path, strerror(errno));
        report(err, ud);
        return 1;
    }
    char buf[8192];
    int lineno = 0, bad = 0, skip = 0;
    while (fgets(buf, sizeof buf, f)) {
        int whole = strchr(buf, '\n') || feof(f);
        if (skip) {  /* the rest of a line too long, reported already */
            skip = !whole;
            continue;
        }
        lineno++;
        if (!whole) {
            snprintf(err, sizeof err, "%s:%d: line is longer than %zu bytes", path, lineno,
                     sizeof buf - 2);
            report(err, ud);
            bad++;
            skip = 1;
            continue;
        }
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = '\0';
        char *line = trim(buf);
        if (!*line)
            continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            snprintf(err, sizeof err, "%s:%d: key '%.100s': expected 'key = value'", path,
                     lineno, line);
            report(err, ud);
            bad++;
            continue;
        }
        *eq = '\0';
        char *key = trim(line), *val = trim(eq + 1);
        if (config_set(cfg, key, val, path, lineno, err) < 0) {
            report(err, ud);
            bad++;
        }
    }
    fclose(f);
    return bad;
}

int config_load_file(config_t *cfg, const char *path, char err[CONFIG_ERR_MAX])
{
    first_t f = {err, 0};
    return load_file(cfg, path, keep_first, &f) ? -1 : 0;
}

static int apply_args(config_t *cfg, int argc, char **argv, config_report_fn report, void *ud)
{
    char err[CONFIG_ERR_MAX];
    int bad = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        if (strncmp(a, "--", 2) != 0 || !eq || eq == a + 2) {
            snprintf(err, sizeof err, "command line: argument '%.100s': expected --key=value", a);
            report(err, ud);
            bad++;
            continue;
        }
        char key[128];
        size_t kl = (size_t)(eq - a - 2);
        if (kl >= sizeof key)
            kl = sizeof key - 1;
        memcpy(key, a + 2, kl);
        key[kl] = '\0';
        if (config_set(cfg, key, eq + 1, "command line", 0, err) < 0) {
            report(err, ud);
            bad++;
        }
    }
    return bad;
}

int config_apply_args(config_t *cfg, int argc, char **argv, char err[CONFIG_ERR_MAX])
{
    first_t f = {err, 0};
    return apply_args(cfg, argc, argv, keep_first, &f) ? -1 : 0;
}

int config_load(config_t *cfg, const char *path, int argc, char **argv,
                config_report_fn report, void *ud)
{
    config_defaults(cfg);
    int bad = path ? load_file(cfg, path, report, ud) : 0;
    bad += apply_args(cfg, argc, argv, report, ud);
    /* Consistency of values that did not parse would only add noise. */
    return bad ? bad : check_all(cfg, report, ud);
}

typedef struct dirs_s {
    char *buf, *end;
    const char **dirs;
    int n;
} dirs_t;

static int add_dir(const char *item, size_t len, void *ud)
{
    dirs_t *d = ud;
    if (!len || d->n == CONFIG_SAGAS_DIRS_MAX + 1 || (size_t)(d->end - d->buf) <= len)
        return 0;
    memcpy(d->buf, item, len);
    d->buf[len] = '\0';
    d->dirs[d->n++] = d->buf;
    d->buf += len + 1;
    return 0;
}

int config_sagas_dirs(const config_t *cfg, char buf[2 * CONFIG_DIRS_TEXT_MAX],
                      const char *dirs[CONFIG_SAGAS_DIRS_MAX + 1])
{
    dirs_t d = {buf, buf + 2 * CONFIG_DIRS_TEXT_MAX, dirs, 0};
    if (cfg->order_saga && cfg->vendor_sagas_dir[0])
        add_dir(cfg->vendor_sagas_dir, strlen(cfg->vendor_sagas_dir), &d);
    each_item(cfg->sagas_dir, add_dir, &d);
    return d.n;
}
