/*
 * campaign_store.c - what the campaign keeps on disk (see campaign.h for
 * the layout): byte-string lists, the queue, seeds from the corpus, the
 * .state file, fuzzer_stats and plot_data. The file primitives are
 * campaign_files.c's.
 *
 * Invariant: every file is written atomically (campaign_write_atomic),
 * except plot_data, to which rows are appended with one write() each, as
 * AFL++ does. The queue in id order is the order of the inputs' discovery.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "campaign_int.h"
#include "trace_codec.h"

/* ---- byte strings -------------------------------------------------------- */

int campaign_inputs_add(campaign_inputs *q, const uint8_t *data, size_t len,
                        const char *name)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 64;
        campaign_input *v = realloc(q->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        q->v = v;
        q->cap = cap;
    }
    campaign_input *in = &q->v[q->n];
    in->data = malloc(len ? len : 1);
    if (!in->data)
        return -ENOMEM;
    memcpy(in->data, data, len);
    in->len = len;
    snprintf(in->name, sizeof(in->name), "%s", name ? name : "");
    q->n++;
    return 0;
}

void campaign_inputs_free(campaign_inputs *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->v[i].data);
    free(q->v);
    memset(q, 0, sizeof(*q));
}

/* ---- the queue ----------------------------------------------------------- */

static bool queue_is_entry(const char *name)
{
    return strncmp(name, "id:", 3) == 0 && name[3] >= '0' && name[3] <= '9';
}

static int queue_cmp(const void *a, const void *b)
{
    uint64_t x = strtoull(*(char *const *)a + 3, NULL, 10);
    uint64_t y = strtoull(*(char *const *)b + 3, NULL, 10);
    return x < y ? -1 : x > y;
}

int campaign_queue_load(const campaign_job *j, campaign_inputs *q,
                        uint64_t *next_id)
{
    char dir[CAMPAIGN_PATH_MAX], **names = NULL;
    size_t n = 0;

    if (!campaign_path(dir, "%s/queue", j->dir))
        return -ENAMETOOLONG;
    int ret = campaign_dir_list(dir, queue_is_entry, queue_cmp, &names, &n);
    for (size_t i = 0; ret == 0 && i < n; i++) {
        char *data;
        size_t len;
        if (campaign_read_in(dir, names[i], &data, &len) < 0)
            continue;
        if (len > CAMPAIGN_MAX_LEN)
            len = CAMPAIGN_MAX_LEN;
        ret = campaign_inputs_add(q, (uint8_t *)data, len, names[i]);
        free(data);
        uint64_t id = strtoull(names[i] + 3, NULL, 10);
        if (id >= *next_id)
            *next_id = id + 1;
    }
    campaign_names_free(names, n);
    return ret;
}

int campaign_queue_add(const campaign_job *j, uint64_t id, const uint8_t *data,
                       size_t len, const char *orig)
{
    char dir[CAMPAIGN_PATH_MAX], name[160];
    if (!campaign_path(dir, "%s/queue", j->dir))
        return -ENAMETOOLONG;
    if (orig && *orig) {
        char clean[64];
        size_t k = 0;
        for (const char *s = orig; *s && k < sizeof(clean) - 1; s++)
            clean[k++] = *s == '/' || *s == ' ' ? '_' : *s;
        clean[k] = '\0';
        snprintf(name, sizeof(name), "id:%06" PRIu64 ",orig:%s", id, clean);
    } else {
        snprintf(name, sizeof(name), "id:%06" PRIu64, id);
    }
    return campaign_write_atomic(dir, name, data, len, false);
}

/* ---- seeds --------------------------------------------------------------- */

static bool seed_is_script(const char *name)
{
    size_t l = strlen(name);
    return l > 3 && strcmp(name + l - 3, ".io") == 0;
}

static int seed_one(const char *dir, const char *name, campaign_inputs *seeds,
                    uint64_t *skipped)
{
    char path[CAMPAIGN_PATH_MAX];
    script *s = NULL;
    script_error err;
    uint8_t *bytes = NULL;
    size_t len = 0;

    if (!campaign_path(path, "%s/%s", dir, name))
        return 0;
    if (script_load(path, &s, &err) < 0 || trace_encode(s, &bytes, &len) < 0 ||
        len > CAMPAIGN_MAX_LEN) {
        ++*skipped;
        script_free(s);
        free(bytes);
        return 0;
    }
    int ret = campaign_inputs_add(seeds, bytes, len, name);
    script_free(s);
    free(bytes);
    return ret;
}

int campaign_export_seeds(const char *corpus_dir, const char *out_dir,
                          size_t *n, uint64_t *skipped)
{
    campaign_opts o = {.corpus_dir = corpus_dir};
    campaign_inputs seeds = {0};
    char **names = NULL;
    size_t nn = 0;

    *n = 0;
    *skipped = 0;
    int ret = campaign_mkdirs(out_dir);
    if (ret == 0)
        ret =
            campaign_dir_list(o.corpus_dir, seed_is_script, NULL, &names, &nn);
    for (size_t i = 0; ret == 0 && i < nn; i++)
        ret = seed_one(o.corpus_dir, names[i], &seeds, skipped);
    for (size_t i = 0; ret == 0 && i < seeds.n; i++) {
        char name[80];
        size_t l = strlen(seeds.v[i].name);
        if (l > 3 && strcmp(seeds.v[i].name + l - 3, ".io") == 0)
            l -= 3;
        snprintf(name, sizeof(name), "%.*s", (int)l, seeds.v[i].name);
        ret = campaign_write_atomic(out_dir, name, seeds.v[i].data,
                                    seeds.v[i].len, false);
        *n += ret == 0;
    }
    campaign_names_free(names, nn);
    campaign_inputs_free(&seeds);
    return ret;
}

int campaign_seeds_load(const campaign_opts *o, campaign_inputs *seeds,
                        uint64_t *skipped)
{
    char **names = NULL;
    size_t n = 0;
    int ret = 0;

    *skipped = 0;
    if (o->corpus_dir) {
        ret =
            campaign_dir_list(o->corpus_dir, seed_is_script, NULL, &names, &n);
        for (size_t i = 0; ret == 0 && i < n; i++)
            ret = seed_one(o->corpus_dir, names[i], seeds, skipped);
        campaign_names_free(names, n);
    }
    prng r = prng_seeded(o->seed ^ UINT64_C(0x5eed5eed5eed));
    for (unsigned i = 0; ret == 0 && i < CAMPAIGN_RANDOM_SEEDS; i++) {
        uint8_t buf[256];
        size_t len = 8 + (size_t)prng_below(&r, sizeof(buf) - 8);
        for (size_t k = 0; k < len; k++)
            buf[k] = (uint8_t)prng_next(&r);
        char name[32];
        snprintf(name, sizeof(name), "random%u", i);
        ret = campaign_inputs_add(seeds, buf, len, name);
    }
    return ret;
}

/* ---- .state -------------------------------------------------------------- */

/* The fields of .state, in order; every one a uint64_t of campaign_shm. */
#define STATE_FIELDS(X)                                                        \
    X(execs)                                                                   \
    X(seeds_done)                                                              \
    X(next_id) X(queue) X(features) X(finding_execs) X(filtered)               \
        X(unattributed) X(first_exec) X(last_find_exec)

int campaign_state_save(const campaign_job *j)
{
    char text[2048];
    const campaign_shm *m = j->shm;
    int n = snprintf(text, sizeof(text), "rng %" PRIu64 "\n", m->rng.state);
#define STATE_PUT(f)                                                           \
    n += snprintf(text + n, sizeof(text) - (size_t)n, #f " %" PRIu64 "\n",     \
                  m->f);
    STATE_FIELDS(STATE_PUT)
#undef STATE_PUT
    n += snprintf(text + n, sizeof(text) - (size_t)n, "first_sig %s\n",
                  m->first_sig.text[0] ? m->first_sig.text : "-");
    return campaign_write_atomic(j->dir, ".state", text, (size_t)n, false);
}

int campaign_state_load(campaign_job *j)
{
    char *text;
    size_t len;
    campaign_shm *m = j->shm;

    int ret = campaign_read_in(j->dir, ".state", &text, &len);
    if (ret < 0)
        return ret;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char key[32], val[96];
        if (sscanf(line, "%31s %95s", key, val) != 2)
            continue;
        uint64_t v = strtoull(val, NULL, 10);
        if (strcmp(key, "rng") == 0)
            m->rng.state = v;
#define STATE_GET(f) else if (strcmp(key, #f) == 0) m->f = v;
        STATE_FIELDS(STATE_GET)
#undef STATE_GET
        else if (strcmp(key, "first_sig") == 0 && strcmp(val, "-") != 0)
            snprintf(m->first_sig.text, sizeof(m->first_sig.text), "%s", val);
    }
    free(text);
    return 0;
}

/* ---- fuzzer_stats and plot_data ------------------------------------------ */

int campaign_stats_write(const campaign_opts *o, const campaign_job *j,
                         const campaign_stats *st, double elapsed,
                         uint64_t restarts)
{
    const campaign_shm *m = j->shm;
    char text[4096];
    uint64_t now = o->wall_start + (uint64_t)elapsed;
    double eps = elapsed > 0 ? (double)m->execs / elapsed : 0;
    int n = snprintf(
        text, sizeof(text),
        "start_time        : %" PRIu64 "\nlast_update       : %" PRIu64
        "\nrun_time          : %" PRIu64 "\nfuzzer_pid        : %ld\n"
        "cycles_done       : 0\nexecs_done        : %" PRIu64
        "\nexecs_per_sec     : %.2f\ncorpus_count      : %" PRIu64
        "\ncorpus_found      : %" PRIu64 "\nsaved_crashes     : %" PRIu64
        "\nsaved_hangs       : 0\nedges_found       : %" PRIu64
        "\nbitmap_cvg        : %.2f%%\nexecs_since_crash : %" PRIu64
        "\nfinding_execs     : %" PRIu64 "\nunique_signatures : %" PRIu64
        "\nworker_restarts   : %" PRIu64 "\nfiltered_deadlocks: %" PRIu64
        "\nunattributed      : %" PRIu64 "\nseed              : %" PRIu64
        "\ntarget_mode       : cowpoke "
        "built-in (decode + exec)\ncommand_line      : %s\n",
        o->wall_start, now, (uint64_t)elapsed, (long)getpid(), m->execs, eps,
        m->queue, m->queue > m->seeds_done ? m->queue - m->seeds_done : 0,
        st->unique, m->features,
        100.0 * (double)m->features / CAMPAIGN_MAP_BITS,
        m->last_find_exec ? m->execs - m->last_find_exec : m->execs,
        m->finding_execs, st->unique, restarts, m->filtered, m->unattributed,
        j->seed, o->command_line ? o->command_line : "");
    return campaign_write_atomic(j->dir, "fuzzer_stats", text, (size_t)n,
                                 false);
}

int campaign_plot_append(const campaign_job *j, double elapsed,
                         double execs_per_sec, uint64_t unique)
{
    static const char header[] =
        "# relative_time, cycles_done, cur_item, corpus_count, "
        "pending_total, pending_favs, map_size, saved_crashes, saved_hangs, "
        "max_depth, execs_per_sec, total_execs, edges_found\n";
    const campaign_shm *m = j->shm;
    char path[CAMPAIGN_PATH_MAX], row[512];

    if (!campaign_path(path, "%s/plot_data", j->dir))
        return -ENAMETOOLONG;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0)
        return -errno;
    struct stat sb;
    int ret = fstat(fd, &sb) < 0 ? -errno : 0;
    if (ret == 0 && sb.st_size == 0)
        ret = campaign_write_all(fd, header, sizeof(header) - 1);
    int n = snprintf(row, sizeof(row),
                     "%" PRIu64 ", 0, 0, %" PRIu64 ", 0, 0, %.2f%%, %" PRIu64
                     ", 0, 1, %.2f, %" PRIu64 ", %" PRIu64 "\n",
                     (uint64_t)elapsed, m->queue,
                     100.0 * (double)m->features / CAMPAIGN_MAP_BITS, unique,
                     execs_per_sec, m->execs, m->features);
    if (ret == 0)
        ret = campaign_write_all(fd, row, (size_t)n);
    close(fd);
    return ret;
}
