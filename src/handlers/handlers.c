/* Registers handlers with the engine's registry: the general-purpose ones
 * here, a domain's through handlers_register_list. */
#include "handlers/handlers.h"
#include "core/log.h"
#include "handlers/builtin.h"
#include "handlers/http_invoke.h"

int handlers_register_list(const handler_def_t *const *defs, int n)
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
    static const handler_def_t *const defs[] = {&handlers_echo, &handlers_fail,
                                                &http_invoke_handler};
    return handlers_register_list(defs, (int)(sizeof defs / sizeof defs[0]));
}
