/* Shared plumbing of sagactl's commands: argument parsing with the global
 * options, the daemon's address, calls that map failures to exit codes and
 * one-line messages that say what to do. */
#include "cli/cli.h"
#include "cli/out.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Messages quote the daemon's text (errors, names): escaped on a terminal. */
static void message(const char *prefix, const char *fmt, va_list ap, const char *suffix)
{
    char buf[4096];
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    fputs(prefix, stderr);
    if (n > 0)
        out_text(stderr, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1, OUT_TEXT_LINE);
    fputs(suffix, stderr);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    message("sagactl: ", fmt, ap, "\n");
    va_end(ap);
}

int cli_usage_error(const cli_cmd_t *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sagactl: %s: ", cmd->name);
    va_start(ap, fmt);
    message("", fmt, ap, "");
    va_end(ap);
    fprintf(stderr, "; usage: sagactl %s (see sagactl %s --help)\n", cmd->synopsis, cmd->name);
    return CLI_USAGE;
}

static const char GLOBAL_HELP[] =
    "\nglobal options:\n"
    "  --url URL        the daemon (default: the listen key of --config, else $SAGAD_URL,\n"
    "                   else " CLI_DEFAULT_URL ")\n"
    "  --config FILE    read defaults (listen, redis, events_*) from a sagad.conf\n"
    "  --token TOKEN    send Authorization: Bearer TOKEN (default: $SAGAD_TOKEN)\n"
    "  --json           print the daemon's JSON unchanged (read commands)\n"
    "  --no-color       no colour even on a terminal (NO_COLOR does the same)\n"
    "  -h, --help       this help\n"
    "\nexit status: 0 ok, 1 not found or the execution failed, 2 usage error,\n"
    "3 daemon unreachable\n";

void cli_print_help(const cli_cmd_t *cmd, FILE *f)
{
    fprintf(f, "usage: sagactl %s\n\n%s%s", cmd->synopsis, cmd->help, GLOBAL_HELP);
}

static int is_number(const char *s)
{
    char *end;
    if (!*s)
        return 0;
    strtod(s, &end);
    return *end == '\0';
}

/* Matches "--name" or "--name=value" against `name`; sets *inline_val. */
static int opt_match(const char *arg, const char *name, const char **inline_val)
{
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '\0') {
        *inline_val = NULL;
        return 1;
    }
    if (arg[n] == '=') {
        *inline_val = arg + n + 1;
        return 1;
    }
    return 0;
}

int cli_parse(cli_t *cli, const cli_cmd_t *cmd, int argc, char **argv,
              const cli_opt_t *opts, size_t nopts, char **pos, size_t min_pos,
              size_t max_pos, size_t *npos)
{
    const cli_opt_t globals[] = {
        {"--url", CLI_OPT_VALUE, &cli->url_arg, NULL},
        {"--config", CLI_OPT_VALUE, &cli->config_path, NULL},
        {"--token", CLI_OPT_VALUE, &cli->token_arg, NULL},
        {"--json", CLI_OPT_FLAG, NULL, &cli->json},
        {"--no-color", CLI_OPT_FLAG, NULL, &cli->no_color},
    };
    *npos = 0;
    int only_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || strcmp(a, "-") == 0) {
            if (*npos >= max_pos)
                return cli_usage_error(cmd, "unexpected argument '%s'", a);
            pos[(*npos)++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_print_help(cmd, stdout);
            return CLI_OK;
        }
        const cli_opt_t *o = NULL;
        const char *iv = NULL;
        for (size_t k = 0; k < nopts && !o; k++)
            if (opt_match(a, opts[k].name, &iv))
                o = &opts[k];
        for (size_t k = 0; k < sizeof globals / sizeof globals[0] && !o; k++)
            if (opt_match(a, globals[k].name, &iv))
                o = &globals[k];
        if (!o)
            return cli_usage_error(cmd, "unknown option '%s'", a);
        if (o->set)
            *o->set = 1;
        switch (o->kind) {
        case CLI_OPT_FLAG:
            if (iv)
                return cli_usage_error(cmd, "%s takes no value", o->name);
            break;
        case CLI_OPT_VALUE:
            if (!iv) {
                if (i + 1 >= argc)
                    return cli_usage_error(cmd, "%s needs a value", o->name);
                iv = argv[++i];
            }
            *o->value = iv;
            break;
        case CLI_OPT_NUMBER:
            if (!iv && i + 1 < argc && is_number(argv[i + 1]))
                iv = argv[++i];
            *o->value = iv ? iv : "";
            break;
        }
    }
    if (*npos < min_pos)
        return cli_usage_error(cmd, "missing argument");
    return -1;
}

void cli_on_stop_signals(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_config(cli_t *cli)
{
    if (cli->cfg_loaded)
        return 0;
    config_defaults(&cli->cfg);
    if (cli->config_path) {
        char err[CONFIG_ERR_MAX];
        if (config_load_file(&cli->cfg, cli->config_path, err) < 0) {
            cli_error("%s; fix it or pass another --config", err);
            return CLI_USAGE;
        }
    }
    cli->cfg_loaded = 1;
    return 0;
}

/* --url, else --config's listen, else $SAGAD_URL, else the default. */
static int resolve_url(cli_t *cli)
{
    if (cli->url_ready)
        return 0;
    const char *src = "--url";
    if (cli->url_arg) {
        snprintf(cli->url_text, sizeof cli->url_text, "%s", cli->url_arg);
    } else if (cli->config_path) {
        int rc = cli_config(cli);
        if (rc)
            return rc;
        const char *h = cli->cfg.listen_host;
        if (strcmp(h, "0.0.0.0") == 0 || !*h)
            h = "127.0.0.1";
        else if (strcmp(h, "::") == 0)
            h = "::1";
        int v6 = strchr(h, ':') != NULL;
        snprintf(cli->url_text, sizeof cli->url_text, "http://%s%s%s:%d", v6 ? "[" : "", h,
                 v6 ? "]" : "", cli->cfg.listen_port);
        src = "the listen key of --config";
    } else if (getenv("SAGAD_URL") && *getenv("SAGAD_URL")) {
        snprintf(cli->url_text, sizeof cli->url_text, "%s", getenv("SAGAD_URL"));
        src = "SAGAD_URL";
    } else {
        snprintf(cli->url_text, sizeof cli->url_text, "%s", CLI_DEFAULT_URL);
    }
    char err[CLI_HTTP_ERR_MAX];
    if (cli_url_parse(cli->url_text, &cli->url, err) < 0) {
        cli_error("bad daemon URL '%s' from %s: %s; give one like " CLI_DEFAULT_URL,
                  cli->url_text, src, err);
        return CLI_USAGE;
    }
    cli->url_ready = 1;
    return 0;
}

/* 1 when sagad runs as a systemd unit here: `make install` put sagad.service
 * next to this sagactl ($(PREFIX)/lib/systemd/system beside $(PREFIX)/bin,
 * DESTDIR staging included), or this sagactl is in a system bin directory
 * and systemd has the unit. */
static int runs_under_systemd(void)
{
    static const char *const bins[] = {"/usr/bin", "/usr/local/bin", "/bin"};
    static const char *const units[] = {
        "/etc/systemd/system/sagad.service", "/usr/local/lib/systemd/system/sagad.service",
        "/usr/lib/systemd/system/sagad.service", "/lib/systemd/system/sagad.service"};
    char dir[4096], unit[4200];
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    char *slash = n > 0 ? memrchr(dir, '/', (size_t)n) : NULL;
    if (!slash)
        return 0;
    *slash = '\0';
    snprintf(unit, sizeof unit, "%s/../lib/systemd/system/sagad.service", dir);
    if (access(unit, F_OK) == 0)
        return 1;
    for (size_t i = 0; i < sizeof bins / sizeof bins[0]; i++)
        if (strcmp(dir, bins[i]) == 0)
            for (size_t j = 0; j < sizeof units / sizeof units[0]; j++)
                if (access(units[j], F_OK) == 0)
                    return 1;
    return 0;
}

int cli_call(cli_t *cli, const char *method, const char *path, const char *body,
             size_t body_len, const char *const *headers, int timeout_s,
             cli_http_resp_t *resp, const char *hint404)
{
    int rc = resolve_url(cli);
    if (rc)
        return rc;
    /* The caller's headers, and the bearer token when there is one. */
    const char *token = cli->token_arg ? cli->token_arg : getenv("SAGAD_TOKEN");
    const char *hdrs[9] = {NULL};
    char auth[1024];
    size_t nh = 0;
    while (headers && headers[nh] && nh < 7) {
        hdrs[nh] = headers[nh];
        nh++;
    }
    if (token && *token) {
        if ((size_t)snprintf(auth, sizeof auth, "Authorization: Bearer %s", token) >= sizeof auth ||
            strpbrk(token, "\r\n")) {
            cli_error("the token is longer than 1000 characters or holds a line break");
            return CLI_USAGE;
        }
        hdrs[nh++] = auth;
    }
    char err[CLI_HTTP_ERR_MAX];
    if (cli_http_request(&cli->url, method, path, body, body_len, hdrs, timeout_s, resp, err) < 0) {
        if (runs_under_systemd())
            cli_error("cannot reach sagad at %s (%s); see whether it runs with `systemctl "
                      "status sagad` and why it stopped with `journalctl -u sagad -e`, or point "
                      "--url or SAGAD_URL at another daemon", cli->url_text, err);
        else
            cli_error("cannot reach sagad at %s (%s); start it (make run) or point --url or "
                      "SAGAD_URL at it", cli->url_text, err);
        return CLI_UNREACHABLE;
    }
    if (resp->status >= 200 && resp->status < 300)
        return 0;
    cJSON *e = cJSON_ParseWithLength(resp->body, resp->len);
    const char *name = cli_str(e, "error");
    const char *msg = cli_str(e, "message");
    char what[1024];
    if (msg)
        snprintf(what, sizeof what, "%s (%s, HTTP %d)", msg, name ? name : "error", resp->status);
    else
        snprintf(what, sizeof what, "%s %s failed with HTTP %d", method, path, resp->status);
    if (resp->status == 404) {
        cli_error("%s%s%s", what, hint404 ? "; " : "", hint404 ? hint404 : "");
        rc = CLI_FAIL;
    } else if (resp->status == 401) {
        cli_error("%s; give a token with --token or SAGAD_TOKEN", what);
        rc = CLI_FAIL;
    } else if (resp->status == 400 || resp->status == 413) {
        cli_error("%s; fix the request and retry", what);
        rc = CLI_USAGE;
    } else if (resp->status >= 500) {
        cli_error("%s; the daemon could not do it now, retry shortly", what);
        rc = CLI_FAIL;
    } else {
        cli_error("%s", what);
        rc = CLI_FAIL;
    }
    /* Problems of an invalid definition: one per line after the summary. */
    const cJSON *probs = cJSON_GetObjectItemCaseSensitive(e, "problems");
    const cJSON *p;
    cJSON_ArrayForEach(p, probs) {
        const char *st = cli_str(p, "state"), *fd = cli_str(p, "field");
        out_textf(stderr, OUT_TEXT_LINE, "  %s%s%s: %s", st ? st : "", st && fd ? "." : "",
                  fd ? fd : "", cli_str(p, "message") ? cli_str(p, "message") : "?");
        fputc('\n', stderr);
    }
    cJSON_Delete(e);
    cli_http_resp_free(resp);
    return rc;
}

int cli_call_show(cli_t *cli, const char *method, const char *path, const char *body,
                  const char *hint404, cli_show_cb show, void *arg)
{
    cli_http_resp_t r;
    int rc = cli_call(cli, method, path, body, body ? strlen(body) : 0, NULL, CLI_TIMEOUT_S, &r,
                      hint404);
    if (rc)
        return rc;
    if (cli->json) {
        cli_print_raw(&r);
    } else {
        cJSON *j = cli_parse_body(&r);
        if (j)
            show(j, arg);
        else
            rc = CLI_FAIL;
        cJSON_Delete(j);
    }
    cli_http_resp_free(&r);
    return cli_finish(rc);
}

cJSON *cli_parse_body(const cli_http_resp_t *resp)
{
    cJSON *j = cJSON_ParseWithLength(resp->body, resp->len);
    if (!j)
        cli_error("the daemon answered something that is not JSON; is --url pointing at sagad?");
    return j;
}

void cli_print_raw(const cli_http_resp_t *resp)
{
    out_text(stdout, resp->body, resp->len, OUT_TEXT_JSON);
    if (resp->len == 0 || resp->body[resp->len - 1] != '\n')
        fputc('\n', stdout);
}

char *cli_read_file(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    errno = 0;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n < cap - 1) {
            if (ferror(f)) {
                int e = errno ? errno : EIO;
                free(buf);
                buf = NULL;
                errno = e;
            }
            break;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (f != stdin)
        fclose(f);
    if (buf)
        buf[n] = '\0';
    *len = n;
    return buf;
}

const char *cli_str(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

int cli_finish(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno == EPIPE)
            return rc;
        cli_error("cannot write the output: %s", strerror(errno));
        return rc ? rc : CLI_FAIL;
    }
    return rc;
}

void cli_machine_name(const char *file, char *out, size_t cap)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    snprintf(out, cap, "%s", base);
    size_t n = strlen(out);
    static const char *const suffixes[] = {".asl.json", ".json"};
    for (size_t i = 0; i < 2; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && strcmp(out + n - k, suffixes[i]) == 0) {
            out[n - k] = '\0';
            return;
        }
    }
}
