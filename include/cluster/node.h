/* A sagad node among several on one PostgreSQL database: its lease row in
 * `nodes` (renewed every lease_ms / 3 on a session of its own), the fence
 * every batch takes first (its lease row, locked with its epoch, so a node
 * whose lease ran out commits nothing), and the claims of a dead node's
 * RUNNING executions by the survivors. docs/cluster.md tells the story. */
#ifndef SAGAD_CLUSTER_NODE_H
#define SAGAD_CLUSTER_NODE_H

#include <cJSON.h>
#include <stdint.h>
#include <uv.h>

#include "core/serial.h"
#include "engine/runtime.h"
#include "store/db.h"

typedef struct node_s node_t;

typedef struct node_opts_s {
    uv_loop_t *loop;
    const char *database;      /* the postgresql:// URI (borrowed for the call) */
    const char *node_id;       /* copied */
    const char *addr;          /* "http://HOST:PORT" where the others reach it (borrowed) */
    int lease_ms;
    store_t *store;            /* the runtime's session (borrowed, outlives the node) */
    serial_t *serial;          /* borrowed; claims run as its entry points */
    /* The lease is lost for good (another node took this node's executions
     * or its name): the process must stop serving at once. */
    void (*on_fenced)(void *ud, const char *why);
    void *ud;
} node_opts_t;

/* Joins at startup (blocking: before the loop serves): registers the node
 * with a new epoch and a fresh lease, names it on the runtime's session
 * (executions started there belong to it), and takes the RUNNING
 * executions that belong to no node (written by a single-node build).
 * Returns 0, or -1 with `err` filled. */
int node_join(const node_opts_t *o, node_t **out, char *err, size_t errlen);

/* The runtime that adopts claimed executions (borrowed); the lease timer
 * and claims start now. */
void node_start(node_t *n, runtime_t *rt);

/* The runtime's fence (runtime_opts_t.fence): inside the batch's
 * transaction, before anything else. 0 while this node's lease holds (its
 * row stays locked until the commit, so no claim of its executions can
 * commit in between); -1 otherwise (when the lease is gone for good,
 * on_fenced has been called). */
int node_fence(void *node);

/* Stops the lease timer and, when `release`, ends the lease now so that the
 * survivors take this node's RUNNING executions at once (a clean shutdown);
 * frees the node. NULL is a no-op. Blocking: call after the loop is done
 * with the node. */
void node_leave(node_t *n, int release);

/* Adds {"id", "epoch", "leaseMs", "claimed", "lastRenewAgoMs"} under "node". */
void node_health(const node_t *n, cJSON *o);

/* This node's name (borrowed). */
const char *node_id(const node_t *n);

#endif
