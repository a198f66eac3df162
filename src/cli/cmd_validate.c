/* `sagactl validate FILE`: compiles an ASL definition with the daemon's own
 * parser, offline, and lists every problem, one per line. */
#include "cli/cmd_validate.h"
#include "cli/out.h"
#include "asl/machine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_cmd_t VALIDATE = {
    "validate", "validate FILE",
    "Checks an ASL definition (FILE, or - for stdin) offline with the daemon's\n"
    "own parser. Prints \"FILE: OK (N states)\" and exits 0 when valid; else\n"
    "prints every problem as STATE.FIELD: message (nested states as\n"
    "Outer/Inner) and exits 1. Exit 2 when FILE cannot be read.\n"};

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
    char *pos[1];
    size_t np;
    int rc = cli_parse(cli, &VALIDATE, argc, argv, NULL, 0, pos, 1, 1, &np);
    if (rc >= 0)
        return rc;
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
    if (rc == 0 && asl_machine_lint(m, &probs) < 0) {
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
