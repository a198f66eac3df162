/* sagad: loads the configuration, wires the subsystems onto one libuv loop and
 * runs it. Signals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads sagas. */
#include "core/config.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "core/version.h"
#include "core/notify.h"
#include "core/serial.h"
#include "cluster/node.h"
#include "cluster/forward.h"
#include "api/auth.h"
#include "api/aws.h"
#include "api/executions.h"
#include "api/machines.h"
#include "api/graph.h"
#include "api/metrics.h"
#include "api/tasks.h"
#include "api/ui.h"
#include "engine/machines.h"
#include "engine/runtime.h"
#include "events/relay.h"
#include "events/status.h"
#include "handlers/handlers.h"
#include "handlers/http_invoke.h"
#include "http/server.h"
#include "order/handlers.h"
#include "order/payment.h"
#include "order/routes.h"
#include "order/schema.h"
#include "store/check.h"
#include "store/db.h"
#include "store/fault.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

typedef struct app_s {
    uv_loop_t *loop;
    config_t cfg;
    http_server_t *http;
    store_t *store;
    store_check_t *check;
    machines_t *machines;
    runtime_t *runtime;
    relay_t *relay;
    status_events_t status_events;
    api_t api;
    auth_t *auth;               /* NULL: no tokens required (loopback or auth = none) */
    /* PostgreSQL: every entry point that reaches the store or the runtime
     * runs through this, one at a time, on fibers (core/serial.h); NULL on
     * SQLite, where each runs at once inside its callback. */
    serial_t *serial;
    node_t *node;               /* PostgreSQL: this node of the cluster */
    forward_t *forward;         /* and its way to the others */
    /* The last load of sagas_dir (at start, then each SIGHUP), for /healthz. */
    int64_t sagas_loaded_ms;
    int sagas_failed;
    int64_t reloads;          /* SIGHUP reloads finished: `sagactl reload` waits on it */
    machines_load_t sagas_load;
    uv_timer_t prune;
    int prune_queued;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t watchdog;
    int watchdog_on;
    int stopping;
    const char *stop_why;
} app_t;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sagad [-c FILE] [--key=value ...]\n"
            "       sagad --help | --version\n"
            "\n"
            "Runs the sagad saga orchestrator. Keys (file or command line; the\n"
            "command line wins): listen, database, sagas_dir, vendor_sagas_dir,\n"
            "order_saga, redis, events_channel,\n"
            "events_stream, events_stream_maxlen,\n"
            "payment_provider, payment_url, payment_activity, payment_failure_rate,\n"
            "payment_latency_ms, max_body_bytes, log_level,\n"
            "max_connections, idle_timeout_ms, header_timeout_ms, body_timeout_ms,\n"
            "history_limit, retention_hours, history_format, http_task_allow,\n"
            "http_task_timeout_ms, execution_events, execution_events_payload,\n"
            "auth_tokens_file, auth, handler_allow, aws_region, aws_account,\n"
            "node_id, lease_ms.\n");
}

static void on_relay_closed(void *ud)
{
    app_t *app = ud;
    app->relay = NULL;
    machines_close(app->machines);
    app->machines = NULL;
    store_check_stop(app->check);
    app->check = NULL;
    store_close(app->store);
    app->store = NULL;
    uv_close((uv_handle_t *)&app->sig_term, NULL);
    uv_close((uv_handle_t *)&app->sig_int, NULL);
    uv_close((uv_handle_t *)&app->sig_hup, NULL);
    uv_close((uv_handle_t *)&app->prune, NULL);
    if (app->watchdog_on)
        uv_close((uv_handle_t *)&app->watchdog, NULL);
}

static void on_runtime_closed(void *ud)
{
    app_t *app = ud;
    app->runtime = NULL;
    /* A clean stop hands this node's running executions over at once. */
    node_leave(app->node, 1);
    app->node = NULL;
    forward_close(app->forward);
    app->forward = NULL;
    /* The runtime cancelled its HTTP tasks: the client can go. */
    http_invoke_close();
    order_payment_close();
    /* The relay goes last: it flushes what the final checkpoint committed. */
    if (app->relay) {
        relay_kick(app->relay);
        relay_close(app->relay, on_relay_closed, app);
    } else {
        on_relay_closed(app);
    }
}

static void relay_deletes(void *ud)
{
    app_t *app = ud;
    relay_flush_in_txn(app->relay);
}

static void kick_relay(void *ud)
{
    app_t *app = ud;
    if (app->relay)
        relay_kick(app->relay);
}

/* Loads vendor_sagas_dir (unless order_saga = off) and sagas_dir, logging
 * the outcome in one line after the files' own. */
static void load_sagas(app_t *app)
{
    char buf[2 * CONFIG_DIRS_TEXT_MAX], vendor[CONFIG_DIRS_TEXT_MAX + 32] = "";
    const char *dirs[CONFIG_SAGAS_DIRS_MAX + 1];
    int n = config_sagas_dirs(&app->cfg, buf, dirs);
    app->sagas_failed = machines_load_dirs(app->machines, dirs, n, &app->sagas_load);
    app->sagas_loaded_ms = store_now_ms();
    if (app->cfg.order_saga && app->cfg.vendor_sagas_dir[0])
        snprintf(vendor, sizeof vendor, "vendor_sagas_dir %s and ", app->cfg.vendor_sagas_dir);
    if (app->sagas_failed)
        log_warn("%ssagas_dir %s: %d file%s refused (problems logged above); the versions "
                 "before them stay in force", vendor, app->cfg.sagas_dir, app->sagas_failed,
                 app->sagas_failed == 1 ? "" : "s");
    else
        log_info("%ssagas_dir %s loaded", vendor, app->cfg.sagas_dir);
    if (app->sagas_load.conflicts)
        log_warn("sagas_dir %s: %d changed file%s not loaded: newer versions from the API stay "
                 "in force (warnings above)", app->cfg.sagas_dir, app->sagas_load.conflicts,
                 app->sagas_load.conflicts == 1 ? "" : "s");
}

/* The last load's counts and conflicts, in /healthz's sagas object. */
static void sagas_load_health(cJSON *sg, const machines_load_t *l)
{
    cJSON_AddNumberToObject(sg, "loaded", l->loaded);
    cJSON_AddNumberToObject(sg, "unchanged", l->unchanged);
    cJSON *c = cJSON_AddArrayToObject(sg, "conflicts");
    for (int i = 0; i < l->conflicts && i < MACHINES_CONFLICTS_MAX; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", l->conflict[i].name);
        cJSON_AddNumberToObject(o, "apiVersion", l->conflict[i].api_version);
        if (l->conflict[i].file_version)
            cJSON_AddNumberToObject(o, "fileVersion", l->conflict[i].file_version);
        else
            cJSON_AddNullToObject(o, "fileVersion");
        cJSON_AddItemToArray(c, o);
    }
    cJSON_AddNumberToObject(sg, "conflictCount", l->conflicts);
}

static void relay_health(cJSON *o, void *ud)
{
    app_t *app = ud;
    cJSON *sg = cJSON_AddObjectToObject(o, "sagas");
    char at[TIMEFMT_MAX];
    cJSON_AddStringToObject(sg, "dir", app->cfg.sagas_dir);
    if (app->cfg.order_saga && app->cfg.vendor_sagas_dir[0])
        cJSON_AddStringToObject(sg, "vendorDir", app->cfg.vendor_sagas_dir);
    if (app->sagas_loaded_ms)
        cJSON_AddStringToObject(sg, "loadedAt", timefmt_utc_ms(app->sagas_loaded_ms, at));
    cJSON_AddNumberToObject(sg, "failedFiles", app->sagas_failed);
    cJSON_AddNumberToObject(sg, "reloads", (double)app->reloads);
    sagas_load_health(sg, &app->sagas_load);
    if (app->node)
        node_health(app->node, o);
    cJSON *r = cJSON_AddObjectToObject(o, "redis");
    cJSON *ob = cJSON_AddObjectToObject(o, "outbox");
    if (!app->relay) {
        cJSON_AddBoolToObject(r, "enabled", 0);
        return;
    }
    relay_stats_t st;
    relay_stats(app->relay, &st);
    cJSON_AddBoolToObject(r, "enabled", st.enabled);
    cJSON_AddStringToObject(r, "address", app->cfg.redis);
    cJSON_AddBoolToObject(r, "connected", st.connected);
    cJSON_AddNumberToObject(ob, "backlog", (double)st.backlog);
    cJSON_AddNumberToObject(ob, "published", (double)st.published);
    cJSON_AddNumberToObject(ob, "publishFailures", (double)st.failures);
    cJSON *sj = cJSON_AddObjectToObject(r, "stream");
    cJSON_AddStringToObject(sj, "name", app->cfg.events_stream);
    if (st.stream_length >= 0)
        cJSON_AddNumberToObject(sj, "length", (double)st.stream_length);
    cJSON_AddNumberToObject(ob, "appended", (double)st.stream_appended);
    cJSON_AddNumberToObject(ob, "appendFailures", (double)st.stream_failures);
}

static void on_http_closed(void *ud)
{
    app_t *app = ud;
    app->http = NULL;
    if (app->runtime)
        runtime_close(app->runtime, on_runtime_closed, app);
    else
        on_runtime_closed(app);
}

static void app_stop(app_t *app, const char *why)
{
    if (app->stopping)
        return;
    app->stopping = 1;
    log_info("stopping (%s)", why);
    notify_send("STOPPING=1");
    /* Answer waiting requests and refuse new starts, so that in-flight HTTP
     * requests finish; then close the server, then the runtime. */
    if (app->runtime)
        runtime_quiesce(app->runtime);
    if (app->http)
        http_server_close(app->http, on_http_closed, app);
    else
        on_http_closed(app);
}

static void reload(void *ud)
{
    app_t *app = ud;
    if (!app->machines)
        return;   /* stopped meanwhile */
    log_info("SIGHUP: reloading sagas from %s%s%s", app->cfg.sagas_dir,
             app->cfg.order_saga && app->cfg.vendor_sagas_dir[0] ? " after " : "",
             app->cfg.order_saga ? app->cfg.vendor_sagas_dir : "");
    notify_send("RELOADING=1");
    load_sagas(app);
    char err[AUTH_ERR_MAX];
    int n = app->auth ? auth_reload(app->auth, err) : 0;
    if (n < 0)
        log_error("SIGHUP: %s; the tokens loaded before stay in force", err);
    else if (app->auth)
        log_info("SIGHUP: %d tokens loaded from %s", n, app->cfg.auth_tokens_file);
    app->reloads++;
    notify_send("READY=1");
}

static void stop_entry(void *ud)
{
    app_t *app = ud;
    app_stop(app, app->stop_why);
}

static void on_signal(uv_signal_t *h, int signum)
{
    app_t *app = h->data;
    if (signum == SIGHUP) {
        if (serial_run(app->serial, reload, app) < 0)
            log_error("SIGHUP: out of memory; nothing was reloaded");
        return;
    }
    app->stop_why = signum == SIGTERM ? "SIGTERM" : "SIGINT";
    if (serial_run(app->serial, stop_entry, app) < 0)
        log_error("%s: out of memory; send it again to stop", app->stop_why);
}

static void prune(void *ud)
{
    app_t *app = ud;
    app->prune_queued = 0;
    if (!app->cfg.retention_hours || !app->runtime)
        return;
    int64_t cutoff = store_now_ms() - (int64_t)app->cfg.retention_hours * 3600 * 1000;
    int n = runtime_prune(app->runtime, cutoff, 500);
    if (n > 0)
        log_info("pruned %d finished execution%s older than %d h", n, n == 1 ? "" : "s",
                 app->cfg.retention_hours);
}

static void on_prune(uv_timer_t *t)
{
    app_t *app = t->data;
    if (app->prune_queued || app->stopping)
        return;
    app->prune_queued = 1;
    if (serial_run(app->serial, prune, app) < 0)
        app->prune_queued = 0;
}

/* Another node took over this node's executions: whatever this process
 * still holds in memory must not reach the database or a client again. Its
 * commits are fenced already; leaving at once is the simplest way to be
 * sure (systemd restarts it as a fresh node). */
static void on_fenced(void *ud, const char *why)
{
    (void)ud;
    (void)why;
    log_error("fenced: exiting now (exit status 3)");
    _exit(3);
}

/* Where this node listens ("HOST:PORT", with the port bound; the
 * machine's name for a wildcard address): node_id's default, and how the
 * other nodes reach it (http://HOST:PORT). */
static void listen_name(const config_t *cfg, int port, char *out, size_t len)
{
    char host[256];
    const char *h = cfg->listen_host;
    if (strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0) {
        if (gethostname(host, sizeof host) == 0) {
            host[sizeof host - 1] = '\0';
            h = host;
        }
    }
    snprintf(out, len, strchr(h, ':') ? "[%s]:%d" : "%s:%d", h, port);
}

/* The relay's store work from Redis answers and timers waits for a turn. */
static int run_relay_work(void *serial, void (*fn)(void *ud), void *ud)
{
    return serial_run(serial, fn, ud);
}

static void run_request(void *req)
{
    http_request_run(req);
}

/* PostgreSQL: handlers wait for their turn (they read and write the store
 * and the runtime); the console's files touch neither. */
static int runner(http_request_t *req, void *ud)
{
    app_t *app = ud;
    const char *route = http_request_route(req);
    if (strncmp(route, "/ui", 3) == 0 || strcmp(route, "/favicon.ico") == 0) {
        http_request_run(req);
        return 0;
    }
    return serial_run(app->serial, run_request, req);
}

static void on_watchdog(uv_timer_t *t)
{
    (void)t;
    notify_send("WATCHDOG=1");
}

static void print_problem(const char *problem, void *ud)
{
    (void)ud;
    fprintf(stderr, "sagad: %s\n", problem);
}

/* Every problem of the file and the command line, one line each. */
static int load_config(app_t *app, int argc, char **argv)
{
    const char *file = NULL;
    char **overrides = calloc((size_t)argc + 1, sizeof *overrides);
    int n = 0;
    if (!overrides)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            free(overrides);
            exit(0);
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("sagad %s\n", SAGAD_VERSION);
            free(overrides);
            exit(0);
        } else if (strcmp(argv[i], "-c") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "sagad: -c needs a file name\n");
                free(overrides);
                return 2;
            }
            file = argv[++i];
        } else if (strncmp(argv[i], "--", 2) == 0) {
            overrides[n++] = argv[i];
        } else {
            fprintf(stderr, "sagad: unexpected argument '%s' (see sagad --help)\n", argv[i]);
            free(overrides);
            return 2;
        }
    }
    int bad = config_load(&app->cfg, file, n, overrides, print_problem, NULL);
    free(overrides);
    return bad ? 2 : 0;
}

/* Every keep-alive client holds a descriptor: use all the hard limit allows. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            log_warn("cannot raise the open-file limit to %llu", (unsigned long long)rl.rlim_max);
    }
}

static int start_signals(app_t *app)
{
    uv_signal_t *hs[] = {&app->sig_term, &app->sig_int, &app->sig_hup};
    int nums[] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(app->loop, hs[i]);
        hs[i]->data = app;
        int rc = uv_signal_start(hs[i], on_signal, nums[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Binds and listens (the loop runs later: connections wait in the backlog
 * until everything is ready). Returns 0, 1 when the address is taken (it
 * may come free: systemd retries), or 2 when it cannot be this machine's. */
static int listen_first(app_t *app)
{
    http_config_t hc = {
        .host = app->cfg.listen_host,
        .port = app->cfg.listen_port,
        .max_body_bytes = app->cfg.max_body_bytes,
        .max_header_bytes = 32 * 1024,
        .max_connections = app->cfg.max_connections,
        .idle_timeout_ms = app->cfg.idle_timeout_ms,
        .header_timeout_ms = app->cfg.header_timeout_ms,
        .body_timeout_ms = app->cfg.body_timeout_ms,
    };
    char err[512];
    int rc = http_server_start(app->loop, &hc, &app->http, err, sizeof err);
    if (rc == 0)
        return 0;
    int v6 = strchr(app->cfg.listen_host, ':') != NULL;
    if (rc == UV_EADDRINUSE)
        snprintf(err, sizeof err, "address already in use by another program (another "
                 "sagad?); `ss -ltnp` shows which");
    log_error("key 'listen': cannot listen on %s%s%s:%d: %s. Nothing was opened",
              v6 ? "[" : "", app->cfg.listen_host, v6 ? "]" : "", app->cfg.listen_port, err);
    /* Lets the failed listener's handle close. */
    uv_run(app->loop, UV_RUN_NOWAIT);
    return rc == UV_EADDRINUSE ? 1 : 2;
}

int main(int argc, char **argv)
{
    static app_t app;
    int rc = load_config(&app, argc, argv);
    if (rc)
        return rc;
    log_set_level((log_level_t)app.cfg.log_level);
    if (app.cfg.auth_tokens_file[0] && !app.cfg.auth_none) {
        char aerr[AUTH_ERR_MAX];
        if (auth_load(app.cfg.auth_tokens_file, &app.auth, aerr) < 0) {
            fprintf(stderr, "sagad: key 'auth_tokens_file': %s\n", aerr);
            return 2;
        }
    } else if (app.cfg.auth_none && app.cfg.auth_tokens_file[0]) {
        log_warn("auth = none: auth_tokens_file %s is ignored, every request is allowed",
                 app.cfg.auth_tokens_file);
    }
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    app.loop = uv_default_loop();

    if ((rc = start_signals(&app)) < 0) {
        log_error("cannot install signal handlers: %s", uv_strerror(rc));
        return 1;
    }
    /* The socket before the database: a daemon that cannot listen exits
     * before it creates, migrates or locks anything. */
    if ((rc = listen_first(&app)) != 0)
        return rc;

    /* Tests break the disk of a running daemon through this (store/fault.h). */
    const char *fault_file = getenv("SAGAD_FAULT_FILE");
    if (fault_file && *fault_file && store_fault_install_file(fault_file) < 0) {
        log_error("cannot install the fault-injection VFS for SAGAD_FAULT_FILE");
        return 1;
    }

    char err[512];
    /* Domains add their tables before the database is opened and migrated. */
    if (order_schema_register() < 0) {
        log_error("cannot register the order schema");
        return 1;
    }
    if ((rc = store_open_exclusive(app.cfg.database, &app.store, err, sizeof err)) < 0) {
        log_error("%s", err);
        /* An unreachable PostgreSQL is a missing dependency, like Redis. */
        return rc == STORE_ERR_LOST ? 2 : 1;
    }
    /* Handlers first: compiling a stored definition checks its Resources. */
    if (handlers_register_builtin() < 0 || order_handlers_register(&app.cfg) < 0) {
        log_error("cannot register the built-in handlers");
        return 1;
    }
    if (machines_open(app.store, &app.machines) < 0 ||
        machines_set_allow(app.machines, app.cfg.handler_allow) < 0) {
        log_error("cannot read the state machines from %s", store_path(app.store));
        return 1;
    }
    if (store_backend(app.store) == STORE_BACKEND_POSTGRESQL &&
        !(app.serial = serial_new(app.loop, 1))) {
        log_error("out of memory");
        return 1;
    }
    if (app.serial) {
        char id[300], addr[320];
        listen_name(&app.cfg, http_server_port(app.http), id, sizeof id);
        snprintf(addr, sizeof addr, "http://%s", id);
        if (app.cfg.node_id[0])
            snprintf(id, sizeof id, "%s", app.cfg.node_id);
        node_opts_t no = {.loop = app.loop, .database = app.cfg.database, .node_id = id,
                          .addr = addr,
                          .lease_ms = app.cfg.lease_ms, .store = app.store,
                          .serial = app.serial, .on_fenced = on_fenced, .ud = &app};
        if (node_join(&no, &app.node, err, sizeof err) < 0 ||
            forward_open(app.loop, app.store, app.serial, id, &app.forward) < 0) {
            log_error("%s", app.node ? "out of memory" : err);
            return 1;
        }
    }
    load_sagas(&app);
    uv_timer_init(app.loop, &app.prune);
    app.prune.data = &app;
    uv_timer_start(&app.prune, on_prune, 60 * 1000, 60 * 1000);
    if (relay_open(app.loop, app.store, app.cfg.redis, app.cfg.events_channel,
                   app.cfg.events_stream, app.cfg.events_stream_maxlen, &app.relay, err,
                   sizeof err) < 0) {
        log_error("redis: %s", err);
        return 2;
    }
    if (app.serial)
        relay_set_runner(app.relay, run_relay_work, app.serial);
    runtime_opts_t ro = {.loop = app.loop, .store = app.store, .machines = app.machines,
                         .cfg = &app.cfg, .after_commit = kick_relay,
                         .before_commit = relay_deletes, .before_commit_ud = &app,
                         .after_commit_ud = &app,
                         .on_count = api_metrics_count,
                         .on_status = status_events_on_status,
                         .on_status_ud = &app.status_events, .serial = app.serial,
                         .fence = app.node ? node_fence : NULL, .fence_ud = app.node,
                         .node = app.node ? node_id(app.node) : NULL};
    app.status_events = (status_events_t){.store = app.store, .mode = app.cfg.execution_events,
                                          .payload = app.cfg.execution_events_payload};
    if (runtime_open(&ro, &app.runtime) < 0) {
        log_error("cannot start the execution runtime");
        return 1;
    }
    if (app.cfg.order_saga)
        order_payment_start(app.runtime, &app.cfg);
    if (app.node)
        node_start(app.node, app.runtime);

    app.api.loop = app.loop;
    app.api.serial = app.serial;
    app.api.store = app.store;
    app.api.machines = app.machines;
    app.api.runtime = app.runtime;
    app.api.cfg = &app.cfg;
    app.api.health = relay_health;
    app.api.health_ud = &app;
    app.api.relay = app.relay;
    app.api.auth = app.auth;
    if (app.forward) {
        app.api.cluster = app.forward;
    }
    if (app.auth)
        auth_guard(app.http, app.auth);
    if (app.serial)
        http_server_set_runner(app.http, runner, &app);
    /* Each route group registers its own routes; a domain adds its group here. */
    if (api_executions_register(app.http, &app.api) < 0 ||
        api_machines_register(app.http, &app.api) < 0 ||
        (app.cfg.order_saga && order_routes_register(app.http, &app.api) < 0) ||
        api_metrics_register(app.http, &app.api) < 0 ||
        api_tasks_register(app.http, &app.api) < 0 || api_aws_register(app.http, &app.api) < 0 ||
        api_graph_register(app.http, &app.api) < 0 || api_ui_register(app.http) < 0) {
        log_error("cannot register the HTTP routes");
        return 1;
    }
    const char *fmt = strchr(app.cfg.listen_host, ':') ? "listening on [%s]:%d" : "listening on %s:%d";
    log_msg(LOG_LEVEL_INFO, fmt, app.cfg.listen_host, http_server_port(app.http));
    /* After listening: quick_check reads the whole file (docs/operations.md). */
    if (strcmp(app.cfg.database, ":memory:") != 0 &&
        store_backend(app.store) == STORE_BACKEND_SQLITE)
        store_check_start(app.loop, app.store, &app.check);

    uint64_t wd = notify_watchdog_usec();
    if (wd) {
        uint64_t ms = wd / 2000;
        uv_timer_init(app.loop, &app.watchdog);
        uv_timer_start(&app.watchdog, on_watchdog, ms ? ms : 1, ms ? ms : 1);
        app.watchdog_on = 1;
    }
    notify_send("READY=1");

    uv_run(app.loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(app.loop);
    if (rc < 0)
        log_warn("event loop closed with handles open: %s", uv_strerror(rc));
    auth_free(app.auth);
    serial_free(app.serial);
    log_info("stopped");
    return 0;
}
