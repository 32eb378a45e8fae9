/*
 * replay.c - running scripts for `cowpoke replay` (see replay.h): the fork
 * isolation, repeats and their comparison, reading files.
 *
 * Isolation: the parent maps one shared, anonymous region (the child's
 * result, the index of the command it runs, a "finished" flag), forks, and
 * reads the child's stderr through a pipe while it runs (an assertion
 * message or a sanitizer report; kept, up to a bound, for the verdict). A
 * child that finished and exited 0 hands its result over; any other end
 * (a signal, a sanitizer's exit) is the verdict engine-abort at the command
 * it was running. Standard output is shared: the child prints the
 * qemu-io-style lines itself, so the caller's print function must flush.
 *
 * Invariant: the parent's stdio buffers are flushed before every fork, so
 * nothing is printed twice.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "replay.h"

#define REPLAY_STDERR_MAX 6000 /* bytes of a dead child's stderr kept */

typedef struct replay_shared {
    exec_result r;
    volatile size_t cmd;
    volatile int finished;
} replay_shared;

static void replay_progress(void *opaque, size_t cmd)
{
    ((replay_shared *)opaque)->cmd = cmd;
}

static void replay_child(replay_shared *sh, const script *s, const exec_opts *o,
                         int errfd)
{
    exec_opts co = *o;

    dup2(errfd, STDERR_FILENO);
    close(errfd);
    co.progress = replay_progress;
    co.progress_opaque = sh;
    exec_run(s, &co, &sh->r);
    sh->finished = 1;
    fflush(stdout);
    exit(0); /* atexit handlers too: a leak report counts as a death */
}

/* Read the child's stderr to its end, keeping the first bytes. */
static size_t replay_drain_fd(int fd, char *keep, size_t cap)
{
    size_t n = 0;
    char buf[4096];
    ssize_t got;

    while ((got = read(fd, buf, sizeof(buf))) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        size_t take = (size_t)got < cap - n ? (size_t)got : cap - n;
        memcpy(keep + n, buf, take);
        n += take;
    }
    keep[n] = '\0';
    return n;
}

static void replay_death(const script *s, const replay_shared *sh, int status,
                         const char *err, exec_result *r)
{
    memset(r, 0, sizeof(*r));
    r->verdict = SCRIPT_V_ENGINE_ABORT;
    r->cmd = sh->cmd;
    if (r->cmd < s->ncmds) {
        r->line = s->cmds[r->cmd].line;
        r->col = s->cmds[r->cmd].col;
    }
    if (WIFSIGNALED(status))
        snprintf(r->msg, sizeof(r->msg), "the run died of signal %d (%s)%s",
                 WTERMSIG(status), strsignal(WTERMSIG(status)),
                 sh->finished ? " after it finished" : "");
    else
        snprintf(r->msg, sizeof(r->msg), "the run exited with status %d%s",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                 sh->finished ? " after it finished (a sanitizer report?)"
                              : "");
    snprintf(r->detail, sizeof(r->detail), "%s", err);
}

int replay_isolated(const script *s, const exec_opts *o, exec_result *r)
{
    int fds[2], status = 0;
    replay_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (sh == MAP_FAILED)
        return -errno;
    if (pipe(fds) < 0) {
        int e = -errno;
        munmap(sh, sizeof(*sh));
        return e;
    }
    sh->cmd = SIZE_MAX;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        replay_child(sh, s, o, fds[1]);
    }
    close(fds[1]);
    char *err = malloc(REPLAY_STDERR_MAX + 1);
    if (err)
        replay_drain_fd(fds[0], err, REPLAY_STDERR_MAX);
    close(fds[0]);
    int ret = 0;
    if (pid < 0)
        ret = -errno;
    else
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    if (ret == 0 && sh->finished && WIFEXITED(status) &&
        WEXITSTATUS(status) == 0)
        *r = sh->r;
    else if (ret == 0)
        replay_death(s, sh, status, err ? err : "", r);
    free(err);
    munmap(sh, sizeof(*sh));
    return ret;
}

static int replay_once(const script *s, const replay_opts *o,
                       const exec_opts *eo, exec_result *r)
{
    if (o->in_process)
        return exec_run(s, eo, r);
    return replay_isolated(s, eo, r);
}

int replay_script(const script *s, const replay_opts *o, replay_result *r)
{
    unsigned n = o->repeat ? o->repeat : 1;
    exec_opts quiet = o->exec;
    int ret;

    quiet.print = NULL;
    r->parsed = true;
    r->expect = s->expect;
    r->runs = 0;
    r->repeat_ok = true;
    r->repeat_bad = 0;
    ret = replay_once(s, o, &o->exec, &r->run);
    if (ret < 0) {
        r->run.verdict = SCRIPT_V_SCRIPT_ERROR;
        snprintf(r->run.msg, sizeof(r->run.msg), "could not run: %s",
                 strerror(-ret));
    }
    r->runs = 1;
    while (ret == 0 && r->runs < n) {
        ret = replay_once(s, o, &quiet, &r->other);
        r->runs++;
        if (ret == 0 && !exec_result_same(&r->run, &r->other)) {
            r->repeat_ok = false;
            r->repeat_bad = r->runs;
            break;
        }
    }
    r->cmd_text[0] = '\0';
    if (r->run.cmd < s->ncmds)
        script_cmd_format(&s->cmds[r->run.cmd], r->cmd_text,
                          sizeof(r->cmd_text));
    r->match = r->repeat_ok && ret == 0 && r->run.verdict == r->expect;
    r->exit_code = r->match ? 0 : 1;
    return ret;
}

int replay_header_expect(const char *text, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t e = i;
        while (e < len && text[e] != '\n')
            e++;
        size_t a = i;
        while (a < e && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r'))
            a++;
        if (a < e && text[a] != '#')
            return -1; /* the first command: the header is over */
        if (a < e) {
            char word[32];
            if (sscanf(text + a, "# expect: %31s", word) == 1 ||
                sscanf(text + a, "#expect: %31s", word) == 1)
                return script_verdict_by_name(word);
        }
        i = e + 1;
    }
    return -1;
}

static int replay_read(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);

    if (!f || !buf) {
        int e = f ? -ENOMEM : -errno;
        if (f)
            fclose(f);
        free(buf);
        return e;
    }
    for (;;) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *p = realloc(buf, cap * 2);
        if (!p) {
            fclose(f);
            free(buf);
            return -ENOMEM;
        }
        buf = p;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return -EIO;
    }
    *text = buf;
    *len = n;
    return 0;
}

int replay_file(const char *path, const replay_opts *o, replay_result *r)
{
    char *text = NULL;
    size_t len = 0;
    script *s = NULL;

    memset(r, 0, sizeof(*r));
    int ret = replay_read(path, &text, &len);
    if (ret < 0) {
        snprintf(r->perr.file, sizeof(r->perr.file), "%s", path);
        snprintf(r->perr.msg, sizeof(r->perr.msg), "cannot read: %s",
                 strerror(-ret));
        r->exit_code = 2;
        return 0;
    }
    ret = script_parse(path, text, len, &s, &r->perr);
    if (ret < 0) {
        int want = replay_header_expect(text, len);
        free(text);
        r->expect = want >= 0 ? (script_verdict)want : SCRIPT_V_OK;
        r->run.verdict = SCRIPT_V_SCRIPT_ERROR;
        r->match = want == SCRIPT_V_SCRIPT_ERROR;
        r->exit_code = r->match ? 0 : 2;
        return ret == -ENOMEM ? ret : 0;
    }
    free(text);
    ret = replay_script(s, o, r);
    script_free(s);
    return ret;
}
