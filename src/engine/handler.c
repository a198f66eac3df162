/* The handler registry: a small table searched by name. Handlers are few
 * (tens) and looked up once per Task; a linear scan is fine. */
#include "engine/handler.h"

#include <string.h>

#define MAX_HANDLERS 128

static const handler_def_t *table[MAX_HANDLERS];
static int n_handlers;
/* Names switched off, with why. */
static struct {
    const char *name, *why;
} off[MAX_HANDLERS];
static int n_off;

int handler_register(const handler_def_t *def)
{
    if (n_handlers == MAX_HANDLERS || handler_lookup(def->name))
        return -1;
    table[n_handlers++] = def;
    return 0;
}

const handler_def_t *handler_lookup(const char *resource)
{
    if (strncmp(resource, "sagad:", 6) == 0)
        resource += 6;
    for (int i = 0; i < n_handlers; i++)
        if (strcmp(table[i]->name, resource) == 0)
            return table[i];
    return NULL;
}

int handler_register_off(const char *name, const char *why)
{
    if (n_off == MAX_HANDLERS)
        return -1;
    off[n_off].name = name;
    off[n_off++].why = why;
    return 0;
}

const char *handler_off_reason(const char *resource)
{
    if (strncmp(resource, "sagad:", 6) == 0)
        resource += 6;
    for (int i = 0; i < n_off; i++)
        if (strcmp(off[i].name, resource) == 0)
            return off[i].why;
    return NULL;
}

void handler_reset(void)
{
    n_handlers = 0;
    n_off = 0;
}
