/* One node of a PostgreSQL cluster: joining with a new epoch, the lease
 * renewed on a session of its own (so a long batch never delays it), the
 * fence each batch takes first, and claims of dead nodes' executions, which
 * run as the serializer's entry points on the runtime's session. Every time
 * is the database server's clock, so the nodes' clocks never matter. */
#include "cluster/node.h"
#include "core/fiber.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW "CAST(extract(epoch FROM clock_timestamp()) * 1000 AS bigint)"
#define CLAIM_MAX 500   /* executions one claim takes at most */

static const char SQL_JOIN[] =
    "INSERT INTO nodes (node_id, epoch, lease_until_ms, joined_ms, addr) "
    "VALUES (?1, 1, " NOW " + ?2, " NOW ", ?3) ON CONFLICT (node_id) DO UPDATE SET "
    "epoch = nodes.epoch + 1, lease_until_ms = excluded.lease_until_ms, "
    "joined_ms = excluded.joined_ms, addr = excluded.addr RETURNING epoch";
/* The row a running batch of an earlier process under this name holds
 * (FOR KEY SHARE): joining waits for that batch's end, so no step of it can
 * commit after this process has read the executions back. */
static const char SQL_LOCK_SELF[] = "SELECT epoch FROM nodes WHERE node_id = ?1 FOR UPDATE";
/* Held (exclusively) by a sagad from before nodes existed, which fences
 * nobody: joining beside one would run its executions twice. Nodes probe in
 * shared mode, so nodes starting together do not take each other for one. */
static const char SQL_OLD_OWNER[] =
    "SELECT CAST(pg_try_advisory_lock_shared(495555404100) AS integer)";
static const char SQL_OLD_OWNER_FREE[] =
    "SELECT CAST(pg_advisory_unlock_shared(495555404100) AS integer)";
/* A claim waits this long at most for a frozen node's last batch; a session
 * idle inside a transaction this long is ended by the server (its locks go). */
static const char SQL_LOCK_TIMEOUT[] = "SELECT set_config('lock_timeout', ?1, true)";
static const char SQL_ADOPT_ORPHANS[] =
    "UPDATE executions SET owner = ?1 WHERE owner IS NULL AND status = 'RUNNING'";
/* Renewed while the epoch is still ours, even after it expired (a database
 * outage expires every lease, and nobody could take anything meanwhile):
 * whoever takes this node's executions bumps its epoch first. */
static const char SQL_RENEW[] =
    "UPDATE nodes SET lease_until_ms = " NOW " + ?3 WHERE node_id = ?1 AND epoch = ?2";
/* KEY SHARE: renewals (plain updates) pass, a claimer's FOR UPDATE waits
 * for this transaction's end. */
static const char SQL_FENCE[] =
    "SELECT epoch, CAST(lease_until_ms > " NOW " AS integer) FROM nodes WHERE node_id = ?1 "
    "FOR KEY SHARE";
static const char SQL_DEAD[] =
    "SELECT n.node_id, count(e.seq), "
    "(SELECT count(*) FROM nodes a WHERE a.lease_until_ms > " NOW ") "
    "FROM nodes n JOIN executions e ON e.owner = n.node_id AND e.status = 'RUNNING' "
    "WHERE (n.lease_until_ms = 0 OR n.lease_until_ms <= " NOW " AND ?2 = 1) "
    "AND n.node_id <> ?1 "
    "GROUP BY n.node_id ORDER BY n.node_id LIMIT 1";
static const char SQL_LOCK_DEAD[] =
    "SELECT CAST(lease_until_ms <= " NOW " AS integer) FROM nodes WHERE node_id = ?1 FOR UPDATE";
static const char SQL_BUMP[] = "UPDATE nodes SET epoch = epoch + 1 WHERE node_id = ?1";
static const char SQL_CLAIM[] =
    "UPDATE executions SET owner = ?1 WHERE seq IN (SELECT seq FROM executions "
    "WHERE owner = ?2 AND status = 'RUNNING' ORDER BY seq LIMIT ?3 FOR UPDATE SKIP LOCKED) "
    "RETURNING id";
static const char SQL_RELEASE[] =
    "UPDATE nodes SET lease_until_ms = 0 WHERE node_id = ?1 AND epoch = ?2";

struct node_s {
    uv_loop_t *loop;
    char id[128];
    char *uri;
    int lease_ms;
    int64_t epoch;
    store_t *st;              /* the runtime's session */
    store_t *lease;           /* the lease's own session; NULL while lost */
    serial_t *serial;
    runtime_t *rt;
    void (*on_fenced)(void *ud, const char *why);
    void *ud;
    uv_timer_t timer;
    int ticking;              /* a lease fiber runs */
    int claim_queued;
    int leaving, fenced, release;
    char dead[128];           /* the node the queued claim is for */
    int64_t claim_n;
    uint64_t renewed_ns;      /* monotonic time of the last renewal */
    uint64_t steady_ns;       /* renewing without a failure since (0: failing) */
    uint64_t claimed;
    uint64_t lease_errors;
};

const char *node_id(const node_t *n)
{
    return n->id;
}

static void fenced(node_t *n, const char *why)
{
    if (n->fenced)
        return;
    n->fenced = 1;
    log_error("node %s (epoch %lld): %s", n->id, (long long)n->epoch, why);
    if (n->on_fenced)
        n->on_fenced(n->ud, why);
}

/* One statement on `st` returning at most one integer (or none: *out
 * untouched). 0 or a negative code. */
static int one_int(store_stmt_t *s, int64_t *out)
{
    int rc = store_step(s);
    if (rc == STORE_ROW && out)
        *out = store_col_int64(s, 0);
    store_reset(s);
    return rc < 0 ? rc : 0;
}

int node_join(const node_opts_t *o, node_t **out, char *err, size_t errlen)
{
    node_t *n = calloc(1, sizeof *n);
    if (!n || !(n->uri = strdup(o->database))) {
        free(n);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(n->id, sizeof n->id, "%s", o->node_id);
    n->loop = o->loop;
    n->lease_ms = o->lease_ms;
    n->st = o->store;
    n->serial = o->serial;
    n->on_fenced = o->on_fenced;
    n->ud = o->ud;
    int rc = store_open(n->uri, &n->lease, err, errlen);
    if (rc < 0) {
        free(n->uri);
        free(n);
        return -1;
    }
    int64_t free_lock = 0, ignored;
    store_stmt_t *s = store_prepare(n->lease, SQL_OLD_OWNER);
    if (!s || one_int(s, &free_lock) < 0 || !free_lock) {
        snprintf(err, errlen, "%s", s ? "an older sagad (from before nodes) still runs on this "
                                        "database (it holds advisory lock 495555404100): stop it "
                                        "first, then start the nodes"
                                      : store_errmsg(n->lease));
        node_leave(n, 0);
        return -1;
    }
    if ((s = store_prepare(n->lease, SQL_OLD_OWNER_FREE)))
        one_int(s, &ignored);
    rc = store_begin(n->lease);
    if (rc == 0 && (s = store_prepare(n->lease, SQL_LOCK_SELF))) {
        store_bind_text(s, 1, n->id);
        rc = one_int(s, NULL);
    }
    if (rc == 0 && s && (s = store_prepare(n->lease, SQL_JOIN))) {
        store_bind_text(s, 1, n->id);
        store_bind_int64(s, 2, n->lease_ms);
        store_bind_text(s, 3, o->addr);
        rc = one_int(s, &n->epoch);
    }
    if (rc == 0 && s)
        rc = store_commit(n->lease);
    if (!s || rc < 0 || n->epoch <= 0) {
        snprintf(err, errlen, "cannot register node %s in table nodes: %s", n->id,
                 store_errmsg(n->lease));
        store_rollback(n->lease);
        node_leave(n, 0);
        return -1;
    }
    n->renewed_ns = uv_hrtime();
    /* Rows this session inserts into executions default to this owner. */
    char idle[32];
    snprintf(idle, sizeof idle, "%dms", n->lease_ms);
    rc = store_session_set(n->st, "sagad.node", n->id);
    if (rc == 0)
        rc = store_session_set(n->st, "idle_in_transaction_session_timeout", idle);
    if (rc == 0 && (s = store_prepare(n->st, SQL_ADOPT_ORPHANS))) {
        store_bind_text(s, 1, n->id);
        rc = store_exec_stmt(s);
        if (rc == 0 && store_changes(n->st) > 0)
            log_info("node %s: took %lld running executions that had no node", n->id,
                     (long long)store_changes(n->st));
    }
    if (rc < 0 || !s) {
        snprintf(err, errlen, "cannot name node %s on the runtime's session: %s", n->id,
                 store_errmsg(n->st));
        node_leave(n, 0);
        return -1;
    }
    log_info("node %s joined with epoch %lld (lease %d ms)", n->id, (long long)n->epoch,
             n->lease_ms);
    *out = n;
    return 0;
}

int node_fence(void *node)
{
    node_t *n = node;
    if (n->fenced)
        return -1;
    store_stmt_t *s = store_prepare(n->st, SQL_FENCE);
    if (!s)
        return -1;
    store_bind_text(s, 1, n->id);
    int rc = store_step(s);
    int64_t epoch = rc == STORE_ROW ? store_col_int64(s, 0) : 0;
    int live = rc == STORE_ROW && store_col_int64(s, 1);
    store_reset(s);
    if (rc < 0)
        return -1;
    if (epoch != n->epoch) {
        fenced(n, "another node took over its executions or its name: it commits nothing more "
                  "and stops; its executions continue on the other nodes");
        return -1;
    }
    /* Expired but still ours (a database outage): nothing commits until the
     * lease is renewed, unless someone takes over first. */
    return live ? 0 : -1;
}

/* ---- claims: on the runtime's session, between batches ------------------ */

static void node_finish(node_t *n);

static void claim_entry(void *ud)
{
    node_t *n = ud;
    n->claim_queued = 0;
    if (n->leaving) {
        node_finish(n);   /* left while this waited: nothing is taken */
        return;
    }
    if (n->fenced || !n->rt)
        return;
    if (store_begin(n->st) < 0) {
        runtime_rescan(n->rt);
        return;
    }
    int64_t expired = 0;
    char **ids = NULL;
    size_t nids = 0;
    int ok = node_fence(n) == 0;
    store_stmt_t *s = ok ? store_prepare(n->st, SQL_LOCK_TIMEOUT) : NULL;
    if (s) {
        char ms[32];
        snprintf(ms, sizeof ms, "%dms", n->lease_ms);
        store_bind_text(s, 1, ms);
        ok = one_int(s, NULL) == 0;
    }
    s = ok ? store_prepare(n->st, SQL_LOCK_DEAD) : NULL;
    if (s) {
        store_bind_text(s, 1, n->dead);
        ok = one_int(s, &expired) == 0;
    } else {
        ok = 0;
    }
    /* It came back meanwhile (a restart within its lease): nothing to take. */
    if (ok && expired && (s = store_prepare(n->st, SQL_BUMP))) {
        store_bind_text(s, 1, n->dead);
        ok = store_exec_stmt(s) == 0;
        s = ok ? store_prepare(n->st, SQL_CLAIM) : NULL;
        ok = s != NULL;
        if (s) {
            store_bind_text(s, 1, n->id);
            store_bind_text(s, 2, n->dead);
            store_bind_int64(s, 3, n->claim_n);
            int rc;
            ids = calloc(CLAIM_MAX, sizeof *ids);
            while (ids && nids < CLAIM_MAX && (rc = store_step(s)) == STORE_ROW) {
                const char *id = store_col_text(s, 0);
                if (id && (ids[nids] = strdup(id)))
                    nids++;
            }
            store_reset(s);
            ok = ids != NULL;
        }
    }
    if (!ok || store_commit(n->st) < 0) {
        store_rollback(n->st);
        nids = 0;
        /* A lost COMMIT may have happened: what it took is found by reading. */
        runtime_rescan(n->rt);
    }
    size_t adopted = 0;
    for (size_t i = 0; i < nids; i++)
        adopted += runtime_adopt(n->rt, ids[i]) == 0;
    if (adopted < nids)
        runtime_rescan(n->rt);   /* some could not be read now: again later */
    for (size_t i = 0; ids && i < nids; i++)
        free(ids[i]);
    free(ids);
    if (nids) {
        n->claimed += nids;
        log_info("node %s: took over %zu running execution%s of node %s (lease expired)%s", n->id,
                 nids, nids == 1 ? "" : "s", n->dead,
                 adopted < nids ? "; some could not be restored, see above" : "");
    }
}

/* ---- the lease: its own session, on a fiber ----------------------------- */

static void lease_error(node_t *n, int rc)
{
    if (n->lease_errors++ % 20 == 0)
        log_warn("node %s: cannot renew the lease: %s", n->id, store_errmsg(n->lease));
    if (rc == STORE_ERR_LOST) {
        store_close(n->lease);   /* a new session next time */
        n->lease = NULL;
    }
}

static void lease_tick(void *ud)
{
    node_t *n = ud;
    char err[512];
    if (!n->lease && store_open(n->uri, &n->lease, err, sizeof err) < 0) {
        n->lease = NULL;
        if (n->lease_errors++ % 20 == 0)
            log_warn("node %s: cannot reach the database to renew the lease: %s", n->id, err);
    }
    int renewed = 0;
    store_stmt_t *s = n->lease && !n->leaving ? store_prepare(n->lease, SQL_RENEW) : NULL;
    if (s) {
        store_bind_text(s, 1, n->id);
        store_bind_int64(s, 2, n->epoch);
        store_bind_int64(s, 3, n->lease_ms);
        int rc = store_exec_stmt(s);
        if (rc < 0) {
            lease_error(n, rc);
        } else if (store_changes(n->lease) == 0) {
            fenced(n, "its lease could not be renewed (it expired, or another node took its "
                      "name): it stops; its executions continue on the other nodes");
        } else {
            renewed = 1;
            n->renewed_ns = uv_hrtime();
            if (!n->steady_ns)
                n->steady_ns = n->renewed_ns;
            n->lease_errors = 0;
        }
    }
    if (!renewed)
        n->steady_ns = 0;
    /* After trouble of its own (a database outage expires every lease) a node
     * gives the others a whole lease to renew before it takes anything. */
    int steady = n->steady_ns && uv_hrtime() - n->steady_ns >= (uint64_t)n->lease_ms * 1000000;
    s = n->lease && !n->leaving && !n->fenced && !n->claim_queued
            ? store_prepare(n->lease, SQL_DEAD) : NULL;
    if (s) {
        store_bind_text(s, 1, n->id);
        store_bind_int(s, 2, steady);   /* a released lease (0) is taken at once */
        if (store_step(s) == STORE_ROW) {
            int64_t running = store_col_int64(s, 1), alive = store_col_int64(s, 2);
            snprintf(n->dead, sizeof n->dead, "%s", store_col_text(s, 0));
            /* Spread over the survivors: each takes its share per round. */
            n->claim_n = alive > 0 ? (running + alive - 1) / alive : running;
            if (n->claim_n < 1)
                n->claim_n = 1;
            if (n->claim_n > CLAIM_MAX)
                n->claim_n = CLAIM_MAX;
            n->claim_queued = 1;
        }
        store_reset(s);
        if (n->leaving)
            n->claim_queued = 0;   /* left while the query waited */
        if (n->claim_queued && serial_run(n->serial, claim_entry, n) < 0)
            n->claim_queued = 0;
    }
    n->ticking = 0;
    if (n->leaving)
        node_finish(n);
}

static void on_timer(uv_timer_t *t)
{
    node_t *n = t->data;
    if (n->ticking || n->leaving)
        return;
    n->ticking = 1;
    if (fiber_start(n->loop, lease_tick, n) < 0)
        n->ticking = 0;
}

void node_start(node_t *n, runtime_t *rt)
{
    n->rt = rt;
    uv_timer_init(n->loop, &n->timer);
    n->timer.data = n;
    uint64_t period = (uint64_t)(n->lease_ms / 3 > 0 ? n->lease_ms / 3 : 1);
    uv_timer_start(&n->timer, on_timer, period, period);
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

void node_leave(node_t *n, int release)
{
    if (!n)
        return;
    n->leaving = 1;
    n->release = release;
    if (n->rt)
        uv_timer_stop(&n->timer);
    node_finish(n);
}

/* Releases and frees once neither the lease fiber nor a queued claim still
 * uses the node (each calls this again when it is done). */
static void node_finish(node_t *n)
{
    if (n->ticking || n->claim_queued)
        return;
    if (n->release && n->lease && !n->fenced) {
        store_stmt_t *s = store_prepare(n->lease, SQL_RELEASE);
        if (s) {
            store_bind_text(s, 1, n->id);
            store_bind_int64(s, 2, n->epoch);
            if (store_exec_stmt(s) == 0)
                log_info("node %s: lease released; the other nodes take its running executions",
                         n->id);
        }
    }
    if (n->lease)
        store_close(n->lease);
    n->lease = NULL;
    free(n->uri);
    n->uri = NULL;
    if (n->rt) {
        n->rt = NULL;
        uv_close((uv_handle_t *)&n->timer, on_timer_closed);
    } else {
        free(n);
    }
}

void node_health(const node_t *n, cJSON *o)
{
    cJSON *j = cJSON_AddObjectToObject(o, "node");
    if (!j)
        return;
    cJSON_AddStringToObject(j, "id", n->id);
    cJSON_AddNumberToObject(j, "epoch", (double)n->epoch);
    cJSON_AddNumberToObject(j, "leaseMs", n->lease_ms);
    cJSON_AddNumberToObject(j, "lastRenewAgoMs", (double)((uv_hrtime() - n->renewed_ns) / 1000000));
    cJSON_AddNumberToObject(j, "claimed", (double)n->claimed);
    cJSON_AddBoolToObject(j, "fenced", n->fenced);
}
