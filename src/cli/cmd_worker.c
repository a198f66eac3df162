/* `sagactl worker NAME -- COMMAND`: makes any program an activity worker.
 * Each slot long-polls the activity, runs COMMAND per task (runner.c) with
 * heartbeats while it runs, and reports stdout as the output or the exit as
 * a failure. --concurrency N forks N slots; a stop signal lets every slot
 * finish its poll and task, a second one quits at once. */
#include "cli/cmd_worker.h"
#include "cli/cmd_task.h"
#include "cli/out.h"
#include "cli/runner.h"
#include "core/jsonin.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const cli_cmd_t WORKER = {
    "worker", "worker NAME [--name WORKER] [--heartbeat SECONDS] [--concurrency N]\n"
    "              [--poll SECONDS] [--once] -- COMMAND [ARGS...]",
    "Serves activity NAME (creating it): polls it for tasks and runs COMMAND\n"
    "(no shell; write `sh -c '...'` for one) once per task, with the task's\n"
    "input JSON on stdin and SAGAD_TASK_TOKEN, SAGAD_ACTIVITY, SAGAD_WORKER and\n"
    "SAGAD_URL in its environment. Then it reports:\n"
    "  exit 0, stdout JSON   success with stdout as the output (empty: null)\n"
    "  exit 0, other stdout  failure Worker.InvalidOutput\n"
    "  (stdout larger than the daemon takes: failure Worker.OutputTooLarge)\n"
    "  exit N (not 0)        failure Worker.ExitCode.N, cause: the end of stderr\n"
    "  killed by signal S    failure Worker.Signal.S, cause: the end of stderr\n"
    "COMMAND's stderr goes to sagactl's stderr as well.\n"
    "\n"
    "  --name WORKER        the name GET /activities shows (default HOST-PID)\n"
    "  --heartbeat SECONDS  heartbeat every SECONDS while COMMAND runs (default\n"
    "                       10; 0: none). Make it less than the Task's\n"
    "                       HeartbeatSeconds. If the daemon no longer knows the\n"
    "                       task (timed out), COMMAND gets SIGTERM.\n"
    "  --concurrency N      run up to N tasks at once (N slots, 1-64)\n"
    "  --poll SECONDS       how long one long poll waits in the daemon (1-60,\n"
    "                       default 20); a stop waits at most this long\n"
    "  --once               stop after one task\n"
    "\n"
    "A lost connection is retried with backoff. SIGINT or SIGTERM: finish the\n"
    "current poll and task, then exit 0; a second one quits at once (exit 1).\n"
    "With --once the exit status is 0 when the daemon took the report.\n"};

#define POLL_WAIT_S 20
#define POLL_WAIT_MAX_S 60
#define HEARTBEAT_TIMEOUT_S 10
#define BACKOFF_MAX_MS 15000
/* How long a report is retried while the daemon cannot be reached. */
#define REPORT_RETRY_S 120
#define SLOTS_MAX 64

typedef struct worker_s {
    cli_t *cli;
    const char *activity;
    char name[300];
    int heartbeat_s;
    int once;
    int poll_s;
    char **argv;                   /* COMMAND [ARGS...], borrowed */
    char path_poll[1100];          /* path + "/poll?wait=N" */
    char *poll_body;               /* {"workerName": ...} */
    const char *token;             /* the task being worked on */
} worker_t;

/* Stop requests (signals) seen; the slots of a parent; a running command. */
static volatile sig_atomic_t g_stops;
static volatile sig_atomic_t g_running_pid;
static volatile sig_atomic_t g_nslots;
static volatile sig_atomic_t g_slots[SLOTS_MAX];

static void on_signal(int sig)
{
    g_stops++;
    if (g_nslots > 0) {
        for (sig_atomic_t i = 0; i < g_nslots; i++)
            if (g_slots[i] > 0)
                kill((pid_t)g_slots[i], sig);
        return;
    }
    if (g_stops == 1) {
        static const char msg[] = "sagactl: worker: stopping after the current poll and task; "
                                  "signal again to quit now\n";
        ssize_t ignored = write(2, msg, sizeof msg - 1);
        (void)ignored;
        return;
    }
    if (g_running_pid > 0)
        kill(-(pid_t)g_running_pid, SIGKILL);
    _exit(CLI_FAIL);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);   /* a signal ends it early: the loop then sees g_stops */
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wlog(const worker_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void wlog(const worker_t *w, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    out_textf(stderr, OUT_TEXT_LINE, "sagactl: worker %s: %s", w->name, buf);
    fputc('\n', stderr);
}

/* ---- reports --------------------------------------------------------------- */

/* Makes the last bytes of stderr a valid UTF-8 string without NULs, in place:
 * a cut character at the start is dropped, other bad bytes become '?'. */
static size_t clean_utf8(char *s, size_t len)
{
    size_t i = 0, o = 0;
    while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
        i++;
    while (i < len) {
        size_t n = jsonin_utf8_length(s + i, len - i);
        if (n == 0 || s[i] == '\0') {
            s[o++] = '?';
            i++;
        } else {
            memmove(s + o, s + i, n);
            o += n;
            i += n;
        }
    }
    s[o] = '\0';
    return o;
}

/* Sends one report, retried while the daemon cannot be reached or answers
 * 5xx. Returns 0 when taken, else the exit code (cli_call printed why);
 * *status gets the last HTTP status (0: none). */
static int send_report(worker_t *w, cmd_task_kind_t kind, const char *output, size_t output_len,
                       const char *error, const char *cause, int *status)
{
    char *body = cmd_task_body(kind, w->token, output, output_len, error, cause);
    if (!body) {
        wlog(w, "out of memory");
        return CLI_FAIL;
    }
    int64_t give_up = mono_ms() + REPORT_RETRY_S * 1000LL;
    int backoff = 500, rc;
    for (;;) {
        cli_http_resp_t r = {0};
        rc = cli_call(w->cli, "POST", cmd_task_path(kind), body, strlen(body), NULL,
                      CLI_TIMEOUT_S, &r, "the task timed out or was reported already");
        *status = r.status;
        if (rc == 0)
            cli_http_resp_free(&r);
        int transient = rc == CLI_UNREACHABLE || (rc == CLI_FAIL && r.status >= 500);
        if (!transient || mono_ms() + backoff > give_up)
            break;
        sleep_ms(backoff);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    free(body);
    return rc;
}

static int report_failure(worker_t *w, const char *error, const char *cause)
{
    int st;
    int rc = send_report(w, CMD_TASK_FAILURE, NULL, 0, error, cause, &st);
    if (rc == 0)
        wlog(w, "task %.12s...: failure %s reported", w->token, error);
    return rc;
}

/* Reports what the command did. Returns 0 when the daemon took it. */
static int report(worker_t *w, runner_result_t *res, double secs)
{
    char error[64], cause[RUNNER_TAIL_MAX + 128];
    size_t tl = clean_utf8(res->tail, res->tail_len);
    if (res->end == RUNNER_SIGNALED || res->code != 0) {
        int sig = res->end == RUNNER_SIGNALED;
        snprintf(error, sizeof error, "Worker.%s.%d", sig ? "Signal" : "ExitCode", res->code);
        if (tl)
            snprintf(cause, sizeof cause, "%s", res->tail);
        else
            snprintf(cause, sizeof cause, "%s %s %d with nothing on stderr", w->argv[0],
                     sig ? "was killed by signal" : "exited with status", res->code);
        return report_failure(w, error, cause);
    }
    if (res->out_overflow || !res->out)
        return report_failure(w, "Worker.OutputTooLarge", "stdout was larger than 64 MiB");
    /* Empty stdout (only whitespace) is the output null. */
    const char *out = res->out;
    size_t len = res->out_len;
    while (len && strchr(" \t\r\n", out[len - 1]))
        len--;
    while (len && strchr(" \t\r\n", *out)) {
        out++;
        len--;
    }
    jsonin_error_t jerr;
    if (len && jsonin_check(out, len, &jerr) != JSONIN_OK) {
        size_t show = len > 200 ? 200 : len;
        char head[256];
        memcpy(head, out, show);
        size_t hl = clean_utf8(head, show);
        snprintf(cause, sizeof cause, "stdout is not JSON (%s); it began with: %.*s",
                 jerr.message, (int)hl, head);
        return report_failure(w, "Worker.InvalidOutput", cause);
    }
    int st;
    int rc = send_report(w, CMD_TASK_SUCCESS, len ? out : NULL, len, NULL, NULL, &st);
    /* The output was checked as JSON: a refusal can only be its size
     * (413: max_body_bytes, 400 InvalidOutput: the payload limit). */
    if (rc == CLI_USAGE && (st == 413 || st == 400))
        return report_failure(w, "Worker.OutputTooLarge",
                              "the output is larger than the daemon accepts");
    if (rc == 0)
        wlog(w, "task %.12s...: success reported (%.2fs)", w->token, secs);
    return rc;
}

/* ---- one task -------------------------------------------------------------- */

static int heartbeat(void *arg)
{
    worker_t *w = arg;
    char *body = cmd_task_body(CMD_TASK_HEARTBEAT, w->token, NULL, 0, NULL, NULL);
    if (!body)
        return 0;
    cli_http_resp_t r = {0};
    int rc = cli_call(w->cli, "POST", cmd_task_path(CMD_TASK_HEARTBEAT), body, strlen(body),
                      NULL, HEARTBEAT_TIMEOUT_S, &r, "stopping the command");
    free(body);
    if (rc == 0) {
        cli_http_resp_free(&r);
        return 0;
    }
    /* The daemon no longer knows the task: nobody will take its outcome. */
    return rc == CLI_FAIL && r.status == 404 ? -1 : 0;
}

/* Runs the command for one polled task (the reply body) and reports it.
 * Returns 0 when the daemon took the report. */
static int serve(worker_t *w, const cli_http_resp_t *poll)
{
    cJSON *task = cli_parse_body(poll);
    const char *token = cli_str(task, "taskToken");
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(task, "input");
    char *in = input ? cJSON_PrintUnformatted(input) : NULL;
    if (!token || !in) {
        wlog(w, "the poll answered no taskToken and input; is --url pointing at sagad?");
        free(in);
        cJSON_Delete(task);
        return CLI_FAIL;
    }
    w->token = token;
    size_t in_len = strlen(in);
    in[in_len] = '\n';   /* overwrites the NUL: input is handed over by length */
    char env_token[128], env_act[128], env_worker[350], env_url[1100];
    snprintf(env_token, sizeof env_token, "SAGAD_TASK_TOKEN=%s", token);
    snprintf(env_act, sizeof env_act, "SAGAD_ACTIVITY=%s", w->activity);
    snprintf(env_worker, sizeof env_worker, "SAGAD_WORKER=%s", w->name);
    snprintf(env_url, sizeof env_url, "SAGAD_URL=%s", w->cli->url_text);
    char *env[] = {env_token, env_act, env_worker, env_url, NULL};
    runner_opts_t o = {
        .argv = w->argv, .env = env, .input = in, .input_len = in_len + 1,
        .tick_s = w->heartbeat_s, .tick = heartbeat, .tick_arg = w,
        .running_pid = &g_running_pid,
    };
    runner_result_t res;
    int64_t t0 = mono_ms();
    int rc = runner_run(&o, &res);
    free(in);
    if (rc < 0) {
        char cause[256];
        snprintf(cause, sizeof cause, "cannot start %s: %s", w->argv[0], strerror(-rc));
        rc = report_failure(w, "Worker.SpawnFailed", cause);
    } else if (res.stopped) {
        wlog(w, "task %.12s...: the daemon no longer knows it (timed out?); %s was stopped",
             token, w->argv[0]);
        rc = CLI_FAIL;
    } else {
        rc = report(w, &res, (double)(mono_ms() - t0) / 1000.0);
    }
    runner_result_free(&res);
    w->token = NULL;
    cJSON_Delete(task);
    return rc;
}

/* ---- the slot loop --------------------------------------------------------- */

/* Polls and serves until stopped (or one task with --once). */
static int slot(worker_t *w)
{
    int backoff = 500, rc = CLI_OK;
    while (!g_stops) {
        cli_http_resp_t r = {0};
        rc = cli_call(w->cli, "POST", w->path_poll, w->poll_body, strlen(w->poll_body), NULL,
                      w->poll_s + CLI_TIMEOUT_S, &r, "create it with `sagactl activities create`");
        if (rc == CLI_UNREACHABLE || (rc == CLI_FAIL && r.status >= 500)) {
            sleep_ms(backoff);
            backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            rc = CLI_OK;
            continue;
        }
        if (rc)
            return rc;
        backoff = 500;
        if (r.status == 200) {
            rc = serve(w, &r);
            cli_http_resp_free(&r);
            if (w->once)
                return rc;
            continue;
        }
        cli_http_resp_free(&r);   /* 204: nothing arrived in time */
    }
    return CLI_OK;
}

/* Forks n slots, each in its own process group so that one Ctrl-C reaches
 * the parent only, which forwards it once. Returns the worst exit code. */
static int run_slots(worker_t *w, int n)
{
    const char *base = w->name[0] ? w->name : "worker";
    char base_name[sizeof w->name];
    snprintf(base_name, sizeof base_name, "%s", base);
    fflush(NULL);
    pid_t parent = getpid();
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            cli_error("worker: fork: %s", strerror(errno));
            g_stops++;
            break;
        }
        if (pid == 0) {
            setpgid(0, 0);
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            g_nslots = 0;
            if (getppid() != parent)
                exit(CLI_FAIL);
            snprintf(w->name, sizeof w->name, "%.120s#%d", base_name, i + 1);
            free(w->poll_body);
            cJSON *b = cJSON_CreateObject();
            cJSON_AddStringToObject(b, "workerName", w->name);
            w->poll_body = cJSON_PrintUnformatted(b);
            cJSON_Delete(b);
            int rc = w->poll_body ? slot(w) : CLI_FAIL;
            free(w->poll_body);
            exit(cli_finish(rc));
        }
        setpgid(pid, pid);
        g_slots[i] = pid;
        g_nslots = i + 1;
    }
    int worst = CLI_OK, left = g_nslots;
    while (left > 0) {
        int st;
        pid_t pid = wait(&st);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        left--;
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : CLI_FAIL;
        if (code > worst)
            worst = code;
        for (int i = 0; i < g_nslots; i++)
            if (g_slots[i] == pid)
                g_slots[i] = 0;
        /* One slot that cannot go on (usage, activity gone): stop them all. */
        if (code != CLI_OK && !w->once && !g_stops)
            on_signal(SIGTERM);
    }
    return worst;
}

/* Parses a whole number from lo to hi; -1 when it is not one. */
static int int_arg(const char *s, int lo, int hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v >= lo && v <= hi ? (int)v : -1;
}

int cmd_worker(cli_t *cli, int argc, char **argv)
{
    const char *name = NULL, *hb = NULL, *conc = NULL, *poll = NULL;
    int once = 0;
    const cli_opt_t opts[] = {
        {"--name", CLI_OPT_VALUE, &name, NULL},
        {"--heartbeat", CLI_OPT_VALUE, &hb, NULL},
        {"--concurrency", CLI_OPT_VALUE, &conc, NULL},
        {"--poll", CLI_OPT_VALUE, &poll, NULL},
        {"--once", CLI_OPT_FLAG, NULL, &once},
    };
    /* Everything after "--" is COMMAND; only what is before it is ours. */
    int split = argc;
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            split = i;
            break;
        }
    char *pos[1];
    size_t np;
    int rc = cli_parse(cli, &WORKER, split, argv, opts, 5, pos, 1, 1, &np);
    if (rc >= 0)
        return rc;
    if (split + 1 >= argc)
        return cli_usage_error(&WORKER, "missing `-- COMMAND`");
    worker_t w = {.cli = cli, .activity = pos[0], .once = once, .argv = argv + split + 1,
                  .heartbeat_s = 10, .poll_s = POLL_WAIT_S};
    int slots = 1;
    if (hb && (w.heartbeat_s = int_arg(hb, 0, 86400)) < 0)
        return cli_usage_error(&WORKER, "--heartbeat must be 0 to 86400 seconds, not '%s'", hb);
    if (poll && (w.poll_s = int_arg(poll, 1, POLL_WAIT_MAX_S)) < 0)
        return cli_usage_error(&WORKER, "--poll must be 1 to %d seconds, not '%s'", POLL_WAIT_MAX_S,
                               poll);
    if (conc && (slots = int_arg(conc, 1, SLOTS_MAX)) < 0)
        return cli_usage_error(&WORKER, "--concurrency must be 1 to %d, not '%s'", SLOTS_MAX, conc);
    if (!runner_can_exec(w.argv[0]))
        return cli_usage_error(&WORKER, "cannot execute '%s' (not found or not executable)",
                               w.argv[0]);
    if (name) {
        /* The daemon takes 128 bytes; slots add "#N". */
        if (!*name || strlen(name) > 120)
            return cli_usage_error(&WORKER, "--name must be 1 to 120 bytes");
        snprintf(w.name, sizeof w.name, "%s", name);
    } else {
        char host[256] = "worker";
        gethostname(host, sizeof host - 1);
        snprintf(w.name, sizeof w.name, "%.100s-%ld", host, (long)getpid());
    }

    /* The activity, created (idempotent) so the first poll finds it. */
    char path[1024] = "/activities/";
    if (!*w.activity || cli_url_escape(path, sizeof path, w.activity) < 0)
        return cli_usage_error(&WORKER, "NAME must be 1 to 80 characters");
    cli_http_resp_t r;
    if ((rc = cli_call(cli, "PUT", path, NULL, 0, NULL, CLI_TIMEOUT_S, &r, NULL)))
        return rc;
    cli_http_resp_free(&r);
    snprintf(w.path_poll, sizeof w.path_poll, "%s/poll?wait=%d", path, w.poll_s);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "workerName", w.name);
    w.poll_body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    if (!w.poll_body) {
        cli_error("worker: out of memory");
        return CLI_FAIL;
    }
    cli_on_stop_signals(on_signal);
    wlog(&w, "serving activity %s at %s with %d slot%s: %s", w.activity, cli->url_text, slots,
         slots == 1 ? "" : "s", w.argv[0]);
    rc = slots == 1 ? slot(&w) : run_slots(&w, slots);
    free(w.poll_body);
    return cli_finish(rc);
}
