/* `sagactl start` and `sagactl order`: start an execution and optionally
 * wait for its end. Waiting repeats the start with ?wait=60 under one
 * idempotency name, so every repeat is the same execution and a lost reply
 * can be retried safely. */
#include "cli/cmd_start.h"
#include "cli/cmd_exec.h"
#include "cli/out.h"
#include "asl/json.h"
#include "core/jsonin.h"
#include "core/rand.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAIT_STEP_S 60

static const cli_cmd_t START = {
    "start", "start MACHINE [FILE or -] [--name N] [--wait [SECONDS]] [--json]",
    "Starts an execution of state machine MACHINE with the JSON input read from\n"
    "FILE (or stdin for -; no FILE means {}). Prints the execution id. MACHINE\n"
    "starts its newest version; MACHINE:ALIAS the version the alias names\n"
    "(`sagactl alias`), MACHINE:N version N.\n"
    "\n"
    "  --name N           idempotent start: the same name and input give the\n"
    "                     same execution, another input is refused\n"
    "  --wait [SECONDS]   wait for the end (at most SECONDS, default no limit)\n"
    "                     and print the execution like `sagactl status`; exit 1\n"
    "                     if it ended FAILED, TIMED_OUT or ABORTED or is still\n"
    "                     running when SECONDS are up\n"};

static const cli_cmd_t ORDER = {
    "order", "order [--item ID] [--quantity N] [--firstname F] [--surname S] [--street S]\n"
    "              [--zip Z] [--city C] [--idempotency-key K] [--wait [SECONDS]] [--json]",
    "Places an order: starts the order saga (POST /order) and prints the\n"
    "execution id. Every field has the default of the quick start:\n"
    "  --item coffee-beans --quantity 1 --firstname Laura --surname Becker\n"
    "  --street 'Main Avenue 1' --zip 12345 --city 'Fancy Town'\n"
    "\n"
    "  --idempotency-key K  a retry with the same key starts nothing new\n"
    "  --wait [SECONDS]     wait for the end as `sagactl start --wait` does\n"};

/* The --wait value: -1 no wait, 0 no limit, else seconds. -2 when invalid. */
static double wait_seconds(const char *arg)
{
    if (!arg)
        return -1;
    if (!*arg)
        return 0;
    char *end;
    double s = strtod(arg, &end);
    if (*end || !(s > 0) || s > 1e9)
        return -2;
    return s;
}

/* "sagactl-<uuid>": the name that makes the repeated starts of --wait one
 * execution when the user gave none. Returns buf. */
static char *generated_name(char buf[RAND_UUID_LEN + 8])
{
    char uuid[RAND_UUID_LEN];
    snprintf(buf, RAND_UUID_LEN + 8, "sagactl-%s", rand_uuid(uuid));
    return buf;
}

/* The execution id the daemon gave, one line. */
static void cmd_start_print_id(const char *id)
{
    out_textf(stdout, OUT_TEXT_LINE, "%s", id ? id : "?");
    putchar('\n');
}

/* Starts via POST `path` (no query) with `body` and `headers`; with wait_s
 * >= 0 repeats it with ?wait= until the execution ends or the limit passes.
 * Prints the outcome and returns the exit code. */
static int start_and_wait(cli_t *cli, const char *path, const char *body,
                          const char *const *headers, double wait_s)
{
    cli_http_resp_t r;
    if (wait_s < 0) {
        int rc = cli_call(cli, "POST", path, body, strlen(body), headers, CLI_TIMEOUT_S, &r, NULL);
        if (rc)
            return rc;
        cJSON *j = cli->json ? NULL : cli_parse_body(&r);
        if (cli->json)
            cli_print_raw(&r);
        else if (j)
            cmd_start_print_id(cli_str(j, "executionId"));
        else
            rc = CLI_FAIL;
        cJSON_Delete(j);
        cli_http_resp_free(&r);
        return cli_finish(rc);
    }
    int64_t deadline = wait_s > 0 ? out_now_ms() + (int64_t)(wait_s * 1000) : INT64_MAX;
    char p[1024];
    for (;;) {
        int64_t left = deadline - out_now_ms();
        double step = WAIT_STEP_S;
        if (left < (int64_t)WAIT_STEP_S * 1000)
            step = left > 0 ? (double)left / 1000.0 : 0;
        snprintf(p, sizeof p, "%s?wait=%.3f", path, step);
        int64_t sent = out_now_ms();
        int rc = cli_call(cli, "POST", p, body, strlen(body), headers,
                          (int)step + CLI_TIMEOUT_S, &r, NULL);
        if (rc)
            return rc;
        cJSON *j = cli_parse_body(&r);
        if (!j) {
            cli_http_resp_free(&r);
            return CLI_FAIL;
        }
        const char *st = cli_str(j, "status");
        const char *id = cli_str(j, "executionId") ? cli_str(j, "executionId") : "?";
        int running = !st || strcmp(st, "RUNNING") == 0;
        if (!running || out_now_ms() >= deadline) {
            if (cli->json)
                cli_print_raw(&r);
            else if (cJSON_GetObjectItemCaseSensitive(j, "startDate"))
                cmd_exec_print(j);
            else
                cmd_start_print_id(id);
            if (running)
                cli_error("execution %s is still RUNNING after %gs; follow it with "
                          "`sagactl status %s`", id, wait_s, id);
            rc = running || cmd_exec_failed(st) ? CLI_FAIL : CLI_OK;
            cJSON_Delete(j);
            cli_http_resp_free(&r);
            return cli_finish(rc);
        }
        cJSON_Delete(j);
        cli_http_resp_free(&r);
        /* A daemon that answers 202 long before the wait is up (shutting
         * down, say) must not turn this loop into a busy one. */
        if (out_now_ms() - sent < (int64_t)(step * 500)) {
            struct timespec ts = {0, 200 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
}

int cmd_start(cli_t *cli, int argc, char **argv)
{
    const char *name = NULL, *wait = NULL;
    const cli_opt_t opts[] = {
        {"--name", CLI_OPT_VALUE, &name, NULL},
        {"--wait", CLI_OPT_NUMBER, &wait, NULL},
    };
    char *pos[2];
    size_t np;
    int rc = cli_parse(cli, &START, argc, argv, opts, 2, pos, 1, 2, &np);
    if (rc >= 0)
        return rc;
    double wait_s = wait_seconds(wait);
    if (wait_s == -2)
        return cli_usage_error(&START, "--wait takes a positive number of seconds, not '%s'", wait);
    if (name && (!*name || strlen(name) > 80))
        return cli_usage_error(&START, "--name must have 1 to 80 characters");
    cJSON *input = NULL;
    if (np == 2) {
        size_t len;
        char *text = cli_read_file(pos[1], &len);
        if (!text) {
            cli_error("cannot read %s: %s", strcmp(pos[1], "-") ? pos[1] : "stdin", strerror(errno));
            return CLI_USAGE;
        }
        /* The daemon's rules, so that what is sent is what the file says. */
        jsonin_error_t e;
        int bad = jsonin_parse(text, len, &input, &e);
        free(text);
        if (bad == JSONIN_ERR_NOMEM) {
            cli_error("out of memory reading %s", strcmp(pos[1], "-") ? pos[1] : "stdin");
            return CLI_FAIL;
        }
        if (bad < 0) {
            cli_error("%s is not valid JSON: %s; the input must be one JSON document",
                      strcmp(pos[1], "-") ? pos[1] : "stdin", e.message);
            return CLI_USAGE;
        }
    } else {
        input = cJSON_CreateObject();
    }
    /* Waiting repeats the start; a name makes each repeat the same execution. */
    char gen[RAND_UUID_LEN + 8];
    if (!name && wait_s >= 0)
        name = generated_name(gen);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "input", input);
    if (name)
        cJSON_AddStringToObject(body, "name", name);
    char *text = asl_json_print(body);
    cJSON_Delete(body);
    char path[1024] = "/state-machines/";
    if (cli_url_escape(path, sizeof path - 32, pos[0]) < 0) {
        free(text);
        return cli_usage_error(&START, "the machine name is too long");
    }
    strcat(path, "/executions");
    rc = text ? start_and_wait(cli, path, text, NULL, wait_s) : CLI_FAIL;
    free(text);
    return rc;
}

int cmd_order(cli_t *cli, int argc, char **argv)
{
    const char *item = "coffee-beans", *qty = "1", *first = "Laura", *sur = "Becker",
               *street = "Main Avenue 1", *zip = "12345", *city = "Fancy Town";
    const char *key = NULL, *wait = NULL;
    const cli_opt_t opts[] = {
        {"--item", CLI_OPT_VALUE, &item, NULL},
        {"--quantity", CLI_OPT_VALUE, &qty, NULL},
        {"--firstname", CLI_OPT_VALUE, &first, NULL},
        {"--surname", CLI_OPT_VALUE, &sur, NULL},
        {"--street", CLI_OPT_VALUE, &street, NULL},
        {"--zip", CLI_OPT_VALUE, &zip, NULL},
        {"--city", CLI_OPT_VALUE, &city, NULL},
        {"--idempotency-key", CLI_OPT_VALUE, &key, NULL},
        {"--wait", CLI_OPT_NUMBER, &wait, NULL},
    };
    size_t np;
    int rc = cli_parse(cli, &ORDER, argc, argv, opts, sizeof opts / sizeof opts[0], NULL, 0, 0, &np);
    if (rc >= 0)
        return rc;
    double wait_s = wait_seconds(wait);
    if (wait_s == -2)
        return cli_usage_error(&ORDER, "--wait takes a positive number of seconds, not '%s'", wait);
    char *end;
    long long q = strtoll(qty, &end, 10);
    if (!*qty || *end)
        return cli_usage_error(&ORDER, "--quantity must be an integer, not '%s'", qty);
    if (key && (!*key || strlen(key) > 80 || strpbrk(key, "\r\n")))
        return cli_usage_error(&ORDER, "--idempotency-key must have 1 to 80 characters on one line");
    char gen[RAND_UUID_LEN + 8];
    if (!key && wait_s >= 0)
        key = generated_name(gen);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "itemId", item);
    cJSON_AddNumberToObject(o, "quantity", (double)q);
    cJSON_AddStringToObject(o, "firstname", first);
    cJSON_AddStringToObject(o, "surname", sur);
    cJSON_AddStringToObject(o, "street", street);
    cJSON_AddStringToObject(o, "zip", zip);
    cJSON_AddStringToObject(o, "city", city);
    char *text = asl_json_print(o);
    cJSON_Delete(o);
    if (!text)
        return CLI_FAIL;
    char hdr[128];
    const char *headers[2] = {NULL, NULL};
    if (key) {
        snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", key);
        headers[0] = hdr;
    }
    rc = start_and_wait(cli, "/order", text, headers, wait_s);
    free(text);
    return rc;
}
