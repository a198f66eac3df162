/* sagactl `worker NAME -- COMMAND [ARGS...]`: serves activity NAME by running
 * COMMAND once per task (input on stdin, output from stdout). */
#ifndef SAGAD_CLI_CMD_WORKER_H
#define SAGAD_CLI_CMD_WORKER_H

#include "cli/cli.h"

/* Takes the arguments after "worker" and returns the exit code. */
int cmd_worker(cli_t *cli, int argc, char **argv);

#endif
