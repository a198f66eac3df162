/* sagactl `reload PID`: SIGHUP that waits until sagad has reloaded. */
#ifndef SAGAD_CLI_CMD_RELOAD_H
#define SAGAD_CLI_CMD_RELOAD_H

#include "cli/cli.h"

/* Takes the arguments after "reload" and returns the exit code. */
int cmd_reload(cli_t *cli, int argc, char **argv);

#endif
