/* sagactl's commands that start executions: `start` (any machine, input
 * from a file or stdin), `order` (the order saga from flags) and `redrive`
 * (an ended execution again from the state it ended in), each with --wait. */
#ifndef SAGAD_CLI_CMD_START_H
#define SAGAD_CLI_CMD_START_H

#include "cli/cli.h"

/* Each takes the arguments after the command name and returns the exit code. */
int cmd_start(cli_t *cli, int argc, char **argv);
int cmd_order(cli_t *cli, int argc, char **argv);
int cmd_redrive(cli_t *cli, int argc, char **argv);

#endif
