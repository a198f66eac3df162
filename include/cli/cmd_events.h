/* sagactl `events`: subscribes to the daemon's Redis channel and prints
 * each event as it comes, until Ctrl-C. */
#ifndef SAGAD_CLI_CMD_EVENTS_H
#define SAGAD_CLI_CMD_EVENTS_H

#include "cli/cli.h"

/* Takes the arguments after "events" and returns the exit code (0 on SIGINT). */
int cmd_events(cli_t *cli, int argc, char **argv);

#endif
