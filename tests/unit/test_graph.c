/* Unit tests for graph/: outcomes read from histories shaped like the
 * engine's (caught and uncaught failures, retries, a running Wait, an
 * aborted execution, Parallel and Map with iterations), the DOT text
 * (escaping of names, outcome classes, Map iteration labels) and the SVG
 * libgvc draws from it (each state's <g> with its id and classes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/dot.h"
#include "graph/paint.h"
#include "graph/svg.h"
#include "graph/trace.h"

/* JSON written with ' for " (readable in C). */
static cJSON *json(const char *text)
{
    char *t = strdup(text);
    assert_non_null(t);
    for (char *p = t; *p; p++)
        if (*p == '\'')
            *p = '"';
    cJSON *j = cJSON_Parse(t);
    free(t);
    assert_non_null(j);
    return j;
}

static asl_machine_t *machine(const char *text)
{
    cJSON *d = json(text);
    asl_machine_t *m = NULL;
    assert_int_equal(asl_machine_compile(d, &m, NULL), 0);
    cJSON_Delete(d);
    return m;
}

static graph_trace_t *trace(const asl_machine_t *m, const char *events, const char *status)
{
    cJSON *ev = json(events);
    graph_trace_t *t = graph_trace_from_history(m, ev, status);
    cJSON_Delete(ev);
    assert_non_null(t);
    return t;
}

/* The SVG of `m`; with a trace, painted onto the machine's drawing as the
 * daemon does it. */
static char *svg_of(const asl_machine_t *m, const graph_trace_t *t)
{
    char *dot = graph_dot("m", m, NULL, NULL);
    assert_non_null(dot);
    size_t len = 0;
    char *svg = graph_svg_render(dot, &len);
    free(dot);
    assert_non_null(svg);
    assert_int_equal(strlen(svg), len);
    if (!t)
        return svg;
    graph_marks_t *mk = graph_dot_marks(m, t);
    assert_non_null(mk);
    size_t plen = 0;
    char *painted = graph_paint(svg, len, mk, &plen);
    graph_marks_free(mk);
    assert_non_null(painted);
    assert_int_equal(strlen(painted), plen);
    /* The same drawing: only classes, labels and the style sheet differ. */
    const char *vb = strstr(svg, "viewBox=");
    assert_non_null(vb);
    assert_memory_equal(strstr(painted, "viewBox="), vb, 40);
    assert_non_null(strstr(painted, "<style>"));
    free(svg);
    return painted;
}

/* The SVG has a <g> for state `path` with exactly these classes. */
static void assert_state_g(const char *svg, const char *path, const char *classes)
{
    char want[512];
    snprintf(want, sizeof want, "<g id=\"state:%s\" class=\"%s\">", path, classes);
    if (!strstr(svg, want))
        fail_msg("no %s in:\n%s", want, svg);
}

#define ENTER(type, name) "{'type':'" type "StateEntered','details':{'name':'" name "'}}"
#define EXIT(type, name) "{'type':'" type "StateExited','details':{'name':'" name "'}}"
#define TASK(ev, res) "{'type':'" ev "','details':{'resourceType':'sagad','resource':'" res "'}}"
#define EVENT(type) "{'type':'" type "','details':{}}"

static const char *const CATCHER =
    "{'StartAt':'Pay','States':{"
    "'Pay':{'Type':'Task','Resource':'sagad:fail','Next':'Ship',"
    "       'Catch':[{'ErrorEquals':['States.ALL'],'Next':'Undo'}]},"
    "'Ship':{'Type':'Pass','Next':'Done'},"
    "'Undo':{'Type':'Pass','Next':'Sleep'},"
    "'Sleep':{'Type':'Wait','Seconds':600,'Next':'Done'},"
    "'Done':{'Type':'Succeed'}}}";

static void test_machine_svg_has_every_state(void **state)
{
    (void)state;
    asl_machine_t *m = machine(CATCHER);
    char *svg = svg_of(m, NULL);
    assert_non_null(strstr(svg, "<svg"));
    for (const char *const *s = (const char *const[]){"Pay", "Ship", "Undo", "Sleep", "Done", NULL}; *s; s++)
        assert_state_g(svg, *s, "node state");
    assert_null(strstr(svg, "outcome"));
    free(svg);
    asl_machine_free(m);
}

static void test_caught_failure(void **state)
{
    (void)state;
    asl_machine_t *m = machine(CATCHER);
    graph_trace_t *t = trace(m, "[" EVENT("ExecutionStarted") "," ENTER("Task", "Pay") ","
                             TASK("TaskScheduled", "fail") "," TASK("TaskFailed", "fail") ","
                             EXIT("Task", "Pay") "," ENTER("Pass", "Undo") "," EXIT("Pass", "Undo") ","
                             ENTER("Wait", "Sleep") "]", "RUNNING");
    assert_int_equal(graph_trace_outcome(t, "Pay"), GRAPH_OUTCOME_CAUGHT);
    assert_int_equal(graph_trace_outcome(t, "Undo"), GRAPH_OUTCOME_SUCCEEDED);
    assert_int_equal(graph_trace_outcome(t, "Sleep"), GRAPH_OUTCOME_RUNNING);
    assert_int_equal(graph_trace_outcome(t, "Ship"), GRAPH_OUTCOME_NOTREACHED);
    assert_int_equal(graph_trace_outcome(t, "Done"), GRAPH_OUTCOME_NOTREACHED);
    assert_true(graph_trace_taken(t, "Pay", "Undo", GRAPH_VIA_CATCH));
    assert_false(graph_trace_taken(t, "Pay", "Undo", GRAPH_VIA_NEXT));
    assert_true(graph_trace_taken(t, "Undo", "Sleep", GRAPH_VIA_NEXT));
    char *svg = svg_of(m, t);
    assert_state_g(svg, "Pay", "node state outcome-caught");
    assert_state_g(svg, "Undo", "node state outcome-succeeded");
    assert_state_g(svg, "Sleep", "node state outcome-running");
    assert_state_g(svg, "Ship", "node state outcome-notreached");
    /* Pay -> Undo is the catch edge (the third in DOT order), drawn bold. */
    assert_non_null(strstr(svg, "<g id=\"edge:2\" class=\"edge taken\">"));
    assert_non_null(strstr(svg, "<g id=\"edge:1\" class=\"edge\">"));
    free(svg);
    graph_trace_free(t);
    asl_machine_free(m);
}

/* A redriven execution: the visit that failed before ExecutionRedriven is
 * superseded by the one after it, which decides the state's outcome. */
static void test_redriven_failure(void **state)
{
    (void)state;
    asl_machine_t *m = machine(
        "{'StartAt':'Charge','States':{"
        "'Charge':{'Type':'Task','Resource':'sagad:fail','Next':'Done'},"
        "'Done':{'Type':'Succeed'}}}");
    const char *failed = ENTER("Task", "Charge") "," TASK("TaskScheduled", "fail") ","
                         TASK("TaskFailed", "fail") "," EVENT("ExecutionFailed") ","
                         EVENT("ExecutionRedriven") "," ENTER("Task", "Charge") ","
                         TASK("TaskScheduled", "fail");
    char buf[2048];
    snprintf(buf, sizeof buf, "[%s]", failed);
    graph_trace_t *t = trace(m, buf, "RUNNING");
    assert_int_equal(graph_trace_outcome(t, "Charge"), GRAPH_OUTCOME_RUNNING);
    graph_trace_free(t);
    snprintf(buf, sizeof buf, "[%s,%s,%s,%s,%s]", failed, TASK("TaskSucceeded", "fail"),
             EXIT("Task", "Charge"), ENTER("Succeed", "Done"), EVENT("ExecutionSucceeded"));
    t = trace(m, buf, "SUCCEEDED");
    assert_int_equal(graph_trace_outcome(t, "Charge"), GRAPH_OUTCOME_SUCCEEDED);
    assert_int_equal(graph_trace_outcome(t, "Done"), GRAPH_OUTCOME_SUCCEEDED);
    graph_trace_free(t);
    asl_machine_free(m);
    /* A Parallel goes on with its failed branch, without being entered again. */
    m = machine("{'StartAt':'P','States':{'P':{'Type':'Parallel','End':true,'Branches':["
                "{'StartAt':'A','States':{'A':{'Type':'Pass','End':true}}},"
                "{'StartAt':'B','States':{'B':{'Type':'Task','Resource':'sagad:fail','End':true}}}]}}}");
    t = trace(m, "[" ENTER("Parallel", "P") "," ENTER("Pass", "A") "," EXIT("Pass", "A") ","
              ENTER("Task", "B") "," TASK("TaskFailed", "fail") "," EVENT("ParallelStateFailed") ","
              EVENT("ExecutionFailed") "," EVENT("ExecutionRedriven") "," ENTER("Task", "B") ","
              TASK("TaskSucceeded", "fail") "," EXIT("Task", "B") "," EXIT("Parallel", "P") ","
              EVENT("ExecutionSucceeded") "]", "SUCCEEDED");
    assert_int_equal(graph_trace_outcome(t, "P"), GRAPH_OUTCOME_SUCCEEDED);
    assert_int_equal(graph_trace_outcome(t, "B"), GRAPH_OUTCOME_SUCCEEDED);
    graph_trace_free(t);
    asl_machine_free(m);
}

static void test_uncaught_failure_and_retry(void **state)
{
    (void)state;
    asl_machine_t *m = machine(
        "{'StartAt':'Try','States':{"
        "'Try':{'Type':'Task','Resource':'sagad:echo','Next':'Charge',"
        "       'Retry':[{'ErrorEquals':['States.ALL'],'MaxAttempts':2}]},"
        "'Charge':{'Type':'Task','Resource':'sagad:fail','Next':'Done'},"
        "'Done':{'Type':'Succeed'}}}");
    /* Try fails once, is retried and succeeds; Charge fails the execution. */
    graph_trace_t *t = trace(m, "[" ENTER("Task", "Try") "," TASK("TaskScheduled", "echo") ","
                             TASK("TaskFailed", "echo") "," TASK("TaskScheduled", "echo") ","
                             TASK("TaskSucceeded", "echo") "," EXIT("Task", "Try") ","
                             ENTER("Task", "Charge") "," TASK("TaskScheduled", "fail") ","
                             TASK("TaskFailed", "fail") "," EVENT("ExecutionFailed") "]", "FAILED");
    assert_int_equal(graph_trace_outcome(t, "Try"), GRAPH_OUTCOME_SUCCEEDED);
    assert_int_equal(graph_trace_outcome(t, "Charge"), GRAPH_OUTCOME_FAILED);
    assert_int_equal(graph_trace_outcome(t, "Done"), GRAPH_OUTCOME_NOTREACHED);
    assert_true(graph_trace_taken(t, "Try", "Charge", GRAPH_VIA_NEXT));
    char *dot = graph_dot("m", m, t, NULL);
    assert_non_null(dot);
    /* Taken transitions are bold; the failed state has a thick border. */
    assert_non_null(strstr(dot, "\"Try\" -> \"Charge\" [class=\"taken\""));
    assert_non_null(strstr(dot, "class=\"state outcome-failed\""));
    assert_non_null(strstr(dot, "penwidth=3"));
    free(dot);
    graph_trace_free(t);
    asl_machine_free(m);
}

static void test_aborted_wait_and_fail_state(void **state)
{
    (void)state;
    asl_machine_t *m = machine(
        "{'StartAt':'Sleep','States':{'Sleep':{'Type':'Wait','Seconds':600,'Next':'No'},"
        "'No':{'Type':'Fail','Error':'X'}}}");
    graph_trace_t *t = trace(m, "[" ENTER("Wait", "Sleep") "," EVENT("ExecutionAborted") "]", "ABORTED");
    assert_int_equal(graph_trace_outcome(t, "Sleep"), GRAPH_OUTCOME_FAILED);
    graph_trace_free(t);
    t = trace(m, "[" ENTER("Wait", "Sleep") "," EXIT("Wait", "Sleep") "," ENTER("Fail", "No") ","
              EVENT("ExecutionFailed") "]", "FAILED");
    assert_int_equal(graph_trace_outcome(t, "Sleep"), GRAPH_OUTCOME_SUCCEEDED);
    assert_int_equal(graph_trace_outcome(t, "No"), GRAPH_OUTCOME_FAILED);
    graph_trace_free(t);
    asl_machine_free(m);
}

/* A Parallel whose second branch fails, caught by the Parallel's Catch. */
static void test_parallel_branch_failure(void **state)
{
    (void)state;
    asl_machine_t *m = machine(
        "{'StartAt':'Fan','States':{"
        "'Fan':{'Type':'Parallel','Next':'Done','Catch':[{'ErrorEquals':['States.ALL'],'Next':'Handled'}],"
        "  'Branches':[{'StartAt':'Left','States':{'Left':{'Type':'Wait','Seconds':60,'End':true}}},"
        "              {'StartAt':'Right','States':{'Right':{'Type':'Task','Resource':'sagad:fail','End':true}}}]},"
        "'Handled':{'Type':'Pass','End':true},"
        "'Done':{'Type':'Succeed'}}}");
    graph_trace_t *t = trace(m, "[" ENTER("Parallel", "Fan") "," EVENT("ParallelStateStarted") ","
                             ENTER("Wait", "Left") "," ENTER("Task", "Right") ","
                             TASK("TaskScheduled", "fail") "," TASK("TaskFailed", "fail") ","
                             EVENT("ParallelStateFailed") "," EXIT("Parallel", "Fan") ","
                             ENTER("Pass", "Handled") "," EXIT("Pass", "Handled") ","
                             EVENT("ExecutionSucceeded") "]", "SUCCEEDED");
    assert_int_equal(graph_trace_outcome(t, "Fan"), GRAPH_OUTCOME_CAUGHT);
    assert_int_equal(graph_trace_outcome(t, "Right"), GRAPH_OUTCOME_FAILED);
    /* Cancelled with its Parallel: not left running. */
    assert_int_equal(graph_trace_outcome(t, "Left"), GRAPH_OUTCOME_FAILED);
    assert_int_equal(graph_trace_outcome(t, "Handled"), GRAPH_OUTCOME_SUCCEEDED);
    assert_int_equal(graph_trace_outcome(t, "Done"), GRAPH_OUTCOME_NOTREACHED);
    char *svg = svg_of(m, t);
    assert_state_g(svg, "Fan/1/Right", "node state outcome-failed");
    assert_state_g(svg, "Fan", "node state outcome-caught");
    assert_non_null(strstr(svg, "<g id=\"cluster:Fan/0/\" class=\"cluster\">"));
    free(svg);
    graph_trace_free(t);
    asl_machine_free(m);
}

#define ITER(ev, i) "{'type':'MapIteration" ev "','details':{'index':" #i ",'name':'Each'}}"
#define ONE(i) ITER("Started", i) "," ENTER("Pass", "One") "," EXIT("Pass", "One") "," ITER("Succeeded", i)

static const char *const MAP =
    "{'StartAt':'Each','States':{"
    "'Each':{'Type':'Map','ItemsPath':'$.items','Next':'Done',"
    "  'Catch':[{'ErrorEquals':['States.ALL'],'Next':'Oops'}],"
    "  'ItemProcessor':{'StartAt':'One','States':{'One':{'Type':'Pass','Next':'Bad'},"
    "                   'Bad':{'Type':'Task','Resource':'sagad:fail','End':true}}}},"
    "'Oops':{'Type':'Pass','End':true},"
    "'Done':{'Type':'Succeed'}}}";

static void test_map_iterations(void **state)
{
    (void)state;
    asl_machine_t *m = machine(MAP);
    /* Three iterations; the third fails in Bad, which fails the Map, caught. */
    graph_trace_t *t = trace(m, "[" ENTER("Map", "Each") ",{'type':'MapStateStarted','details':{'length':3}},"
                             ITER("Started", 0) "," ENTER("Pass", "One") "," EXIT("Pass", "One") ","
                             ENTER("Task", "Bad") "," TASK("TaskScheduled", "fail") ","
                             TASK("TaskSucceeded", "fail") "," EXIT("Task", "Bad") "," ITER("Succeeded", 0) ","
                             ONE(1) "," ITER("Started", 2) "," ENTER("Pass", "One") "," EXIT("Pass", "One") ","
                             ENTER("Task", "Bad") "," TASK("TaskScheduled", "fail") ","
                             TASK("TaskFailed", "fail") "," ITER("Failed", 2) ","
                             EVENT("MapStateFailed") "," EXIT("Map", "Each") ","
                             ENTER("Pass", "Oops") "," EXIT("Pass", "Oops") "]", "SUCCEEDED");
    long started, failed;
    graph_trace_iterations(t, "Each", &started, &failed);
    assert_int_equal(started, 3);
    assert_int_equal(failed, 1);
    assert_int_equal(graph_trace_outcome(t, "Each"), GRAPH_OUTCOME_CAUGHT);
    assert_int_equal(graph_trace_outcome(t, "One"), GRAPH_OUTCOME_SUCCEEDED);
    assert_int_equal(graph_trace_outcome(t, "Bad"), GRAPH_OUTCOME_FAILED);
    assert_true(graph_trace_taken(t, "Each", "Oops", GRAPH_VIA_CATCH));
    char *svg = svg_of(m, t);
    assert_non_null(strstr(svg, ">Each (Map: 3 iterations, 1 failed)</text>"));
    assert_state_g(svg, "Each/0/Bad", "node state outcome-failed");
    assert_state_g(svg, "Each/0/One", "node state outcome-succeeded");
    free(svg);
    graph_trace_free(t);
    /* All good: the label counts them; an unrun Map says what it does. */
    t = trace(m, "[" ENTER("Map", "Each") "," ONE(0) "," ONE(1) "]", "RUNNING");
    char *dot = graph_dot("m", m, t, NULL);
    assert_non_null(strstr(dot, "label=\"Each (Map: 2 iterations)\""));
    free(dot);
    graph_trace_free(t);
    /* Padded on both sides: room for the label an execution paints in. */
    dot = graph_dot("m", m, NULL, NULL);
    assert_non_null(strstr(dot, "label=\"            Each (Map: each item)            \""));
    free(dot);
    asl_machine_free(m);
}

static void test_dot_escapes_names(void **state)
{
    (void)state;
    /* A quote, a backslash, a newline and a control character in a name. */
    asl_machine_t *m = machine("{'StartAt':'say \\'hi\\'','States':{"
                               "'say \\'hi\\'':{'Type':'Pass','Next':'a\\\\b\\nc\\u0001'},"
                               "'a\\\\b\\nc\\u0001':{'Type':'Succeed'}}}");
    char *dot = graph_dot("m\"x", m, NULL, NULL);
    assert_non_null(dot);
    assert_non_null(strstr(dot, "digraph \"m\\\"x\" {"));
    assert_non_null(strstr(dot, "\"say \\\"hi\\\"\" [label=\"say \\\"hi\\\"\\nPass\", id=\"state:say \\\"hi\\\"\""));
    assert_non_null(strstr(dot, "\"a\\\\b\\nc\\\\x01\" [label="));
    assert_null(strchr(dot, '\001'));
    size_t len;
    char *svg = graph_svg_render(dot, &len);
    assert_non_null(svg);
    assert_non_null(strstr(svg, "<g id=\"state:say &quot;hi&quot;\" class=\"node state\">"));
    assert_non_null(strstr(svg, ">c\\x01</text>"));
    free(svg);
    free(dot);
    asl_machine_free(m);
}

static void test_svg_refuses_bad_dot(void **state)
{
    (void)state;
    assert_null(graph_svg_render("digraph {", NULL));
    assert_null(graph_svg_render("", NULL));
    /* And still draws afterwards; after the shutdown, nothing. */
    char *svg = graph_svg_render("digraph { a -> b }", NULL);
    assert_non_null(svg);
    assert_non_null(strstr(svg, "</svg>"));
    free(svg);
    graph_svg_shutdown();
    assert_null(graph_svg_render("digraph { a -> b }", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_machine_svg_has_every_state),
        cmocka_unit_test(test_caught_failure),
        cmocka_unit_test(test_uncaught_failure_and_retry),
        cmocka_unit_test(test_redriven_failure),
        cmocka_unit_test(test_aborted_wait_and_fail_state),
        cmocka_unit_test(test_parallel_branch_failure),
        cmocka_unit_test(test_map_iterations),
        cmocka_unit_test(test_dot_escapes_names),
        cmocka_unit_test(test_svg_refuses_bad_dot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
