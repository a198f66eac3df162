/* sagactl `activities` (list them with their queues and workers) and
 * `activities create NAME`. */
#ifndef SAGAD_CLI_CMD_ACTIVITIES_H
#define SAGAD_CLI_CMD_ACTIVITIES_H

#include "cli/cli.h"

/* Takes the arguments after "activities" and returns the exit code. */
int cmd_activities(cli_t *cli, int argc, char **argv);

#endif
