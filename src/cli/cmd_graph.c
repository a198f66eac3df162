/* `sagactl graph`: fetches a state machine's definition from the daemon,
 * compiles it here with the daemon's own parser (so the picture follows the
 * transitions the engine takes) and prints it as DOT, or with --svg as the
 * SVG the daemon's graph.svg routes draw; with --execution the execution's
 * outcomes are painted on it. */
#include "cli/cmd_graph.h"
#include "asl/machine.h"
#include "cli/out.h"
#include "graph/dot.h"
#include "graph/paint.h"
#include "graph/svg.h"
#include "graph/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_cmd_t GRAPH = {
    "graph", "graph MACHINE [--execution ID] [--svg] [--json]",
    "Prints state machine MACHINE as Graphviz DOT, e.g.\n"
    "  sagactl graph order | dot -Tsvg > order.svg\n"
    "Choice edges carry their rule, Catch edges are dashed and carry their\n"
    "ErrorEquals, Parallel branches and Map processors are clusters.\n"
    "\n"
    "  --execution ID   colour the states by what execution ID did in them:\n"
    "                   succeeded (green), caught (orange, dashed border),\n"
    "                   running (blue), failed (red, thick border), not reached\n"
    "                   (grey); draw the transitions it took in bold\n"
    "  --svg            print SVG drawn with Graphviz's library (the same as\n"
    "                   GET /state-machines/MACHINE/graph.svg, or with\n"
    "                   --execution GET /executions/ID/graph.svg)\n"
    "  --json           print the daemon's definition (GET /state-machines/MACHINE)\n"};

static int fetch(cli_t *cli, const char *path, const char *hint, cJSON **out)
{
    cli_http_resp_t r;
    int rc = cli_call(cli, "GET", path, NULL, 0, NULL, CLI_TIMEOUT_S, &r, hint);
    if (rc)
        return rc;
    *out = cli_parse_body(&r);
    cli_http_resp_free(&r);
    return *out ? 0 : CLI_FAIL;
}

int cmd_graph(cli_t *cli, int argc, char **argv)
{
    const char *exec_id = NULL;
    int svg = 0;
    const cli_opt_t opts[] = {{"--execution", CLI_OPT_VALUE, &exec_id, NULL},
                              {"--svg", CLI_OPT_FLAG, NULL, &svg}};
    char *pos[1];
    size_t np;
    int rc = cli_parse(cli, &GRAPH, argc, argv, opts, 2, pos, 1, 1, &np);
    if (rc >= 0)
        return rc;
    char path[1024] = "/state-machines/";
    if (cli_url_escape(path, sizeof path, pos[0]) < 0)
        return cli_usage_error(&GRAPH, "the machine name is too long");
    if (cli->json) {
        cli_http_resp_t r;
        rc = cli_call(cli, "GET", path, NULL, 0, NULL, CLI_TIMEOUT_S, &r,
                      "`curl $SAGAD_URL/state-machines` lists the machines");
        if (rc)
            return rc;
        cli_print_raw(&r);
        cli_http_resp_free(&r);
        return cli_finish(CLI_OK);
    }
    cJSON *mj = NULL, *desc = NULL, *hist = NULL;
    asl_machine_t *m = NULL;
    graph_trace_t *tr = NULL;
    char *dot = NULL, *text = NULL;
    rc = fetch(cli, path, "`curl $SAGAD_URL/state-machines` lists the machines", &mj);
    if (rc)
        goto out;
    const char *status = NULL;
    if (exec_id) {
        char ep[1024] = "/executions/";
        if (cli_url_escape(ep, sizeof ep - 16, exec_id) < 0) {
            rc = cli_usage_error(&GRAPH, "the execution id is too long");
            goto out;
        }
        if ((rc = fetch(cli, ep, "`sagactl list` shows the executions there are", &desc)))
            goto out;
        const char *em = cli_str(desc, "stateMachine");
        if (!em || strcmp(em, pos[0]) != 0) {
            rc = cli_usage_error(&GRAPH, "execution %s belongs to state machine '%s', not '%s'",
                                 exec_id, em ? em : "?", pos[0]);
            goto out;
        }
        strcat(ep, "/history");
        if ((rc = fetch(cli, ep, NULL, &hist)))
            goto out;
        status = cli_str(desc, "status");
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(desc, "stateMachineVersion");
        const cJSON *mv = cJSON_GetObjectItemCaseSensitive(mj, "version");
        if (cJSON_IsNumber(ev) && cJSON_IsNumber(mv) && ev->valueint != mv->valueint)
            fprintf(stderr, "sagactl: note: the execution ran version %d of %s; this is version %d\n",
                    ev->valueint, pos[0], mv->valueint);
    }
    asl_problems_t probs;
    asl_problems_init(&probs);
    if (asl_machine_compile(cJSON_GetObjectItemCaseSensitive(mj, "definition"), &m, &probs) != 0) {
        const asl_problem_t *p = probs.count ? &probs.items[0] : NULL;
        cli_error("the daemon's definition of %s does not compile here (%s%s%s); is sagactl "
                  "older than sagad? `sagactl validate` shows every problem",
                  pos[0], p && p->state ? p->state : "", p && p->state ? ": " : "",
                  p ? p->message : "no details");
        asl_problems_free(&probs);
        rc = CLI_FAIL;
        goto out;
    }
    asl_problems_free(&probs);
    char title[512];
    if (hist) {
        tr = graph_trace_from_history(m, cJSON_GetObjectItemCaseSensitive(hist, "events"), status);
        if (!tr) {
            rc = CLI_FAIL;
            goto out;
        }
        snprintf(title, sizeof title, "%s: execution %s (%s)", pos[0], exec_id, status ? status : "?");
    }
    /* SVG as the daemon draws it: the machine, with the execution painted on. */
    dot = graph_dot(pos[0], m, svg ? NULL : tr, tr && !svg ? title : NULL);
    size_t len = dot ? strlen(dot) : 0;
    text = dot && svg ? graph_svg_render(dot, &len) : NULL;
    if (text && tr) {
        graph_marks_t *mk = graph_dot_marks(m, tr);
        char *painted = mk ? graph_paint(text, len, mk, &len) : NULL;
        graph_marks_free(mk);
        free(text);
        text = painted;
    }
    if (!dot || (svg && !text)) {
        cli_error("cannot draw %s here (%s)", pos[0], dot ? "Graphviz could not lay it out" : "out of memory");
        rc = CLI_FAIL;
        goto out;
    }
    /* Names come from the server: a terminal gets their control characters escaped. */
    out_text(stdout, svg ? text : dot, len, OUT_TEXT_LINES);
    rc = cli_finish(CLI_OK);
out:
    free(dot);
    free(text);
    graph_trace_free(tr);
    asl_machine_free(m);
    cJSON_Delete(mj);
    cJSON_Delete(desc);
    cJSON_Delete(hist);
    return rc;
}
