/* The order saga's tables (orders, stock, payments, reservations) as its part
 * of the store's numbered migrations (store/db.h). A fresh database gets
 * "coffee-beans" = 5 in stock. */
#ifndef SAGAD_ORDER_SCHEMA_H
#define SAGAD_ORDER_SCHEMA_H

/* Adds the order tables to every store opened afterwards (store_schema_add).
 * Call before the first store_open. Returns 0 or -1. */
int order_schema_register(void);

#endif
