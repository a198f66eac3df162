/* Steps done outside the daemon: a callback Task ("sagad:NAME.waitForTaskToken")
 * runs its handler and then waits for someone to report its outcome with
 * $$.Task.Token; an activity Task ("sagad:activity:NAME") queues its input
 * for workers that poll the activity, and waits for their report. Reports
 * are answered after the commit that records them; activity delivery is
 * at-least-once (after a restart an unanswered task is queued again with the
 * same token), and the first report for a token wins. */
#ifndef SAGAD_ENGINE_TASKS_H
#define SAGAD_ENGINE_TASKS_H

#include <cJSON.h>
#include <stdint.h>

#include "engine/runtime.h"

/* Longest activity poll. */
#define TASKS_POLL_MAX_MS 60000

/* 1 when `token` has the form of a callback token (48 lowercase hex
 * characters), else 0. */
int tasks_token_valid(const char *token);

/* Reports success (output borrowed) or failure (error NULL: States.TaskFailed;
 * cause may be NULL) for the task waiting with `token`. Returns RUNTIME_OK,
 * and then cb(ud, status, execution_id) runs once after the commit with
 * RUNTIME_OK, RUNTIME_ERR_STORAGE (the commit failed: nothing changed, the
 * token waits again), RUNTIME_ERR_UNKNOWN (a stop, a timeout or a failed
 * sibling branch ended the task before its advance took the report: not
 * recorded) or RUNTIME_ERR_STOPPING. Otherwise cb is never called
 * and it returns RUNTIME_ERR_UNKNOWN (no task waits with this token: never
 * issued, already reported, timed out or its execution ended),
 * RUNTIME_ERR_RECOVERING (not found while executions are still being
 * recovered after a start, or its execution is being rebuilt after a failed
 * commit: report again shortly),
 * RUNTIME_ERR_INPUT (output over the payload limit), RUNTIME_ERR_STOPPING
 * or RUNTIME_ERR_STORAGE (out of memory). */
int tasks_succeed(runtime_t *rt, const char *token, const cJSON *output, runtime_start_cb cb,
                  void *ud);
int tasks_fail(runtime_t *rt, const char *token, const char *error, const char *cause,
               runtime_start_cb cb, void *ud);

/* The task is alive: its HeartbeatSeconds clock starts again (an activity
 * task queued again after a restart counts as taken by the caller).
 * RUNTIME_OK, RUNTIME_ERR_UNKNOWN or RUNTIME_ERR_RECOVERING. */
int tasks_heartbeat(runtime_t *rt, const char *token);

/* Creates activity `name` (idempotent) in its own transaction; *created_ms
 * is when it was first created. 0, RUNTIME_ERR_INPUT (not asl_activity_name_valid),
 * RUNTIME_ERR_STORAGE (the write failed) or RUNTIME_ERR_STOPPING. */
int tasks_activity_create(runtime_t *rt, const char *name, int64_t *created_ms);

/* 1 when the activity exists. */
int tasks_activity_exists(runtime_t *rt, const char *name);

/* Deletes activity `name` (as Step Functions' DeleteActivity: deleting one
 * that does not exist succeeds). Its row goes at once; an activity with
 * tasks queued, running or polled for stays in memory, serving them, until
 * the daemon restarts. Between the runtime's batches. RUNTIME_OK,
 * RUNTIME_ERR_INPUT (not an activity name), RUNTIME_ERR_STOPPING or
 * RUNTIME_ERR_STORAGE. */
int tasks_activity_delete(runtime_t *rt, const char *name);

/* {"activities": [{"name", "createdAt", "tasksWaiting", "tasksRunning",
 * "pollsParked", "workers": [{"name", "lastPollAt"}]}]}; caller frees. */
cJSON *tasks_activities_json(runtime_t *rt);

typedef struct tasks_poll_s tasks_poll_t;

/* A poll's answer: a task (token and input JSON text, borrowed for the
 * call), or token NULL when nothing came in time or the daemon stops. With
 * a task, return 0 when it was handed over, or -1 when the poller is gone:
 * the task is queued again for the next one. */
typedef int (*tasks_poll_cb)(void *ud, const char *token, const char *input);

/* Waits up to wait_ms (0..TASKS_POLL_MAX_MS) for a task of `activity`.
 * Returns RUNTIME_OK (cb runs once, always from a later loop callback,
 * unless the poll is cancelled first; *out is the poll), or, cb never being
 * called, RUNTIME_ERR_UNKNOWN (no such activity), RUNTIME_ERR_STOPPING or
 * RUNTIME_ERR_STORAGE (out of memory). `worker` (may be NULL) names the
 * poller in the activity's list. Parked polls cost memory only. */
int tasks_poll(runtime_t *rt, const char *activity, const char *worker, int64_t wait_ms,
               tasks_poll_cb cb, void *ud, tasks_poll_t **out);

/* Forgets a parked poll; its cb is not called. */
void tasks_poll_cancel(tasks_poll_t *poll);

#endif
