/*
 * campaign_kids.c - the supervisor's children (see campaign.h): starting
 * workers and shrink children, telling how a worker ended, and turning a
 * worker that died inside an execution into an engine-abort finding.
 *
 * Invariants:
 *   - A child opens DIR/.lock for itself (flock locks belong to the open
 *     file, which fork would share), ignores SIGINT and dies with the
 *     supervisor (PR_SET_PDEATHSIG).
 *   - When a worker dies inside an execution, the execution counts (its
 *     number is in the shared mapping), the finding is on disk before a new
 *     worker starts, and the new worker goes on with the next input.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "campaign_int.h"

#define KIDS_STDERR_TAIL 4000 /* bytes of a dead worker's stderr kept */

int campaign_lock_open(const char *dir)
{
    char path[CAMPAIGN_PATH_MAX];
    if (!campaign_path(path, "%s/.lock", dir))
        return -ENAMETOOLONG;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    return fd < 0 ? -errno : fd;
}

/* Fork a child of the supervisor: in it, its own lock, no SIGINT, death
 * with the supervisor, and *cc its context. Returns fork()'s value (in
 * the child, 0 only when the set-up worked; it exits otherwise). */
static pid_t kids_fork(campaign_sup *s, campaign_ctx *cc)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0)
        return pid < 0 ? -errno : pid;
    signal(SIGINT, SIG_IGN);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != s->ctx.parent)
        _exit(3); /* the supervisor is gone already */
    *cc = s->ctx;
    close(s->pipe_rd);
    cc->lock_fd = campaign_lock_open(s->o->dir);
    if (cc->lock_fd < 0)
        _exit(3);
    return 0;
}

int campaign_spawn_worker(campaign_sup *s, campaign_job *j)
{
    campaign_ctx cc;
    pid_t pid = kids_fork(s, &cc);
    if (pid == 0)
        campaign_worker_main(&cc, j);
    if (pid < 0)
        return pid;
    j->pid = pid;
    j->watch_exec = UINT64_MAX;
    return 0;
}

int campaign_spawn_shrink(campaign_sup *s, const char *hex)
{
    campaign_ctx cc;
    pid_t pid = kids_fork(s, &cc);
    if (pid == 0)
        _exit(campaign_shrink_main(&cc, hex));
    if (pid < 0)
        return pid;
    s->shrink_pid = pid;
    return 0;
}

/* The last bytes of the job's .stderr into buf (NUL-terminated). */
static void kids_stderr_tail(const campaign_job *j, char *buf, size_t cap)
{
    char *text;
    size_t len;

    buf[0] = '\0';
    if (campaign_read_in(j->dir, ".stderr", &text, &len) < 0)
        return;
    size_t from = len > cap - 1 ? len - (cap - 1) : 0;
    snprintf(buf, cap, "%s", text + from);
    free(text);
}

static void kids_death_msg(const campaign_job *j, int status, char *msg,
                           size_t cap)
{
    if (j->hung)
        snprintf(msg, cap,
                 "the execution did not finish within the hang limit; the "
                 "worker was killed (a hang or an endless loop in the engine)");
    else if (WIFSIGNALED(status))
        snprintf(msg, cap, "the run died of signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(msg, cap,
                 "the run exited with status %d (a sanitizer "
                 "report?)",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Record the engine-abort finding of job j's input in .cur. */
static int kids_abort_finding(campaign_sup *s, campaign_job *j, int status)
{
    char *data;
    size_t len;
    script *sc = NULL;
    campaign_shm *m = j->shm;

    int ret = campaign_read_in(j->dir, ".cur", &data, &len);
    if (ret < 0)
        return ret;
    exec_result *r = calloc(1, sizeof(*r));
    ret = r ? campaign_decode((uint8_t *)data, len, &sc) : -ENOMEM;
    free(data);
    if (ret == 0) {
        r->verdict = SCRIPT_V_ENGINE_ABORT;
        r->cmd = m->cur_cmd;
        kids_death_msg(j, status, r->msg, sizeof(r->msg));
        kids_stderr_tail(j, r->detail, sizeof(r->detail));
        signature sig;
        signature_of(sc, r, &sig);
        campaign_origin from = {j->index, j->seed, m->exec_no, s->o->dir,
                                s->o->exec.mutants};
        bool wrote = false;
        ret = campaign_record(&s->ctx, sc, r, &sig, &from, &s->ix, &wrote);
        m->finding_execs++;
        m->last_find_exec = m->exec_no;
        if (m->first_exec == 0) {
            m->first_exec = m->exec_no ? m->exec_no : 1;
            m->first_sig = sig;
            campaign_sup_first(s, j);
        }
        if (ret == 0 && wrote) {
            char hex[17];
            signature_hex(&sig, hex);
            campaign_sup_pending(s, hex);
        }
    }
    script_free(sc);
    free(r);
    return ret;
}

void campaign_worker_ended(campaign_sup *s, campaign_job *j, int status)
{
    campaign_shm *m = j->shm;

    j->pid = 0;
    if ((WIFEXITED(status) && WEXITSTATUS(status) == 0) || j->stop_killed) {
        j->finished = true;
        m->in_exec = 0;
        return;
    }
    if (m->in_exec) {
        if (m->exec_no > m->execs)
            m->execs = m->exec_no; /* the fatal execution counts */
        if (kids_abort_finding(s, j, status) < 0)
            s->errors++;
        m->in_exec = 0;
    } else {
        j->bad_deaths++; /* died outside an execution: cowpoke's fault */
    }
    j->hung = false;
    j->restarts++;
    if (s->stopping || j->bad_deaths > 5 || campaign_spawn_worker(s, j) < 0)
        j->finished = true;
}

void campaign_hang_watch(campaign_sup *s, double now)
{
    double limit = s->o->hang_time > 0 ? s->o->hang_time : 60;
    for (unsigned i = 0; i < s->njobs; i++) {
        campaign_job *j = &s->jobs[i];
        uint64_t cur = j->shm->in_exec ? j->shm->run_seq : UINT64_MAX - 1;
        if (!j->pid || !j->shm->in_exec || cur != j->watch_exec) {
            j->watch_exec = cur;
            j->watch_since = now;
        } else if (now - j->watch_since > limit && !j->hung) {
            j->hung = true;
            kill(j->pid, SIGKILL);
        }
    }
}
