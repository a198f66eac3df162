/* GET /metrics: the runtime, SQLite, outbox and HTTP counters in the
 * Prometheus text exposition format 0.0.4. HTTP requests are counted by an
 * http_server observer into a fixed table, so counting never allocates.
 * GET /healthz: whether the database takes commits and passed its check. */
#include "api/metrics.h"
#include "core/exec_status.h"
#include "events/outbox.h"
#include "handlers/http_invoke.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Routes x methods x statuses actually seen; the route set is fixed at start,
 * so this bounds the label space. Overflow lands in one catch-all row. */
#define HTTP_ROWS 256
#define ROUTE_MAX 96

typedef struct http_row_s {
    char method[12];
    char route[ROUTE_MAX];   /* "" = no route matched */
    int status;
    uint64_t count;
} http_row_t;

typedef struct metrics_s {
    api_t *api;
    http_server_t *srv;
    double start_time;
    http_row_t rows[HTTP_ROWS];
    size_t nrows;
    uint64_t overflow;        /* requests whose row did not fit */
} metrics_t;

static void copy_trunc(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Per state machine, fed by the runtime's on_count hook. Names are bounded by
 * the registry; past MACHINE_ROWS machines the rest share one row. */
#define MACHINE_ROWS 256
#define OTHER_MACHINE "(other)"   /* not a valid machine name: cannot collide */

/* Per machine: started (counted under RUNNING) and each end, by exec_status_t. */
enum { M_STARTED = EXEC_STATUS_RUNNING, M_SUCCEEDED, M_N = EXEC_STATUS_COUNT };

typedef struct machine_row_s {
    char name[96];
    uint64_t n[M_N];
} machine_row_t;

typedef struct machine_counts_s {
    machine_row_t rows[MACHINE_ROWS + 1];   /* + the shared overflow row */
    size_t nrows;
} machine_counts_t;

/* One daemon, one metrics table: static so that counting never allocates and
 * nothing has to be freed at exit. */
static metrics_t metrics;
static machine_counts_t machines;

void api_metrics_count(void *ud, const char *machine, const char *status)
{
    (void)ud;
    exec_status_t k;
    if (exec_status_parse(status, &k) < 0 || !machine)
        return;
    machine_row_t *row = NULL;
    for (size_t i = 0; i < machines.nrows && !row; i++)
        if (strcmp(machines.rows[i].name, machine) == 0)
            row = &machines.rows[i];
    if (!row && strlen(machine) < sizeof row->name && machines.nrows < MACHINE_ROWS) {
        row = &machines.rows[machines.nrows++];
        copy_trunc(row->name, sizeof row->name, machine);
    }
    if (!row) {
        row = &machines.rows[MACHINE_ROWS];
        copy_trunc(row->name, sizeof row->name, OTHER_MACHINE);
    }
    row->n[k]++;
}

/* Names longer than a row's buffer are compared (and kept) truncated. */
static void on_response(const char *method, const char *route, int status, void *ud)
{
    metrics_t *m = ud;
    const char *r = route ? route : "";
    for (size_t i = 0; i < m->nrows; i++) {
        http_row_t *row = &m->rows[i];
        if (row->status == status && strncmp(row->method, method, sizeof row->method - 1) == 0 &&
            strncmp(row->route, r, ROUTE_MAX - 1) == 0) {
            row->count++;
            return;
        }
    }
    if (m->nrows == HTTP_ROWS) {
        m->overflow++;
        return;
    }
    http_row_t *row = &m->rows[m->nrows++];
    copy_trunc(row->method, sizeof row->method, method);
    copy_trunc(row->route, sizeof row->route, r);
    row->status = status;
    row->count = 1;
}

/* ---- output buffer ------------------------------------------------------- */

typedef struct buf_s {
    char *p;
    size_t len, cap;
    int oom;
} buf_t;

static void out(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(buf_t *b, const char *fmt, ...)
{
    for (;;) {
        if (b->oom)
            return;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap <= b->len + (size_t)n)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

/* A label value with \, " and newline escaped as the format requires. */
static void out_label(buf_t *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            out(b, "\\\\");
        else if (*s == '"')
            out(b, "\\\"");
        else if (*s == '\n')
            out(b, "\\n");
        else
            out(b, "%c", *s);
    }
}

static void family(buf_t *b, const char *name, const char *type, const char *help)
{
    out(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Integers exactly; floats to 15 significant digits (plenty for seconds). */
static void out_u64(buf_t *b, uint64_t v)
{
    out(b, "%llu\n", (unsigned long long)v);
}

static void out_double(buf_t *b, double v)
{
    out(b, "%.15g\n", v);
}

/* One counter family's rows, one per value of a label. */
typedef struct labelled_s {
    const char *value;
    uint64_t n;
} labelled_t;

static void out_labelled(buf_t *b, const char *name, const char *label, const labelled_t *rows,
                         size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out(b, "%s{%s=\"%s\"} ", name, label, rows[i].value);
        out_u64(b, rows[i].n);
    }
}

/* A histogram from per-bucket counts (not cumulative) under `n` finite upper
 * bounds, `scale` turning a bound into seconds. */
static void out_histogram(buf_t *b, const char *name, const double *bounds, double scale,
                          size_t n, const uint64_t *buckets, uint64_t count, double sum_s)
{
    uint64_t cum = 0;
    for (size_t i = 0; i < n; i++) {
        cum += buckets[i];
        out(b, "%s_bucket{le=\"%g\"} ", name, bounds[i] * scale);
        out_u64(b, cum);
    }
    /* +Inf is the total count by definition, so it can never be below a finite bucket. */
    out(b, "%s_bucket{le=\"+Inf\"} ", name);
    out_u64(b, count);
    out(b, "%s_sum ", name);
    out_double(b, sum_s);
    out(b, "%s_count ", name);
    out_u64(b, count);
}

/* A family with one unlabelled sample (a gauge or a counter). */
static void out_single(buf_t *b, const char *name, const char *type, const char *help,
                       uint64_t v)
{
    family(b, name, type, help);
    out(b, "%s ", name);
    out_u64(b, v);
}

static void write_runtime(buf_t *b, const runtime_stats_t *s)
{
    out_single(b, "sagad_executions_started_total", "counter",
               "Executions started (durably committed) since the daemon started.", s->started);

    family(b, "sagad_executions_finished_total", "counter",
           "Executions that ended, by final status.");
    const labelled_t fin[] = {{"SUCCEEDED", s->succeeded}, {"FAILED", s->failed},
                              {"TIMED_OUT", s->timed_out}, {"ABORTED", s->aborted}};
    out_labelled(b, "sagad_executions_finished_total", "status", fin, sizeof fin / sizeof fin[0]);

    out_single(b, "sagad_executions_open", "gauge", "Executions running (held in memory).",
               s->open_executions);
    out_single(b, "sagad_state_transitions_total", "counter", "States entered by all executions.",
               s->transitions);

    family(b, "sagad_step_latency_seconds", "histogram",
           "Time from a step becoming ready to the commit that makes it durable.");
    out_histogram(b, "sagad_step_latency_seconds", runtime_latency_bounds_ms, 1 / 1000.0, 11,
                  s->step_latency_buckets, s->step_latency_count, s->step_latency_sum_ms / 1000.0);

    family(b, "sagad_sqlite_commits_total", "counter",
           "Group commits of the runtime's write transaction, by result.");
    out(b, "sagad_sqlite_commits_total{result=\"ok\"} ");
    out_u64(b, s->commits);
    out(b, "sagad_sqlite_commits_total{result=\"error\"} ");
    out_u64(b, s->commit_failures);

    family(b, "sagad_sqlite_commit_seconds", "summary",
           "Time spent in COMMIT (fsync included) per group commit.");
    out(b, "sagad_sqlite_commit_seconds_sum ");
    out_double(b, s->commit_latency_sum_ms / 1000.0);
    out(b, "sagad_sqlite_commit_seconds_count ");
    out_u64(b, s->commits + s->commit_failures);
}

static void write_tasks(buf_t *b, const runtime_stats_t *s)
{
    out_single(b, "sagad_task_tokens_waiting", "gauge",
               "Callback and activity tasks that can be reported now.", s->tokens_waiting);
    out_single(b, "sagad_activity_tasks_waiting", "gauge",
               "Activity tasks no worker has taken yet.", s->activity_waiting);
    out_single(b, "sagad_activity_tasks_running", "gauge",
               "Activity tasks taken by a worker and not reported yet.", s->activity_running);
    out_single(b, "sagad_activity_polls_parked", "gauge",
               "Activity polls waiting for a task.", s->polls_parked);
    out_single(b, "sagad_activity_deliveries_total", "counter",
               "Activity tasks handed to a worker (again after a restart: at-least-once).",
               s->activity_deliveries);
    out_single(b, "sagad_task_reports_total", "counter",
               "Task successes and failures accepted from /tasks/success and /tasks/failure.",
               s->task_reports);
}

static void write_store(buf_t *b, const store_health_t *h)
{
    out_single(b, "sagad_sqlite_failing_transactions", "gauge",
               "Write transactions failed since the last successful commit (0: healthy).",
               h->failing);
    family(b, "sagad_database_corrupt", "gauge",
           "1 when the integrity check at start found corruption.");
    out(b, "sagad_database_corrupt %d\n", h->integrity == STORE_INTEGRITY_CORRUPT);
}

/* Without a relay (tests, tools) the backlog still comes from the table. */
static void write_outbox(buf_t *b, const api_t *api)
{
    relay_stats_t rs = {0};
    if (api->relay)
        relay_stats(api->relay, &rs);
    else
        rs.backlog = outbox_backlog(api->store);
    if (rs.backlog >= 0) {
        family(b, "sagad_outbox_backlog", "gauge", "Events committed and not yet accepted by Redis.");
        out(b, "sagad_outbox_backlog %lld\n", (long long)rs.backlog);
    }
    out_single(b, "sagad_events_published_total", "counter",
               "Events Redis accepted (PUBLISH answered).", rs.published);
    out_single(b, "sagad_events_publish_failures_total", "counter",
               "PUBLISH commands that got an error or no answer (the event is retried).",
               rs.failures);
    out_single(b, "sagad_events_stream_appended_total", "counter",
               "Events Redis appended to the events stream (XADD answered).", rs.stream_appended);
    out_single(b, "sagad_events_stream_append_failures_total", "counter",
               "XADD commands that got an error or no answer (the event is retried).",
               rs.stream_failures);
    family(b, "sagad_redis_connected", "gauge", "1 while the relay has a Redis connection.");
    out(b, "sagad_redis_connected %d\n", rs.connected ? 1 : 0);
    family(b, "sagad_redis_connects_total", "counter", "Connection attempts to Redis, by result.");
    out(b, "sagad_redis_connects_total{result=\"ok\"} ");
    out_u64(b, rs.connects);
    out(b, "sagad_redis_connects_total{result=\"error\"} ");
    out_u64(b, rs.connect_failures);
}

static void write_http(buf_t *b, const metrics_t *m)
{
    family(b, "sagad_http_requests_total", "counter",
           "HTTP responses by method, matched route pattern and status.");
    for (size_t i = 0; i < m->nrows; i++) {
        const http_row_t *row = &m->rows[i];
        out(b, "sagad_http_requests_total{method=\"");
        out_label(b, row->method);
        out(b, "\",route=\"");
        out_label(b, row->route[0] ? row->route : "unmatched");
        out(b, "\",status=\"%d\"} ", row->status);
        out_u64(b, row->count);
    }
    if (m->overflow) {
        out(b, "sagad_http_requests_total{method=\"other\",route=\"other\",status=\"other\"} ");
        out_u64(b, m->overflow);
    }
    family(b, "sagad_http_connections", "gauge", "Open HTTP connections.");
    out(b, "sagad_http_connections %d\n", http_server_connections(m->srv));
}

static void write_http_task(buf_t *b, const http_invoke_stats_t *s)
{
    family(b, "sagad_http_task_responses_total", "counter",
           "Responses to HTTP tasks (sagad:http.invoke), by status code.");
    for (int code = 0; code < 600; code++)
        if (s->by_status[code]) {
            if (code)
                out(b, "sagad_http_task_responses_total{code=\"%d\",class=\"%dxx\"} ", code,
                    code / 100);
            else
                out(b, "sagad_http_task_responses_total{code=\"other\",class=\"other\"} ");
            out_u64(b, s->by_status[code]);
        }
    family(b, "sagad_http_task_errors_total", "counter",
           "HTTP tasks that failed without a response, or before the request, by kind.");
    const labelled_t errs[] = {{"socket", s->socket_errors}, {"timeout", s->timeouts},
                               {"forbidden", s->forbidden}, {"invalid", s->invalid},
                               {"cancelled", s->cancelled}};
    out_labelled(b, "sagad_http_task_errors_total", "kind", errs, sizeof errs / sizeof errs[0]);
    out_single(b, "sagad_http_task_in_flight", "gauge", "HTTP task requests in flight.",
               s->in_flight);
    family(b, "sagad_http_task_duration_seconds", "histogram",
           "Time from sending an HTTP task's request to its response or error.");
    out_histogram(b, "sagad_http_task_duration_seconds", http_invoke_latency_bounds_s, 1,
                  HTTP_INVOKE_LATENCY_BUCKETS, s->latency_buckets, s->latency_count,
                  s->latency_sum_s);
}

static void write_machine_row(buf_t *b, const machine_row_t *row, int finished)
{
    if (!finished) {
        out(b, "sagad_machine_executions_started_total{machine=\"");
        out_label(b, row->name);
        out(b, "\"} ");
        out_u64(b, row->n[M_STARTED]);
        return;
    }
    for (int k = M_SUCCEEDED; k < M_N; k++) {
        out(b, "sagad_machine_executions_finished_total{machine=\"");
        out_label(b, row->name);
        out(b, "\",status=\"%s\"} ", exec_status_name((exec_status_t)k));
        out_u64(b, row->n[k]);
    }
}

static void write_machines(buf_t *b)
{
    const machine_row_t *other = &machines.rows[MACHINE_ROWS];
    for (int finished = 0; finished < 2; finished++) {
        if (finished)
            family(b, "sagad_machine_executions_finished_total", "counter",
                   "Executions that ended, by state machine and final status.");
        else
            family(b, "sagad_machine_executions_started_total", "counter",
                   "Executions started, by state machine.");
        for (size_t i = 0; i < machines.nrows; i++)
            write_machine_row(b, &machines.rows[i], finished);
        if (other->name[0])
            write_machine_row(b, other, finished);
    }
}

static void on_metrics(http_request_t *req, void *ud)
{
    metrics_t *m = ud;
    buf_t b = {0};
    family(&b, "sagad_start_time_seconds", "gauge", "Start time of the daemon since the Unix epoch.");
    out(&b, "sagad_start_time_seconds ");
    out_double(&b, m->start_time);
    write_runtime(&b, runtime_stats(m->api->runtime));
    write_tasks(&b, runtime_stats(m->api->runtime));
    write_store(&b, store_health(m->api->store));
    write_machines(&b);
    write_outbox(&b, m->api);
    write_http(&b, m);
    write_http_task(&b, http_invoke_stats());
    if (b.oom)
        http_respond_error(req, 503, "OutOfMemory", "cannot render the metrics now; retry");
    else
        http_respond(req, 200, CONTENT_TYPE, b.p, b.len);
    free(b.p);
}

/* ---- health ---------------------------------------------------------------- */

static const char *const integrity_names[] = {
    [STORE_INTEGRITY_UNKNOWN] = "unknown", [STORE_INTEGRITY_CHECKING] = "checking",
    [STORE_INTEGRITY_OK] = "ok", [STORE_INTEGRITY_CORRUPT] = "corrupt",
    [STORE_INTEGRITY_ERROR] = "error"};

static void add_integrity(cJSON *db, const store_health_t *h)
{
    cJSON_AddStringToObject(db, "integrity", integrity_names[h->integrity]);
    if (h->integrity != STORE_INTEGRITY_CORRUPT && h->integrity != STORE_INTEGRITY_ERROR)
        return;
    cJSON *lines = cJSON_AddArrayToObject(db, "integrityErrors");
    const char *p = h->integrity_detail;
    while (*p) {
        size_t n = strcspn(p, "\n");
        char line[sizeof h->integrity_detail];
        memcpy(line, p, n);
        line[n] = '\0';
        cJSON_AddItemToArray(lines, cJSON_CreateString(line));
        p += n + (p[n] == '\n');
    }
}

/* 503 while the latest commits failed (full disk, read-only file, I/O
 * errors) or the integrity check found corruption. */
static void on_healthz(http_request_t *req, void *ud)
{
    api_t *api = ((metrics_t *)ud)->api;
    const store_health_t *h = store_health(api->store);
    /* An idle daemon would report a mended disk as failing forever: while
     * commits fail, each health check tries one real write; otherwise it
     * checks that a write transaction can be taken now (a foreign writer). */
    if (!store_in_txn(api->store)) {
        if (h->failing)
            store_probe_write(api->store);
        else if (store_begin(api->store) == 0)
            store_rollback(api->store);
    }
    int writable = h->failing == 0;
    int healthy = writable && h->integrity != STORE_INTEGRITY_CORRUPT;
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        api_respond_no_memory(req, "cannot report health now");
        return;
    }
    cJSON_AddStringToObject(o, "status", healthy ? "ok" : "unavailable");
    cJSON *db = cJSON_AddObjectToObject(o, "database");
    cJSON_AddStringToObject(db, "path", store_path(api->store)); /* a URI without its password */
    cJSON_AddBoolToObject(db, "writable", writable);
    cJSON_AddStringToObject(db, "storage", writable ? "ok" : "failing");
    cJSON_AddNumberToObject(db, "commits", (double)h->commits);
    cJSON_AddNumberToObject(db, "failedCommits", (double)h->commit_failures);
    if (!writable) {
        cJSON_AddNumberToObject(db, "failingSinceMs", (double)h->failing_since_ms);
        cJSON_AddNumberToObject(db, "consecutiveFailures", (double)h->failing);
        cJSON_AddStringToObject(db, "lastError", h->last_error);
    }
    add_integrity(db, h);
    const runtime_stats_t *s = runtime_stats(api->runtime);
    cJSON *ex = cJSON_AddObjectToObject(o, "executions");
    cJSON_AddNumberToObject(ex, "running", (double)s->open_executions);
    cJSON_AddNumberToObject(ex, "started", (double)s->started);
    if (api->health)
        api->health(o, api->health_ud);
    http_respond_json(req, healthy ? 200 : 503, o);
    cJSON_Delete(o);
}

int api_metrics_register(http_server_t *srv, api_t *api)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    memset(&metrics, 0, sizeof metrics);
    metrics.api = api;
    metrics.srv = srv;
    metrics.start_time = (double)ts.tv_sec + (double)(ts.tv_nsec / 1000000) / 1000.0;
    http_server_set_observer(srv, on_response, &metrics);
    if (http_server_route(srv, "GET", "/healthz", on_healthz, &metrics) < 0)
        return -1;
    return http_server_route(srv, "GET", "/metrics", on_metrics, &metrics);
}
