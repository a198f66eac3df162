/* `sagactl status`, `list`, `history` and `stop`: executions over the API,
 * printed for people (or the daemon's JSON unchanged with --json). */
#include "cli/cmd_exec.h"
#include "cli/out.h"
#include "core/exec_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const cli_cmd_t STATUS = {
    "status", "status EXECUTION-ID [--json]",
    "Shows one execution: machine and version (and the alias its start named),\n"
    "status, current or final state, start and stop times, duration, error and\n"
    "cause, and the output.\n"
    "Exit status 1 when there is no such execution.\n"};

static const cli_cmd_t LIST = {
    "list", "list [--status S] [--machine M] [--search P] [--limit N] [--cursor C] [--json]",
    "Lists executions, newest first, with the error of those that failed.\n"
    "\n"
    "  --status S     RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED\n"
    "  --machine M    only executions of state machine M\n"
    "  --search P     only executions whose id or name starts with P\n"
    "  --limit N      at most N (1-1000, default 50)\n"
    "  --cursor C     the page after the one that printed `--cursor C`\n"};

static const cli_cmd_t STOP = {
    "stop", "stop EXECUTION-ID [--error E] [--cause C]",
    "Stops a running execution: it ends ABORTED with error E and cause C\n"
    "(both optional) once that is committed, and is printed as `status` does.\n"
    "Exit status 1 when there is no such execution or it has already ended\n"
    "(then nothing changes).\n"};

static const cli_cmd_t HISTORY = {
    "history", "history EXECUTION-ID [-v] [--json]",
    "Prints the event history of an execution, one line per event: event id,\n"
    "time since the first event, event type and its state, resource or error.\n"
    "\n"
    "  -v, --verbose  also the input and output each event carries (states\n"
    "                 entered and exited, the execution's start and end), as\n"
    "                 one line of JSON each under the event\n"};

#define HINT_LIST "`sagactl list` shows the executions there are"

int cmd_exec_failed(const char *status)
{
    return status && (strcmp(status, "FAILED") == 0 || strcmp(status, "TIMED_OUT") == 0 ||
                      strcmp(status, "ABORTED") == 0);
}

/* "2026-11-25 13:08:57 UTC (3s ago)" or "-". */
static char *when(const char *ts, int64_t now, char *buf, size_t cap)
{
    int64_t ms;
    if (out_time_parse(ts, &ms) < 0) {
        snprintf(buf, cap, "%s", ts ? ts : "-");
        return buf;
    }
    char a[64], r[32];
    snprintf(buf, cap, "%s (%s)", out_time_abs(ms, a, sizeof a), out_time_ago(ms, now, r, sizeof r));
    return buf;
}

/* Milliseconds from start to stop (or now while running); -1 when unknown. */
static int64_t duration_ms(const cJSON *d, int64_t now)
{
    int64_t a, b;
    if (out_time_parse(cli_str(d, "startDate"), &a) < 0)
        return -1;
    if (out_time_parse(cli_str(d, "stopDate"), &b) < 0)
        b = now;
    return b - a;
}

void cmd_exec_print(const cJSON *d)
{
    int64_t now = out_now_ms();
    const char *id = cli_str(d, "executionId");
    const char *name = cli_str(d, "name");
    const char *status = cli_str(d, "status");
    const char *state = cli_str(d, "currentState");
    int running = status && strcmp(status, "RUNNING") == 0;
    char buf[256], dur[64];
    out_table_t *t = out_table_new(2);
    out_table_row(t);
    out_table_cell(t, "Execution", OUT_BOLD);
    out_table_cell(t, id, OUT_PLAIN);
    out_table_row(t);
    out_table_cell(t, "Machine", OUT_BOLD);
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(d, "stateMachineVersion");
    const char *alias = cli_str(d, "stateMachineAlias");   /* the alias its start named */
    if (cJSON_IsNumber(ver) && cli_str(d, "stateMachine"))
        out_table_cellf(t, OUT_PLAIN, "%s (version %d%s%s)", cli_str(d, "stateMachine"),
                        ver->valueint, alias ? ", alias " : "", alias ? alias : "");
    else
        out_table_cell(t, cli_str(d, "stateMachine"), OUT_PLAIN);
    if (name && (!id || strcmp(name, id) != 0)) {
        out_table_row(t);
        out_table_cell(t, "Name", OUT_BOLD);
        out_table_cell(t, name, OUT_PLAIN);
    }
    out_table_row(t);
    out_table_cell(t, "Status", OUT_BOLD);
    out_table_cell(t, status, out_status_color(status));
    out_table_row(t);
    out_table_cell(t, "State", OUT_BOLD);
    if (state)
        out_table_cellf(t, OUT_PLAIN, "%s (%s)", state, running ? "current" : "final");
    else
        out_table_cell(t, "-", OUT_PLAIN);
    out_table_row(t);
    out_table_cell(t, "Started", OUT_BOLD);
    out_table_cell(t, when(cli_str(d, "startDate"), now, buf, sizeof buf), OUT_PLAIN);
    out_table_row(t);
    out_table_cell(t, "Stopped", OUT_BOLD);
    out_table_cell(t, running ? "-" : when(cli_str(d, "stopDate"), now, buf, sizeof buf), OUT_PLAIN);
    const cJSON *redrives = cJSON_GetObjectItemCaseSensitive(d, "redriveCount");
    if (cJSON_IsNumber(redrives) && redrives->valuedouble > 0) {
        out_table_row(t);
        out_table_cell(t, "Redriven", OUT_BOLD);
        out_table_cellf(t, OUT_PLAIN, "%d time%s, last %s", redrives->valueint,
                        redrives->valueint == 1 ? "" : "s",
                        when(cli_str(d, "redriveDate"), now, buf, sizeof buf));
    }
    out_table_row(t);
    out_table_cell(t, "Duration", OUT_BOLD);
    int64_t ms = duration_ms(d, now);
    if (ms < 0)
        out_table_cell(t, "-", OUT_PLAIN);
    else
        out_table_cellf(t, OUT_PLAIN, "%s%s", out_duration(ms, dur, sizeof dur),
                        running ? " so far" : "");
    const char *err = cli_str(d, "error"), *cause = cli_str(d, "cause");
    if (err) {
        out_table_row(t);
        out_table_cell(t, "Error", OUT_BOLD);
        out_table_cell(t, err, OUT_RED);
    }
    if (cause && *cause) {
        out_table_row(t);
        out_table_cell(t, "Cause", OUT_BOLD);
        out_table_cell(t, cause, OUT_PLAIN);
    }
    const cJSON *output = cJSON_GetObjectItemCaseSensitive(d, "output");
    int has_output = output && !cJSON_IsNull(output);
    if (!has_output) {
        out_table_row(t);
        out_table_cell(t, "Output", OUT_BOLD);
        out_table_cell(t, "-", OUT_PLAIN);
    }
    out_table_print(t, stdout, 0);
    out_table_free(t);
    if (has_output) {
        printf("%sOutput%s\n", out_on(OUT_BOLD), out_off());
        out_json_pretty(stdout, output, 2);
    }
}

/* GET path into *body (parsed) or prints and returns the exit code. With
 * --json the raw reply is printed and *body stays NULL. */
static int get_json(cli_t *cli, const char *path, const char *hint404, cJSON **body)
{
    cli_http_resp_t r;
    *body = NULL;
    int rc = cli_call(cli, "GET", path, NULL, 0, NULL, CLI_TIMEOUT_S, &r, hint404);
    if (rc)
        return rc;
    if (cli->json) {
        cli_print_raw(&r);
    } else if (!(*body = cli_parse_body(&r))) {
        rc = CLI_FAIL;
    }
    cli_http_resp_free(&r);
    return rc;
}

int cmd_status(cli_t *cli, int argc, char **argv)
{
    char *pos[1];
    size_t np;
    int rc = cli_parse(cli, &STATUS, argc, argv, NULL, 0, pos, 1, 1, &np);
    if (rc >= 0)
        return rc;
    char path[1024];
    if (cli_url_path(path, sizeof path, "/executions/", pos[0], "") < 0)
        return cli_usage_error(&STATUS, "EXECUTION-ID must be 1 to 900 characters");
    cJSON *d;
    rc = get_json(cli, path, HINT_LIST, &d);
    if (d)
        cmd_exec_print(d);
    cJSON_Delete(d);
    return cli_finish(rc);
}

int cmd_list(cli_t *cli, int argc, char **argv)
{
    const char *status = NULL, *machine = NULL, *limit = NULL, *search = NULL, *cursor = NULL;
    const cli_opt_t opts[] = {
        {"--status", CLI_OPT_VALUE, &status, NULL},
        {"--machine", CLI_OPT_VALUE, &machine, NULL},
        {"--limit", CLI_OPT_VALUE, &limit, NULL},
        {"--search", CLI_OPT_VALUE, &search, NULL},
        {"--cursor", CLI_OPT_VALUE, &cursor, NULL},
    };
    size_t np;
    int rc = cli_parse(cli, &LIST, argc, argv, opts, 5, NULL, 0, 0, &np);
    if (rc >= 0)
        return rc;
    const char *st = NULL;
    if (status) {
        for (int i = 0; i < EXEC_STATUS_COUNT; i++)
            if (strcasecmp(status, exec_status_name((exec_status_t)i)) == 0)
                st = exec_status_name((exec_status_t)i);
        if (!st)
            return cli_usage_error(&LIST, "--status must be " EXEC_STATUS_ALL ", not '%s'",
                                   status);
    }
    long lim = 50;
    if (limit) {
        char *end;
        lim = strtol(limit, &end, 10);
        if (!*limit || *end || lim < 1 || lim > 1000)
            return cli_usage_error(&LIST, "--limit must be an integer from 1 to 1000, not '%s'", limit);
    }
    char path[1024];
    snprintf(path, sizeof path, "/executions?limit=%ld", lim);
    if (st) {
        strcat(path, "&status=");
        strcat(path, st);
    }
    const char *const params[][2] = {
        {"&stateMachine=", machine}, {"&q=", search}, {"&cursor=", cursor}};
    for (size_t i = 0; i < 3; i++) {
        if (!params[i][1])
            continue;
        if (strlen(path) + strlen(params[i][0]) >= sizeof path)
            return cli_usage_error(&LIST, "the options are too long");
        strcat(path, params[i][0]);
        if (cli_url_escape(path, sizeof path, params[i][1]) < 0)
            return cli_usage_error(&LIST, "the options are too long");
    }
    cJSON *body;
    rc = get_json(cli, path, NULL, &body);
    if (!body)
        return cli_finish(rc);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, "executions");
    const cJSON *e;
    int with_name = 0;
    cJSON_ArrayForEach(e, arr) {
        const char *n = cli_str(e, "name"), *id = cli_str(e, "executionId");
        if (n && id && strcmp(n, id) != 0)
            with_name = 1;
    }
    if (cJSON_GetArraySize(arr) == 0) {
        fprintf(stderr, "no executions%s\n", st || machine || search || cursor ? " match" : " yet");
        cJSON_Delete(body);
        return cli_finish(CLI_OK);
    }
    int with_error = 0;
    cJSON_ArrayForEach(e, arr)
        if (cli_str(e, "error"))
            with_error = 1;
    int64_t now = out_now_ms();
    out_table_t *t = out_table_new(8);
    out_table_row(t);
    out_table_cell(t, "EXECUTION", OUT_PLAIN);
    out_table_cell(t, "MACHINE", OUT_PLAIN);
    if (with_name)
        out_table_cell(t, "NAME", OUT_PLAIN);
    out_table_cell(t, "STATUS", OUT_PLAIN);
    out_table_cell(t, "STATE", OUT_PLAIN);
    out_table_cell(t, "STARTED", OUT_PLAIN);
    out_table_cell(t, "DURATION", OUT_PLAIN);
    if (with_error)
        out_table_cell(t, "ERROR", OUT_PLAIN);
    cJSON_ArrayForEach(e, arr) {
        char buf[128], dur[64];
        const char *s = cli_str(e, "status");
        out_table_row(t);
        out_table_cell(t, cli_str(e, "executionId"), OUT_PLAIN);
        out_table_cell(t, cli_str(e, "stateMachine"), OUT_PLAIN);
        if (with_name)
            out_table_cell(t, cli_str(e, "name"), OUT_PLAIN);
        out_table_cell(t, s, out_status_color(s));
        out_table_cell(t, cli_str(e, "currentState"), OUT_PLAIN);
        out_table_cell(t, when(cli_str(e, "startDate"), now, buf, sizeof buf), OUT_PLAIN);
        int64_t ms = duration_ms(e, now);
        out_table_cell(t, ms < 0 ? "-" : out_duration(ms, dur, sizeof dur), OUT_PLAIN);
        if (with_error)
            out_table_cell(t, cli_str(e, "error") ? cli_str(e, "error") : "", OUT_RED);
    }
    out_table_print(t, stdout, 1);
    out_table_free(t);
    if (cli_str(body, "nextCursor"))
        fprintf(stderr, "more executions exist: the next page is `--cursor %s`\n",
                cli_str(body, "nextCursor"));
    cJSON_Delete(body);
    return cli_finish(CLI_OK);
}

/* The part of an event's details worth one line: its state, resource,
 * iteration index, error and cause. */
static void event_detail(const cJSON *det, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    const char *name = cli_str(det, "name"), *res = cli_str(det, "resource");
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(det, "index");
    const cJSON *redrives = cJSON_GetObjectItemCaseSensitive(det, "redriveCount");
    const char *err = cli_str(det, "error"), *cause = cli_str(det, "cause");
    if (name)
        n += (size_t)snprintf(buf + n, cap - n, "%s", name);
    if (res && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? " " : "", res);
    if (cJSON_IsNumber(idx) && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "%s[%d]", n ? " " : "", idx->valueint);
    if (cJSON_IsNumber(redrives) && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "%sredrive %d", n ? " " : "", redrives->valueint);
    if (err && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? "  " : "", err);
    if (cause && *cause && n < cap)
        snprintf(buf + n, cap - n, "%s%s", err ? ": " : (n ? "  " : ""), cause);
    /* One line per event, whatever the cause holds. */
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    if (strlen(buf) > 200)
        strcpy(buf + 197, "...");
}

static out_color_t event_color(const char *type)
{
    if (!type)
        return OUT_PLAIN;
    if (strstr(type, "Failed") || strstr(type, "TimedOut") || strstr(type, "Aborted"))
        return OUT_RED;
    if (strcmp(type, "ExecutionSucceeded") == 0)
        return OUT_GREEN;
    if (strstr(type, "Entered"))
        return OUT_BLUE;
    return OUT_PLAIN;
}

/* With -v: the detail text, then an indented "input: ..." / "output: ..."
 * line per payload the event carries. Caller frees. */
static char *verbose_detail(const char *det, const cJSON *details)
{
    static const char *const keys[] = {"input", "output"};
    size_t cap = strlen(det) + 1;
    char *json[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(details, keys[k]);
        if (v && (json[k] = cJSON_PrintUnformatted(v)))
            cap += strlen(keys[k]) + strlen(json[k]) + 8;
    }
    char *out = malloc(cap);
    if (out) {
        size_t n = (size_t)snprintf(out, cap, "%s", det);
        for (int k = 0; k < 2; k++)
            if (json[k])
                n += (size_t)snprintf(out + n, cap - n, "\n    %s: %s", keys[k], json[k]);
    }
    free(json[0]);
    free(json[1]);
    return out;
}

int cmd_history(cli_t *cli, int argc, char **argv)
{
    int verbose = 0;
    const cli_opt_t opts[] = {
        {"--verbose", CLI_OPT_FLAG, NULL, &verbose},
        {"-v", CLI_OPT_FLAG, NULL, &verbose},
    };
    char *pos[1];
    size_t np;
    int rc = cli_parse(cli, &HISTORY, argc, argv, opts, 2, pos, 1, 1, &np);
    if (rc >= 0)
        return rc;
    char path[1024];
    if (cli_url_path(path, sizeof path, "/executions/", pos[0], "/history") < 0)
        return cli_usage_error(&HISTORY, "EXECUTION-ID must be 1 to 900 characters");
    cJSON *body;
    rc = get_json(cli, path, HINT_LIST, &body);
    if (!body)
        return cli_finish(rc);
    const cJSON *ev;
    int64_t first = -1;
    out_table_t *t = out_table_new(4);
    cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(body, "events")) {
        int64_t ms;
        char el[64], det[256];
        const char *type = cli_str(ev, "type");
        int have = out_time_parse(cli_str(ev, "timestamp"), &ms) == 0;
        if (have && first < 0)
            first = ms;
        out_table_row(t);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(ev, "id");
        out_table_cellf(t, OUT_DIM, "%lld", cJSON_IsNumber(id) ? (long long)id->valuedouble : 0LL);
        if (have)
            out_table_cellf(t, OUT_PLAIN, "+%s", out_duration(ms - first, el, sizeof el));
        else
            out_table_cell(t, "?", OUT_PLAIN);
        out_table_cell(t, type, event_color(type));
        const cJSON *details = cJSON_GetObjectItemCaseSensitive(ev, "details");
        event_detail(details, det, sizeof det);
        char *more = verbose ? verbose_detail(det, details) : NULL;
        if (more && *more)
            out_table_cell(t, more, OUT_PLAIN);
        else if (*det)
            out_table_cell(t, det, OUT_PLAIN);
        free(more);
    }
    out_table_print(t, stdout, 0);
    out_table_free(t);
    cJSON_Delete(body);
    return cli_finish(CLI_OK);
}

static void show_stopped(const cJSON *body, void *arg)
{
    (void)arg;
    cmd_exec_print(body);
}

int cmd_stop(cli_t *cli, int argc, char **argv)
{
    const char *error = NULL, *cause = NULL;
    const cli_opt_t opts[] = {
        {"--error", CLI_OPT_VALUE, &error, NULL},
        {"--cause", CLI_OPT_VALUE, &cause, NULL},
    };
    char *pos[1];
    size_t np;
    int rc = cli_parse(cli, &STOP, argc, argv, opts, 2, pos, 1, 1, &np);
    if (rc >= 0)
        return rc;
    char path[1024];
    if (cli_url_path(path, sizeof path, "/executions/", pos[0], "/stop") < 0)
        return cli_usage_error(&STOP, "EXECUTION-ID must be 1 to 900 characters");
    cJSON *b = cJSON_CreateObject();
    if (error)
        cJSON_AddStringToObject(b, "error", error);
    if (cause)
        cJSON_AddStringToObject(b, "cause", cause);
    char *text = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    if (!text) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    rc = cli_call_show(cli, "POST", path, text, HINT_LIST, show_stopped, NULL);
    free(text);
    return rc;
}
