/* `sagactl machines`, `versions`, `deploy`, `delete` and the alias verbs:
 * the state machines the daemon holds, every version of one, registering a
 * definition from a file (PUT /state-machines/{name}), deleting one, and
 * naming versions with aliases for starts (`start NAME:ALIAS`). */
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

static const cli_cmd_t DELETE = {
    "delete", "delete MACHINE [--force]",
    "Deletes state machine MACHINE: it leaves `sagactl machines`, and starts of\n"
    "it (or of its versions and aliases) are refused. Refused (exit status 1)\n"
    "while executions of it run, unless --force: they then run to their end on\n"
    "their versions. Its aliases are removed; its versions stay stored for the\n"
    "executions that used them, and registering MACHINE again numbers on from\n"
    "the last version. A file of sagas_dir registers it again at the next\n"
    "reload: remove the file first.\n"};

static const cli_cmd_t ALIASES = {
    "aliases", "aliases MACHINE [--json]",
    "Lists the aliases of MACHINE and the version each names. Start one with\n"
    "`sagactl start MACHINE:ALIAS`.\n"};

static const cli_cmd_t ALIAS = {
    "alias", "alias MACHINE ALIAS VERSION",
    "Points ALIAS of MACHINE at VERSION, creating the alias or moving it (a\n"
    "roll-back is moving it to an older version). `sagactl start MACHINE:ALIAS`\n"
    "then starts that version; running executions keep theirs. ALIAS: 1 to 80\n"
    "of A-Z a-z 0-9 _ -, not only digits (MACHINE:N names version N).\n"};

static const cli_cmd_t UNALIAS = {
    "unalias", "unalias MACHINE ALIAS",
    "Removes ALIAS of MACHINE. Executions started through it are not affected.\n"};

#define HINT_MACHINES "`sagactl machines` lists the state machines; `sagactl deploy FILE` adds one"

/* A date cell: "absolute (ago)", or the text as given. */
static void time_cell(out_table_t *t, const char *date, int64_t now)
{
    int64_t ms;
    char a[64], r[32];
    if (out_time_parse(date, &ms) == 0)
        out_table_cellf(t, OUT_PLAIN, "%s (%s)", out_time_abs(ms, a, sizeof a),
                        out_time_ago(ms, now, r, sizeof r));
    else
        out_table_cell(t, date, OUT_PLAIN);
}

/* One table row per {name?, version, createdDate}. */
static void version_rows(out_table_t *t, const cJSON *arr, int with_name)
{
    int64_t now = out_now_ms();
    const cJSON *m;
    cJSON_ArrayForEach(m, arr) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "version");
        out_table_row(t);
        if (with_name)
            out_table_cell(t, cli_str(m, "name"), OUT_PLAIN);
        out_table_cellf(t, OUT_PLAIN, "%d", cJSON_IsNumber(v) ? v->valueint : 0);
        time_cell(t, cli_str(m, "createdDate"), now);
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

static void show_deleted(const cJSON *body, void *arg)
{
    (void)arg;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(body, "runningExecutions");
    int running = cJSON_IsNumber(n) ? n->valueint : 0;
    printf("%s deleted", cli_str(body, "name") ? cli_str(body, "name") : "?");
    if (running)
        printf("; %d running execution%s finish%s on %s version", running,
               running == 1 ? "" : "s", running == 1 ? "es" : "", running == 1 ? "its" : "their");
    putchar('\n');
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
        cli_machine_name(pos[0], derived, sizeof derived);
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

int cmd_delete(cli_t *cli, int argc, char **argv)
{
    int force = 0;
    const cli_opt_t opts[] = {{"--force", CLI_OPT_FLAG, NULL, &force}};
    char *pos[1];
    size_t np;
    int rc = cli_parse(cli, &DELETE, argc, argv, opts, 1, pos, 1, 1, &np);
    if (rc >= 0)
        return rc;
    char path[1024];
    if (cli_url_path(path, sizeof path, "/state-machines/", pos[0],
                     force ? "?force=true" : "") < 0)
        return cli_usage_error(&DELETE, "MACHINE must be 1 to 80 characters");
    return cli_call_show(cli, "DELETE", path, NULL, HINT_MACHINES, show_deleted, NULL);
}

static void show_aliases(const cJSON *body, void *arg)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, "aliases");
    if (cJSON_GetArraySize(arr) == 0) {
        fprintf(stderr, "%s has no aliases; `sagactl alias %s ALIAS VERSION` adds one\n",
                (const char *)arg, (const char *)arg);
        return;
    }
    out_table_t *t = out_table_new(3);
    out_table_row(t);
    out_table_cell(t, "ALIAS", OUT_PLAIN);
    out_table_cell(t, "VERSION", OUT_PLAIN);
    out_table_cell(t, "UPDATED", OUT_PLAIN);
    int64_t now = out_now_ms();
    const cJSON *a;
    cJSON_ArrayForEach(a, arr) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, "version");
        out_table_row(t);
        out_table_cell(t, cli_str(a, "alias"), OUT_PLAIN);
        out_table_cellf(t, OUT_PLAIN, "%d", cJSON_IsNumber(v) ? v->valueint : 0);
        time_cell(t, cli_str(a, "updatedDate"), now);
    }
    out_table_print(t, stdout, 1);
    out_table_free(t);
}

int cmd_aliases(cli_t *cli, int argc, char **argv)
{
    char *pos[1];
    size_t np;
    int rc = cli_parse(cli, &ALIASES, argc, argv, NULL, 0, pos, 1, 1, &np);
    if (rc >= 0)
        return rc;
    char path[1024];
    if (cli_url_path(path, sizeof path, "/state-machines/", pos[0], "/aliases") < 0)
        return cli_usage_error(&ALIASES, "MACHINE must be 1 to 80 characters");
    return cli_call_show(cli, "GET", path, NULL, HINT_MACHINES, show_aliases, pos[0]);
}

/* "/state-machines/NAME/aliases/ALIAS" into path; -1 when too long. */
static int alias_path(char *path, size_t cap, const char *name, const char *alias)
{
    if (cli_url_path(path, cap, "/state-machines/", name, "/aliases/") < 0 || !*alias)
        return -1;
    return cli_url_escape(path, cap, alias);
}

static void show_alias(const cJSON *body, void *arg)
{
    (void)arg;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "version");
    printf("%s:%s -> version %d\n", cli_str(body, "name") ? cli_str(body, "name") : "?",
           cli_str(body, "alias") ? cli_str(body, "alias") : "?",
           cJSON_IsNumber(v) ? v->valueint : 0);
}

int cmd_alias(cli_t *cli, int argc, char **argv)
{
    char *pos[3];
    size_t np;
    int rc = cli_parse(cli, &ALIAS, argc, argv, NULL, 0, pos, 3, 3, &np);
    if (rc >= 0)
        return rc;
    char *end;
    long version = strtol(pos[2], &end, 10);
    if (!*pos[2] || *end || version < 1 || version > 0x7fffffff)
        return cli_usage_error(&ALIAS, "VERSION must be a version number (1, 2, ...)");
    char path[1024], body[64];
    if (alias_path(path, sizeof path, pos[0], pos[1]) < 0)
        return cli_usage_error(&ALIAS, "MACHINE and ALIAS must be 1 to 80 characters");
    snprintf(body, sizeof body, "{\"version\": %ld}", version);
    return cli_call_show(cli, "PUT", path, body, HINT_MACHINES, show_alias, NULL);
}

static void show_unaliased(const cJSON *body, void *arg)
{
    (void)arg;
    printf("%s:%s removed\n", cli_str(body, "name") ? cli_str(body, "name") : "?",
           cli_str(body, "alias") ? cli_str(body, "alias") : "?");
}

int cmd_unalias(cli_t *cli, int argc, char **argv)
{
    char *pos[2];
    size_t np;
    int rc = cli_parse(cli, &UNALIAS, argc, argv, NULL, 0, pos, 2, 2, &np);
    if (rc >= 0)
        return rc;
    char path[1024];
    if (alias_path(path, sizeof path, pos[0], pos[1]) < 0)
        return cli_usage_error(&UNALIAS, "MACHINE and ALIAS must be 1 to 80 characters");
    return cli_call_show(cli, "DELETE", path, NULL, HINT_MACHINES, show_unaliased, NULL);
}
