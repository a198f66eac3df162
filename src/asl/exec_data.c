/* A state's data flow: InputPath, Parameters, ResultSelector, ResultPath,
 * OutputPath, numeric fields read from paths, and the payload size limit
 * with the bounds that often prove it without printing. */
#include "exec_internal.h"
#include "asl/json.h"

#include <math.h>
#include <string.h>

/* ---- data flow ---------------------------------------------------------- */

/* InputPath/OutputPath: returns a new value (null path: {}). */
static int select_path(const asl_path_t *p, int is_null, const cJSON *in, const cJSON *ctx,
                       cJSON **out, asl_error_t *err)
{
    if (is_null) {
        *out = cJSON_CreateObject();
        return 0;
    }
    if (!p || asl_path_is_root(p)) {
        if (p && asl_path_is_context(p))
            return asl_path_eval(p, in, ctx, out, err);
        *out = cJSON_Duplicate(in, 1);
        return 0;
    }
    return asl_path_eval(p, in, ctx, out, err);
}

/* Moves `v` out through OutputPath (v consumed). */
int asl_exec_output_path(run_t *r, cJSON *v, const cJSON *ctx, cJSON **out)
{
    const asl_state_t *s = cur(r);
    if (!s->output_path_null && (!s->output_path ||
                                 (asl_path_is_root(s->output_path) &&
                                  !asl_path_is_context(s->output_path)))) {
        *out = v;
        return 0;
    }
    /* v is ours: move the selection out of it rather than copy it */
    cJSON *t = s->output_path_null ? NULL : asl_path_take(s->output_path, v);
    if (t) {
        cJSON_Delete(v);
        *out = t;
        return 0;
    }
    int rc = select_path(s->output_path, s->output_path_null, v, ctx, out, &r->err);
    cJSON_Delete(v);
    return rc;
}

/* ResultPath: combines the raw input (consumed) with the result (consumed). */
int asl_exec_result_path(const asl_path_t *p, int is_null, cJSON *in, cJSON *result,
                         cJSON **out, asl_error_t *err)
{
    if (is_null) {
        cJSON_Delete(result);
        *out = in;
        return 0;
    }
    if (!p || asl_path_is_root(p)) {
        cJSON_Delete(in);
        *out = result ? result : cJSON_CreateNull();
        return 0;
    }
    if (!result)
        result = cJSON_CreateNull();
    if (asl_path_set(p, &in, result, err) != 0) {
        cJSON_Delete(in);
        return -1;
    }
    *out = in;
    return 0;
}

/* InputPath without copying when possible: *view points into r->input or
 * is *owned (which the caller frees). */
int asl_exec_input_view(run_t *r, const cJSON *ctx, const cJSON **view, cJSON **owned)
{
    const asl_state_t *s = cur(r);
    *owned = NULL;
    if (s->input_path_null) {
        *owned = cJSON_CreateObject();
        *view = *owned;
        return 0;
    }
    if (!s->input_path || (asl_path_is_root(s->input_path) &&
                           !asl_path_is_context(s->input_path))) {
        *view = r->input;
        return 0;
    }
    if (asl_path_get(s->input_path, r->input, ctx, view) == 1)
        return 0;
    if (asl_path_eval(s->input_path, r->input, ctx, owned, &r->err) != 0)
        return -1;
    *view = *owned;
    return 0;
}

/* Effective input: InputPath then Parameters (template), like input_view:
 * *view is borrowed from r->input or the context, or is *owned. */
int asl_exec_effective_view(run_t *r, const cJSON *ctx, const asl_template_t *params,
                            const cJSON **view, cJSON **owned)
{
    if (asl_exec_input_view(r, ctx, view, owned) != 0)
        return -1;
    if (params) {
        asl_eval_env_t ee = asl_exec_eval_env(r, ctx);
        cJSON *p = NULL;
        int rc = asl_template_eval(params, *view, &ee, &p, &r->err);
        cJSON_Delete(*owned);
        *owned = NULL;
        if (rc != 0)
            return -1;
        *view = *owned = p;
    }
    return 0;
}

/* The same as a new value (the caller frees it). */
int asl_exec_effective_input(run_t *r, const cJSON *ctx, const asl_template_t *params, cJSON **out)
{
    const cJSON *view;
    cJSON *owned;
    if (asl_exec_effective_view(r, ctx, params, &view, &owned) != 0)
        return -1;
    *out = owned ? owned : cJSON_Duplicate(view, 1);
    return 0;
}

/* OutputPath of a view (Choice, Wait, Succeed): takes *owned or r->input
 * instead of copying when the whole value passes. */
int asl_exec_view_output(run_t *r, const cJSON *view, cJSON *owned, const cJSON *ctx, cJSON **out,
                         int *pass)
{
    const asl_state_t *s = cur(r);
    *pass = 0;
    if (!s->output_path_null && (!s->output_path || (asl_path_is_root(s->output_path) &&
                                                     !asl_path_is_context(s->output_path)))) {
        if (owned) {
            *out = owned;
        } else if (view == r->input) {
            *out = r->input;    /* the input itself passes through */
            r->input = NULL;
            *pass = 1;
        } else {
            *out = cJSON_Duplicate(view, 1);
        }
        return 0;
    }
    int rc = select_path(s->output_path, s->output_path_null, view, ctx, out, &r->err);
    cJSON_Delete(owned);
    return rc;
}

/* ResultPath replaces the whole input ("$", the default). */
int asl_exec_result_replaces(const asl_state_t *s)
{
    return !s->result_path_null && (!s->result_path || asl_path_is_root(s->result_path));
}

/* A number from a literal or a reference path into `in`. */
int asl_exec_num_field(run_t *r, const asl_num_field_t *f, const cJSON *in, const cJSON *ctx,
                       const char *field, double min, int integer, double *out)
{
    if (!f->path) {
        *out = f->value;
        return 0;
    }
    const cJSON *v = NULL;
    int got = asl_path_get(f->path, in, ctx, &v);
    if (got == 0)
        return asl_error_set(&r->err, ASL_E_RUNTIME, "The %s '%s' could not be found in the input",
                             field, asl_path_text(f->path));
    if (got < 0 || !cJSON_IsNumber(v) || (integer && v->valuedouble != floor(v->valuedouble)) ||
        v->valuedouble < min || v->valuedouble > 99999999.0)
        return asl_error_set(&r->err, ASL_E_RUNTIME, "The %s '%s' must select %s >= %.0f",
                             field, asl_path_text(f->path), integer ? "an integer" : "a number", min);
    *out = v->valuedouble;
    return 0;
}

/* The payload limit on v, whose printed size is `known` bytes if it was
 * printed already, else SIZE_UNKNOWN; `bound` is SIZE_UNKNOWN or an upper
 * bound of that size. Without a bound under the limit, v is measured. On
 * success *size (if not NULL) is an upper bound of v's size, exact when
 * known or measured. */
int asl_exec_check_limit(run_t *r, const cJSON *v, size_t known, size_t bound, const char *what,
                         size_t *size)
{
    size_t n = known;
    if (n == SIZE_UNKNOWN)
        n = bound <= ASL_PAYLOAD_LIMIT ? bound : asl_json_size(v, ASL_PAYLOAD_LIMIT);
    if (size)
        *size = n;
    return asl_json_check_size(n, what, &r->err);
}

/* a + b, SIZE_UNKNOWN when either is (or on overflow). */
static size_t add_size(size_t a, size_t b)
{
    return a == SIZE_UNKNOWN || b == SIZE_UNKNOWN || b > SIZE_UNKNOWN - 1 - a ? SIZE_UNKNOWN
                                                                            : a + b;
}

/* An upper bound of what asl_path_set(p, &doc, v) adds to doc besides v's
 * own size (when it succeeds; doc not NULL). It replaces an existing node
 * (no growth beyond v) or adds a member to an object and creates the
 * missing objects on the way: per segment at most '{' '}' ':' ',' and the
 * key, whose escaped size is 2 quotes + at most 6 bytes per key byte. Each
 * key byte stems from at least one byte of the path's text, and each
 * segment takes at least one, so 12 bytes per byte of text bound it. Array
 * elements are only ever replaced, never padded. */
static size_t set_overhead(const asl_path_t *p)
{
    return 12 * strlen(asl_path_text(p)) + 2;
}

/* An upper bound of the size of what asl_exec_result_path(p, is_null, ...) makes of
 * an input of size `in_sz` at most and `result` (NULL: null) of size
 * `res_sz` at most (either may be SIZE_UNKNOWN; the result is then measured
 * if that can help), followed by the state's OutputPath when `output`.
 * OutputPath: null makes {}; a definite "$" path selects one node, whose
 * text is part of the whole text; a context path or an indefinite one (an
 * array of matches, possibly overlapping) is not bounded. */
size_t asl_exec_out_bound(const run_t *r, const asl_path_t *p, int is_null, size_t in_sz,
                          const cJSON *result, size_t res_sz, int output)
{
    const asl_state_t *s = cur(r);
    if (output && s->output_path_null)
        return 2;
    if (output && s->output_path && (!asl_path_is_definite(s->output_path) ||
                                     asl_path_is_context(s->output_path)))
        return SIZE_UNKNOWN;
    if (is_null)
        return in_sz;
    int replaces = !p || asl_path_is_root(p);
    if (!replaces && in_sz == SIZE_UNKNOWN)
        return SIZE_UNKNOWN;
    if (res_sz == SIZE_UNKNOWN)
        res_sz = result ? asl_json_size(result, ASL_PAYLOAD_LIMIT) : 4;
    if (res_sz > ASL_PAYLOAD_LIMIT)
        return SIZE_UNKNOWN;
    return replaces ? res_sz : add_size(add_size(in_sz, res_sz), set_overhead(p));
}

/* An upper bound of the size of the state's InputPath view of r->input
 * (the same rules as OutputPath in out_bound). */
size_t asl_exec_in_bound(const run_t *r)
{
    const asl_state_t *s = cur(r);
    if (s->input_path_null)
        return 2;
    if (!s->input_path || (asl_path_is_definite(s->input_path) &&
                           !asl_path_is_context(s->input_path)))
        return r->in_size;
    return SIZE_UNKNOWN;
}

/* An upper bound of view_output's output: InputPath, then OutputPath. */
size_t asl_exec_view_bound(const run_t *r)
{
    return asl_exec_out_bound(r, NULL, 1, asl_exec_in_bound(r), NULL, 0, 1);
}
