/* The systemd sd_notify datagram protocol, without libsystemd: a no-op when
 * NOTIFY_SOCKET is unset, so the daemon behaves the same outside systemd. */
#ifndef SAGAD_CORE_NOTIFY_H
#define SAGAD_CORE_NOTIFY_H

#include <stdint.h>

/* Sends `state` (e.g. "READY=1") to $NOTIFY_SOCKET. Returns 0 when sent or when
 * there is no socket; -errno when sending failed. Non-blocking. */
int notify_send(const char *state);

/* The watchdog interval from $WATCHDOG_USEC in microseconds (honouring
 * $WATCHDOG_PID), or 0 when the watchdog is off. */
uint64_t notify_watchdog_usec(void);

#endif
