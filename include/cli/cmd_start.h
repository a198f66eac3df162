/* sagactl's commands that start executions: `start` (any machine, input
 * from a file or stdin) and `order` (the order saga from flags), each with
 * --wait. */
#ifndef SAGAD_CLI_CMD_START_H
#define SAGAD_CLI_CMD_START_H

#include "cli/cli.h"

/* Each takes the arguments after the command name and returns the exit code. */
int cmd_start(cli_t *cli, int argc, char **argv);
int cmd_order(cli_t *cli, int argc, char **argv);

#endif
