/* sagactl: the command-line client of sagad (SPEC §7). */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fprintf(argc < 2 ? stderr : stdout, "usage: sagactl COMMAND [ARGS]\n");
        return argc < 2 ? 2 : 0;
    }
    fprintf(stderr, "sagactl: unknown command '%s' (see sagactl --help)\n", argv[1]);
    return 2;
}
