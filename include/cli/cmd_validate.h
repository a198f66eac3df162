/* sagactl `validate FILE`: checks an ASL definition offline with the
 * daemon's own parser and lists every problem. */
#ifndef SAGAD_CLI_CMD_VALIDATE_H
#define SAGAD_CLI_CMD_VALIDATE_H

#include "cli/cli.h"

/* Takes the arguments after "validate": 0 valid, 1 problems, 2 usage. */
int cmd_validate(cli_t *cli, int argc, char **argv);

#endif
