/* `sagactl activities` lists the activities with their queues and the
 * workers that poll them; `sagactl activities create NAME` creates one
 * (PUT /activities/{name}, idempotent). */
#include "cli/cmd_activities.h"
#include "cli/out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_cmd_t ACTIVITIES = {
    "activities", "activities [--json] | activities create NAME",
    "Without arguments: every activity with its tasks waiting for a worker,\n"
    "tasks running on one, polls parked in the daemon and the workers that\n"
    "polled it (with the time of their last poll). `activities create NAME`\n"
    "creates activity NAME (1-80 of A-Za-z0-9_.-); creating one that exists\n"
    "changes nothing. A Task with Resource sagad:activity:NAME also creates it.\n"};

#define HINT_LIST "is this sagad older than activities?"

/* "w1 (2s ago), w2 (5m ago)" for the workers array, into a malloc'd string. */
static char *workers_text(const cJSON *workers, int64_t now)
{
    size_t cap = 64, len = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    s[0] = '\0';
    const cJSON *w;
    cJSON_ArrayForEach(w, workers) {
        const char *name = cli_str(w, "name");
        char ago[32] = "?";
        int64_t ms;
        if (out_time_parse(cli_str(w, "lastPollAt"), &ms) == 0)
            out_time_ago(ms, now, ago, sizeof ago);
        size_t need = strlen(name ? name : "?") + strlen(ago) + 8;
        if (len + need >= cap) {
            while (len + need >= cap)
                cap *= 2;
            char *ns = realloc(s, cap);
            if (!ns) {
                free(s);
                return NULL;
            }
            s = ns;
        }
        len += (size_t)snprintf(s + len, cap - len, "%s%s (%s)", len ? ", " : "",
                                name ? name : "?", ago);
    }
    return s;
}

static void count_cell(out_table_t *t, const cJSON *a, const char *key, out_color_t nonzero)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(a, key);
    if (cJSON_IsNumber(n))
        out_table_cellf(t, n->valuedouble > 0 ? nonzero : OUT_PLAIN, "%lld",
                        (long long)n->valuedouble);
    else
        out_table_cell(t, "?", OUT_PLAIN);
}

static void print_activities(const cJSON *body, void *arg)
{
    (void)arg;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, "activities");
    if (cJSON_GetArraySize(arr) == 0) {
        fprintf(stderr, "no activities; `sagactl activities create NAME` or "
                        "`sagactl worker NAME -- COMMAND` creates one\n");
        return;
    }
    int64_t now = out_now_ms();
    out_table_t *t = out_table_new(5);
    out_table_row(t);
    static const char *const head[] = {"NAME", "WAITING", "RUNNING", "POLLS", "WORKERS"};
    for (size_t i = 0; i < 5; i++)
        out_table_cell(t, head[i], OUT_PLAIN);
    const cJSON *a;
    cJSON_ArrayForEach(a, arr) {
        out_table_row(t);
        out_table_cell(t, cli_str(a, "name"), OUT_PLAIN);
        count_cell(t, a, "tasksWaiting", OUT_YELLOW);
        count_cell(t, a, "tasksRunning", OUT_GREEN);
        count_cell(t, a, "pollsParked", OUT_PLAIN);
        char *w = workers_text(cJSON_GetObjectItemCaseSensitive(a, "workers"), now);
        out_table_cell(t, w && *w ? w : "-", OUT_PLAIN);
        free(w);
    }
    out_table_print(t, stdout, 1);
    out_table_free(t);
}

static void print_created(const cJSON *body, void *arg)
{
    int64_t ms;
    char at[64] = "?";
    if (out_time_parse(cli_str(body, "createdAt"), &ms) == 0)
        out_time_abs(ms, at, sizeof at);
    out_textf(stdout, OUT_TEXT_LINE, "activity %s (created %s)", (const char *)arg, at);
    putchar('\n');
}

int cmd_activities(cli_t *cli, int argc, char **argv)
{
    char *pos[2];
    size_t np;
    int rc = cli_parse(cli, &ACTIVITIES, argc, argv, NULL, 0, pos, 0, 2, &np);
    if (rc >= 0)
        return rc;
    if (np == 0)
        return cli_call_show(cli, "GET", "/activities", NULL, HINT_LIST, print_activities, NULL);
    if (strcmp(pos[0], "create") != 0)
        return cli_usage_error(&ACTIVITIES, "unknown subcommand '%s' (create)", pos[0]);
    if (np != 2)
        return cli_usage_error(&ACTIVITIES, "activities create needs NAME");
    char path[1024] = "/activities/";
    if (!*pos[1] || cli_url_escape(path, sizeof path, pos[1]) < 0)
        return cli_usage_error(&ACTIVITIES, "NAME must be 1 to 80 characters");
    return cli_call_show(cli, "PUT", path, NULL, HINT_LIST, print_created, pos[1]);
}
