/* `sagactl reload PID`: sends SIGHUP to sagad and returns only when the
 * reload has finished, failing when files were refused. A bare SIGHUP
 * returns at once, so `systemctl reload sagad && curl ...` could still see
 * the old definitions; the unit's ExecReload runs this instead. */
#include "cli/cmd_reload.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const cli_cmd_t RELOAD = {
    "reload", "reload PID [--timeout SECONDS]",
    "Sends SIGHUP to the sagad with process id PID (systemd's $MAINPID) and\n"
    "waits, up to --timeout seconds (default 60), until its /healthz counts\n"
    "one more finished reload. Exits 0 when every definition file loaded; 1\n"
    "when files were refused (sagad logged each problem and keeps the versions\n"
    "before them), when the signal cannot be sent, or on timeout; 3 when the\n"
    "daemon cannot be reached. `sagactl validate --sagas` shows the problems\n"
    "beforehand.\n"};

#define RELOAD_TIMEOUT_S 60
#define POLL_NS 100000000L

/* The daemon's sagas object from /healthz: reloads finished and files refused
 * by the last load. 0, or the exit code to return. */
static int read_reloads(cli_t *cli, double *reloads, double *failed)
{
    cli_http_resp_t resp;
    int rc = cli_call(cli, "GET", "/healthz", NULL, 0, NULL, CLI_TIMEOUT_S, &resp, NULL);
    if (rc != 0)
        return rc;
    cJSON *body = cli_parse_body(&resp);
    cli_http_resp_free(&resp);
    if (!body)
        return CLI_FAIL;
    const cJSON *sg = cJSON_GetObjectItemCaseSensitive(body, "sagas");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(sg, "reloads");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(sg, "failedFiles");
    rc = cJSON_IsNumber(n) && cJSON_IsNumber(f) ? 0 : CLI_FAIL;
    if (rc == 0) {
        *reloads = n->valuedouble;
        *failed = f->valuedouble;
    } else {
        cli_error("%s/healthz does not count reloads: is this a sagad of this version?",
                  cli->url_text);
    }
    cJSON_Delete(body);
    return rc;
}

int cmd_reload(cli_t *cli, int argc, char **argv)
{
    const char *timeout_arg = NULL;
    const cli_opt_t opts[] = {{"--timeout", CLI_OPT_VALUE, &timeout_arg, NULL}};
    char *pos[1];
    size_t np;
    int rc = cli_parse(cli, &RELOAD, argc, argv, opts, 1, pos, 1, 1, &np);
    if (rc >= 0)
        return rc;
    char *end;
    long pid = strtol(pos[0], &end, 10);
    if (!*pos[0] || *end || pid <= 1)
        return cli_usage_error(&RELOAD, "PID must be sagad's process id, not '%s'", pos[0]);
    long timeout_s = RELOAD_TIMEOUT_S;
    if (timeout_arg) {
        timeout_s = strtol(timeout_arg, &end, 10);
        if (!*timeout_arg || *end || timeout_s <= 0 || timeout_s > 3600)
            return cli_usage_error(&RELOAD, "--timeout must be 1 to 3600 seconds, not '%s'",
                                   timeout_arg);
    }
    double before, after, failed;
    if ((rc = read_reloads(cli, &before, &failed)) != 0)
        return rc;
    if (kill((pid_t)pid, SIGHUP) < 0) {
        cli_error("cannot signal process %ld: %s", pid, strerror(errno));
        return CLI_FAIL;
    }
    struct timespec t0, now, nap = {0, POLL_NS};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if ((rc = read_reloads(cli, &after, &failed)) != 0)
            return rc;
        if (after > before)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec >= timeout_s) {
            cli_error("sagad at %s has not finished reloading after %ld s; see its log "
                      "(journalctl -u sagad)", cli->url_text, timeout_s);
            return CLI_FAIL;
        }
        nanosleep(&nap, NULL);
    }
    if (failed > 0) {
        cli_error("reloaded, but %.0f definition file%s refused; the versions before %s stay in "
                  "force. The log names each problem (journalctl -u sagad); `sagactl validate "
                  "--sagas` shows them too", failed, failed == 1 ? " was" : "s were",
                  failed == 1 ? "it" : "them");
        return CLI_FAIL;
    }
    printf("reloaded\n");
    return cli_finish(CLI_OK);
}
