/* What each state type does when entered: Task and Parallel/Map requests,
 * Pass, Choice, Wait, Succeed, Fail. */
#include "exec_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the states ----------------------------------------------------------- */

/* Appends the decimal digits of v at p; returns the end. */
static char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* "<instance or execution id>:<state>:<seq>:<attempt>" (no printf: once per
 * Task), or for callback and activity Tasks 48 hex characters of secure64. */
void asl_exec_task_token(run_t *r, char **out)
{
    const asl_exec_info_t *in = r->info;
    const char *id = in && in->instance_id ? in->instance_id
                     : in && in->execution_id ? in->execution_id : "";
    const asl_state_t *s = cur(r);
    const char *name = s->name;
    if (r->env && r->env->secure64 && asl_task_kind(s->handler, NULL, NULL) != ASL_TASK_LOCAL) {
        *out = asl_task_token_new(r->env->secure64, r->env->random_ud);
        return;
    }
    size_t li = strlen(id), ln = strlen(name);
    char *p = malloc(li + ln + 2 * 21 + 3);
    *out = p;
    if (!p)
        return;
    memcpy(p, id, li);
    p += li;
    *p++ = ':';
    memcpy(p, name, ln);
    p += ln;
    *p++ = ':';
    p = put_u64(p, r->seq);
    *p++ = ':';
    p = put_u64(p, r->retries);
    *p = '\0';
}

/* Task: build the request and stop with RUN_TASK. */
int asl_exec_run_task(run_t *r, int emit)
{
    const asl_state_t *s = cur(r);
    asl_step_t *st = r->step;
    char *token = NULL;
    asl_exec_task_token(r, &token);
    cJSON *ctx = s->uses_context ? asl_exec_build_context(r, token) : NULL;
    cJSON *eff = NULL;
    double timeout = 0, heartbeat = 0;
    char *text = NULL;
    size_t len = 0;
    int rc = asl_exec_effective_input(r, ctx, s->parameters, &eff);
    if (rc == 0 && s->timeout.set)
        rc = asl_exec_num_field(r, &s->timeout, r->input, ctx, "TimeoutSecondsPath", 1, 1,
                                &timeout);
    if (rc == 0 && s->heartbeat.set)
        rc = asl_exec_num_field(r, &s->heartbeat, r->input, ctx, "HeartbeatSecondsPath", 1, 1,
                                &heartbeat);
    if (rc == 0) {
        text = asl_exec_payload_text(r, emit ? eff : NULL, &len);
        rc = asl_exec_check_limit(r, eff, len, s->parameters ? SIZE_UNKNOWN : asl_exec_in_bound(r),
                                  "task input", NULL);
    }
    cJSON_Delete(ctx);
    if (rc != 0) {
        free(text);
        free(token);
        cJSON_Delete(eff);
        return R_ERR;
    }
    if (emit) {
        cJSON *d = asl_exec_event(r, "TaskScheduled");
        asl_exec_add_str(d, "resourceType", "sagad");
        asl_exec_add_str(d, "resource", s->handler);
        asl_exec_add_payload(r, d, "parameters", eff, text, NULL);
        if (timeout > 0)
            asl_exec_add_num(d, "timeoutInSeconds", timeout);
        if (heartbeat > 0)
            asl_exec_add_num(d, "heartbeatInSeconds", heartbeat);
        d = asl_exec_event(r, "TaskStarted");
        asl_exec_add_str(d, "resourceType", "sagad");
        asl_exec_add_str(d, "resource", s->handler);
    }
    st->kind = ASL_STEP_RUN_TASK;
    st->resource = s->resource;
    st->handler = s->handler;
    st->task_input = eff;
    st->timeout_ms = (int64_t)timeout * 1000;
    st->heartbeat_ms = (int64_t)heartbeat * 1000;
    st->attempt = r->retries;
    st->task_token = token;
    asl_exec_make_cursor(r, PH_TASK);
    return R_STOP;
}

/* Parallel and Map: build the children and stop with RUN_CHILDREN. */
int asl_exec_run_children(run_t *r, int emit)
{
    const asl_state_t *s = cur(r);
    asl_step_t *st = r->step;
    int is_map = s->type == ASL_STATE_MAP;
    cJSON *ctx = s->uses_context || is_map ? asl_exec_build_context(r, NULL) : NULL;
    const cJSON *eff = NULL;    /* borrowed from r->input or ctx, or eff_owned */
    cJSON *eff_owned = NULL;
    cJSON *items_owned = NULL;
    const cJSON *items = NULL;
    double maxc = 0, tcount = -1, tpct = -1;
    r->tolerated = -1;
    if (asl_exec_effective_view(r, ctx, is_map ? NULL : s->parameters, &eff, &eff_owned) != 0)
        goto err;
    if (is_map) {
        if (s->items_path) {
            if (asl_path_eval(s->items_path, eff, ctx, &items_owned, &r->err) != 0)
                goto err;
            items = items_owned;
        } else {
            items = eff;
        }
        if (!cJSON_IsArray(items)) {
            asl_error_set(&r->err, ASL_E_RUNTIME,
                          "Map state '%s': the items (ItemsPath '%s') must be an array, not %s",
                          s->name, s->items_path ? asl_path_text(s->items_path) : "$",
                          cJSON_IsObject(items) ? "an object" : "a scalar");
            goto err;
        }
        if (s->max_concurrency.set &&
            asl_exec_num_field(r, &s->max_concurrency, eff, ctx, "MaxConcurrencyPath", 0, 1,
                               &maxc) != 0)
            goto err;
        if (s->tolerated_count.set &&
            asl_exec_num_field(r, &s->tolerated_count, eff, ctx, "ToleratedFailureCountPath", 0, 1,
                               &tcount) != 0)
            goto err;
        if (s->tolerated_pct.set &&
            asl_exec_num_field(r, &s->tolerated_pct, eff, ctx, "ToleratedFailurePercentagePath", 0,
                               0, &tpct) != 0)
            goto err;
        if (tpct > 100)
            tpct = 100;
    }
    size_t n = is_map ? (size_t)cJSON_GetArraySize(items) : s->n_branches;
    if (is_map && (tcount >= 0 || tpct >= 0)) {
        double t = 1e18;
        if (tcount >= 0)
            t = tcount;
        if (tpct >= 0 && floor(tpct * (double)n / 100.0) < t)
            t = floor(tpct * (double)n / 100.0);
        r->tolerated = t > (double)n ? (long)n : (long)t;
    }
    st->children = n ? calloc(n, sizeof *st->children) : NULL;
    if (n && !st->children) {
        asl_error_set(&r->err, ASL_E_RUNTIME, "out of memory");
        goto err;
    }
    const cJSON *item = is_map ? items->child : NULL;
    cJSON *mi = NULL;
    if (is_map && s->item_selector) {
        cJSON *mp = cJSON_AddObjectToObject(ctx, "Map");
        mi = cJSON_AddObjectToObject(mp, "Item");
    }
    for (size_t i = 0; i < n; i++) {
        asl_child_t *c = &st->children[i];
        c->kind = is_map ? ASL_CHILD_ITERATION : ASL_CHILD_BRANCH;
        c->machine = s->branches[is_map ? 0 : i];
        c->parent_state = s->name;
        c->index = i;
        if (is_map && s->item_selector) {
            cJSON_DeleteItemFromObjectCaseSensitive(mi, "Index");
            cJSON_DeleteItemFromObjectCaseSensitive(mi, "Value");
            cJSON_AddNumberToObject(mi, "Index", (double)i);
            asl_exec_add_ref(mi, "Value", item);
            asl_eval_env_t ee = asl_exec_eval_env(r, ctx);
            if (asl_template_eval(s->item_selector, eff, &ee, &c->input, &r->err) != 0) {
                st->n_children = i + 1;
                goto err;
            }
        } else {
            c->input = cJSON_Duplicate(is_map ? item : eff, 1);
        }
        st->n_children = i + 1;
        if (item)
            item = item->next;
    }
    cJSON_Delete(ctx);
    ctx = NULL;
    cJSON_Delete(items_owned);
    items_owned = NULL;
    cJSON_Delete(eff_owned);
    eff_owned = NULL;
    if (emit) {
        if (is_map) {
            cJSON *d = asl_exec_event(r, "MapStateStarted");
            asl_exec_add_num(d, "length", (double)n);
        } else {
            asl_exec_event(r, "ParallelStateStarted");
        }
    }
    st->kind = ASL_STEP_RUN_CHILDREN;
    st->max_concurrency = (uint32_t)maxc;
    st->tolerated_failures = r->tolerated >= 0 ? (size_t)r->tolerated : 0;
    asl_exec_make_cursor(r, PH_CHILDREN);
    return R_STOP;
err:
    for (size_t i = 0; i < st->n_children; i++)
        cJSON_Delete(st->children[i].input);
    free(st->children);
    st->children = NULL;
    st->n_children = 0;
    cJSON_Delete(ctx);
    cJSON_Delete(items_owned);
    cJSON_Delete(eff_owned);
    return R_ERR;
}

/* A string for Fail's Error/Cause from a literal, a path or an intrinsic. */
static int fail_field(run_t *r, const char *lit, const asl_path_t *p, const asl_intrinsic_t *fn,
                      const cJSON *ctx, const char *field, char **out)
{
    *out = NULL;
    if (lit) {
        *out = strdup(lit);
        return 0;
    }
    cJSON *v = NULL;
    if (p) {
        if (asl_path_eval(p, r->input, ctx, &v, &r->err) != 0)
            return -1;
    } else if (fn) {
        asl_eval_env_t ee = asl_exec_eval_env(r, ctx);
        if (asl_intrinsic_eval(fn, r->input, &ee, &v, &r->err) != 0)
            return -1;
    } else {
        return 0;
    }
    if (!cJSON_IsString(v)) {
        cJSON_Delete(v);
        return asl_error_set(&r->err, ASL_E_RUNTIME, "The %s of Fail state '%s' must be a string",
                             field, cur(r)->name);
    }
    *out = strdup(v->valuestring);
    cJSON_Delete(v);
    return 0;
}

/* Runs the current (just entered) state as far as it goes. */
int asl_exec_run_state(run_t *r)
{
    const asl_state_t *s = cur(r);
    cJSON *ctx = NULL, *eff = NULL, *out = NULL;
    switch (s->type) {
    case ASL_STATE_TASK:
        return asl_exec_run_task(r, 1);
    case ASL_STATE_PARALLEL:
    case ASL_STATE_MAP:
        return asl_exec_run_children(r, 1);
    case ASL_STATE_PASS: {
        ctx = s->uses_context ? asl_exec_build_context(r, NULL) : NULL;
        cJSON *result = NULL;
        size_t res_sz = SIZE_UNKNOWN, in_sz = r->in_size;
        if (s->result) {
            result = cJSON_Duplicate(s->result, 1);
        } else {
            const cJSON *view;
            cJSON *owned;
            if (asl_exec_input_view(r, ctx, &view, &owned) != 0)
                break;
            if (s->parameters) {
                asl_eval_env_t ee = asl_exec_eval_env(r, ctx);
                int prc = asl_template_eval(s->parameters, view, &ee, &result, &r->err);
                cJSON_Delete(owned);
                if (prc != 0)
                    break;
            } else if (owned) {
                result = owned;
            } else if (view == r->input && asl_exec_result_replaces(s)) {
                result = r->input;
                r->input = NULL;
                res_sz = in_sz;
            } else {
                result = cJSON_Duplicate(view, 1);
                res_sz = asl_exec_in_bound(r);
            }
        }
        cJSON *in = r->input;
        r->input = NULL;
        size_t bound = asl_exec_out_bound(r, s->result_path, s->result_path_null, in ? in_sz : 4,
                                          result, res_sz, 1);
        if (asl_exec_result_path(s->result_path, s->result_path_null, in, result, &out,
                                 &r->err) != 0)
            break;
        if (asl_exec_output_path(r, out, ctx, &out) != 0) {
            out = NULL;
            break;
        }
        size_t len = 0, size = 0;
        char *text = asl_exec_payload_text(r, out, &len);
        if (asl_exec_check_limit(r, out, len, bound, "state output", &size) != 0) {
            free(text);
            break;
        }
        asl_exec_state_event(r, "StateExited", "output", out, text, 0);
        cJSON_Delete(ctx);
        return asl_exec_transition(r, out, size);
    }
    case ASL_STATE_CHOICE: {
        ctx = s->uses_context ? asl_exec_build_context(r, NULL) : NULL;
        const cJSON *view;
        cJSON *owned;
        if (asl_exec_input_view(r, ctx, &view, &owned) != 0)
            break;
        eff = owned;
        asl_eval_env_t ee = asl_exec_eval_env(r, ctx);
        long next = -1;
        for (size_t k = 0; k < s->n_choices && next < 0; k++) {
            int m = asl_choice_eval(s->choices[k], view, &ee, &r->err);
            if (m < 0)
                goto done;
            if (m)
                next = (long)s->choice_next[k];
        }
        if (next < 0 && s->default_next)
            next = (long)s->default_index;
        if (next < 0) {
            asl_error_set(&r->err, ASL_E_NO_CHOICE_MATCHED,
                          "No choice rule of state '%s' matched and there is no Default", s->name);
            break;
        }
        eff = NULL;
        int pass;
        size_t bound = asl_exec_view_bound(r);
        if (asl_exec_view_output(r, view, owned, ctx, &out, &pass) != 0)
            break;
        asl_exec_state_event(r, "StateExited", "output", out, NULL, pass);
        cJSON_Delete(ctx);
        cJSON_Delete(r->input);
        r->input = out;
        r->in_size = bound;
        r->state = (size_t)next;
        return R_NEXT;
    }
    case ASL_STATE_WAIT: {
        ctx = s->uses_context ? asl_exec_build_context(r, NULL) : NULL;
        const cJSON *view;
        if (asl_exec_input_view(r, ctx, &view, &eff) != 0)
            break;
        int64_t wake = now_ms(r);
        if (s->seconds.set) {
            double secs = 0;
            if (asl_exec_num_field(r, &s->seconds, view, ctx, "SecondsPath", 0, 1, &secs) != 0)
                break;
            wake += (int64_t)secs * 1000;
        } else if (s->has_timestamp) {
            wake = s->timestamp_ms;
        } else if (s->timestamp_path) {
            const cJSON *v = NULL;
            asl_timestamp_t t;
            int got = asl_path_get(s->timestamp_path, view, ctx, &v);
            if (got != 1 || !cJSON_IsString(v) || !asl_timestamp_parse(v->valuestring, &t)) {
                asl_error_set(&r->err, ASL_E_RUNTIME,
                              "The TimestampPath '%s' of Wait state '%s' must select an RFC 3339 timestamp",
                              asl_path_text(s->timestamp_path), s->name);
                break;
            }
            wake = asl_timestamp_to_ms(&t);
        }
        cJSON_Delete(ctx);
        ctx = NULL;
        cJSON_Delete(eff);
        eff = NULL;
        if (wake > now_ms(r)) {
            r->wake_ms = wake;
            r->step->kind = ASL_STEP_WAIT;
            r->step->wake_at_ms = wake;
            asl_exec_make_cursor(r, PH_WAIT);
            return R_STOP;
        }
        return R_WAITED; /* nothing to wait for: finish at once */
    }
    case ASL_STATE_SUCCEED: {
        ctx = s->uses_context ? asl_exec_build_context(r, NULL) : NULL;
        const cJSON *view;
        cJSON *owned;
        if (asl_exec_input_view(r, ctx, &view, &owned) != 0)
            break;
        int pass;
        size_t bound = asl_exec_view_bound(r);
        if (asl_exec_view_output(r, view, owned, ctx, &out, &pass) != 0)
            break;
        asl_exec_state_event(r, "StateExited", "output", out, NULL, pass);
        cJSON_Delete(ctx);
        return asl_exec_transition(r, out, bound);
    }
    case ASL_STATE_FAIL: {
        ctx = s->uses_context ? asl_exec_build_context(r, NULL) : NULL;
        char *e = NULL, *c = NULL;
        if (fail_field(r, s->error, s->error_path, s->error_fn, ctx, "ErrorPath", &e) != 0 ||
            fail_field(r, s->cause, s->cause_path, s->cause_fn, ctx, "CausePath", &c) != 0) {
            free(e);
            free(c);
            break;
        }
        asl_error_clear(&r->err);
        r->err.error = e;
        r->err.cause = c;
        cJSON_Delete(ctx);
        return asl_exec_fail(r);
    }
    }
done:
    cJSON_Delete(ctx);
    cJSON_Delete(eff);
    cJSON_Delete(out);
    return R_ERR;
}

/* Wait finished (now or after the timer): output and go on. */
int asl_exec_finish_wait(run_t *r)
{
    const asl_state_t *s = cur(r);
    cJSON *ctx = s->uses_context ? asl_exec_build_context(r, NULL) : NULL;
    const cJSON *view;
    cJSON *owned, *out = NULL;
    int pass = 0;
    size_t bound = asl_exec_view_bound(r);
    int rc = asl_exec_input_view(r, ctx, &view, &owned);
    if (rc == 0)
        rc = asl_exec_view_output(r, view, owned, ctx, &out, &pass);
    cJSON_Delete(ctx);
    if (rc != 0)
        return R_ERR;
    asl_exec_state_event(r, "StateExited", "output", out, NULL, pass);
    return asl_exec_transition(r, out, bound);
}
