/* libFuzzer target for the durable runtime: an input is a header of fault and
 * scheduling choices, an ASL definition and a JSON input. The real runtime
 * (store, machines, handlers, uv loop) runs it for a bounded number of loop
 * turns, with write/sync/full-disk faults injected into SQLite, stops, a
 * close and a recovery in between; then a fault-free reopen must recover
 * everything that was acknowledged. Build: make fuzz (tests/fuzz/README.md). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "engine/machines.h"
#include "engine/runtime.h"
#include "handlers/handlers.h"
#include "order/handlers.h"
#include "order/schema.h"
#include "store/db.h"
#include "store/fault.h"
#include "../unit/testdb.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__asan_default_options(void);

/* ASan's default 256 MB quarantine makes every input fault in fresh pages for
 * SQLite's caches (4x slower); 16 MB still catches a use right after a free. */
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=16";
}

/* The header: one byte per choice, in this order. */
typedef enum {
    H_FLAGS,          /* flag_t bits */
    H_FAULT_KIND,     /* store_fault_kind_t, modulo 4 (file database only) */
    H_FAULT_SKIP,     /* operations that still succeed once armed, x4 */
    H_FAULT_COUNT,    /* operations that fail; 0: every one until disarmed */
    H_FAULT_TURN,     /* loop turn at which the fault is armed */
    H_HEAL_TURN,      /* loop turn at which it is disarmed (0: never) */
    H_TURNS,          /* loop turns, x2 */
    H_HISTORY,        /* history_limit x16; 0: the default */
    H_STARTS,         /* starts of the definition, 1 + this % 4 */
    H_REOPEN_TURN,    /* turn of a close and reopen (file, FLAG_REOPEN) */
    H_STOP_TURN,      /* turn of a stop of the first execution (FLAG_STOP) */
    H_PAY_FAIL,       /* payment_failure_rate, /255 */
    H_SIZE
} header_t;

typedef enum {
    FLAG_FILE = 1,        /* a database file (faults apply) instead of :memory: */
    FLAG_REOPEN = 2,      /* close the runtime and recover it mid-way */
    FLAG_STOP = 4,        /* stop the first execution */
    FLAG_NAMED = 8,       /* starts carry one name: the later ones are the same execution */
    FLAG_ASYNC_PAY = 16,  /* payment.process answers from a timer */
    FLAG_READ = 32        /* describe, history and list every few turns */
} flag_t;

#define MAX_STARTS 4

typedef struct start_s {
    int returned;              /* runtime_start's answer */
    int calls;
    runtime_status_t status;   /* the callback's, or the refusal returned */
    char id[64];
} start_t;

typedef struct fuzz_s {
    uv_loop_t loop;
    config_t cfg;
    char path[64];
    int on_file;
    store_t *st;
    machines_t *reg;
    runtime_t *rt;
} fuzz_t;

static int checks = 1;

/* A broken invariant: libFuzzer saves the input that got here. */
static void violation(const char *what, const char *id)
{
    fprintf(stderr, "fuzz_runtime: %s (execution %s)\n", what, id ? id : "-");
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* Errors are the expected outcome of injected faults: keep stderr for the
     * sanitizers unless FUZZ_RUNTIME_LOG asks for the log. */
    log_level_t quiet;
    log_level_parse("error", &quiet);
    if (!getenv("FUZZ_RUNTIME_LOG"))
        log_set_level((log_level_t)(quiet + 1));
    const char *c = getenv("FUZZ_RUNTIME_CHECKS");
    checks = !c || strcmp(c, "0") != 0;
    store_fault_install();
    /* Async payment registered once; its latency is read per call (0 or 1 ms). */
    config_t reg_cfg;
    config_defaults(&reg_cfg);
    reg_cfg.payment_latency_ms = 1;
    handlers_register_builtin();
    order_handlers_register(&reg_cfg);
    order_schema_register();
    return 0;
}

static void on_start(void *ud, runtime_status_t status, const char *id)
{
    start_t *s = ud;
    s->calls++;
    s->status = status;
    snprintf(s->id, sizeof s->id, "%s", id ? id : "");
}

/* Callbacks of stops that returned RUNTIME_OK, and of all of them. */
typedef struct stops_s {
    int accepted, calls;
} stops_t;

static void on_stopped(void *ud, runtime_status_t status, const char *id)
{
    stops_t *st = ud;
    (void)status;
    if (++st->calls > st->accepted)
        violation("a stop callback ran without runtime_stop returning RUNTIME_OK", id);
}

static void on_closed(void *ud)
{
    *(int *)ud = 1;
}

static int open_all(fuzz_t *f)
{
    char err[256];
    if (store_open(f->on_file ? f->path : ":memory:", &f->st, err, sizeof err) < 0)
        return -1;
    if (machines_open(f->st, &f->reg) < 0)
        return -1;
    runtime_opts_t o = {.loop = &f->loop, .store = f->st, .machines = f->reg, .cfg = &f->cfg};
    return runtime_open(&o, &f->rt) < 0 ? -1 : 0;
}

static void close_runtime(fuzz_t *f)
{
    if (!f->rt)
        return;
    int closed = 0;
    runtime_close(f->rt, on_closed, &closed);
    for (int i = 0; !closed && i < 100000; i++)
        uv_run(&f->loop, UV_RUN_ONCE);
    if (!closed)
        violation("runtime_close never called done", NULL);
    f->rt = NULL;
}

static void close_all(fuzz_t *f)
{
    close_runtime(f);
    if (f->reg)
        machines_close(f->reg);
    if (f->st)
        store_close(f->st);
    f->reg = NULL;
    f->st = NULL;
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

/* The reads an API client may make at any time. */
static void read_back(runtime_t *rt, const char *id)
{
    cJSON_Delete(runtime_describe(rt, id));
    cJSON_Delete(runtime_history(rt, id));
    const char *why = NULL;
    cJSON_Delete(runtime_list(rt, NULL, 5, NULL, &why));
    (void)runtime_is_done(rt, id);
}

/* Every start answered exactly once (by its return, or by one callback
 * after it returned RUNTIME_OK); after a fault-free reopen each one
 * acknowledged exists, and none refused for storage does. */
static void check_starts(fuzz_t *f, const start_t *starts, int n, int may_be_unanswered)
{
    for (int i = 0; i < n; i++) {
        const start_t *s = &starts[i];
        if (s->calls > 1)
            violation("a start callback ran more than once", s->id);
        if (s->returned != RUNTIME_OK && s->calls)
            violation("a start callback ran after runtime_start returned a refusal", s->id);
        if (s->calls == 0 && s->returned == RUNTIME_OK) {
            if (!may_be_unanswered)
                violation("a start was never answered", NULL);
            continue;
        }
        if (!checks || !f->rt || !s->id[0])
            continue;
        int done = runtime_is_done(f->rt, s->id);
        if ((s->status == RUNTIME_OK || s->status == RUNTIME_EXISTS) && done < 0)
            violation("an acknowledged start is gone after recovery", s->id);
        if (s->status == RUNTIME_ERR_STORAGE && done >= 0)
            violation("a start refused for storage exists after recovery", s->id);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < H_SIZE + 2)
        return 0;
    const uint8_t *h = data;
    const char *text = (const char *)data + H_SIZE;
    size_t len = size - H_SIZE;
    const char *nul = memchr(text, 0, len);
    size_t def_len = nul ? (size_t)(nul - text) : len;
    cJSON *input = nul ? cJSON_ParseWithLength(nul + 1, len - def_len - 1) : NULL;
    if (!input)
        input = cJSON_CreateObject();

    static fuzz_t f;
    memset(&f, 0, sizeof f);
    uv_loop_init(&f.loop);
    config_defaults(&f.cfg);
    f.on_file = h[H_FLAGS] & FLAG_FILE;
    snprintf(f.path, sizeof f.path, "/dev/shm/fuzz-runtime-%d.db", (int)getpid());
    if (h[H_HISTORY])
        f.cfg.history_limit = 16 * h[H_HISTORY];
    f.cfg.payment_latency_ms = (h[H_FLAGS] & FLAG_ASYNC_PAY) ? 1 : 0;
    f.cfg.payment_failure_rate = h[H_PAY_FAIL] / 255.0;
    if (f.on_file)
        testdb_remove(f.path);

    start_t starts[MAX_STARTS];
    memset(starts, 0, sizeof starts);
    static stops_t stops;
    memset(&stops, 0, sizeof stops);
    int n_starts = 0;
    const machine_ver_t *mv = NULL;
    asl_problems_t problems;
    asl_problems_init(&problems);
    if (open_all(&f) < 0)
        violation("cannot open a fresh runtime", NULL);
    if (machines_put(f.reg, "fz", text, def_len, &problems, &mv) <= 0 || !mv)
        goto out;

    int want = 1 + h[H_STARTS] % MAX_STARTS;
    for (int i = 0; i < want; i++) {
        start_t *s = &starts[i];
        char id[RUNTIME_ID_SIZE] = "";
        s->returned = runtime_start(f.rt, mv, (h[H_FLAGS] & FLAG_NAMED) ? "fz-name" : NULL,
                                    input, id, on_start, s);
        if (s->calls)
            violation("runtime_start called its callback from inside the call", id);
        if (s->returned != RUNTIME_OK) {
            s->status = (runtime_status_t)s->returned;
            snprintf(s->id, sizeof s->id, "%s", id);
        }
        n_starts++;
    }
    int turns = 2 * h[H_TURNS] + 2;
    int reopened = 0;
    for (int t = 0; t < turns && f.rt; t++) {
        if (f.on_file && h[H_FAULT_KIND] % 4 && t == h[H_FAULT_TURN] % turns)
            store_fault_arm((store_fault_kind_t)(h[H_FAULT_KIND] % 4), 4 * h[H_FAULT_SKIP],
                            h[H_FAULT_COUNT] ? h[H_FAULT_COUNT] % 8 : -1);
        if (h[H_HEAL_TURN] && t == h[H_HEAL_TURN] % turns)
            store_fault_disarm();
        if ((h[H_FLAGS] & FLAG_STOP) && t == h[H_STOP_TURN] % turns && starts[0].id[0])
            if (runtime_stop(f.rt, starts[0].id, "Fuzz.Stop", "stopped by the fuzzer", on_stopped,
                             &stops) == RUNTIME_OK)
                stops.accepted++;
        if ((h[H_FLAGS] & FLAG_READ) && t % 32 == 7 && starts[0].id[0])
            read_back(f.rt, starts[0].id);
        if (f.on_file && (h[H_FLAGS] & FLAG_REOPEN) && !reopened && t == h[H_REOPEN_TURN] % turns) {
            reopened = 1;
            close_all(&f);
            check_starts(&f, starts, n_starts, 0);
            /* Recovery may fail under a fault: then there is nothing to drive. */
            if (open_all(&f) < 0)
                close_all(&f);
            continue;
        }
        uv_run(&f.loop, UV_RUN_NOWAIT);
    }

out:
    store_fault_disarm();
    close_all(&f);
    check_starts(&f, starts, n_starts, 0);
    if (stops.calls != stops.accepted)
        violation("an accepted stop was not answered exactly once", NULL);
    if (f.on_file && n_starts) {
        /* A fault-free restart recovers whatever was stored, without crashing. */
        if (open_all(&f) < 0)
            violation("a fault-free reopen failed", NULL);
        check_starts(&f, starts, n_starts, 0);
        for (int t = 0; t < 8; t++)
            uv_run(&f.loop, UV_RUN_NOWAIT);
        close_all(&f);
    }
    asl_problems_free(&problems);
    cJSON_Delete(input);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&f.loop) != 0)
        violation("handles left open on the loop", NULL);
    if (f.on_file)
        testdb_remove(f.path);
    return 0;
}
