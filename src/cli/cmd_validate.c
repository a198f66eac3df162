/* `sagactl validate FILE`: checks an ASL definition offline as the daemon
 * checks one being registered (its parser, its handlers, handler_allow, the
 * whole-machine rules) and lists every problem, one per line. */
#include "cli/cmd_validate.h"
#include "cli/out.h"
#include "asl/machine.h"
#include "core/log.h"
#include "engine/machines.h"
#include "handlers/handlers.h"
#include "order/handlers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const cli_cmd_t VALIDATE = {
    "validate", "validate FILE|DIR [--name NAME] | validate --sagas",
    "Checks an ASL definition (FILE, or - for stdin) offline as the daemon\n"
    "checks one being registered as NAME (default: the file name without\n"
    ".asl.json): its own parser, the Resources against sagad's built-in\n"
    "handlers, handler_allow (from --config), and the whole-machine rules.\n"
    "Prints \"FILE: OK (N states)\" and exits 0 when valid; else prints every\n"
    "problem as STATE.FIELD: message (nested states as Outer/Inner) and exits\n"
    "1. Exit 2 when FILE cannot be read.\n"
    "\n"
    "A directory DIR is checked as sagad loads it: every DIR/NAME.asl.json as\n"
    "NAME, problems printed as FILE: STATE.FIELD: message, exit 1 when any\n"
    "file has one. --sagas checks --config's vendor_sagas_dir and sagas_dir\n"
    "so; the systemd unit\n"
    "runs it before `systemctl reload` signals sagad, so a bad file fails the\n"
    "reload.\n"};

static void print_problem(const asl_problem_t *p);

/* Prints a directory's file: "PATH: OK" or its problems. */
static void dir_file(const char *path, const asl_problems_t *probs, void *ud)
{
    (void)ud;
    if (!probs->count) {
        printf("%s: OK\n", path);
        return;
    }
    for (size_t i = 0; i < probs->count; i++) {
        printf("%s: ", path);
        print_problem(&probs->items[i]);
    }
}

/* Checks every NAME.asl.json of the n directories. */
static int validate_dirs(cli_t *cli, const char *const *dirs, int n)
{
    int bad = 0;
    for (int i = 0; i < n; i++) {
        int b = machines_check_dir(dirs[i], cli->cfg.handler_allow, dir_file, NULL);
        if (b < 0) {
            fprintf(stderr, "sagactl: cannot read %s: %s\n", dirs[i], strerror(errno));
            return CLI_USAGE;
        }
        if (b)
            fprintf(stderr, "%s: %d file%s with problems\n", dirs[i], b, b == 1 ? "" : "s");
        bad += b;
    }
    return cli_finish(bad ? CLI_FAIL : CLI_OK);
}

/* One problem per line: "STATE.FIELD: message" (top level: "FIELD: ..."). */
static void print_problem(const asl_problem_t *p)
{
    if (p->state && p->field)
        out_textf(stdout, OUT_TEXT_LINE, "%s.%s: %s", p->state, p->field, p->message);
    else if (p->state)
        out_textf(stdout, OUT_TEXT_LINE, "%s: %s", p->state, p->message);
    else if (p->field)
        out_textf(stdout, OUT_TEXT_LINE, "%s: %s", p->field, p->message);
    else
        out_textf(stdout, OUT_TEXT_LINE, "%s", p->message);
    putchar('\n');
}

int cmd_validate(cli_t *cli, int argc, char **argv)
{
    const char *name = NULL;
    int sagas = 0;
    const cli_opt_t opts[] = {{"--name", CLI_OPT_VALUE, &name, NULL},
                              {"--sagas", CLI_OPT_FLAG, NULL, &sagas}};
    char *pos[1];
    size_t np;
    int rc = cli_parse(cli, &VALIDATE, argc, argv, opts, 2, pos, 0, 1, &np);
    if (rc >= 0)
        return rc;
    if (np != (size_t)!sagas)
        return cli_usage_error(&VALIDATE, "give FILE, DIR or --sagas");
    if ((rc = cli_config(cli)) != 0)
        return rc;
    char derived[256];
    if (!name && !sagas) {
        cli_machine_name(strcmp(pos[0], "-") == 0 ? "stdin" : pos[0], derived, sizeof derived);
        name = derived;
    }
    /* The handlers the daemon has, quietly (registering logs the payment choice). */
    log_set_level(LOG_LEVEL_ERROR);
    if (handlers_register_builtin() < 0 || order_handlers_register(&cli->cfg) < 0) {
        cli_error("cannot register sagad's handlers");
        return CLI_FAIL;
    }
    struct stat sb;
    if (sagas) {
        /* vendor_sagas_dir (unless order_saga = off) and every sagas_dir. */
        static char buf[2 * CONFIG_DIRS_TEXT_MAX];
        const char *dirs[CONFIG_SAGAS_DIRS_MAX + 1];
        int n = config_sagas_dirs(&cli->cfg, buf, dirs);
        return validate_dirs(cli, dirs, n);
    }
    if (strcmp(pos[0], "-") != 0 && stat(pos[0], &sb) == 0 && S_ISDIR(sb.st_mode)) {
        const char *dir = pos[0];
        return validate_dirs(cli, &dir, 1);
    }
    size_t len = 0;
    char *text = cli_read_file(pos[0], &len);
    if (!text) {
        fprintf(stderr, "sagactl: cannot read %s: %s\n", pos[0], strerror(errno));
        return CLI_USAGE;
    }
    asl_problems_t probs;
    asl_problems_init(&probs);
    asl_machine_t *m = NULL;
    rc = asl_machine_compile_text(text, len, &m, &probs);
    free(text);
    if (rc == 0 && machines_check_new(m, name, cli->cfg.handler_allow, &probs) < 0) {
        asl_machine_free(m);
        m = NULL;
        rc = -1;
    }
    if (rc == 0) {
        printf("%s: OK (%zu states)\n", pos[0], asl_machine_state_count(m));
        asl_machine_free(m);
        asl_problems_free(&probs);
        return cli_finish(CLI_OK);
    }
    for (size_t i = 0; i < probs.count; i++)
        print_problem(&probs.items[i]);
    fprintf(stderr, "%s: %zu problem%s\n", pos[0], probs.count, probs.count == 1 ? "" : "s");
    asl_problems_free(&probs);
    return cli_finish(CLI_FAIL);
}
