/* sagactl's commands on executions: `status`, `list`, `history`, `stop`,
 * and the human view of one execution that `start --wait` reuses. */
#ifndef SAGAD_CLI_CMD_EXEC_H
#define SAGAD_CLI_CMD_EXEC_H

#include <cJSON.h>

#include "cli/cli.h"

/* Each takes the arguments after the command name and returns the exit code. */
int cmd_status(cli_t *cli, int argc, char **argv);
int cmd_list(cli_t *cli, int argc, char **argv);
int cmd_history(cli_t *cli, int argc, char **argv);
int cmd_stop(cli_t *cli, int argc, char **argv);

/* Prints an execution description (GET /executions/{id}) for people:
 * id, machine, status, state, times, duration, error, cause, output. */
void cmd_exec_print(const cJSON *desc);

/* 1 if `status` is FAILED, TIMED_OUT or ABORTED. */
int cmd_exec_failed(const char *status);

#endif
