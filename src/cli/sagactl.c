/* sagactl: the command-line client of sagad (SPEC §7). For now: `validate`,
 * which checks an ASL file offline with the daemon's own parser. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl/machine.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: sagactl COMMAND [ARGS]\n"
               "\n"
               "commands:\n"
               "  validate FILE    check an ASL definition (FILE or - for stdin); lists every problem\n");
}

/* Reads a whole file (or stdin for "-"). Caller frees. NULL with errno set. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) {
            if (ferror(f)) {
                free(buf);
                buf = NULL;
                errno = EIO;
            }
            break;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (f != stdin)
        fclose(f);
    *len = n;
    return buf;
}

/* One problem per line: "STATE.FIELD: message" (top level: "FIELD: ..."). */
static void print_problem(const asl_problem_t *p)
{
    if (p->state && p->field)
        printf("%s.%s: %s\n", p->state, p->field, p->message);
    else if (p->state)
        printf("%s: %s\n", p->state, p->message);
    else if (p->field)
        printf("%s: %s\n", p->field, p->message);
    else
        printf("%s\n", p->message);
}

static int cmd_validate(int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: sagactl validate FILE\n");
        return 2;
    }
    size_t len = 0;
    char *text = read_all(argv[0], &len);
    if (!text) {
        fprintf(stderr, "sagactl: cannot read %s: %s\n", argv[0], strerror(errno));
        return 2;
    }
    asl_problems_t probs;
    asl_problems_init(&probs);
    asl_machine_t *m = NULL;
    int rc = asl_machine_compile_text(text, len, &m, &probs);
    free(text);
    if (rc == 0) {
        printf("%s: OK (%zu states)\n", argv[0], asl_machine_state_count(m));
        asl_machine_free(m);
        asl_problems_free(&probs);
        return 0;
    }
    for (size_t i = 0; i < probs.count; i++)
        print_problem(&probs.items[i]);
    fprintf(stderr, "%s: %zu problem%s\n", argv[0], probs.count, probs.count == 1 ? "" : "s");
    asl_problems_free(&probs);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "validate") == 0)
        return cmd_validate(argc - 2, argv + 2);
    fprintf(stderr, "sagactl: unknown command '%s' (see sagactl --help)\n", argv[1]);
    return 2;
}
