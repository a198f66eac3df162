/* `sagactl events`: a Redis client (hiredis, blocking) that prints sagad's
 * events one line each until SIGINT or SIGTERM, read from the events stream
 * (XREAD, or XREADGROUP + XACK in a consumer group) or, with --channel, from
 * pub/sub. The signals stay blocked except inside ppoll(), so a Ctrl-C is
 * never lost between a check and the wait. */
#include "cli/cmd_events.h"
#include "cli/out.h"
#include "asl/json.h"

#include <errno.h>
#include <hiredis.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_cmd_t EVENTS = {
    "events",
    "events [--redis HOST:PORT|PATH] [--stream S] [--from ID|$|0]\n"
    "              [--group G --consumer C] [--channel C] [--json] [--config FILE]",
    "Prints sagad's events as they come: time, detail-type, execution id and\n"
    "the order's main fields (--json: the event as published). Ctrl-C stops it\n"
    "(exit 0).\n"
    "By default it reads the Redis Stream (--stream, else events_stream from\n"
    "--config, else sagad.events) from --from: $ (default, only new events),\n"
    "0 (everything kept) or an entry id (what follows it). With --group G\n"
    "--consumer C it reads as consumer C of group G (created at --from, default\n"
    "$, if missing), first its own unacknowledged events, then new ones, and\n"
    "acknowledges (XACK) each after printing it: run it again later and it goes\n"
    "on where it stopped. Events may come twice; the same id means the same\n"
    "event.\n"
    "With --channel C, or when the configuration sets events_stream empty, it\n"
    "subscribes to the pub/sub channel instead (events_channel), seeing only\n"
    "what is published while it is connected.\n"
    "Exit 3 when Redis cannot be reached.\n"};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* "  key=value" for a scalar member; returns 1 if printed. */
static int print_field(const cJSON *c)
{
    if (!c || !c->string)
        return 0;
    if (cJSON_IsString(c)) {
        out_textf(stdout, OUT_TEXT_LINE, "  %s=%s", c->string, c->valuestring);
    } else if (cJSON_IsNumber(c) || cJSON_IsBool(c)) {
        char *v = asl_json_print(c);
        out_textf(stdout, OUT_TEXT_LINE, "  %s=%s", c->string, v ? v : "?");
        free(v);
    } else {
        return 0;
    }
    return 1;
}

/* "time  detail-type  executionId  key=value ..." for one envelope. */
static void print_event(const char *payload, size_t len)
{
    cJSON *e = cJSON_ParseWithLength(payload, len);
    if (!cJSON_IsObject(e)) {
        out_text(stdout, payload, len, OUT_TEXT_LINE);
        putchar('\n');
        cJSON_Delete(e);
        return;
    }
    const char *type = cli_str(e, "detail-type");
    out_color_t col = OUT_PLAIN;
    if (type && strcmp(type, "Processed") == 0)
        col = OUT_GREEN;
    else if (type && strcmp(type, "Cancelled") == 0)
        col = OUT_RED;
    out_textf(stdout, OUT_TEXT_LINE, "%s  ", cli_str(e, "time") ? cli_str(e, "time") : "-");
    fputs(out_on(col), stdout);
    out_textf(stdout, OUT_TEXT_LINE, "%s", type ? type : "-");
    fputs(out_off(), stdout);
    out_textf(stdout, OUT_TEXT_LINE, "  %s", cli_str(e, "executionId") ? cli_str(e, "executionId") : "-");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "detail");
    /* An order's identity and fate; other details: their first scalars. */
    static const char *const keys[] = {"orderId", "itemId", "quantity", "status", "error", "reason"};
    int shown = 0;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        shown += print_field(cJSON_GetObjectItemCaseSensitive(d, keys[k]));
    const cJSON *c;
    if (shown == 0)
        cJSON_ArrayForEach(c, d) {
            if (shown >= 6)
                break;
            if (c->string && strcmp(c->string, "executionId") != 0)
                shown += print_field(c);
        }
    putchar('\n');
    cJSON_Delete(e);
}

/* Prints one event's payload, as it is (--json) or as a line. */
static void emit(cli_t *cli, const char *payload, size_t len)
{
    if (cli->json) {
        out_text(stdout, payload, len, OUT_TEXT_JSON);
        putchar('\n');
    } else {
        print_event(payload, len);
    }
    fflush(stdout);
}

/* Handles one pub/sub reply: a "message" prints; the "subscribe"
 * confirmation tells the user on stderr (tests wait for it before
 * publishing). */
static void on_message(cli_t *cli, const redisReply *r, const char *where)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || r->element[0]->type != REDIS_REPLY_STRING)
        return;
    const char *kind = r->element[0]->str;
    if (strcmp(kind, "subscribe") == 0) {
        out_textf(stderr, OUT_TEXT_LINE, "sagactl: subscribed to %s at %s; Ctrl-C stops",
                  r->element[1]->type == REDIS_REPLY_STRING ? r->element[1]->str : "?", where);
        fputc('\n', stderr);
        return;
    }
    if (strcmp(kind, "message") != 0 || r->element[2]->type != REDIS_REPLY_STRING)
        return;
    emit(cli, r->element[2]->str, r->element[2]->len);
}

/* One connection and where it goes; the signals are deliverable only inside
 * ppoll (waitmask). */
typedef struct {
    cli_t *cli;
    redisContext *c;
    const char *redis;
    sigset_t waitmask;
} conn_t;

#define STOPPED (-1)

/* Waits for the next reply. CLI_OK with *out (caller frees), STOPPED on
 * SIGINT/SIGTERM, or CLI_UNREACHABLE / CLI_FAIL after saying why. */
static int next_reply(conn_t *k, redisReply **out)
{
    *out = NULL;
    for (;;) {
        void *reply = NULL;
        if (redisGetReplyFromReader(k->c, &reply) != REDIS_OK) {
            cli_error("Redis at %s sent a bad reply (%s)", k->redis, k->c->errstr);
            return CLI_UNREACHABLE;
        }
        if (reply) {
            *out = reply;
            return CLI_OK;
        }
        if (g_stop)
            return STOPPED;
        struct pollfd pfd = {.fd = k->c->fd, .events = POLLIN};
        if (ppoll(&pfd, 1, NULL, &k->waitmask) < 0) {
            if (errno == EINTR)
                continue;
            cli_error("poll: %s", strerror(errno));
            return CLI_FAIL;
        }
        if (redisBufferRead(k->c) != REDIS_OK) {
            cli_error("lost the connection to Redis at %s (%s); run sagactl events again",
                      k->redis, k->c->errstr[0] ? k->c->errstr : "closed");
            return CLI_UNREACHABLE;
        }
    }
}

/* Sends one command and waits for its answer, interruptibly; a Redis error
 * reply is returned as a reply (the caller decides). Codes as next_reply. */
static int call(conn_t *k, redisReply **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAppendCommand(k->c, fmt, ap);
    va_end(ap);
    int done = 0;
    while (rc == REDIS_OK && !done)
        rc = redisBufferWrite(k->c, &done);
    if (rc != REDIS_OK) {
        cli_error("cannot send to Redis at %s (%s)", k->redis, k->c->errstr);
        return CLI_UNREACHABLE;
    }
    return next_reply(k, out);
}

static int pubsub_loop(conn_t *k, const char *channel)
{
    redisReply *r;
    int rc = call(k, &r, "SUBSCRIBE %s", channel);
    while (rc == CLI_OK) {
        if (r->type == REDIS_REPLY_ERROR) {
            cli_error("Redis at %s refused SUBSCRIBE %s: %s", k->redis, channel, r->str);
            freeReplyObject(r);
            return CLI_FAIL;
        }
        on_message(k->cli, r, k->redis);
        freeReplyObject(r);
        if (ferror(stdout))
            return CLI_OK;
        rc = next_reply(k, &r);
    }
    return rc;
}

/* Prints the entries of an XREAD/XREADGROUP reply ([[stream, [[id, [k, v..]]]]]),
 * acknowledging each after printing it when `group` is set, and copies the
 * last entry id to `last`. Returns how many entries there were, or a CLI_*
 * error code negated. */
static int print_entries(conn_t *k, const redisReply *r, const char *stream, const char *group,
                         char *last, size_t lastlen)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0)
        return 0; /* nil: the BLOCK timed out */
    const redisReply *s = r->element[0];
    if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 || s->element[1]->type != REDIS_REPLY_ARRAY)
        return 0;
    const redisReply *es = s->element[1];
    for (size_t i = 0; i < es->elements; i++) {
        const redisReply *e = es->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING)
            continue;
        const redisReply *f = e->element[1];
        /* A pending entry trimmed away since comes with nil fields: ack only. */
        for (size_t j = 0; f->type == REDIS_REPLY_ARRAY && j + 1 < f->elements; j += 2)
            if (f->element[j]->type == REDIS_REPLY_STRING && strcmp(f->element[j]->str, "event") == 0 &&
                f->element[j + 1]->type == REDIS_REPLY_STRING)
                emit(k->cli, f->element[j + 1]->str, f->element[j + 1]->len);
        snprintf(last, lastlen, "%s", e->element[0]->str);
        if (group) {
            redisReply *a;
            int rc = call(k, &a, "XACK %s %s %s", stream, group, last);
            if (rc == STOPPED)
                return (int)i + 1; /* printed, not acknowledged: comes again */
            if (rc != CLI_OK)
                return -rc;
            freeReplyObject(a);
        }
    }
    return (int)es->elements;
}

/* Reads the stream until stopped: plain XREAD after `from`, or as a group
 * consumer (pending entries first, then new ones). */
static int stream_loop(conn_t *k, const char *stream, const char *from, const char *group,
                       const char *consumer)
{
    char last[64];
    redisReply *r = NULL;
    int rc = CLI_OK;
    if (group) {
        rc = call(k, &r, "XGROUP CREATE %s %s %s MKSTREAM", stream, group, from ? from : "$");
        if (rc == CLI_OK && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0) {
            cli_error("Redis at %s refused XGROUP CREATE %s %s: %s", k->redis, stream, group, r->str);
            rc = CLI_FAIL;
        }
        snprintf(last, sizeof last, "0"); /* this consumer's unacknowledged entries */
    } else if (!from || strcmp(from, "$") == 0) {
        /* "$" once, resolved to the current last id, so nothing falls between reads. */
        rc = call(k, &r, "XREVRANGE %s + - COUNT 1", stream);
        snprintf(last, sizeof last, "0-0");
        if (rc == CLI_OK && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
            r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2 &&
            r->element[0]->element[0]->type == REDIS_REPLY_STRING)
            snprintf(last, sizeof last, "%s", r->element[0]->element[0]->str);
    } else {
        snprintf(last, sizeof last, "%s", from);
    }
    if (r)
        freeReplyObject(r);
    if (rc != CLI_OK)
        return rc;
    out_textf(stderr, OUT_TEXT_LINE, "sagactl: reading stream %s at %s%s%s; Ctrl-C stops",
              stream, k->redis, group ? " as group " : "", group ? group : "");
    fputc('\n', stderr);
    int pending = group != NULL;
    while (rc == CLI_OK && !ferror(stdout)) {
        if (group)
            rc = call(k, &r, "XREADGROUP GROUP %s %s COUNT 100 BLOCK 0 STREAMS %s %s", group,
                      consumer, stream, pending ? "0" : ">");
        else
            rc = call(k, &r, "XREAD COUNT 100 BLOCK 0 STREAMS %s %s", stream, last);
        if (rc != CLI_OK)
            break;
        if (r->type == REDIS_REPLY_ERROR) {
            cli_error("Redis at %s refused reading stream %s: %s", k->redis, stream, r->str);
            rc = CLI_FAIL;
        } else {
            int n = print_entries(k, r, stream, group, last, sizeof last);
            if (n < 0)
                rc = -n;
            else if (n == 0)
                pending = 0; /* caught up with our own backlog: new entries now */
        }
        freeReplyObject(r);
    }
    return rc;
}

int cmd_events(cli_t *cli, int argc, char **argv)
{
    const char *redis = NULL, *channel = NULL, *stream = NULL, *from = NULL, *group = NULL,
               *consumer = NULL;
    const cli_opt_t opts[] = {
        {"--redis", CLI_OPT_VALUE, &redis, NULL},
        {"--channel", CLI_OPT_VALUE, &channel, NULL},
        {"--stream", CLI_OPT_VALUE, &stream, NULL},
        {"--from", CLI_OPT_VALUE, &from, NULL},
        {"--group", CLI_OPT_VALUE, &group, NULL},
        {"--consumer", CLI_OPT_VALUE, &consumer, NULL},
    };
    size_t np;
    int rc = cli_parse(cli, &EVENTS, argc, argv, opts, sizeof opts / sizeof opts[0], NULL, 0, 0, &np);
    if (rc >= 0)
        return rc;
    if ((rc = cli_config(cli)))
        return rc;
    if (!redis) {
        redis = cli->cfg.redis;
        if (!*redis) {
            cli_error("events: %s sets redis to empty (publishing off); pass --redis HOST:PORT",
                      cli->config_path ? cli->config_path : "the configuration");
            return CLI_USAGE;
        }
    }
    if (channel && stream)
        return cli_usage_error(&EVENTS, "--channel (pub/sub) and --stream exclude each other");
    if (!stream && !channel && !*cli->cfg.events_stream)
        channel = cli->cfg.events_channel; /* streams are off: pub/sub */
    if (channel && (from || group || consumer))
        return cli_usage_error(&EVENTS, "--from, --group and --consumer read a stream; "
                                        "pub/sub (--channel, or events_stream empty) has none");
    if (channel && !*channel)
        return cli_usage_error(&EVENTS, "--channel must not be empty");
    if (!channel && !stream)
        stream = cli->cfg.events_stream;
    if (stream && !*stream)
        return cli_usage_error(&EVENTS, "--stream must not be empty");
    if (!group != !consumer)
        return cli_usage_error(&EVENTS, "--group and --consumer go together");
    if ((group && !*group) || (consumer && !*consumer))
        return cli_usage_error(&EVENTS, "--group and --consumer must not be empty");
    if (from && (!*from || strlen(from) > 40))
        return cli_usage_error(&EVENTS, "--from must be $, 0 or a stream entry id like 1700000000000-0");

    struct timeval tv = {5, 0};
    redisContext *c;
    if (strchr(redis, '/')) {
        c = redisConnectUnixWithTimeout(redis, tv);
    } else {
        char host[256];
        int port;
        if (config_parse_hostport(redis, host, sizeof host, &port) < 0 || port == 0)
            return cli_usage_error(&EVENTS, "--redis must be HOST:PORT or a socket path, not '%s'",
                                   redis);
        c = redisConnectWithTimeout(host, port, tv);
    }
    if (!c || c->err) {
        cli_error("cannot reach Redis at %s (%s); start redis-server or pass --redis HOST:PORT",
                  redis, c ? c->errstr : "out of memory");
        redisFree(c);
        return CLI_UNREACHABLE;
    }
    /* No read deadline: a quiet channel or stream is normal. */
    struct timeval none = {0, 0};
    redisSetTimeout(c, none);

    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old);
    cli_on_stop_signals(on_signal);
    conn_t k = {.cli = cli, .c = c, .redis = redis, .waitmask = old};
    sigdelset(&k.waitmask, SIGINT);
    sigdelset(&k.waitmask, SIGTERM);
    rc = channel ? pubsub_loop(&k, channel) : stream_loop(&k, stream, from, group, consumer);
    if (rc == STOPPED)
        rc = CLI_OK;
    redisFree(c);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return cli_finish(rc);
}
