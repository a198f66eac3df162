/* Runs one command for `sagactl worker`: fork and exec without a shell, in
 * its own process group, with the task input on stdin, stdout collected,
 * stderr passed through to sagactl's and its tail kept, and a tick every few
 * seconds while it runs (the worker's heartbeat). Blocking: sagactl is a CLI. */
#ifndef SAGAD_CLI_RUNNER_H
#define SAGAD_CLI_RUNNER_H

#include <signal.h>
#include <stddef.h>

/* Bytes of stderr kept (the end of it). */
#define RUNNER_TAIL_MAX 1024
/* Bytes of stdout kept; more is read and dropped (out_overflow). */
#define RUNNER_OUT_MAX (64u * 1024 * 1024)
/* After a tick asked to stop: SIGTERM, then SIGKILL this much later. */
#define RUNNER_KILL_GRACE_S 5

typedef enum {
    RUNNER_EXITED = 0,        /* code: the exit status */
    RUNNER_SIGNALED           /* code: the signal that ended it */
} runner_end_t;

/* A tick: 0 to go on, -1 to stop the command (SIGTERM to its group). */
typedef int (*runner_tick_cb)(void *arg);

typedef struct runner_opts_s {
    char *const *argv;            /* borrowed; argv[0] is looked up on PATH */
    char *const *env;             /* borrowed "NAME=VALUE" set for the command,
                                     NULL-terminated; may be NULL */
    const char *input;            /* borrowed; written to stdin, which is then closed */
    size_t input_len;
    int tick_s;                   /* seconds between ticks; 0: none */
    runner_tick_cb tick;          /* may be NULL */
    void *tick_arg;
    /* If set: the command's pid (also its process group) while it runs, 0
     * otherwise, for a signal handler that must kill it. */
    volatile sig_atomic_t *running_pid;
} runner_opts_t;

typedef struct runner_result_s {
    runner_end_t end;
    int code;
    int stopped;                  /* a tick asked to stop and the command was ended */
    char *out;                    /* stdout, NUL-terminated; owned (runner_result_free) */
    size_t out_len;
    int out_overflow;             /* stdout was longer than RUNNER_OUT_MAX */
    char tail[RUNNER_TAIL_MAX + 1];   /* the last bytes of stderr, NUL-terminated */
    size_t tail_len;
} runner_result_t;

/* Runs the command to its end. A command that cannot be executed exits 127
 * with the reason on its stderr, as in a shell. Returns 0 with *res filled,
 * or a negative errno when it could not be started (no pipe, no fork); the
 * tick is then never called. */
int runner_run(const runner_opts_t *opts, runner_result_t *res);

void runner_result_free(runner_result_t *res);

/* 1 when `file` names an executable: a path with '/', else on $PATH. */
int runner_can_exec(const char *file);

#endif
