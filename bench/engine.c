/* bench/engine: the order saga without HTTP, to show where the time goes.
 *   engine runtime DB SAGA N [WINDOW]  the durable runtime (runtime_start on a
 *                                      uv loop, real handlers, SQLite at DB,
 *                                      which may be ":memory:"), WINDOW sagas
 *                                      in flight at once; execution status
 *                                      events as config key execution_events
 *                                      says (env BENCH_EXEC_EVENTS, default
 *                                      terminal, as the daemon's)
 *   engine pure SAGA N                 the pure engine (asl_run), Tasks
 *                                      answered by trivial in-memory callbacks
 *                                      that return what bench/peer/peer.mjs returns
 * Prints one line of key=value pairs. */
#include "asl/exec.h"
#include "asl/run.h"
#include "asl/machine.h"
#include "core/config.h"
#include "core/log.h"
#include "engine/machines.h"
#include "engine/runtime.h"
#include "events/status.h"
#include "handlers/handlers.h"
#include "order/handlers.h"
#include "order/schema.h"
#include "store/db.h"
#include "store/sqlite.h"
#include "order/domain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

static const char ORDER_INPUT[] =
    "{\"itemId\":\"coffee-beans\",\"quantity\":1,\"firstname\":\"Laura\",\"surname\":\"Becker\","
    "\"street\":\"Main Avenue 1\",\"zip\":\"12345\",\"city\":\"Fancy Town\"}";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long vm_hwm_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/* CPU seconds (user + system) of this process so far. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* CPU seconds of the calling thread: the event loop's own share (checkpoints
 * run on libuv's thread pool). */
static double loop_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

/* ---- pure engine ---------------------------------------------------------- */

static unsigned long pure_seq;

static int pure_task(const char *resource, const cJSON *input, uint32_t attempt, void *ud,
                     cJSON **result, asl_error_t *err)
{
    (void)attempt;
    (void)ud;
    (void)err;
    const char *r = strchr(resource, ':') ? strchr(resource, ':') + 1 : resource;
    char id[32];
    snprintf(id, sizeof id, "o-%lu", pure_seq);
    const cJSON *oid = cJSON_GetObjectItemCaseSensitive(input, "orderId");
    const char *order_id = cJSON_IsString(oid) ? oid->valuestring : id;
    cJSON *o = cJSON_CreateObject();
    if (strcmp(r, "orders.create") == 0 || strcmp(r, "orders.confirm") == 0 ||
        strcmp(r, "orders.cancel") == 0) {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(input, "itemId");
        const cJSON *qty = cJSON_GetObjectItemCaseSensitive(input, "quantity");
        cJSON_AddStringToObject(o, "orderId", order_id);
        cJSON_AddStringToObject(o, "itemId", cJSON_IsString(item) ? item->valuestring : "coffee-beans");
        cJSON_AddNumberToObject(o, "quantity", cJSON_IsNumber(qty) ? qty->valuedouble : 1);
        cJSON_AddStringToObject(o, "status", strcmp(r, "orders.create") == 0    ? "PENDING"
                                             : strcmp(r, "orders.confirm") == 0 ? "PROCESSED"
                                                                                : "CANCELLED");
    } else if (strcmp(r, "stock.reserve") == 0) {
        cJSON_AddStringToObject(o, "orderId", order_id);
        cJSON_AddStringToObject(o, "itemId", "coffee-beans");
        cJSON_AddNumberToObject(o, "quantity", 1);
        cJSON_AddNumberToObject(o, "remaining", 1000000);
    } else if (strcmp(r, "payment.process") == 0) {
        cJSON_AddStringToObject(o, "paymentId", "p-1");
        cJSON_AddStringToObject(o, "orderId", order_id);
        cJSON_AddNumberToObject(o, "amount", 1);
        cJSON_AddStringToObject(o, "status", "CHARGED");
    } else if (strcmp(r, "events.publish") == 0) {
        cJSON_AddStringToObject(o, "id", "e-1");
        cJSON_AddStringToObject(o, "source", "sagad.order");
        cJSON_AddStringToObject(o, "detail-type", "Processed");
        cJSON_AddStringToObject(o, "time", "2026-11-25T12:00:00Z");
        cJSON_AddStringToObject(o, "executionId", "exec-1");
    } else {
        cJSON_AddStringToObject(o, "orderId", order_id);
    }
    *result = o;
    return 0;
}

static int run_pure(const char *saga, long n)
{
    size_t len;
    char *text = read_file(saga, &len);
    if (!text)
        return 1;
    asl_problems_t pr;
    asl_problems_init(&pr);
    asl_machine_t *m = NULL;
    if (asl_machine_compile_text(text, len, &m, &pr) < 0) {
        fprintf(stderr, "engine: %s: %zu problems, first: %s: %s\n", saga, pr.count,
                pr.count ? pr.items[0].state : "", pr.count ? pr.items[0].message : "");
        asl_problems_free(&pr);
        free(text);
        return 1;
    }
    asl_problems_free(&pr);
    cJSON *input = cJSON_Parse(ORDER_INPUT);
    long ok = 0;
    size_t transitions = 0;
    double t0 = now_s(), c0 = cpu_s();
    for (long i = 0; i < n; i++) {
        asl_run_opts_t o = {.task = pure_task};
        asl_run_result_t res;
        memset(&res, 0, sizeof res);
        pure_seq = (unsigned long)i;
        if (asl_run(m, input, &o, &res) == 0 && res.status == ASL_STEP_SUCCEEDED)
            ok++;
        transitions += res.n_transitions;
        asl_run_result_clear(&res);
    }
    double secs = now_s() - t0, cpu = cpu_s() - c0;
    printf("mode=pure n=%ld succeeded=%ld secs=%.3f sagas_per_s=%.1f transitions_per_saga=%.1f "
           "rss_kb=%ld cpu_us_per_saga=%.1f\n",
           n, ok, secs, (double)n / secs, (double)transitions / (double)(n ? n : 1), vm_hwm_kb(),
           cpu * 1e6 / (double)n);
    cJSON_Delete(input);
    asl_machine_free(m);
    free(text);
    return ok == n ? 0 : 1;
}

/* ---- durable runtime ------------------------------------------------------ */

typedef struct bench_s {
    uv_loop_t *loop;
    runtime_t *rt;
    const machine_ver_t *mv;
    cJSON *input;
    uv_idle_t closer;
    long n, started, ended, refused;
    double t0, t1, c0, c1, l0, l1;
} bench_t;

static void start_one(bench_t *b);

static void on_closed(void *ud)
{
    (void)ud;
}

/* runtime_close runs from the loop, not from inside the runtime's own
 * waiter callback: the runtime still holds the execution there. */
static void on_close_turn(uv_idle_t *h)
{
    bench_t *b = h->data;
    uv_idle_stop(h);
    uv_close((uv_handle_t *)h, NULL);
    runtime_close(b->rt, on_closed, b);
}

static void on_ended(void *ud)
{
    bench_t *b = ud;
    b->ended++;
    if (b->started < b->n)
        start_one(b);
    if (b->ended == b->n) {
        b->t1 = now_s();
        b->c1 = cpu_s();
        b->l1 = loop_cpu_s();
        b->closer.data = b;
        uv_idle_init(b->loop, &b->closer);
        uv_idle_start(&b->closer, on_close_turn);
    }
}

static void on_started(void *ud, runtime_status_t st, const char *id)
{
    bench_t *b = ud;
    if (st != RUNTIME_OK) {
        b->refused++;
        on_ended(b);
        return;
    }
    if (runtime_wait(b->rt, id, 0, on_ended, b) != RUNTIME_OK)
        on_ended(b);   /* ended already: on_ended will not be called for it */
}

static void start_one(bench_t *b)
{
    b->started++;
    if (runtime_start(b->rt, b->mv, NULL, b->input, NULL, on_started, b) != RUNTIME_OK) {
        b->refused++;
        on_ended(b);
    }
}

static long count_status(store_t *st, const char *status)
{
    sqlite3_stmt *s = NULL;
    long n = -1;
    if (sqlite3_prepare_v2(store_db(st), "SELECT count(*) FROM executions WHERE status = ?", -1,
                           &s, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(s, 1, status, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

static int run_runtime(const char *db, const char *saga, long n, long window)
{
    config_t cfg;
    config_defaults(&cfg);
    cfg.payment_failure_rate = 0;
    cfg.payment_latency_ms = 0;
    snprintf(cfg.database, sizeof cfg.database, "%s", db);
    log_set_level(LOG_LEVEL_WARN);

    char err[512];
    const char *events = getenv("BENCH_EXEC_EVENTS");
    if (events && config_set(&cfg, "execution_events", events, "BENCH_EXEC_EVENTS", 0, err) < 0) {
        fprintf(stderr, "engine: %s\n", err);
        return 2;
    }
    store_t *st = NULL;
    machines_t *reg = NULL;
    if (order_schema_register() < 0 || store_open(db, &st, err, sizeof err) < 0) {
        fprintf(stderr, "engine: %s\n", err);
        return 1;
    }
    if (machines_open(st, &reg) < 0 || handlers_register_builtin() < 0 || order_handlers_register(&cfg) < 0) {
        fprintf(stderr, "engine: cannot set up machines or handlers\n");
        return 1;
    }
    size_t len;
    char *text = read_file(saga, &len);
    if (!text)
        return 1;
    asl_problems_t pr;
    asl_problems_init(&pr);
    bench_t b = {.n = n};
    if (machines_put(reg, "order", text, len, &pr, &b.mv) < 0) {
        fprintf(stderr, "engine: %s: %zu problems, first: %s: %s\n", saga, pr.count,
                pr.count ? pr.items[0].state : "", pr.count ? pr.items[0].message : "");
        return 1;
    }
    asl_problems_free(&pr);
    free(text);
    if (order_stock_set(st, "coffee-beans", 1000000000, store_now_ms()) < 0) {
        fprintf(stderr, "engine: cannot set the stock\n");
        return 1;
    }

    uv_loop_t loop;
    uv_loop_init(&loop);
    status_events_t se = {.store = st, .mode = cfg.execution_events,
                          .payload = cfg.execution_events_payload};
    runtime_opts_t ro = {.loop = &loop, .store = st, .machines = reg, .cfg = &cfg,
                         .on_status = status_events_on_status, .on_status_ud = &se};
    if (runtime_open(&ro, &b.rt) < 0) {
        fprintf(stderr, "engine: runtime_open failed\n");
        return 1;
    }
    b.loop = &loop;
    b.input = cJSON_Parse(ORDER_INPUT);
    b.t0 = now_s();
    b.c0 = cpu_s();
    b.l0 = loop_cpu_s();
    for (long i = 0; i < window && b.started < n; i++)
        start_one(&b);
    uv_run(&loop, UV_RUN_DEFAULT);
    double secs = b.t1 - b.t0;
    long rss = vm_hwm_kb();
    long ok = count_status(st, "SUCCEEDED"), failed = count_status(st, "FAILED");
    cJSON_Delete(b.input);
    machines_close(reg);
    store_close(st);
    uv_loop_close(&loop);
    long long bytes = -1;
    struct stat sb;
    if (strcmp(db, ":memory:") != 0 && stat(db, &sb) == 0)
        bytes = (long long)sb.st_size;
    printf("mode=runtime db=%s n=%ld window=%ld succeeded=%ld failed=%ld refused=%ld secs=%.3f "
           "sagas_per_s=%.1f rss_kb=%ld db_bytes_per_saga=%.0f cpu_us_per_saga=%.1f "
           "loop_cpu_us_per_saga=%.1f exec_events=%d\n",
           db, n, window, ok, failed, b.refused, secs, (double)n / secs, rss,
           bytes > 0 ? (double)bytes / (double)n : -1.0, (b.c1 - b.c0) * 1e6 / (double)n,
           (b.l1 - b.l0) * 1e6 / (double)n, (int)cfg.execution_events);
    return ok == n ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "pure") == 0)
        return run_pure(argv[2], atol(argv[3]));
    if (argc >= 5 && strcmp(argv[1], "runtime") == 0)
        return run_runtime(argv[2], argv[3], atol(argv[4]), argc > 5 ? atol(argv[5]) : 256);
    fprintf(stderr, "usage: engine runtime DB SAGA N [WINDOW] | engine pure SAGA N\n");
    return 2;
}
