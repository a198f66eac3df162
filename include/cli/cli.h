/* What every sagactl command shares: the invocation context (daemon URL,
 * --json, --config), option parsing with per-command --help, calls to the
 * daemon that turn failures into one-line messages and exit codes, and
 * small file helpers. */
#ifndef SAGAD_CLI_CLI_H
#define SAGAD_CLI_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <cJSON.h>

#include "cli/http.h"
#include "core/config.h"

/* Exit codes: 0 ok, 1 not found or failed, 2 usage, 3 daemon unreachable. */
#define CLI_OK          0
#define CLI_FAIL        1   /* not found, or the execution failed (--wait) */
#define CLI_USAGE       2
#define CLI_UNREACHABLE 3

#define CLI_DEFAULT_URL "http://127.0.0.1:8080"
/* Per-request deadline for ordinary calls, in seconds. */
#define CLI_TIMEOUT_S 30

typedef struct cli_s {
    const char *url_arg;      /* --url, or NULL */
    const char *config_path;  /* --config, or NULL */
    const char *token_arg;    /* --token, or NULL ($SAGAD_TOKEN then) */
    int json;                 /* --json */
    int no_color;             /* --no-color */
    /* Resolved on first use. */
    int url_ready;
    cli_url_t url;
    char url_text[1024];
    int cfg_loaded;
    config_t cfg;
} cli_t;

/* One command: its name, the synopsis after "sagactl " and the help body. */
typedef struct cli_cmd_s {
    const char *name;
    const char *synopsis;
    const char *help;
} cli_cmd_t;

typedef enum {
    CLI_OPT_FLAG,     /* --flag */
    CLI_OPT_VALUE,    /* --opt VALUE or --opt=VALUE */
    CLI_OPT_NUMBER    /* --opt [SECONDS]: takes the next argument only if numeric */
} cli_opt_kind_t;

typedef struct cli_opt_s {
    const char *name;         /* "--status" */
    cli_opt_kind_t kind;
    const char **value;       /* VALUE/NUMBER: the value (NUMBER without one: "") */
    int *set;                 /* set to 1 when given; may be NULL */
} cli_opt_t;

/* Parses a command's arguments (argv after the command name): its own
 * options, the global ones (--url, --json, --config, --no-color, --help) and
 * between min_pos and max_pos positional arguments into pos[] (count in
 * *npos). "-" is a positional; "--" ends the options. Returns -1 to go on,
 * or the exit code to return now: 0 after printing --help, CLI_USAGE after
 * printing a one-line usage error. */
int cli_parse(cli_t *cli, const cli_cmd_t *cmd, int argc, char **argv,
              const cli_opt_t *opts, size_t nopts, char **pos, size_t min_pos,
              size_t max_pos, size_t *npos);

/* Prints the command's full --help to `f`. */
void cli_print_help(const cli_cmd_t *cmd, FILE *f);

/* Prints "sagactl: CMD: <message>; see sagactl CMD --help" to stderr and
 * returns CLI_USAGE. */
int cli_usage_error(const cli_cmd_t *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "sagactl: <message>" (one line) to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Installs `handler` for SIGINT and SIGTERM (no SA_RESTART: a blocking
 * wait returns EINTR). */
void cli_on_stop_signals(void (*handler)(int));

/* Loads --config once (if given). Returns 0, or CLI_USAGE after printing why. */
int cli_config(cli_t *cli);

/* Sends a request to the daemon. Returns 0 with *resp holding a 2xx reply
 * (free with cli_http_resp_free), or prints one line to stderr and returns
 * the exit code: CLI_UNREACHABLE (naming the URL), CLI_USAGE for a 400,
 * CLI_FAIL for 404 and other errors. `hint404` (may be NULL) tells the user
 * what to do about a 404. */
int cli_call(cli_t *cli, const char *method, const char *path, const char *body,
             size_t body_len, const char *const *headers, int timeout_s,
             cli_http_resp_t *resp, const char *hint404);

/* Prints a parsed reply for people; `arg` is the caller's. */
typedef void (*cli_show_cb)(const cJSON *body, void *arg);

/* cli_call with no extra headers and the usual deadline, then prints the
 * reply: its JSON unchanged with --json, else show(parsed body, arg). Returns
 * the exit code (cli_finish done). */
int cli_call_show(cli_t *cli, const char *method, const char *path, const char *body,
                  const char *hint404, cli_show_cb show, void *arg);

/* Parses a reply body as JSON; prints an error and returns NULL when it is
 * not. Caller frees with cJSON_Delete. */
cJSON *cli_parse_body(const cli_http_resp_t *resp);

/* Writes the daemon's JSON unchanged (with a final newline) to stdout. */
void cli_print_raw(const cli_http_resp_t *resp);

/* Reads a whole file, or stdin for "-". Caller frees. NULL with errno set. */
char *cli_read_file(const char *path, size_t *len);

/* String member of `o` or NULL. */
const char *cli_str(const cJSON *o, const char *key);

/* Flushes stdout; returns CLI_FAIL when writing failed (e.g. disk full),
 * else `rc`. */
int cli_finish(int rc);

#endif
