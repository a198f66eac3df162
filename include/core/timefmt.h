/* Times as text: the one formatter of epoch milliseconds as RFC 3339 UTC
 * with milliseconds, used for API dates, event times, log lines and the ASL
 * context object. Pure: no clock, no locale, no libc time functions. */
#ifndef SAGAD_CORE_TIMEFMT_H
#define SAGAD_CORE_TIMEFMT_H

#include <stdint.h>

/* Bytes a formatted time needs, with its NUL, for any int64_t. */
#define TIMEFMT_MAX 32

/* `ms` since 1970-01-01T00:00:00Z as "2019-03-26T20:14:13.192Z". Times
 * before 1970 round down, as calendars do: -1 is 1969-12-31T23:59:59.999Z.
 * Years 0000-9999 have four digits (RFC 3339); any other year is written
 * with its sign and all its digits, so no time is refused. Writes into `buf`
 * (TIMEFMT_MAX bytes) and returns it. */
char *timefmt_utc_ms(int64_t ms, char buf[TIMEFMT_MAX]);

/* Whole seconds since the epoch of `ms`, rounded down, and the milliseconds
 * into that second (0..999) in *msec (may be NULL). */
int64_t timefmt_floor_sec(int64_t ms, int *msec);

#endif
