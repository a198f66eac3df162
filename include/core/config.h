/* sagad configuration: defaults, `key = value` files and `--key=value`
 * overrides. Every error names where it came from, the line and the key. */
#ifndef SAGAD_CORE_CONFIG_H
#define SAGAD_CORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_ERR_MAX 512

/* sagas_dir lists at most this many directories, in this many bytes. */
#define CONFIG_SAGAS_DIRS_MAX 8
#define CONFIG_DIRS_TEXT_MAX 4096

/* Who serves the order saga's payment.process and payment.refund. */
typedef enum config_payment_e {
    CONFIG_PAYMENT_SIMULATOR = 0,  /* in-process, payment_failure_rate / payment_latency_ms */
    CONFIG_PAYMENT_HTTP,           /* POST payment_url/charges and payment_url/refunds */
    CONFIG_PAYMENT_ACTIVITY,       /* activity workers of payment_activity.charge / .refund */
} config_payment_t;

/* Which execution status changes become events (events/status.h). */
typedef enum config_exec_events_e {
    CONFIG_EXEC_EVENTS_OFF = 0,
    CONFIG_EXEC_EVENTS_TERMINAL,   /* SUCCEEDED, FAILED, TIMED_OUT, ABORTED */
    CONFIG_EXEC_EVENTS_ALL,        /* and RUNNING */
} config_exec_events_t;

/* payment_activity is at most this long, so "<it>.refund" is an activity name. */
#define CONFIG_PAYMENT_ACTIVITY_MAX 73

typedef struct config_s {
    char listen_host[256];     /* "127.0.0.1", "::1", "0.0.0.0" */
    int listen_port;           /* 0 picks a free port */
    char database[4096];
    char sagas_dir[CONFIG_DIRS_TEXT_MAX]; /* the operator's directories, comma-separated */
    char vendor_sagas_dir[CONFIG_DIRS_TEXT_MAX]; /* the shipped sagas, loaded first; "" none */
    int order_saga;            /* 0: no order routes, handlers or vendor machine */
    char redis[4096];          /* "host:port", a unix socket path, or "" (off) */
    char events_channel[256];
    char events_stream[256];   /* Redis Stream the relay appends to; "" (off) */
    long long events_stream_maxlen; /* XADD MAXLEN ~ this */
    double payment_failure_rate;
    int payment_latency_ms;    /* simulated provider latency; 0 = synchronous */
    size_t max_body_bytes;
    int log_level;             /* log_level_t */
    int max_connections;       /* at the limit, newcomers replace waiting connections */
    int idle_timeout_ms;       /* idle keep-alive connections are closed after this */
    int header_timeout_ms;     /* a request head must arrive within this: 408 */
    int body_timeout_ms;       /* ...and its body within this (plus size / 64 KiB/s) */
    int history_limit;         /* events per execution before it fails */
    int retention_hours;       /* finished executions are pruned after this; 0 keeps */
    int history_events;        /* history_format=events: rows hold events, not replay logs */
    config_payment_t payment_provider;
    char payment_url[2048];    /* http: the provider's base URL ("" when unset) */
    char payment_activity[CONFIG_PAYMENT_ACTIVITY_MAX + 1]; /* activity: the name prefix */
    char payment_provider_at[300]; /* where payment_provider was set, for config_check */
    char http_task_allow[4096];/* comma-separated http(s) URL prefixes; "" refuses every HTTP task */
    int http_task_timeout_ms;  /* an HTTP task's whole request, unless TimeoutSeconds is shorter */
    config_exec_events_t execution_events;
    int execution_events_payload; /* status events carry input and output */
    char auth_tokens_file[4096]; /* bearer tokens with scopes (api/auth.h); "" none */
    /* PostgreSQL nodes: this node's name (empty: "host:port" of listen) and
     * how long its lease lasts without renewal before others take over its
     * executions. */
    char node_id[128];
    int lease_ms;
    char handler_allow[4096];  /* "MACHINE: HANDLER, PREFIX*; ..." (engine/machines.h) */
    int auth_none;             /* auth = none: no tokens even off loopback */
    char aws_region[64];       /* the region in Step Functions ARNs (api/aws.h) */
    char aws_account[16];      /* the 12-digit account in Step Functions ARNs */
} config_t;

/* Fills every field with its default. */
void config_defaults(config_t *cfg);

/* Sets one key from its text value. `origin` and `line` only shape the error:
 * "conf/sagad.conf:12: key 'listen': ...". Returns 0, or -1 with `err` filled. */
int config_set(config_t *cfg, const char *key, const char *value,
               const char *origin, int line, char err[CONFIG_ERR_MAX]);

/* Receives one problem: a line naming the file (or "command line"), line
 * and key. */
typedef void (*config_report_fn)(const char *problem, void *ud);

/* Reads a `key = value` file (# comments, blank lines). Returns 0, or -1 with
 * `err` naming the file, line and key (or the file when it cannot be read);
 * the first problem when there are several. */
int config_load_file(config_t *cfg, const char *path, char err[CONFIG_ERR_MAX]);

/* The whole configuration as sagad reads it: defaults, the file `path` (NULL:
 * none), the `--key=value` arguments, then config_check. Goes on past each
 * problem and passes every one to `report`. Returns how many there were
 * (0: `cfg` is complete and consistent). */
int config_load(config_t *cfg, const char *path, int argc, char **argv,
                config_report_fn report, void *ud);

/* Applies command-line `--key=value` arguments. `argv` holds only such
 * arguments. Returns 0, or -1 with `err` naming the argument and key. */
int config_apply_args(config_t *cfg, int argc, char **argv, char err[CONFIG_ERR_MAX]);

/* Checks what no single key can: payment_provider = http needs payment_url.
 * Call it once the file and the command line are applied. Returns 0, or -1
 * with `err` naming where payment_provider was set and the key. */
int config_check(const config_t *cfg, char err[CONFIG_ERR_MAX]);

/* The directories sagas are loaded from, in load order (a later one's
 * NAME.asl.json replaces an earlier one's): vendor_sagas_dir, unless empty
 * or order_saga is off, then each of sagas_dir. Fills `dirs` with pointers
 * into `buf`, which the caller owns; returns how many. */
int config_sagas_dirs(const config_t *cfg, char buf[2 * CONFIG_DIRS_TEXT_MAX],
                      const char *dirs[CONFIG_SAGAS_DIRS_MAX + 1]);

/* Splits "host:port" or "[v6]:port". Returns 0, or -1 when malformed. */
int config_parse_hostport(const char *s, char *host, size_t hostlen, int *port);

#endif
