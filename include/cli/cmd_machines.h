/* sagactl's commands on state machines: `machines` (the list), `versions`
 * (every version of one) and `deploy` (register a definition file). */
#ifndef SAGAD_CLI_CMD_MACHINES_H
#define SAGAD_CLI_CMD_MACHINES_H

#include "cli/cli.h"

/* Each takes the arguments after the command name and returns the exit code. */
int cmd_machines(cli_t *cli, int argc, char **argv);
int cmd_versions(cli_t *cli, int argc, char **argv);
int cmd_deploy(cli_t *cli, int argc, char **argv);

#endif
