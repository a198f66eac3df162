/* Replay logs (engine/replay.h): recording what the pure engine consumes in a
 * frame advance, and running it again to rebuild the events. It is exact
 * because the engine does no I/O and reads no clock or randomness of its own. */
#include "engine/replay.h"
#include "asl/json.h"
#include "core/rand.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int replay_log_begin(replay_log_t *lg, int64_t now_ms)
{
    memset(lg, 0, sizeof *lg);
    lg->log = cJSON_CreateObject();
    lg->steps = lg->log ? cJSON_AddArrayToObject(lg->log, "steps") : NULL;
    if (!lg->steps || !cJSON_AddNumberToObject(lg->log, "now", (double)now_ms)) {
        cJSON_Delete(lg->log);
        memset(lg, 0, sizeof *lg);
        return -1;
    }
    return 0;
}

static uint64_t record_draw(replay_log_t *lg, uint64_t v)
{
    char num[24];
    /* As text: a double would round 64-bit draws. */
    snprintf(num, sizeof num, "%" PRIu64, v);
    if (!lg->rnd)
        lg->rnd = cJSON_AddArrayToObject(lg->log, "rnd");
    cJSON_AddItemToArray(lg->rnd, cJSON_CreateString(num));
    return v;
}

uint64_t replay_log_rand(void *ud)
{
    return record_draw(ud, rand_u64_ud(NULL));
}

uint64_t replay_log_secure(void *ud)
{
    replay_log_t *lg = ud;
    /* Marks the log: its replay must draw tokens the same way. */
    if (!lg->secure && cJSON_AddTrueToObject(lg->log, "tk"))
        lg->secure = 1;
    return record_draw(lg, rand_secure_u64(NULL));
}

/* {key: v printed once, as a raw item}; v NULL is JSON null. */
static cJSON *raw_member(const char *key, const cJSON *v)
{
    cJSON *raw = v ? asl_json_raw(asl_json_print(v)) : cJSON_CreateRaw("null");
    cJSON *o = raw ? cJSON_CreateObject() : NULL;
    if (!o) {
        cJSON_Delete(raw);
        return NULL;
    }
    cJSON_AddItemToObject(o, key, raw);
    return o;
}

int replay_log_note(replay_log_t *lg, asl_outcome_t *oc)
{
    cJSON *item = NULL;
    if (!oc) {
        item = cJSON_CreateString("s");
    } else {
        switch (oc->kind) {
        case ASL_OUTCOME_TASK_SUCCEEDED:
            item = raw_member("r", oc->result);
            if (item && oc->result)
                oc->result_size = strlen(item->child->valuestring);
            break;
        case ASL_OUTCOME_TASK_FAILED:
            item = cJSON_CreateObject();
            if (item && oc->error)
                cJSON_AddStringToObject(item, "e", oc->error);
            if (item && oc->cause)
                cJSON_AddStringToObject(item, "c", oc->cause);
            break;
        case ASL_OUTCOME_CHILDREN:
            item = raw_member("k", oc->children);
            break;
        case ASL_OUTCOME_TIMER:
            item = cJSON_CreateString("t");
            break;
        default:
            item = cJSON_CreateString("n");
            break;
        }
    }
    if (!item)
        return -1;
    cJSON_AddItemToArray(lg->steps, item);
    return 0;
}

char *replay_log_finish(replay_log_t *lg)
{
    char *text = lg->log ? asl_json_print(lg->log) : NULL;
    replay_log_discard(lg);
    return text;
}

void replay_log_discard(replay_log_t *lg)
{
    cJSON_Delete(lg->log);
    memset(lg, 0, sizeof *lg);
}

void replay_info_init(asl_exec_info_t *info, const char *id, const char *name,
                      const cJSON *input, int64_t start_ms, const char *machine_name)
{
    memset(info, 0, sizeof *info);
    info->execution_id = id;
    info->execution_name = name;
    info->execution_input = input;
    info->start_time_ms = start_ms;
    info->state_machine_id = machine_name;
    info->state_machine_name = machine_name;
    info->instance_id = id;
}

struct replay_s {
    const asl_machine_t *machine;
    cJSON *input;
    char *id, *name, *machine_name;
    asl_exec_info_t info;
    cJSON *cursor;
    const cJSON *rnd;   /* the next recorded random draw */
    int broken;
};

replay_t *replay_new(const asl_machine_t *machine, const char *machine_name, const char *id,
                     const char *name, cJSON *input, int64_t start_ms)
{
    replay_t *rp = calloc(1, sizeof *rp);
    if (!rp)
        return NULL;
    rp->machine = machine;
    rp->id = strdup(id);
    rp->name = strdup(name ? name : id);
    rp->machine_name = strdup(machine_name);
    if (!rp->id || !rp->name || !rp->machine_name) {
        free(rp->id);
        free(rp->name);
        free(rp->machine_name);
        free(rp);
        return NULL;
    }
    rp->input = input;
    replay_info_init(&rp->info, rp->id, rp->name, rp->input, start_ms, rp->machine_name);
    return rp;
}

void replay_free(replay_t *rp)
{
    if (!rp)
        return;
    cJSON_Delete(rp->input);
    cJSON_Delete(rp->cursor);
    free(rp->id);
    free(rp->name);
    free(rp->machine_name);
    free(rp);
}

static uint64_t replay_rand(void *ud)
{
    replay_t *rp = ud;
    uint64_t v = 0;
    if (cJSON_IsString(rp->rnd))
        v = strtoull(rp->rnd->valuestring, NULL, 10);
    if (rp->rnd)
        rp->rnd = rp->rnd->next;
    return v;
}

/* The outcome a logged step fed in (results taken from the log). */
static void logged_outcome(cJSON *it, asl_outcome_t *oc)
{
    cJSON *v;
    memset(oc, 0, sizeof *oc);
    if (cJSON_IsString(it)) {
        oc->kind = it->valuestring[0] == 't' ? ASL_OUTCOME_TIMER : ASL_OUTCOME_NONE;
    } else if ((v = cJSON_DetachItemFromObjectCaseSensitive(it, "r"))) {
        oc->kind = ASL_OUTCOME_TASK_SUCCEEDED;
        oc->result = v;
    } else if ((v = cJSON_DetachItemFromObjectCaseSensitive(it, "k"))) {
        oc->kind = ASL_OUTCOME_CHILDREN;
        oc->children = v;
    } else {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(it, "e");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "c");
        oc->kind = ASL_OUTCOME_TASK_FAILED;
        oc->error = cJSON_IsString(e) ? e->valuestring : NULL;
        oc->cause = cJSON_IsString(c) ? c->valuestring : NULL;
    }
}

/* A redrive's log ("rd"): the ExecutionRedriven event, and the engine goes
 * on from the cursor recorded with it (a fresh start: a replay broken
 * before it recovers). 0, or -1 when it is unreadable or memory runs out. */
static int redriven(replay_t *rp, const cJSON *rd, cJSON *out)
{
    if (!rd)
        return 0;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(rd, "n");
    cJSON *cursor = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rd, "c"), 1);
    cJSON *ev = cJSON_CreateObject();
    cJSON *d = ev && cJSON_AddStringToObject(ev, "type", "ExecutionRedriven")
                   ? cJSON_AddObjectToObject(ev, "details") : NULL;
    if (!cJSON_IsNumber(n) || !cJSON_IsObject(cursor) || !d ||
        !cJSON_AddNumberToObject(d, "redriveCount", n->valuedouble)) {
        cJSON_Delete(cursor);
        cJSON_Delete(ev);
        rp->broken = 1;
        return -1;
    }
    cJSON_AddItemToArray(out, ev);
    cJSON_Delete(rp->cursor);
    rp->cursor = cursor;
    rp->broken = 0;
    return 0;
}

int replay_row(replay_t *rp, cJSON *log, cJSON *out)
{
    const cJSON *now = cJSON_GetObjectItemCaseSensitive(log, "now");
    const cJSON *rnd = cJSON_GetObjectItemCaseSensitive(log, "rnd");
    cJSON *steps = cJSON_GetObjectItemCaseSensitive(log, "steps");
    asl_env_t env = {.now_ms = cJSON_IsNumber(now) ? (int64_t)now->valuedouble : 0,
                     .random64 = replay_rand, .random_ud = rp};
    /* Logs written before callback Tasks had drawn tokens have no "tk". */
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(log, "tk")))
        env.secure64 = replay_rand;
    rp->rnd = rnd ? rnd->child : NULL;
    if (redriven(rp, cJSON_GetObjectItemCaseSensitive(log, "rd"), out) < 0)
        return -1;
    for (cJSON *it = steps ? steps->child : NULL; it && !rp->broken; it = it->next) {
        asl_step_t step;
        memset(&step, 0, sizeof step);
        int rc;
        if (cJSON_IsString(it) && strcmp(it->valuestring, "s") == 0) {
            rc = asl_exec_start(rp->machine, rp->input, &rp->info, &env, &step);
        } else {
            asl_outcome_t oc;
            logged_outcome(it, &oc);
            asl_error_t err = {0};
            cJSON *cur = rp->cursor;
            rp->cursor = NULL;
            rc = cur ? asl_exec_resume(rp->machine, cur, &oc, &rp->info, &env, &step, &err) : -1;
            asl_error_clear(&err);
            cJSON_Delete(oc.result);
            cJSON_Delete(oc.children);
        }
        if (rc < 0) {
            rp->broken = 1;
            asl_step_clear(&step);
            break;
        }
        cJSON *ev;
        while (step.events && (ev = cJSON_DetachItemFromArray(step.events, 0)))
            cJSON_AddItemToArray(out, ev);
        rp->cursor = asl_step_take_cursor(&step);
        asl_step_clear(&step);
    }
    return rp->broken ? -1 : 0;
}
