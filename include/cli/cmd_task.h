/* sagactl `task success|failure|heartbeat TOKEN`: report the outcome of a
 * task that waits for its token (an activity task or a .waitForTaskToken). */
#ifndef SAGAD_CLI_CMD_TASK_H
#define SAGAD_CLI_CMD_TASK_H

#include "cli/cli.h"

/* What a report says about a task. */
typedef enum {
    CMD_TASK_SUCCESS = 0,     /* POST /tasks/success */
    CMD_TASK_FAILURE,         /* POST /tasks/failure */
    CMD_TASK_HEARTBEAT        /* POST /tasks/heartbeat */
} cmd_task_kind_t;

/* Takes the arguments after "task" and returns the exit code. */
int cmd_task(cli_t *cli, int argc, char **argv);

/* The path of the report ("/tasks/success", ...). Static storage. */
const char *cmd_task_path(cmd_task_kind_t kind);

/* The JSON body of a report on task `token` (borrowed). SUCCESS: `output`
 * (borrowed, `output_len` bytes) is JSON text the caller has checked, put in
 * unchanged; NULL means null. FAILURE: `error` and `cause` (borrowed, either
 * may be NULL = left out). Caller frees; NULL when out of memory. */
char *cmd_task_body(cmd_task_kind_t kind, const char *token, const char *output,
                    size_t output_len, const char *error, const char *cause);

#endif
