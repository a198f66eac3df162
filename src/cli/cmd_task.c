/* `sagactl task success|failure|heartbeat TOKEN`: the calls of /tasks from a
 * shell, for scripts that received a task token, and the request bodies that
 * `sagactl worker` sends too. */
#include "cli/cmd_task.h"
#include "cli/out.h"
#include "core/jsonin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_cmd_t TASK = {
    "task", "task success TOKEN [OUTPUT-JSON or -] | task failure TOKEN [--error E]\n"
    "              [--cause C] | task heartbeat TOKEN [--json]",
    "Reports on a task that waits for its token ($$.Task.Token: an activity task\n"
    "or a Task whose Resource ends in .waitForTaskToken).\n"
    "\n"
    "  success TOKEN [OUTPUT]   the task succeeded with OUTPUT, a JSON text (- reads\n"
    "                           it from stdin; no OUTPUT means null)\n"
    "  failure TOKEN            the task failed with --error E (the name Retry and\n"
    "                           Catch match) and --cause C (a message)\n"
    "  heartbeat TOKEN          the task is still being worked on (HeartbeatSeconds)\n"
    "\n"
    "Exit 1 when the daemon does not know the token (TaskDoesNotExist: never\n"
    "issued, already reported or timed out), 2 when the token is malformed\n"
    "(InvalidToken) or OUTPUT is not JSON.\n"};

#define HINT_TOKEN "the task was already reported, timed out or never existed"

const char *cmd_task_path(cmd_task_kind_t kind)
{
    switch (kind) {
    case CMD_TASK_SUCCESS:
        return "/tasks/success";
    case CMD_TASK_FAILURE:
        return "/tasks/failure";
    case CMD_TASK_HEARTBEAT:
        return "/tasks/heartbeat";
    }
    return NULL;
}

char *cmd_task_body(cmd_task_kind_t kind, const char *token, const char *output,
                    size_t output_len, const char *error, const char *cause)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "taskToken", token) ||
        (kind == CMD_TASK_FAILURE && error && !cJSON_AddStringToObject(o, "error", error)) ||
        (kind == CMD_TASK_FAILURE && cause && !cJSON_AddStringToObject(o, "cause", cause))) {
        cJSON_Delete(o);
        return NULL;
    }
    char *head = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!head || kind != CMD_TASK_SUCCESS)
        return head;
    /* The output goes in as the text it is, so numbers and key order stay
     * exactly what the worker wrote: {"taskToken":"...","output":<text>}. */
    if (!output) {
        output = "null";
        output_len = 4;
    }
    size_t hl = strlen(head);
    char *body = malloc(hl + output_len + 16);
    if (body) {
        memcpy(body, head, hl - 1);
        size_t n = hl - 1;
        memcpy(body + n, ",\"output\":", 10);
        n += 10;
        memcpy(body + n, output, output_len);
        n += output_len;
        memcpy(body + n, "}", 2);
    }
    free(head);
    return body;
}

/* Sends one report and prints the outcome. Returns the exit code. */
static int report(cli_t *cli, cmd_task_kind_t kind, const char *token, const char *output,
                  size_t output_len, const char *error, const char *cause)
{
    char *body = cmd_task_body(kind, token, output, output_len, error, cause);
    if (!body) {
        cli_error("task: out of memory");
        return CLI_FAIL;
    }
    cli_http_resp_t r;
    int rc = cli_call(cli, "POST", cmd_task_path(kind), body, strlen(body), NULL, CLI_TIMEOUT_S,
                      &r, HINT_TOKEN);
    free(body);
    if (rc)
        return rc;
    if (cli->json) {
        cli_print_raw(&r);
    } else {
        static const char *const done[] = {"success reported", "failure reported",
                                           "heartbeat sent"};
        out_textf(stdout, OUT_TEXT_LINE, "task %.12s...: %s", token, done[kind]);
        putchar('\n');
    }
    cli_http_resp_free(&r);
    return cli_finish(CLI_OK);
}

int cmd_task(cli_t *cli, int argc, char **argv)
{
    const char *error = NULL, *cause = NULL;
    const cli_opt_t opts[] = {
        {"--error", CLI_OPT_VALUE, &error, NULL},
        {"--cause", CLI_OPT_VALUE, &cause, NULL},
    };
    char *pos[3];
    size_t np;
    int rc = cli_parse(cli, &TASK, argc, argv, opts, 2, pos, 2, 3, &np);
    if (rc >= 0)
        return rc;
    const char *sub = pos[0], *token = pos[1];
    cmd_task_kind_t kind;
    if (strcmp(sub, "success") == 0)
        kind = CMD_TASK_SUCCESS;
    else if (strcmp(sub, "failure") == 0)
        kind = CMD_TASK_FAILURE;
    else if (strcmp(sub, "heartbeat") == 0)
        kind = CMD_TASK_HEARTBEAT;
    else
        return cli_usage_error(&TASK, "unknown subcommand '%s' (success, failure or heartbeat)", sub);
    if (kind != CMD_TASK_FAILURE && (error || cause))
        return cli_usage_error(&TASK, "--error and --cause go with `task failure`");
    if (kind != CMD_TASK_SUCCESS && np > 2)
        return cli_usage_error(&TASK, "unexpected argument '%s'", pos[2]);
    if (!*token)
        return cli_usage_error(&TASK, "TOKEN must not be empty");
    if (kind != CMD_TASK_SUCCESS || np < 3)
        return report(cli, kind, token, NULL, 0, error, cause);

    /* OUTPUT: a JSON text, or - for stdin. Checked here so that a typo is a
     * usage error and not a lost report. */
    char *stdin_text = NULL;
    const char *out = pos[2];
    size_t out_len = strlen(out);
    if (strcmp(out, "-") == 0) {
        stdin_text = cli_read_file("-", &out_len);
        if (!stdin_text) {
            cli_error("task: cannot read the output from stdin: %s", strerror(errno));
            return CLI_USAGE;
        }
        out = stdin_text;
    }
    jsonin_error_t jerr;
    if (jsonin_check(out, out_len, &jerr) != JSONIN_OK) {
        free(stdin_text);
        return cli_usage_error(&TASK, "OUTPUT is not JSON: %s", jerr.message);
    }
    rc = report(cli, kind, token, out, out_len, NULL, NULL);
    free(stdin_text);
    return rc;
}
