/* `sagactl machines`, `versions` and `deploy`: the state machines the daemon
 * holds, every version of one, and registering a definition from a file
 * (PUT /state-machines/{name}), which is what SIGHUP does for sagas_dir. */
#include "cli/cmd_machines.h"
#include "cli/out.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_cmd_t MACHINES = {
    "machines", "machines [--json]",
    "Lists the state machines the daemon holds: name, newest version and when\n"
    "that version was registered.\n"};

static const cli_cmd_t VERSIONS = {
    "versions", "versions MACHINE [--json]",
    "Lists every version of MACHINE, newest first. A running execution\n"
    "finishes on the version it started with. Exit status 1 when there is no\n"
    "such machine.\n"};

static const cli_cmd_t DEPLOY = {
    "deploy", "deploy FILE [--name NAME]",
    "Registers the ASL definition in FILE (\"-\" reads stdin) as the newest\n"
    "version of NAME (default: the file name without .asl.json or .json).\n"
    "The same text as the newest version creates no new version. The daemon\n"
    "checks the definition as `sagactl validate` does and also that every\n"
    "Resource names a handler it has; on problems nothing is registered and\n"
    "the first problem is printed (exit status 2).\n"};

#define HINT_MACHINES "`sagactl machines` lists the state machines; `sagactl deploy FILE` adds one"

/* One table row per {name?, version, createdDate}. */
static void version_rows(out_table_t *t, const cJSON *arr, int with_name)
{
    int64_t now = out_now_ms();
    const cJSON *m;
    cJSON_ArrayForEach(m, arr) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "version");
        int64_t ms;
        char a[64], r[32];
        out_table_row(t);
        if (with_name)
            out_table_cell(t, cli_str(m, "name"), OUT_PLAIN);
        out_table_cellf(t, OUT_PLAIN, "%d", cJSON_IsNumber(v) ? v->valueint : 0);
        if (out_time_parse(cli_str(m, "createdDate"), &ms) == 0)
            out_table_cellf(t, OUT_PLAIN, "%s (%s)", out_time_abs(ms, a, sizeof a),
                            out_time_ago(ms, now, r, sizeof r));
        else
            out_table_cell(t, cli_str(m, "createdDate"), OUT_PLAIN);
    }
}

static void show_machines(const cJSON *body, void *arg)
{
    (void)arg;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, "stateMachines");
    if (cJSON_GetArraySize(arr) == 0) {
        fprintf(stderr, "no state machines yet; `sagactl deploy FILE` registers one\n");
        return;
    }
    out_table_t *t = out_table_new(3);
    out_table_row(t);
    out_table_cell(t, "MACHINE", OUT_PLAIN);
    out_table_cell(t, "VERSION", OUT_PLAIN);
    out_table_cell(t, "REGISTERED", OUT_PLAIN);
    version_rows(t, arr, 1);
    out_table_print(t, stdout, 1);
    out_table_free(t);
}

static void show_versions(const cJSON *body, void *arg)
{
    (void)arg;
    out_table_t *t = out_table_new(2);
    out_table_row(t);
    out_table_cell(t, "VERSION", OUT_PLAIN);
    out_table_cell(t, "REGISTERED", OUT_PLAIN);
    version_rows(t, cJSON_GetObjectItemCaseSensitive(body, "versions"), 0);
    out_table_print(t, stdout, 1);
    out_table_free(t);
}

static void show_deployed(const cJSON *body, void *arg)
{
    (void)arg;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "version");
    printf("%s version %d\n", cli_str(body, "name") ? cli_str(body, "name") : "?",
           cJSON_IsNumber(v) ? v->valueint : 0);
}

int cmd_machines(cli_t *cli, int argc, char **argv)
{
    size_t np;
    int rc = cli_parse(cli, &MACHINES, argc, argv, NULL, 0, NULL, 0, 0, &np);
    if (rc >= 0)
        return rc;
    return cli_call_show(cli, "GET", "/state-machines", NULL, NULL, show_machines, NULL);
}

int cmd_versions(cli_t *cli, int argc, char **argv)
{
    char *pos[1];
    size_t np;
    int rc = cli_parse(cli, &VERSIONS, argc, argv, NULL, 0, pos, 1, 1, &np);
    if (rc >= 0)
        return rc;
    char path[1024];
    if (cli_url_path(path, sizeof path, "/state-machines/", pos[0], "/versions") < 0)
        return cli_usage_error(&VERSIONS, "MACHINE must be 1 to 80 characters");
    return cli_call_show(cli, "GET", path, NULL, HINT_MACHINES, show_versions, NULL);
}

/* The machine name a file gives: its base name without .asl.json / .json. */
static void name_from_file(const char *file, char *out, size_t cap)
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

int cmd_deploy(cli_t *cli, int argc, char **argv)
{
    const char *name = NULL;
    const cli_opt_t opts[] = {{"--name", CLI_OPT_VALUE, &name, NULL}};
    char *pos[1];
    size_t np;
    int rc = cli_parse(cli, &DEPLOY, argc, argv, opts, 1, pos, 1, 1, &np);
    if (rc >= 0)
        return rc;
    char derived[256];
    if (!name) {
        if (strcmp(pos[0], "-") == 0)
            return cli_usage_error(&DEPLOY, "a definition from stdin needs --name");
        name_from_file(pos[0], derived, sizeof derived);
        name = derived;
    }
    char path[1024];
    if (cli_url_path(path, sizeof path, "/state-machines/", name, "") < 0)
        return cli_usage_error(&DEPLOY, "NAME must be 1 to 80 characters");
    size_t len;
    char *text = cli_read_file(pos[0], &len);
    if (!text) {
        cli_error("cannot read %s: %s", pos[0], strerror(errno));
        return CLI_USAGE;
    }
    rc = cli_call_show(cli, "PUT", path, text, NULL, show_deployed, NULL);
    free(text);
    return rc;
}
