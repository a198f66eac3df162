/* Replay logs: the history of an execution's own frame stored as what the
 * pure engine consumed in each frame advance (the clock, random draws, every
 * outcome fed in) instead of its events with every state's input and output,
 * and the events rebuilt from them by running the engine again. A log is
 *   {"now": ms, "rnd": ["u64", ...], "steps": ["s" | "n" | "t" | {"r": result}
 *    | {"e": error, "c": cause} | {"k": children results}, ...], "tk": true}
 * ("s" the start, "n" no outcome, "t" a timer fired), one per history row.
 * A redrive's row is {"now": ms, "rd": {"n": redriveCount, "c": cursor},
 * "steps": []}: its ExecutionRedriven event, then the logs after it go on
 * from that cursor (logs without "rd" come from before redrives). */
#ifndef SAGAD_ENGINE_REPLAY_H
#define SAGAD_ENGINE_REPLAY_H
#include <cJSON.h>
#include <stdint.h>

#include "asl/exec.h"

/* ---- writing: one log per frame advance ------------------------------- */
typedef struct replay_log_s {
    cJSON *log, *steps, *rnd;
    int secure;               /* "tk" added: a task token was drawn */
} replay_log_t;

/* Starts the log of an advance whose engine calls see the clock at now_ms.
 * Returns 0 or -1 (out of memory; nothing to discard). */
int replay_log_begin(replay_log_t *lg, int64_t now_ms);
/* An asl_env_t.random64 (random_ud = the log): draws from core/rand and
 * records each draw. */
uint64_t replay_log_rand(void *lg);
/* An asl_env_t.secure64 (for task tokens): draws from rand_secure_u64 into
 * the same record, and marks the log with "tk": true so that its replay
 * draws tokens too (logs without it come from before callback Tasks). */
uint64_t replay_log_secure(void *lg);
/* Records the next engine call: the start when `outcome` is NULL, else the
 * outcome about to be fed to asl_exec_resume. A task result is printed for
 * the log anyway, so its length goes into outcome->result_size (the engine
 * need not measure it). Returns 0 or -1 (out of memory). */
int replay_log_note(replay_log_t *lg, asl_outcome_t *outcome);
/* The printed log (caller frees with free; NULL if out of memory); the log
 * itself is freed. */
char *replay_log_finish(replay_log_t *lg);
/* Frees an unfinished log; a zeroed one is a no-op. */
void replay_log_discard(replay_log_t *lg);

/* The context object ($$) of an execution's own frame. The run and every
 * replay of it must build it the same way, so both use this. Borrows all. */
void replay_info_init(asl_exec_info_t *info, const char *id, const char *name,
                      const cJSON *input, int64_t start_ms, const char *machine_name);

/* ---- reading: the events again ---------------------------------------- */
typedef struct replay_s replay_t;

/* A replay of execution `id` (named `name`, started at start_ms with `input`,
 * taken) of `machine` (borrowed; `machine_name` too, for $$.StateMachine).
 * NULL when out of memory (input is not freed then). Free with replay_free. */
replay_t *replay_new(const asl_machine_t *machine, const char *machine_name, const char *id,
                     const char *name, cJSON *input, int64_t start_ms);
/* Appends to `out` the events of the next logged advance (`log` is parsed,
 * and its results are taken from it). Logs must come in history order.
 * Returns 0, or -1 when the engine refuses a step: the replay is broken and
 * every later call fails too. */
int replay_row(replay_t *rp, cJSON *log, cJSON *out);
void replay_free(replay_t *rp);
#endif
