/* Registers the built-in handlers with the engine's registry. */
#include "handlers/handlers.h"
#include "core/log.h"
#include "handlers/builtin.h"
#include "order/handlers.h"
#include "order/payment.h"
#include "handlers/publish.h"

static int register_list(const handler_def_t *const *defs, int n)
{
    for (int i = 0; i < n; i++)
        if (handler_register(defs[i]) < 0) {
            log_error("cannot register handler '%s': the name is taken or the table is full",
                      defs[i]->name);
            return -1;
        }
    return 0;
}

int handlers_register_builtin(void)
{
    static const handler_def_t *const defs[] = {&handlers_echo, &handlers_fail};
    return register_list(defs, 2);
}

int handlers_register_order(const config_t *cfg)
{
    const handler_def_t *defs[] = {
        &handlers_orders_create,
        &handlers_stock_reserve,
        cfg && cfg->payment_latency_ms > 0 ? &handlers_payment_process_async
                                           : &handlers_payment_process_sync,
        &handlers_orders_confirm,
        &handlers_payment_refund,
        &handlers_stock_release,
        &handlers_orders_cancel,
        &handlers_events_publish,
    };
    return register_list(defs, (int)(sizeof defs / sizeof defs[0]));
}

int handlers_register_all(const config_t *cfg)
{
    if (handlers_register_builtin() < 0 || handlers_register_order(cfg) < 0)
        return -1;
    return 0;
}
