/* `sagactl events`: a Redis SUBSCRIBE client (hiredis, blocking) that prints
 * every event on the daemon's channel, one line each, until SIGINT or
 * SIGTERM. The signals stay blocked except inside ppoll(), so a Ctrl-C is
 * never lost between a check and the wait. */
#include "cli/cmd_events.h"
#include "cli/out.h"
#include "asl/json.h"

#include <errno.h>
#include <hiredis.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_cmd_t EVENTS = {
    "events", "events [--redis HOST:PORT|PATH] [--channel C] [--json] [--config FILE]",
    "Subscribes to the Redis channel sagad publishes its events on and prints\n"
    "each one as it comes: time, detail-type, execution id and the order's\n"
    "main fields (--json: the event as published). Ctrl-C stops it (exit 0).\n"
    "Defaults come from --config FILE (keys redis and events_channel), else\n"
    "127.0.0.1:6379 and sagad.events. Exit 3 when Redis cannot be reached.\n"};

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

/* Handles one reply: a "message" prints; the "subscribe" confirmation tells
 * the user on stderr (tests wait for it before publishing). */
static void on_reply(cli_t *cli, const redisReply *r, const char *where)
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
    const redisReply *p = r->element[2];
    if (cli->json) {
        out_text(stdout, p->str, p->len, OUT_TEXT_JSON);
        putchar('\n');
    } else {
        print_event(p->str, p->len);
    }
    fflush(stdout);
}

int cmd_events(cli_t *cli, int argc, char **argv)
{
    const char *redis = NULL, *channel = NULL;
    const cli_opt_t opts[] = {
        {"--redis", CLI_OPT_VALUE, &redis, NULL},
        {"--channel", CLI_OPT_VALUE, &channel, NULL},
    };
    size_t np;
    int rc = cli_parse(cli, &EVENTS, argc, argv, opts, 2, NULL, 0, 0, &np);
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
    if (!channel)
        channel = cli->cfg.events_channel;
    if (!*channel)
        return cli_usage_error(&EVENTS, "--channel must not be empty");

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
    /* No read deadline: a quiet channel is normal. */
    struct timeval none = {0, 0};
    redisSetTimeout(c, none);

    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old);
    cli_on_stop_signals(on_signal);

    rc = CLI_OK;
    redisReply *r = redisCommand(c, "SUBSCRIBE %s", channel);
    if (!r) {
        cli_error("SUBSCRIBE %s at %s failed (%s); check the address", channel, redis, c->errstr);
        rc = CLI_UNREACHABLE;
    } else if (r->type == REDIS_REPLY_ERROR) {
        cli_error("Redis at %s refused SUBSCRIBE %s: %s", redis, channel, r->str);
        freeReplyObject(r);
        rc = CLI_FAIL;
    } else {
        on_reply(cli, r, redis);
        freeReplyObject(r);
    }
    /* The signals are deliverable only inside ppoll. */
    sigset_t waitmask = old;
    sigdelset(&waitmask, SIGINT);
    sigdelset(&waitmask, SIGTERM);
    while (rc == CLI_OK && !g_stop) {
        void *reply = NULL;
        if (redisGetReplyFromReader(c, &reply) != REDIS_OK) {
            cli_error("Redis at %s sent a bad reply (%s)", redis, c->errstr);
            rc = CLI_UNREACHABLE;
            break;
        }
        if (reply) {
            on_reply(cli, reply, redis);
            freeReplyObject(reply);
            if (ferror(stdout))
                break;
            continue;
        }
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int n = ppoll(&pfd, 1, NULL, &waitmask);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            cli_error("poll: %s", strerror(errno));
            rc = CLI_FAIL;
            break;
        }
        if (redisBufferRead(c) != REDIS_OK) {
            cli_error("lost the connection to Redis at %s (%s); run sagactl events again",
                      redis, c->errstr[0] ? c->errstr : "closed");
            rc = CLI_UNREACHABLE;
        }
    }
    redisFree(c);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return cli_finish(rc);
}
