/* Registration of every built-in Task handler (engine/handler.h). The JSON
 * each takes and returns is documented in builtin.h, order.h, payment.h and
 * publish.h. */
#ifndef SAGAD_HANDLERS_HANDLERS_H
#define SAGAD_HANDLERS_HANDLERS_H

#include "core/config.h"

/* sagad:echo and sagad:fail. Returns 0, or -1 when a name is already taken. */
int handlers_register_builtin(void);

/* The order saga's eight handlers. payment.process is asynchronous when
 * cfg->payment_latency_ms > 0 (cfg may be NULL: synchronous). Returns 0 or -1. */
int handlers_register_order(const config_t *cfg);

/* Both of the above. */
int handlers_register_all(const config_t *cfg);

#endif
