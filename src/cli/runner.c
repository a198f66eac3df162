/* One command run for `sagactl worker`: pipes to its stdin, stdout and
 * stderr pumped by one poll() loop (so a command that writes before reading
 * never deadlocks), its end seen through a pidfd, and ticks between. */
#include "cli/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* After the command exited, its pipes are read this long at most (a
 * background child of it may hold them open). */
#define DRAIN_MS 1000
/* Without a pidfd, how often the command's end is checked. */
#define REAP_POLL_MS 50

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int runner_can_exec(const char *file)
{
    if (!*file)
        return 0;
    if (strchr(file, '/'))
        return access(file, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    char buf[4096];
    for (const char *p = path;; ) {
        const char *colon = strchr(p, ':');
        size_t dl = colon ? (size_t)(colon - p) : strlen(p);
        int n = snprintf(buf, sizeof buf, "%.*s%s%s", (int)dl, p, dl ? "/" : "", file);
        if (n > 0 && (size_t)n < sizeof buf && access(buf, X_OK) == 0)
            return 1;
        if (!colon)
            return 0;
        p = colon + 1;
    }
}

/* The child: becomes the command. Only async-signal-safe calls until exec,
 * except the error message (the process is ours alone by then). */
static void child(const runner_opts_t *o, int in, int out, int err, pid_t parent)
{
    setpgid(0, 0);
    /* If sagactl dies, the command is told to stop too. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(127);
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(127);
    /* sagactl ignores SIGPIPE and blocks signals at times; the command must
     * start with the defaults. */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (size_t i = 0; o->env && o->env[i]; i++)
        putenv(o->env[i]);
    execvp(o->argv[0], o->argv);
    dprintf(2, "sagactl: worker: cannot run '%s': %s\n", o->argv[0], strerror(errno));
    _exit(127);
}

typedef struct pump_s {
    int in, out, err;             /* our ends; -1 once closed */
    size_t in_done;
    runner_result_t *res;
    size_t out_cap;
} pump_t;

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void keep_out(pump_t *p, const char *b, size_t n)
{
    runner_result_t *r = p->res;
    if (r->out_overflow || r->out_len + n > RUNNER_OUT_MAX) {
        r->out_overflow = 1;
        return;
    }
    if (r->out_len + n + 1 > p->out_cap) {
        size_t cap = p->out_cap ? p->out_cap : 4096;
        while (cap < r->out_len + n + 1)
            cap *= 2;
        char *nb = realloc(r->out, cap);
        if (!nb) {
            r->out_overflow = 1;
            return;
        }
        r->out = nb;
        p->out_cap = cap;
    }
    memcpy(r->out + r->out_len, b, n);
    r->out_len += n;
    r->out[r->out_len] = '\0';
}

static void keep_tail(runner_result_t *r, const char *b, size_t n)
{
    /* The command's stderr is the worker's log too. */
    for (size_t w = 0; w < n;) {
        ssize_t k = write(2, b + w, n - w);
        if (k <= 0 && errno != EINTR)
            break;
        if (k > 0)
            w += (size_t)k;
    }
    if (n >= RUNNER_TAIL_MAX) {
        memcpy(r->tail, b + n - RUNNER_TAIL_MAX, RUNNER_TAIL_MAX);
        r->tail_len = RUNNER_TAIL_MAX;
    } else {
        size_t keep = r->tail_len + n > RUNNER_TAIL_MAX ? RUNNER_TAIL_MAX - n : r->tail_len;
        memmove(r->tail, r->tail + r->tail_len - keep, keep);
        memcpy(r->tail + keep, b, n);
        r->tail_len = keep + n;
    }
    r->tail[r->tail_len] = '\0';
}

/* Reads what is there from *fd; closes it at EOF or on an error. */
static void drain(pump_t *p, int *fd, int is_out)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(*fd, buf, sizeof buf);
        if (n > 0) {
            if (is_out)
                keep_out(p, buf, (size_t)n);
            else
                keep_tail(p->res, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        close_fd(fd);
        return;
    }
}

static void feed(pump_t *p, const runner_opts_t *o)
{
    while (p->in_done < o->input_len) {
        ssize_t n = write(p->in, o->input + p->in_done, o->input_len - p->in_done);
        if (n > 0) {
            p->in_done += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            return;
        } else {
            break;   /* EPIPE: the command does not read its input */
        }
    }
    close_fd(&p->in);
}

static int make_pipe(int fds[2], int parent_end)
{
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    fcntl(fds[parent_end], F_SETFL, fcntl(fds[parent_end], F_GETFL) | O_NONBLOCK);
    return 0;
}

static void close_pair(int fds[2])
{
    close_fd(&fds[0]);
    close_fd(&fds[1]);
}

/* Waits for the command's end with the pipes pumped and ticks sent. */
static void supervise(const runner_opts_t *o, pid_t pid, pump_t *p)
{
    runner_result_t *r = p->res;
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    int64_t next_tick = o->tick_s > 0 && o->tick ? now_ms() + o->tick_s * 1000LL : INT64_MAX;
    int64_t kill_at = INT64_MAX, drain_until = INT64_MAX;
    int status = 0, reaped = 0;
    if (o->input_len == 0)
        close_fd(&p->in);
    while (!reaped || ((p->out >= 0 || p->err >= 0) && now_ms() < drain_until)) {
        struct pollfd fds[4];
        int nf = 0, i_in = -1, i_out = -1, i_err = -1, i_pid = -1;
        if (p->in >= 0)
            fds[i_in = nf++] = (struct pollfd){.fd = p->in, .events = POLLOUT};
        if (p->out >= 0)
            fds[i_out = nf++] = (struct pollfd){.fd = p->out, .events = POLLIN};
        if (p->err >= 0)
            fds[i_err = nf++] = (struct pollfd){.fd = p->err, .events = POLLIN};
        if (pidfd >= 0 && !reaped)
            fds[i_pid = nf++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
        int64_t now = now_ms();
        int64_t until = reaped ? drain_until : next_tick < kill_at ? next_tick : kill_at;
        if (!reaped && pidfd < 0 && until > now + REAP_POLL_MS)
            until = now + REAP_POLL_MS;
        int timeout = until == INT64_MAX ? -1 : until <= now ? 0 : (int)(until - now);
        int n = poll(fds, (nfds_t)nf, timeout);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0) {
            if (i_in >= 0 && fds[i_in].revents)
                feed(p, o);
            if (i_out >= 0 && fds[i_out].revents)
                drain(p, &p->out, 1);
            if (i_err >= 0 && fds[i_err].revents)
                drain(p, &p->err, 0);
        }
        if (!reaped && (pidfd < 0 || (i_pid >= 0 && n > 0 && fds[i_pid].revents))) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid) {
                reaped = 1;
                drain_until = now_ms() + DRAIN_MS;
                if (o->running_pid)
                    *o->running_pid = 0;
                close_fd(&p->in);
            }
        }
        now = now_ms();
        if (!reaped && now >= kill_at) {
            kill(-pid, SIGKILL);
            kill_at = INT64_MAX;
        }
        if (!reaped && now >= next_tick) {
            if (o->tick(o->tick_arg) < 0 && !r->stopped) {
                r->stopped = 1;
                kill(-pid, SIGTERM);
                kill_at = now_ms() + RUNNER_KILL_GRACE_S * 1000LL;
                next_tick = INT64_MAX;
            } else if (!r->stopped) {
                next_tick = now_ms() + o->tick_s * 1000LL;
            }
        }
    }
    if (!reaped) {
        /* poll failed: nothing left to supervise with; end the command. */
        kill(-pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (o->running_pid)
            *o->running_pid = 0;
    }
    if (pidfd >= 0)
        close(pidfd);
    if (WIFSIGNALED(status)) {
        r->end = RUNNER_SIGNALED;
        r->code = WTERMSIG(status);
    } else {
        r->end = RUNNER_EXITED;
        r->code = WEXITSTATUS(status);
    }
}

int runner_run(const runner_opts_t *o, runner_result_t *res)
{
    memset(res, 0, sizeof *res);
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    int rc;
    if ((rc = make_pipe(in, 1)) < 0 || (rc = make_pipe(out, 0)) < 0 || (rc = make_pipe(err, 0)) < 0) {
        close_pair(in);
        close_pair(out);
        close_pair(err);
        return rc;
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        rc = -errno;
        close_pair(in);
        close_pair(out);
        close_pair(err);
        return rc;
    }
    if (pid == 0)
        child(o, in[0], out[1], err[1], parent);
    /* Both sides set the group, so a kill right after fork reaches it. */
    setpgid(pid, pid);
    if (o->running_pid)
        *o->running_pid = pid;
    close_fd(&in[0]);
    close_fd(&out[1]);
    close_fd(&err[1]);
    pump_t p = {.in = in[1], .out = out[0], .err = err[0], .res = res};
    supervise(o, pid, &p);
    close_fd(&p.in);
    close_fd(&p.out);
    close_fd(&p.err);
    if (!res->out) {
        res->out = calloc(1, 1);
        if (!res->out)
            res->out_overflow = 1;
    }
    return 0;
}

void runner_result_free(runner_result_t *res)
{
    free(res->out);
    res->out = NULL;
    res->out_len = 0;
}
