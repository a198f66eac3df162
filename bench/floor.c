/* bench/floor: the storage floor of the order saga. Writes exactly the rows
 * the runtime and the order handlers write for one successful saga (see
 * docs/BENCHMARKS.md for the list), with prepared statements on sagad's own
 * schema (store_open), B sagas per transaction as the runtime's group commit
 * does, and nothing else: no engine, no JSON, no savepoints.
 *   floor DB N BATCH INPUT_BYTES HISTORY_BYTES OUTPUT_BYTES OUTBOX_BYTES [random]
 * Payload sizes are the averages measured on a real run; `random` makes the
 * ids random UUIDv4 instead of time-ordered UUIDv7 (what sagad uses). Prints one line of
 * key=value pairs. */
#include "core/log.h"
#include "order/schema.h"
#include "store/db.h"
#include "store/sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int time_ordered = 1;

/* UUIDv7-shaped text (48-bit Unix ms first: keys grow), like sagad's ids, or
 * without time_ordered a random UUIDv4 (random B-tree keys, sagad before
 * b8bf835). */
static void uuid(char out[37])
{
    uint64_t hi = next_u64(), lo = next_u64();
    if (time_ordered)
        hi = ((uint64_t)store_now_ms() << 16) | (hi & 0xFFFF);
    snprintf(out, 37, time_ordered ? "%08x-%04x-7%03x-%04x-%012llx" : "%08x-%04x-4%03x-%04x-%012llx",
             (unsigned)(hi >> 32),
             (unsigned)(hi >> 16) & 0xFFFF, (unsigned)hi & 0xFFF,
             (unsigned)(0x8000 | ((lo >> 48) & 0x3FFF)), (unsigned long long)(lo & 0xFFFFFFFFFFFFull));
}

static char *blob(size_t n)
{
    char *s = malloc(n + 1);
    if (!s) {
        perror("malloc");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + (i * 7 + i / 13) % 26);
    s[n] = '\0';
    return s;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
        fprintf(stderr, "floor: %s: %s\n", sql, sqlite3_errmsg(db));
        exit(1);
    }
    return s;
}

static void run(sqlite3_stmt *s)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        ;
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "floor: %s\n", sqlite3_errmsg(sqlite3_db_handle(s)));
        exit(1);
    }
    sqlite3_reset(s);
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: floor DB N BATCH INPUT_BYTES HISTORY_BYTES OUTPUT_BYTES OUTBOX_BYTES\n");
        return 2;
    }
    const char *path = argv[1];
    long n = atol(argv[2]), batch = atol(argv[3]);
    char *input = blob((size_t)atol(argv[4])), *history = blob((size_t)atol(argv[5]));
    char *output = blob((size_t)atol(argv[6])), *outbox = blob((size_t)atol(argv[7]));
    time_ordered = !(argc > 8 && strcmp(argv[8], "random") == 0);
    char err[512];
    store_t *st;
    log_set_level(LOG_LEVEL_WARN);
    if (order_schema_register() < 0 || store_open(path, &st, err, sizeof err) < 0) {
        fprintf(stderr, "floor: %s\n", err);
        return 1;
    }
    sqlite3 *db = store_db(st);
    sqlite3_exec(db, "UPDATE stock SET quantity = 1000000000 WHERE item_id = 'coffee-beans'", NULL,
                 NULL, NULL);
    sqlite3_stmt *begin = prep(db, "BEGIN IMMEDIATE"), *commit = prep(db, "COMMIT");
    /* The runtime: one history row for the whole (synchronous) saga (its
     * replay log since 2026-11-25) and one execution row, written once with
     * the end since a45eda4 (the saga starts and ends in one advance; timers
     * are deleted only for executions that had any: none here). */
    sqlite3_stmt *ins_exec = prep(db, "INSERT INTO executions (id, machine, machine_version, name, "
                                      "status, input, output, start_ms, stop_ms, final_state) "
                                      "VALUES (?1, 'order', 1, ?1, 'SUCCEEDED', ?2, ?4, ?3, ?3, "
                                      "'EmitSuccessEvent')");
    sqlite3_stmt *ins_hist = prep(db, "INSERT INTO history (execution_id, first_id, last_id, ts_ms, "
                                      "frame, events, state) VALUES (?1, 1, 27, ?2, '', ?3, NULL)");
    /* The handlers: orders.create, stock.reserve, payment.process,
     * orders.confirm, events.publish. */
    sqlite3_stmt *ins_order = prep(db, "INSERT INTO orders (order_id, execution_id, item_id, "
                                       "quantity, firstname, surname, street, zip, city, status, "
                                       "created_ms, updated_ms) VALUES (?1, ?2, 'coffee-beans', 1, "
                                       "'Laura', 'Becker', 'Main Avenue 1', '12345', 'Fancy Town', "
                                       "'PENDING', ?3, ?3)");
    sqlite3_stmt *take = prep(db, "UPDATE stock SET quantity = quantity - 1, updated_ms = ?1 "
                                  "WHERE item_id = 'coffee-beans' AND quantity >= 1");
    sqlite3_stmt *ins_res = prep(db, "INSERT INTO reservations (order_id, item_id, quantity, status, "
                                     "created_ms, updated_ms) VALUES (?1, 'coffee-beans', 1, "
                                     "'RESERVED', ?2, ?2)");
    sqlite3_stmt *ins_pay = prep(db, "INSERT INTO payments (payment_id, order_id, execution_id, token, "
                                     "amount, status, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, "
                                     "1, 'CHARGED', ?5, ?5)");
    sqlite3_stmt *confirm = prep(db, "UPDATE orders SET status = 'PROCESSED', updated_ms = ?2 "
                                     "WHERE order_id = ?1");
    sqlite3_stmt *ins_out = prep(db, "INSERT INTO outbox (event_id, payload, created_ms) "
                                     "VALUES (?1, ?2, ?3)");

    double t0 = now_s(), c0 = cpu_s();
    long done = 0;
    while (done < n) {
        run(begin);
        for (long b = 0; b < batch && done < n; b++, done++) {
            char ex[37], order[37], pay[37], ev[37], token[128];
            int64_t now = store_now_ms();
            uuid(ex);
            uuid(order);
            uuid(pay);
            uuid(ev);
            snprintf(token, sizeof token, "%s/ProcessPayment/0", ex);
            sqlite3_bind_text(ins_exec, 1, ex, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins_exec, 2, input, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins_exec, 3, now);
            sqlite3_bind_text(ins_exec, 4, output, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins_order, 1, order, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins_order, 2, ex, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins_order, 3, now);
            run(ins_order);
            sqlite3_bind_int64(take, 1, now);
            run(take);
            sqlite3_bind_text(ins_res, 1, order, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins_res, 2, now);
            run(ins_res);
            sqlite3_bind_text(ins_pay, 1, pay, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins_pay, 2, order, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins_pay, 3, ex, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins_pay, 4, token, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins_pay, 5, now);
            run(ins_pay);
            sqlite3_bind_text(confirm, 1, order, -1, SQLITE_STATIC);
            sqlite3_bind_int64(confirm, 2, now);
            run(confirm);
            sqlite3_bind_text(ins_out, 1, ev, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins_out, 2, outbox, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins_out, 3, now);
            run(ins_out);
            sqlite3_bind_text(ins_hist, 1, ex, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins_hist, 2, now);
            sqlite3_bind_text(ins_hist, 3, history, -1, SQLITE_STATIC);
            run(ins_hist);
            run(ins_exec);
        }
        run(commit);
    }
    double secs = now_s() - t0, cpu = cpu_s() - c0;
    sqlite3_stmt *all[] = {begin, commit, ins_exec, ins_hist, ins_order,
                           take, ins_res, ins_pay, confirm, ins_out};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        sqlite3_finalize(all[i]);
    store_close(st);
    long long bytes = -1;
    struct stat sb;
    if (strcmp(path, ":memory:") != 0 && stat(path, &sb) == 0)
        bytes = (long long)sb.st_size;
    printf("mode=floor db=%s n=%ld batch=%ld history_bytes=%s ids=%s secs=%.3f sagas_per_s=%.1f "
           "db_bytes_per_saga=%.0f cpu_us_per_saga=%.1f\n",
           path, n, batch, argv[5], time_ordered ? "v7" : "v4", secs, (double)n / secs,
           bytes > 0 ? (double)bytes / (double)n : -1.0, cpu * 1e6 / (double)n);
    free(input);
    free(history);
    free(output);
    free(outbox);
    return 0;
}
