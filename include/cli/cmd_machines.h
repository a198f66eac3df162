/* sagactl's commands on state machines: `machines` (the list), `versions`
 * (every version of one), `deploy` (register a definition file), `delete`,
 * and `aliases`, `alias`, `unalias` (names for versions). */
#ifndef SAGAD_CLI_CMD_MACHINES_H
#define SAGAD_CLI_CMD_MACHINES_H

#include "cli/cli.h"

/* Each takes the arguments after the command name and returns the exit code. */
int cmd_machines(cli_t *cli, int argc, char **argv);
int cmd_versions(cli_t *cli, int argc, char **argv);
int cmd_deploy(cli_t *cli, int argc, char **argv);
int cmd_delete(cli_t *cli, int argc, char **argv);
int cmd_aliases(cli_t *cli, int argc, char **argv);
int cmd_alias(cli_t *cli, int argc, char **argv);
int cmd_unalias(cli_t *cli, int argc, char **argv);

#endif
