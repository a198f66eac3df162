/* The status of an execution, one enum with the names the API, the database
 * rows and sagactl use for it. */
#ifndef SAGAD_CORE_EXEC_STATUS_H
#define SAGAD_CORE_EXEC_STATUS_H

typedef enum {
    EXEC_STATUS_RUNNING = 0,
    EXEC_STATUS_SUCCEEDED,
    EXEC_STATUS_FAILED,
    EXEC_STATUS_TIMED_OUT,
    EXEC_STATUS_ABORTED
} exec_status_t;

#define EXEC_STATUS_COUNT 5

/* "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT" or "ABORTED" (static);
 * NULL for a value outside the enum. */
const char *exec_status_name(exec_status_t status);

/* The status named `name` (exact, upper case) into *out. Returns 0, or -1
 * for NULL or any other text (*out unchanged). */
int exec_status_parse(const char *name, exec_status_t *out);

/* "RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED", for error messages. */
#define EXEC_STATUS_ALL "RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED"

#endif
