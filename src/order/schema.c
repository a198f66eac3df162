/* The order saga's schema: its steps of the store's numbered migrations.
 * Append only, like store/db.c's list: a released step is never edited. */
#include "order/schema.h"
#include "store/db.h"

#include <stddef.h>

/* Index v is this domain's part of migration v -> v+1 (store/db.h). */
static const char *const migrations[] = {
    /* 0 -> 1, after the store's tables */
    "CREATE TABLE orders ("
    "  order_id TEXT PRIMARY KEY,"
    "  execution_id TEXT NOT NULL,"
    "  item_id TEXT NOT NULL,"
    "  quantity INTEGER NOT NULL,"
    "  firstname TEXT, surname TEXT, street TEXT, zip TEXT, city TEXT,"
    "  status TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL);"
    "CREATE INDEX orders_by_execution ON orders (execution_id);"
    "CREATE INDEX orders_by_created ON orders (created_ms);"
    "CREATE TABLE stock ("
    "  item_id TEXT PRIMARY KEY,"
    "  quantity INTEGER NOT NULL CHECK (quantity >= 0),"
    "  updated_ms INTEGER NOT NULL);"
    "CREATE TABLE payments ("
    "  payment_id TEXT PRIMARY KEY,"
    "  order_id TEXT NOT NULL,"
    "  execution_id TEXT NOT NULL,"
    "  token TEXT NOT NULL UNIQUE,"
    "  amount INTEGER NOT NULL,"
    "  status TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL);"
    "CREATE INDEX payments_by_order ON payments (order_id);"
    /* What each order took from stock, so that stock.release gives back
     * exactly that, once (status RESERVED -> RELEASED). */
    "CREATE TABLE reservations ("
    "  order_id TEXT PRIMARY KEY,"
    "  item_id TEXT NOT NULL,"
    "  quantity INTEGER NOT NULL CHECK (quantity > 0),"
    "  status TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL) WITHOUT ROWID;"
    /* A fresh database sells coffee beans, so the quick start's first order works at once. */
    "INSERT INTO stock (item_id, quantity, updated_ms)"
    "  VALUES ('coffee-beans', 5, CAST(strftime('%s', 'now') AS INTEGER) * 1000);",
    /* 1 -> 2: nothing of the order domain */
    NULL,
    /* 2 -> 3 */
    /* GET /orders lists newest first by rowid (insertion order) instead: one
     * B-tree write less per order. */
    "DROP INDEX IF EXISTS orders_by_created;",
    /* 3 -> 4 .. 6 -> 7: nothing of the order domain */
    NULL, NULL, NULL, NULL,
    /* 7 -> 8: refunds through an outside provider (order/payment_refund.c).
     * A payment is claimed (CHARGED -> REFUNDING, refund_token) before the
     * provider is asked; the claim is a refunds row keyed by the claiming
     * call's token (its step: the token less its attempt), at most one
     * REFUNDING per order. execution_id first claimed it (the provider gets
     * it in the body); holder is the execution whose step holds it now. */
    "ALTER TABLE payments ADD COLUMN refund_token TEXT;"
    "CREATE TABLE refunds ("
    "  token TEXT PRIMARY KEY,"
    "  step TEXT NOT NULL,"
    "  execution_id TEXT NOT NULL,"
    "  holder TEXT NOT NULL,"
    "  order_id TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  refunded INTEGER NOT NULL,"
    "  amount INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX refunds_by_order ON refunds (order_id);"
    "CREATE UNIQUE INDEX refunds_in_progress ON refunds (order_id) WHERE status = 'REFUNDING';",
};

/* The same steps in PostgreSQL's DDL (same indices). `rowid` is a real
 * column there: the shared SQL lists orders newest first by it. */
static const char *const pg_migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE orders ("
    "  rowid bigint GENERATED ALWAYS AS IDENTITY UNIQUE,"
    "  order_id text PRIMARY KEY,"
    "  execution_id text NOT NULL,"
    "  item_id text NOT NULL,"
    "  quantity bigint NOT NULL,"
    "  firstname text, surname text, street text, zip text, city text,"
    "  status text NOT NULL,"
    "  created_ms bigint NOT NULL,"
    "  updated_ms bigint NOT NULL);"
    "CREATE INDEX orders_by_execution ON orders (execution_id);"
    "CREATE TABLE stock ("
    "  item_id text PRIMARY KEY,"
    "  quantity bigint NOT NULL CHECK (quantity >= 0),"
    "  updated_ms bigint NOT NULL);"
    "CREATE TABLE payments ("
    "  payment_id text PRIMARY KEY,"
    "  order_id text NOT NULL,"
    "  execution_id text NOT NULL,"
    "  token text NOT NULL UNIQUE,"
    "  amount bigint NOT NULL,"
    "  status text NOT NULL,"
    "  created_ms bigint NOT NULL,"
    "  updated_ms bigint NOT NULL);"
    "CREATE INDEX payments_by_order ON payments (order_id);"
    "CREATE TABLE reservations ("
    "  order_id text PRIMARY KEY,"
    "  item_id text NOT NULL,"
    "  quantity bigint NOT NULL CHECK (quantity > 0),"
    "  status text NOT NULL,"
    "  created_ms bigint NOT NULL,"
    "  updated_ms bigint NOT NULL);"
    "INSERT INTO stock (item_id, quantity, updated_ms)"
    "  VALUES ('coffee-beans', 5, CAST(extract(epoch FROM now()) AS bigint) * 1000);",
    /* 1 -> 2 */
    NULL,
    /* 2 -> 3: orders_by_created was never made here (rowid is indexed). */
    NULL,
    /* 3 -> 4 .. 6 -> 7 */
    NULL, NULL, NULL, NULL,
    /* 7 -> 8 */
    "ALTER TABLE payments ADD COLUMN refund_token text;"
    "CREATE TABLE refunds ("
    "  token text PRIMARY KEY,"
    "  step text NOT NULL,"
    "  execution_id text NOT NULL,"
    "  holder text NOT NULL,"
    "  order_id text NOT NULL,"
    "  status text NOT NULL,"
    "  refunded bigint NOT NULL,"
    "  amount bigint NOT NULL,"
    "  created_ms bigint NOT NULL,"
    "  updated_ms bigint NOT NULL);"
    "CREATE INDEX refunds_by_order ON refunds (order_id);"
    "CREATE UNIQUE INDEX refunds_in_progress ON refunds (order_id) WHERE status = 'REFUNDING';",
};

_Static_assert(sizeof pg_migrations == sizeof migrations, "the same steps on both databases");

static const store_schema_t schema = {
    .name = "order",
    .migrations = migrations,
    .count = (int)(sizeof migrations / sizeof migrations[0]),
    .pg_migrations = pg_migrations,
    .pg_count = (int)(sizeof pg_migrations / sizeof pg_migrations[0]),
};

int order_schema_register(void)
{
    return store_schema_add(&schema);
}
