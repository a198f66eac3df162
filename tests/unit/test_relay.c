/* Unit tests for the outbox relay against a real redis-server started here on
 * a free loopback port, with a hiredis subscriber: order, deletion after the
 * answer, Redis down at start and restarted, uncommitted rows kept back, the
 * disabled relay, store work handed to a runner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <hiredis.h>

#include "events/outbox.h"
#include "events/relay.h"
#include "store/db.h"
#include "testdb.h"

#define CHANNEL "sagad.test.events"

typedef struct {
    char path[64];
    store_t *st;
    uv_loop_t loop;
    int port;
    char sock[64];   /* when set, Redis listens on this unix socket instead */
    pid_t redis;
    redisContext *sub;
    relay_t *relay;
    int closed;
    int next_n;  /* detail.n of the next event appended */
    int want_n;  /* detail.n of the next event expected by the subscriber */
    void (*turn)(void *ud);  /* the store work the relay handed to the runner */
    void *turn_ud;
    int turns;               /* how many turns the runner ran */
} ctx_t;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void redis_start(ctx_t *c)
{
    char port[16];
    snprintf(port, sizeof port, "%d", c->port);
    c->redis = fork();
    assert_true(c->redis >= 0);
    if (c->redis == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        if (c->sock[0])
            execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", c->sock,
                   "--save", "", "--appendonly", "no", (char *)NULL);
        else
            execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save",
                   "", "--appendonly", "no", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        redisContext *rc = c->sock[0] ? redisConnectUnix(c->sock) : redisConnect("127.0.0.1", c->port);
        if (rc && !rc->err) {
            redisReply *r = redisCommand(rc, "PING");
            int ok = r && r->type == REDIS_REPLY_STATUS;
            freeReplyObject(r);
            redisFree(rc);
            if (ok)
                return;
        } else if (rc) {
            redisFree(rc);
        }
        sleep_ms(10);
    }
    fail_msg("redis-server did not start on port %d", c->port);
}

static void redis_stop(ctx_t *c)
{
    if (c->redis <= 0)
        return;
    kill(c->redis, SIGTERM);
    waitpid(c->redis, NULL, 0);
    c->redis = 0;
}

static void subscribe(ctx_t *c)
{
    if (c->sub)
        redisFree(c->sub);
    c->sub = c->sock[0] ? redisConnectUnix(c->sock) : redisConnect("127.0.0.1", c->port);
    assert_non_null(c->sub);
    assert_int_equal(c->sub->err, 0);
    struct timeval tv = {5, 0};
    redisSetTimeout(c->sub, tv);
    redisReply *r = redisCommand(c->sub, "SUBSCRIBE %s", CHANNEL);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
}

/* Reads `n` messages and checks they carry detail.n = want_n, want_n+1, ... */
static void expect_messages(ctx_t *c, int n)
{
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        assert_int_equal(redisGetReply(c->sub, (void **)&r), REDIS_OK);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        assert_int_equal(r->elements, 3);
        assert_string_equal(r->element[0]->str, "message");
        assert_string_equal(r->element[1]->str, CHANNEL);
        cJSON *env = cJSON_Parse(r->element[2]->str);
        assert_non_null(env);
        assert_string_equal(cJSON_GetObjectItem(env, "detail-type")->valuestring, "Processed");
        assert_string_equal(cJSON_GetObjectItem(env, "source")->valuestring, "sagad.order");
        cJSON *num = cJSON_GetObjectItem(cJSON_GetObjectItem(env, "detail"), "n");
        assert_non_null(num);
        if ((int)num->valuedouble != c->want_n)
            fail_msg("event %d arrived where %d was expected", (int)num->valuedouble, c->want_n);
        c->want_n++;
        cJSON_Delete(env);
        freeReplyObject(r);
    }
}

/* Reads until detail.n = want_n .. want_n+n-1 have all arrived: at least
 * once, in order, repeats allowed (delivery is at least once). */
static void expect_messages_at_least_once(ctx_t *c, int n)
{
    int target = c->want_n + n, last = c->want_n - 1;
    while (c->want_n < target) {
        redisReply *r = NULL;
        assert_int_equal(redisGetReply(c->sub, (void **)&r), REDIS_OK);
        cJSON *env = cJSON_Parse(r->element[2]->str);
        assert_non_null(env);
        int got = (int)cJSON_GetObjectItem(cJSON_GetObjectItem(env, "detail"), "n")->valuedouble;
        cJSON_Delete(env);
        freeReplyObject(r);
        if (got > last + 1 || got < c->want_n - n)
            fail_msg("event %d arrived after %d: a gap", got, last);
        last = got;
        if (got == c->want_n)
            c->want_n++;
    }
}

/* Nothing more arrives within `ms`. */
static void expect_silence(ctx_t *c, int ms)
{
    struct timeval tv = {0, ms * 1000};
    redisSetTimeout(c->sub, tv);
    redisReply *r = NULL;
    int rc = redisGetReply(c->sub, (void **)&r);
    if (rc == REDIS_OK)
        fail_msg("an unexpected message arrived");
    freeReplyObject(r);
    /* the timeout broke the connection for reading: subscribe afresh */
    subscribe(c);
}

static void append(ctx_t *c, int count, int commit)
{
    if (!store_in_txn(c->st))
        assert_int_equal(store_begin(c->st), 0);
    for (int i = 0; i < count; i++) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddNumberToObject(d, "n", c->next_n++);
        cJSON *env = outbox_envelope("sagad.order", "Processed", store_now_ms(), "exec-r", d);
        assert_int_equal(outbox_append(c->st, env, store_now_ms()), 0);
        cJSON_Delete(env);
        cJSON_Delete(d);
    }
    if (commit)
        assert_int_equal(store_commit(c->st), 0);
}

static int64_t backlog(ctx_t *c)
{
    return outbox_backlog(c->st);
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

/* Runs the loop until cond(c) holds or `ms` pass; returns whether it held. */
static int run_until(ctx_t *c, int (*cond)(ctx_t *), int ms)
{
    uv_timer_t tick;
    uv_timer_init(&c->loop, &tick);
    uv_timer_start(&tick, on_tick, 5, 5);
    uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000ull;
    int ok;
    while (!(ok = cond(c)) && uv_hrtime() < end)
        uv_run(&c->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&c->loop, UV_RUN_NOWAIT);
    return ok;
}

static int outbox_empty(ctx_t *c)
{
    return backlog(c) == 0;
}

static int never(ctx_t *c)
{
    (void)c;
    return 0;
}

static int is_closed(ctx_t *c)
{
    return c->closed;
}

static int is_connected(ctx_t *c)
{
    relay_stats_t s;
    relay_stats(c->relay, &s);
    return s.connected;
}

static void on_relay_closed(void *ud)
{
    ((ctx_t *)ud)->closed = 1;
}

static void open_relay(ctx_t *c, const char *addr)
{
    char err[256];
    assert_int_equal(relay_open(&c->loop, c->st, addr, CHANNEL, "", 0, &c->relay, err, sizeof err), 0);
}

static void close_relay(ctx_t *c)
{
    relay_close(c->relay, on_relay_closed, c);
    assert_true(run_until(c, is_closed, 5000));
    c->relay = NULL;
}

static int setup(void **state)
{
    ctx_t *c = calloc(1, sizeof *c);
    char err[256];
    snprintf(c->path, sizeof c->path, "/tmp/sagad-relay-%d.db", (int)getpid());
    testdb_remove(c->path);
    if (store_open(c->path, &c->st, err, sizeof err) < 0)
        return -1;
    uv_loop_init(&c->loop);
    c->port = free_port();
    signal(SIGPIPE, SIG_IGN);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    if (c->relay)
        close_relay(c);
    redis_stop(c);
    if (c->sub)
        redisFree(c->sub);
    uv_run(&c->loop, UV_RUN_NOWAIT);
    int rc = uv_loop_close(&c->loop);
    store_close(c->st);
    testdb_remove(c->path);
    free(c);
    return rc == 0 ? 0 : -1;
}

static void addr_of(ctx_t *c, char *buf, size_t len)
{
    snprintf(buf, len, "127.0.0.1:%d", c->port);
}

static void test_publishes_in_order_then_deletes(void **state)
{
    ctx_t *c = *state;
    char addr[64];
    redis_start(c);
    subscribe(c);
    append(c, 600, 1); /* more than one batch */
    addr_of(c, addr, sizeof addr);
    open_relay(c, addr);
    assert_true(run_until(c, outbox_empty, 10000));
    expect_messages(c, 600);

    /* rows committed later go out after relay_kick */
    append(c, 5, 1);
    relay_kick(c->relay);
    assert_true(run_until(c, outbox_empty, 5000));
    expect_messages(c, 5);

    relay_stats_t s;
    relay_stats(c->relay, &s);
    assert_int_equal(s.enabled, 1);
    assert_int_equal(s.connected, 1);
    assert_int_equal(s.published, 605);
    assert_int_equal(s.failures, 0);
    assert_int_equal(s.backlog, 0);
    close_relay(c);
}

static void test_uncommitted_rows_wait(void **state)
{
    ctx_t *c = *state;
    char addr[64];
    redis_start(c);
    subscribe(c);
    snprintf(addr, sizeof addr, "localhost:%d", c->port); /* a name, resolved at open */
    open_relay(c, addr);
    assert_true(run_until(c, is_connected, 5000));

    append(c, 3, 0); /* transaction still open */
    relay_kick(c->relay);
    run_until(c, never, 200);
    assert_int_equal(backlog(c), 3);
    assert_int_equal(store_rollback(c->st), 0); /* these never existed */
    c->next_n -= 3;
    relay_kick(c->relay);
    run_until(c, never, 100);
    expect_silence(c, 100);

    append(c, 2, 1);
    relay_kick(c->relay);
    assert_true(run_until(c, outbox_empty, 5000));
    expect_messages(c, 2);
    close_relay(c);
}

static void test_redis_down_then_restarted(void **state)
{
    ctx_t *c = *state;
    char addr[64];
    relay_stats_t s;
    addr_of(c, addr, sizeof addr);

    /* down at start: rows wait */
    append(c, 4, 1);
    open_relay(c, addr);
    run_until(c, never, 400);
    relay_stats(c->relay, &s);
    assert_int_equal(s.connected, 0);
    assert_true(s.connect_failures >= 1);
    assert_int_equal(s.backlog, 4);

    redis_start(c);
    subscribe(c);
    assert_true(run_until(c, outbox_empty, 10000));
    expect_messages(c, 4);

    /* stopped while running: nothing is lost, order is kept */
    redis_stop(c);
    append(c, 7, 1);
    relay_kick(c->relay);
    run_until(c, never, 300);
    relay_stats(c->relay, &s);
    assert_int_equal(s.connected, 0);
    assert_int_equal(s.backlog, 7);

    redis_start(c);
    subscribe(c);
    append(c, 3, 1);
    relay_kick(c->relay);
    assert_true(run_until(c, outbox_empty, 10000));
    expect_messages(c, 10);
    relay_stats(c->relay, &s);
    assert_int_equal(s.connected, 1);
    assert_true(s.connects >= 2);
    close_relay(c);
}

/* A frozen Redis (SIGSTOP) accepts connections but answers nothing: the
 * relay gives up on the batch after its deadline, reconnects, and once Redis
 * thaws every event arrives, in order, possibly twice. */
static void test_redis_frozen(void **state)
{
    ctx_t *c = *state;
    char addr[64];
    relay_stats_t s;
    redis_start(c);
    subscribe(c);
    addr_of(c, addr, sizeof addr);
    open_relay(c, addr);
    assert_true(run_until(c, is_connected, 5000));

    kill(c->redis, SIGSTOP);
    append(c, 3, 1);
    relay_kick(c->relay);
    run_until(c, never, 5600);
    relay_stats(c->relay, &s);
    assert_true(s.failures >= 3); /* the batch was given up */
    assert_int_equal(s.backlog, 3);
    kill(c->redis, SIGCONT);

    append(c, 2, 1);
    relay_kick(c->relay);
    assert_true(run_until(c, outbox_empty, 15000));
    expect_messages_at_least_once(c, 5);
    close_relay(c);
}

static void test_disabled_keeps_rows(void **state)
{
    ctx_t *c = *state;
    relay_stats_t s;
    append(c, 3, 1);
    open_relay(c, "");
    relay_kick(c->relay);
    run_until(c, never, 100);
    relay_stats(c->relay, &s);
    assert_int_equal(s.enabled, 0);
    assert_int_equal(s.connected, 0);
    assert_int_equal(s.backlog, 3);
    close_relay(c);
    assert_int_equal(backlog(c), 3);

    char err[256];
    relay_t *r = NULL;
    assert_int_equal(relay_open(&c->loop, c->st, "nonsense", CHANNEL, "", 0, &r, err, sizeof err), -1);
    assert_null(r);
    assert_non_null(strstr(err, "nonsense"));
}

static void test_unix_socket(void **state)
{
    ctx_t *c = *state;
    snprintf(c->sock, sizeof c->sock, "/tmp/sagad-relay-%d.sock", (int)getpid());
    redis_start(c);
    subscribe(c);
    append(c, 3, 1);
    open_relay(c, c->sock);
    assert_true(run_until(c, outbox_empty, 5000));
    expect_messages(c, 3);
    close_relay(c);
    redis_stop(c);
    unlink(c->sock);
}

/* A runner like core/serial's: it only queues; the test decides when. */
static int queue_turn(void *runner, void (*fn)(void *ud), void *ud)
{
    ctx_t *c = runner;
    assert_null(c->turn);   /* one turn at a time */
    c->turn = fn;
    c->turn_ud = ud;
    return 0;
}

static int run_turn(ctx_t *c)
{
    void (*fn)(void *) = c->turn;
    if (!fn)
        return 0;
    c->turn = NULL;
    c->turns++;
    fn(c->turn_ud);
    return 1;
}

static int turns_then_empty(ctx_t *c)
{
    run_turn(c);
    return outbox_empty(c);
}

static int has_turn(ctx_t *c)
{
    return c->turn != NULL;
}

static void test_store_work_waits_for_the_runner(void **state)
{
    ctx_t *c = *state;
    char addr[64];
    redis_start(c);
    subscribe(c);
    append(c, 300, 1);
    addr_of(c, addr, sizeof addr);
    open_relay(c, addr);
    relay_set_runner(c->relay, queue_turn, c);
    /* Connected, the relay asks for a turn and reads nothing before it. */
    assert_true(run_until(c, has_turn, 5000));
    run_until(c, never, 100);
    assert_int_equal(backlog(c), 300);
    assert_true(run_until(c, turns_then_empty, 10000));
    expect_messages(c, 300);
    assert_true(c->turns >= 2);   /* the read, then the answers' delete */
    /* Closing with a turn still queued: `done` waits for it. */
    append(c, 1, 1);
    relay_kick(c->relay);
    relay_close(c->relay, on_relay_closed, c);
    assert_true(run_until(c, has_turn, 5000));
    run_until(c, never, 100);
    assert_false(c->closed);
    assert_true(run_until(c, turns_then_empty, 5000));
    assert_true(run_until(c, is_closed, 5000));
    c->relay = NULL;
    expect_messages(c, 1);
}

static void test_close_while_connecting(void **state)
{
    ctx_t *c = *state;
    append(c, 1, 1);
    open_relay(c, "/tmp/sagad-no-such-redis.sock");
    run_until(c, never, 50);
    close_relay(c);
    assert_int_equal(backlog(c), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_publishes_in_order_then_deletes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uncommitted_rows_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_down_then_restarted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_frozen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_keeps_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unix_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_while_connecting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_work_waits_for_the_runner, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
