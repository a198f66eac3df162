/* sagactl `graph MACHINE [--execution ID]`: the state machine as Graphviz
 * DOT, with the states an execution passed through filled in. */
#ifndef SAGAD_CLI_CMD_GRAPH_H
#define SAGAD_CLI_CMD_GRAPH_H

#include "cli/cli.h"

/* Takes the arguments after "graph" and returns the exit code. */
int cmd_graph(cli_t *cli, int argc, char **argv);

#endif
