/*
 * campaign.c - the campaign supervisor (see campaign.h): set-up of DIR and
 * the jobs, the loop that watches workers, shrinks findings and reports
 * progress, and the orderly end.
 *
 * The loop wakes on a worker's note (a finding to shrink: poll on the
 * pipe) or every 50 ms, reaps children, watches for hangs, starts the next
 * shrink (one at a time), and about once a second reports progress and
 * rewrites fuzzer_stats (plot_data gets a row every 5 s). It ends on the
 * stop flag, the time limit, every job at its bound, or (stop_on_finding)
 * the first finding.
 *
 * Invariants: the supervisor makes no decision of the campaign (the
 * workers do, by counting); its clock only bounds the campaign and times
 * progress. At the end every worker has exited and been reaped, no shrink
 * child is left, and .state, fuzzer_stats and plot_data are written.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "campaign_int.h"

#define SUP_TICK_MS 50
#define SUP_STOP_WAIT                                                          \
    5.0 /* seconds a worker gets to finish its input;                          \
           one still running then is killed, and its                           \
           input is neither counted nor a finding */

static double sup_now(const campaign_sup *s)
{
    return s->o->now ? s->o->now(s->o->now_opaque) - s->t0 : 0;
}

void campaign_sup_pending(campaign_sup *s, const char *hex)
{
    /* One entry per signature; but a signature whose shrink is running
     * is queued again: a worker told us because it replaced trace.io
     * with a shorter trace, which the running shrink has not read (its
     * reproducer could be longer than the new trace). */
    for (size_t i = 0; i < s->npending; i++)
        if (strcmp(s->pending[i], hex) == 0)
            return;
    if (s->npending == s->cap_pending) {
        size_t cap = s->cap_pending ? 2 * s->cap_pending : 16;
        char(*p)[17] = realloc(s->pending, cap * sizeof(*p));
        if (!p)
            return; /* it stays unshrunk; a resume shrinks it */
        s->pending = p;
        s->cap_pending = cap;
    }
    snprintf(s->pending[s->npending++], 17, "%s", hex);
}

void campaign_sup_first(campaign_sup *s, const campaign_job *j)
{
    if (s->st.first_exec)
        return;
    s->st.first_exec = j->shm->first_exec;
    s->st.first_sig = j->shm->first_sig;
    s->st.first_time = sup_now(s);
}

/* ---- set-up -------------------------------------------------------------- */

void campaign_tune_malloc(void)
{
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

static bool sup_exists(const char *dir, const char *name)
{
    char path[CAMPAIGN_PATH_MAX];
    struct stat sb;
    return campaign_path(path, "%s/%s", dir, name) && stat(path, &sb) == 0;
}

static int sup_job_init(campaign_sup *s, campaign_job *j, unsigned i)
{
    const campaign_opts *o = s->o;
    char q[CAMPAIGN_PATH_MAX];

    j->index = i;
    j->seed = o->seed + i;
    if (!campaign_path(j->top, "%s", o->dir) ||
        !(s->njobs == 1 ? campaign_path(j->dir, "%s", o->dir)
                        : campaign_path(j->dir, "%s/job%u", o->dir, i)) ||
        !campaign_path(q, "%s/queue", j->dir))
        return -ENAMETOOLONG;
    bool had = sup_exists(j->dir, "queue");
    int ret = campaign_mkdirs(q);
    if (ret < 0)
        return ret;
    campaign_clean_tmp(j->dir);
    campaign_clean_tmp(q);
    j->shm = mmap(NULL, sizeof(*j->shm), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (j->shm == MAP_FAILED) {
        j->shm = NULL;
        return -errno;
    }
    j->shm->rng = prng_seeded(j->seed * UINT64_C(0x9e3779b97f4a7c15) + 1);
    j->shm->map_ready = true;
    if (o->resume && had) {
        if (campaign_state_load(j) < 0)
            j->shm->seeds_done = UINT64_MAX; /* no state: keep the queue */
        j->shm->features = 0;
        j->shm->map_ready = false; /* re-run the queue for the map */
    }
    return 0;
}

static int sup_setup(campaign_sup *s)
{
    const campaign_opts *o = s->o;
    int fds[2];

    int ret = campaign_mkdirs(o->dir);
    if (ret < 0)
        return ret;
    if (!o->resume &&
        (sup_exists(o->dir, "queue") || sup_exists(o->dir, "job0") ||
         sup_exists(o->dir, "fuzzer_stats")))
        return -EEXIST;
    campaign_clean_tmp(o->dir);
    s->ctx.lock_fd = campaign_lock_open(o->dir);
    if (s->ctx.lock_fd < 0)
        return s->ctx.lock_fd;
    if ((ret = campaign_index_load(&s->ix, o->dir)) < 0)
        return ret;
    if (o->dict_path) {
        unsigned line;
        if ((ret = campaign_dict_load(o->dict_path, &s->dict, &line)) < 0)
            return ret;
    }
    ret = campaign_seeds_load(o, &s->seeds, &s->st.seeds_skipped);
    if (ret < 0)
        return ret;
    s->st.seeds = s->seeds.n;
    s->ctx.seeds = &s->seeds;
    s->ctx.dict = s->dict;
    s->jobs = calloc(s->njobs, sizeof(*s->jobs));
    if (!s->jobs)
        return -ENOMEM;
    for (unsigned i = 0; i < s->njobs; i++)
        if ((ret = sup_job_init(s, &s->jobs[i], i)) < 0)
            return ret;
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    s->pipe_rd = fds[0];
    s->ctx.notify_fd = fds[1];
    fcntl(s->pipe_rd, F_SETFL, O_NONBLOCK);
    return 0;
}

/* ---- the loop ------------------------------------------------------------ */

static void sup_read_notes(campaign_sup *s)
{
    campaign_note note;
    while (read(s->pipe_rd, &note, sizeof(note)) == (ssize_t)sizeof(note)) {
        note.hex[16] = '\0';
        if (note.first && note.job < s->njobs)
            campaign_sup_first(s, &s->jobs[note.job]);
        if (!s->o->no_shrink)
            campaign_sup_pending(s, note.hex);
    }
}

static void sup_reap(campaign_sup *s)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == s->shrink_pid) {
            s->shrink_pid = 0;
            continue;
        }
        for (unsigned i = 0; i < s->njobs; i++)
            if (s->jobs[i].pid == pid)
                campaign_worker_ended(s, &s->jobs[i], status);
    }
}

static void sup_next_shrink(campaign_sup *s)
{
    if (s->shrink_pid || !s->npending)
        return;
    char hex[17];
    snprintf(hex, sizeof(hex), "%s", s->pending[0]);
    memmove(s->pending, s->pending + 1, --s->npending * sizeof(*s->pending));
    if (campaign_spawn_shrink(s, hex) < 0)
        s->errors++;
}

/* Count finding folders and those with repro.io. */
static void sup_count_findings(campaign_sup *s)
{
    char **names = NULL, path[CAMPAIGN_PATH_MAX];
    size_t n = 0;
    struct stat sb;

    s->st.unique = s->st.shrunk = 0;
    if (campaign_dir_list(s->o->dir, campaign_is_hex_name, NULL, &names, &n) <
        0)
        return;
    s->st.unique = n;
    for (size_t i = 0; i < n; i++)
        if (campaign_path(path, "%s/%s/repro.io", s->o->dir, names[i]) &&
            stat(path, &sb) == 0)
            s->st.shrunk++;
    campaign_names_free(names, n);
}

static void sup_collect(campaign_sup *s)
{
    campaign_stats *st = &s->st;
    st->execs = st->queue = st->features = st->finding_execs = 0;
    st->filtered = st->restarts = st->unattributed = 0;
    for (unsigned i = 0; i < s->njobs; i++) {
        const campaign_job *j = &s->jobs[i];
        st->execs += j->shm->execs;
        st->queue += j->shm->queue;
        st->features += j->shm->features;
        st->finding_execs += j->shm->finding_execs;
        st->filtered += j->shm->filtered;
        st->unattributed += j->shm->unattributed;
        st->restarts += j->restarts;
    }
    sup_count_findings(s);
    st->elapsed = sup_now(s);
}

static void sup_report(campaign_sup *s, bool force)
{
    double now = sup_now(s);
    if (!force && (!s->o->now || now - s->last_progress < 1.0))
        return;
    s->last_progress = now;
    sup_collect(s);
    bool plot = force || now - s->last_plot >= 5.0;
    if (plot)
        s->last_plot = now;
    for (unsigned i = 0; i < s->njobs; i++) {
        const campaign_job *j = &s->jobs[i];
        campaign_stats_write(s->o, j, &s->st, now, j->restarts);
        campaign_state_save(j);
        if (plot)
            campaign_plot_append(j, now, now > 0 ? j->shm->execs / now : 0,
                                 s->st.unique);
    }
    if (s->o->progress)
        s->o->progress(s->o->progress_opaque, &s->st);
}

static bool sup_should_end(campaign_sup *s)
{
    const campaign_opts *o = s->o;
    if (o->stop && *o->stop) {
        s->st.stopped = true;
        return true;
    }
    if (o->time_limit > 0 && o->now && sup_now(s) >= o->time_limit)
        return true;
    if (o->stop_on_finding && s->st.first_exec)
        return true;
    for (unsigned i = 0; i < s->njobs; i++)
        if (!s->jobs[i].finished)
            return false;
    return true;
}

static void sup_loop(campaign_sup *s)
{
    struct pollfd p = {.fd = s->pipe_rd, .events = POLLIN};
    while (!sup_should_end(s)) {
        poll(&p, 1, SUP_TICK_MS);
        sup_read_notes(s);
        sup_reap(s);
        if (s->o->now)
            campaign_hang_watch(s, sup_now(s));
        if (!s->st.stopped)
            sup_next_shrink(s);
        sup_report(s, false);
    }
}

/* ---- the end ------------------------------------------------------------- */

static bool sup_workers_alive(const campaign_sup *s)
{
    for (unsigned i = 0; i < s->njobs; i++)
        if (s->jobs[i].pid)
            return true;
    return false;
}

static void sup_stop_workers(campaign_sup *s)
{
    s->stopping = true;
    for (unsigned i = 0; i < s->njobs; i++)
        s->jobs[i].shm->stop = 1;
    double t0 = sup_now(s);
    unsigned ticks = 0;
    while (sup_workers_alive(s)) {
        poll(NULL, 0, 10);
        sup_read_notes(s);
        sup_reap(s);
        bool late = s->o->now ? sup_now(s) - t0 > SUP_STOP_WAIT
                              : ++ticks > SUP_STOP_WAIT * 100;
        for (unsigned i = 0; late && i < s->njobs; i++) {
            if (s->jobs[i].pid && !s->jobs[i].stop_killed) {
                s->jobs[i].stop_killed = true; /* not a finding */
                kill(s->jobs[i].pid, SIGKILL);
            }
        }
    }
}

/* Let the pending shrinks run (not after a stop: the next resume does). */
static void sup_finish_shrinks(campaign_sup *s)
{
    bool wait = s->o->wait_shrinks && !s->st.stopped && !s->o->no_shrink;
    while (wait && (s->shrink_pid || s->npending) &&
           !(s->o->stop && *s->o->stop)) {
        sup_next_shrink(s);
        poll(NULL, 0, 20);
        sup_reap(s);
    }
    if (s->shrink_pid) {
        kill(s->shrink_pid, SIGKILL);
        waitpid(s->shrink_pid, NULL, 0);
        s->shrink_pid = 0;
    }
}

/* Findings of an earlier campaign in DIR without repro.io: shrink them. */
static void sup_resume_shrinks(campaign_sup *s)
{
    campaign_finding *f = NULL;
    size_t n = 0;
    if (s->o->no_shrink || campaign_list_findings(s->o->dir, &f, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (!f[i].repro_cmds)
            campaign_sup_pending(s, f[i].hex);
    free(f);
}

static void sup_free(campaign_sup *s)
{
    for (unsigned i = 0; s->jobs && i < s->njobs; i++)
        if (s->jobs[i].shm)
            munmap(s->jobs[i].shm, sizeof(*s->jobs[i].shm));
    free(s->jobs);
    campaign_inputs_free(&s->seeds);
    campaign_dict_free(s->dict);
    campaign_index_free(&s->ix);
    free(s->pending);
    if (s->pipe_rd >= 0)
        close(s->pipe_rd);
    if (s->ctx.notify_fd >= 0)
        close(s->ctx.notify_fd);
    if (s->ctx.lock_fd >= 0)
        close(s->ctx.lock_fd);
}

int campaign_run(const campaign_opts *o, campaign_stats *st)
{
    campaign_sup s = {.o = o, .pipe_rd = -1};
    s.ctx.o = o;
    s.ctx.notify_fd = s.ctx.lock_fd = -1;
    s.ctx.parent = getpid();
    s.njobs = o->jobs ? o->jobs : 1;
    if (s.njobs > CAMPAIGN_MAX_JOBS || !o->dir)
        return -EINVAL;
    s.t0 = o->now ? o->now(o->now_opaque) : 0;
    int ret = sup_setup(&s);
    if (ret == 0 && o->resume)
        sup_resume_shrinks(&s);
    for (unsigned i = 0; ret == 0 && i < s.njobs; i++)
        ret = campaign_spawn_worker(&s, &s.jobs[i]);
    if (ret == 0)
        sup_loop(&s);
    if (s.jobs)
        sup_stop_workers(&s);
    sup_read_notes(&s);
    sup_finish_shrinks(&s);
    if (s.jobs && ret == 0)
        sup_report(&s, true);
    *st = s.st;
    sup_free(&s);
    return ret;
}
