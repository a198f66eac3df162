/* SQL texts are written once for both backends with SQLite's parameters
 * (?N, or plain ? numbered as SQLite numbers it); PostgreSQL wants $N. The
 * PostgreSQL store translates each statement once, when it prepares it. */
#ifndef SAGAD_STORE_PG_SQL_H
#define SAGAD_STORE_PG_SQL_H

/* `sql` with every ?N as $N and every plain ? as $(highest number so far + 1),
 * leaving quoted strings, quoted identifiers and comments alone. Returns a
 * malloc'd text (caller frees) with the highest parameter number in
 * *nparams, or NULL when out of memory or for a ?N above 999 (an error). */
char *store_pg_sql(const char *sql, int *nparams);

#endif
