/* sagactl `stock [ITEM]` and `stock set ITEM N`. */
#ifndef SAGAD_CLI_CMD_STOCK_H
#define SAGAD_CLI_CMD_STOCK_H

#include "cli/cli.h"

/* Takes the arguments after "stock" and returns the exit code. */
int cmd_stock(cli_t *cli, int argc, char **argv);

#endif
