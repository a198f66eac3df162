/* sagactl: the command-line client of sagad. Parses the global
 * options that come before the command and hands the rest to the command. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_activities.h"
#include "cli/cmd_events.h"
#include "cli/cmd_exec.h"
#include "cli/cmd_graph.h"
#include "cli/cmd_machines.h"
#include "cli/cmd_reload.h"
#include "cli/cmd_start.h"
#include "cli/cmd_stock.h"
#include "cli/cmd_task.h"
#include "cli/cmd_validate.h"
#include "cli/cmd_worker.h"
#include "cli/out.h"
#include "core/version.h"

typedef struct command_s {
    const char *name;
    int (*run)(cli_t *cli, int argc, char **argv);
    const char *synopsis;
    const char *summary;
} command_t;

static const command_t COMMANDS[] = {
    {"status", cmd_status, "status EXECUTION-ID", "one execution: status, state, times, error, output"},
    {"list", cmd_list, "list [--status S] [--machine M] [--search P]", "executions, newest first (--limit, --cursor)"},
    {"history", cmd_history, "history EXECUTION-ID", "its event history, one line per event"},
    {"stop", cmd_stop, "stop EXECUTION-ID [--error E] [--cause C]", "stop a running execution"},
    {"redrive", cmd_redrive, "redrive EXECUTION-ID [--wait [S]]", "run a failed execution again from where it failed"},
    {"start", cmd_start, "start MACHINE[:ALIAS] [FILE|-] [--name N] [--wait [S]]", "start an execution (MACHINE:N: version N)"},
    {"order", cmd_order, "order [--item ID --quantity N ...] [--wait [S]]", "place an order"},
    {"stock", cmd_stock, "stock [ITEM] | stock set ITEM N", "read or set stock"},
    {"machines", cmd_machines, "machines", "the state machines and their newest versions"},
    {"versions", cmd_versions, "versions MACHINE", "every version of a state machine"},
    {"deploy", cmd_deploy, "deploy FILE [--name NAME]", "register a definition file as a new version"},
    {"delete", cmd_delete, "delete MACHINE [--force]", "delete a state machine (--force: while it runs)"},
    {"aliases", cmd_aliases, "aliases MACHINE", "the aliases of a state machine"},
    {"alias", cmd_alias, "alias MACHINE ALIAS VERSION", "point an alias at a version (start MACHINE:ALIAS)"},
    {"unalias", cmd_unalias, "unalias MACHINE ALIAS", "remove an alias"},
    {"reload", cmd_reload, "reload PID [--timeout S]", "SIGHUP sagad and wait until it has reloaded"},
    {"validate", cmd_validate, "validate FILE|DIR [--name NAME] | --sagas", "check ASL files offline as the daemon would"},
    {"graph", cmd_graph, "graph MACHINE [--execution ID]", "the machine as Graphviz DOT"},
    {"events", cmd_events, "events [--redis HOST:PORT] [--from ID] [--group G --consumer C]", "print events as they come"},
    {"activities", cmd_activities, "activities | activities create NAME", "activities, their queues and workers"},
    {"task", cmd_task, "task success|failure|heartbeat TOKEN ...", "report on a task that waits for its token"},
    {"worker", cmd_worker, "worker NAME [OPTIONS] -- COMMAND [ARGS...]", "serve an activity with a command"},
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: sagactl [--url URL] [--json] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-48s %s\n", COMMANDS[i].synopsis, COMMANDS[i].summary);
    fprintf(f, "\n"
               "global options (before or after the command):\n"
               "  --url URL       the daemon (default: --config's listen, else $SAGAD_URL,\n"
               "                  else " CLI_DEFAULT_URL ")\n"
               "  --config FILE   take defaults from a sagad.conf (listen, redis, events_*)\n"
               "  --token TOKEN   send it as a bearer token (default: $SAGAD_TOKEN)\n"
               "  --json          print the daemon's JSON unchanged\n"
               "  --no-color      no colour (also NO_COLOR=1); colour only on a terminal\n"
               "  --version       print sagactl's version\n"
               "\n"
               "`sagactl COMMAND --help` describes a command.\n"
               "exit status: 0 ok, 1 not found or the execution failed, 2 usage error,\n"
               "3 daemon unreachable\n");
}

static const command_t *find(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(COMMANDS[i].name, name) == 0)
            return &COMMANDS[i];
    return NULL;
}

int main(int argc, char **argv)
{
    cli_t cli = {0};
    /* A closed pipe (sagactl list | head) ends the output, not the process. */
    signal(SIGPIPE, SIG_IGN);
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("sagactl %s\n", SAGAD_VERSION);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            cli.json = 1;
        } else if (strcmp(a, "--no-color") == 0) {
            cli.no_color = 1;
        } else if ((strcmp(a, "--url") == 0 || strcmp(a, "--config") == 0 ||
                    strcmp(a, "--token") == 0) && i + 1 < argc) {
            if (a[2] == 'u')
                cli.url_arg = argv[++i];
            else if (a[2] == 't')
                cli.token_arg = argv[++i];
            else
                cli.config_path = argv[++i];
        } else if (strncmp(a, "--token=", 8) == 0) {
            cli.token_arg = a + 8;
        } else if (strncmp(a, "--url=", 6) == 0) {
            cli.url_arg = a + 6;
        } else if (strncmp(a, "--config=", 9) == 0) {
            cli.config_path = a + 9;
        } else if (strcmp(a, "--url") == 0 || strcmp(a, "--config") == 0 ||
                   strcmp(a, "--token") == 0) {
            fprintf(stderr, "sagactl: %s needs a value; see sagactl --help\n", a);
            return CLI_USAGE;
        } else {
            fprintf(stderr, "sagactl: unknown option '%s'; see sagactl --help\n", a);
            return CLI_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[i];
    if (strcmp(name, "help") == 0) {
        if (i + 1 >= argc) {
            usage(stdout);
            return 0;
        }
        const command_t *c = find(argv[i + 1]);
        if (!c) {
            fprintf(stderr, "sagactl: unknown command '%s'; see sagactl --help\n", argv[i + 1]);
            return CLI_USAGE;
        }
        char *help[] = {"--help", NULL};
        return c->run(&cli, 1, help);
    }
    const command_t *c = find(name);
    if (!c) {
        fprintf(stderr, "sagactl: unknown command '%s'; see sagactl --help\n", name);
        return CLI_USAGE;
    }
    int argc_cmd = argc - i - 1;
    char **argv_cmd = argv + i + 1;
    /* Options after the command may turn colour off; scan them first. */
    for (int k = 0; k < argc_cmd; k++)
        if (strcmp(argv_cmd[k], "--no-color") == 0)
            cli.no_color = 1;
        else if (strcmp(argv_cmd[k], "--") == 0)
            break;
    out_init(cli.no_color);
    return c->run(&cli, argc_cmd, argv_cmd);
}
