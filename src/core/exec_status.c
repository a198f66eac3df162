/* Names of the execution statuses, in enum order. */
#include "core/exec_status.h"

#include <string.h>

static const char *const names[EXEC_STATUS_COUNT] = {"RUNNING", "SUCCEEDED", "FAILED",
                                                     "TIMED_OUT", "ABORTED"};

const char *exec_status_name(exec_status_t status)
{
    return (unsigned)status < EXEC_STATUS_COUNT ? names[status] : NULL;
}

int exec_status_parse(const char *name, exec_status_t *out)
{
    for (unsigned i = 0; name && i < EXEC_STATUS_COUNT; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (exec_status_t)i;
            return 0;
        }
    }
    return -1;
}
