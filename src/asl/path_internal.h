/* Private to the files of the asl/path module (src/asl/path*.c): the
 * compiled path's segments and filter expressions, the parser state, and
 * the functions the files share. The public face is include/asl/path.h. */
#ifndef SAGAD_ASL_PATH_INTERNAL_H
#define SAGAD_ASL_PATH_INTERNAL_H

#include "asl/path.h"

#include <stdbool.h>
#include <stddef.h>
#include <cJSON.h>

typedef enum {
    SEG_FIELD,
    SEG_INDEX,
    SEG_WILD,
    SEG_SLICE,
    SEG_UNION,
    SEG_FILTER
} seg_kind_t;

/* Bound on nested filters, parentheses and '!' (keeps recursion shallow). */
#define MAX_FILTER_DEPTH 32

typedef enum { FX_OR, FX_AND, FX_NOT, FX_EXISTS, FX_CMP } fx_kind_t;
typedef enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE } fx_op_t;

typedef struct operand_s {
    asl_path_t *path;  /* "@..." (relative) or "$..." path, or NULL for a literal */
    cJSON *lit;
} operand_t;

typedef struct fexpr_s fexpr_t;
struct fexpr_s {
    fx_kind_t kind;
    fx_op_t op;
    fexpr_t *a, *b;
    operand_t l, r;
};

typedef struct seg_s {
    seg_kind_t kind;
    bool deep;
    char *name;
    long index;
    long *idx;
    size_t nidx;
    bool has_from, has_to;
    long from, to;
    fexpr_t *filter;
} seg_t;

struct asl_path_s {
    char *text;
    bool context;   /* "$$" */
    bool relative;  /* "@" (only inside filters) */
    bool definite;
    size_t first_indef;  /* index of the first indefinite segment, nseg if none */
    seg_t *segs;
    size_t nseg;
};

typedef struct parser_s {
    const char *s;
    size_t pos;
    bool in_filter;  /* names stop at operators and blanks */
    int depth;       /* filter nesting, bounded to keep recursion shallow */
    char *msg;
    size_t msglen;
    bool failed;
} parser_t;

/* path.c */
void asl_path_fail(parser_t *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void asl_path_fexpr_free(fexpr_t *f);
char asl_path_peek(const parser_t *ps);
void asl_path_skip_ws(parser_t *ps);
char *asl_path_parse_quoted(parser_t *ps);
int asl_path_parse_path_into(parser_t *ps, asl_path_t *p);

/* path_filter.c */
fexpr_t *asl_path_parse_or(parser_t *ps);

/* path_eval.c */
const cJSON *asl_path_array_at(const cJSON *arr, long i);

#endif
