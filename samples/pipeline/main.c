/*
 * samples/pipeline/main.c -- a batch job in three stages (extract, transform,
 * load) that checkpoints after every batch and resumes after being killed,
 * and asks faultline what to do when a batch fails.  The policy
 * (samples/pipeline/policy/) frees disk when storage is full (clean up old
 * logs, compress the rest, retry) and halves the batch size under memory
 * pressure (retry with params.batch_size).
 *
 * The faults are simulated so the sample runs anywhere: the work directory
 * has a quota (1 MiB by default) and the transform stage cannot hold more
 * than 64 records at once.  The failures are reported to the engine as the
 * errors a real system would give (ENOSPC, ENOMEM).
 *
 *   pipeline --demo [--work DIR]      run, get killed mid-way, resume: the story
 *   (without --work, a new directory under $TMPDIR or /tmp; never the cwd)
 *   pipeline [--work DIR] [--policy DIR] [--items N] [--crash-after N]
 */
#include <faultline.h>
#include <jansson.h>

#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define JOB "pipeline-demo"
#define MEM_LIMIT 64 /* records the transform stage can hold */
#define RECORD_BYTES 1024

static const char *const stages[] = {"extract", "transform", "load"};

typedef struct job {
    fl_bindings_t *b;
    fl_engine_t *eng;
    fl_ctx_t *ctx;
    fl_event_t *ev;
    fl_decision_t *d;
    char work[512];
    int items, batch, stage, next, batches, crash_after;
    uint64_t quota;
} job;

/* ---- the simulated world ----------------------------------------------- */

static uint64_t dir_bytes(const char *dir)
{
    uint64_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char p[1024];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.' && lstat(p, &st) == 0 && S_ISREG(st.st_mode))
            n += (uint64_t)st.st_size;
    }
    if (d)
        closedir(d);
    return n;
}

static uint64_t used_bytes(const job *j)
{
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/spool", j->work);
    snprintf(b, sizeof b, "%s/out", j->work);
    return dir_bytes(a) + dir_bytes(b);
}

/* Fill spool/ with logs: six from two hours ago, two recent. */
static void make_spool(const job *j)
{
    char dir[600], p[700];
    snprintf(dir, sizeof dir, "%s/spool", j->work);
    if (mkdir(dir, 0755) != 0)
        return; /* exists: a resumed run */
    for (int i = 0; i < 8; i++) {
        snprintf(p, sizeof p, "%s/worker-%d.log", dir, i);
        FILE *f = fopen(p, "w");
        for (int k = 0; f && k < 1600; k++)
            fprintf(f, "%05d INFO worker %d processed chunk %d in 12 ms\n", k, i, k);
        if (f)
            fclose(f);
        struct timespec t[2] = {{time(NULL) - (i < 6 ? 7200 : 60), 0}, {0, 0}};
        t[1] = t[0];
        utimensat(AT_FDCWD, p, t, 0);
    }
}

/* One batch of the current stage.  0, or -1 with the error text in err. */
static int run_batch(job *j, int n, char *err, size_t cap)
{
    if (j->stage == 1 && n > MEM_LIMIT) {
        snprintf(err, cap, "transform: cannot allocate memory for %d records", n);
        return -1;
    }
    if (j->stage != 2)
        return 0;
    uint64_t size = (uint64_t)n * RECORD_BYTES;
    if (used_bytes(j) + size > j->quota) {
        snprintf(err, cap, "write out/part-%05d.dat: No space left on device", j->next);
        return -1;
    }
    char path[700], *buf = malloc(size);
    memset(buf, 'r', size);
    snprintf(path, sizeof path, "%s/out/part-%05d.dat", j->work, j->next);
    fl_write_options_t w = {.path = path, .data = buf, .len = size};
    fl_storage_result_t r;
    int rc = fl_storage_write_atomic(j->b, &w, &r);
    free(buf);
    if (rc)
        snprintf(err, cap, "%s", r.error);
    return rc ? -1 : 0;
}

/* ---- checkpoints -------------------------------------------------------- */

static void save(job *j)
{
    char state[128];
    int64_t seq = 0;
    snprintf(state, sizeof state, "next=%d batch=%d", j->next, j->batch);
    int rc = fl_checkpoint_save(j->b, JOB, stages[j->stage], state, strlen(state), &seq);
    printf("  checkpoint #%lld: %s %s%s\n", (long long)seq, stages[j->stage], state,
           rc ? " (save FAILED)" : "");
}

static void resume(job *j)
{
    fl_checkpoint_t cp;
    if (fl_checkpoint_load(j->b, JOB, NULL, &cp) != FL_OK) {
        printf("no checkpoint: starting from the beginning\n");
        return;
    }
    for (int s = 0; s < 3; s++)
        if (!strcmp(cp.stage, stages[s]))
            j->stage = s;
    sscanf(cp.data, "next=%d batch=%d", &j->next, &j->batch);
    printf("resumed from checkpoint #%lld: stage %s, item %d, batch size %d\n",
           (long long)cp.seq, cp.stage, j->next, j->batch);
    fl_checkpoint_clear(&cp);
}

/* ---- asking the policy -------------------------------------------------- */

static void print_effects(const char *json)
{
    json_t *root = json_loads(json, 0, NULL), *e;
    size_t i;
    json_array_foreach(json_object_get(root, "effects"), i, e) {
        const char *err = json_string_value(json_object_get(e, "error"));
        printf("     effect: %s %s: %s, %lld bytes freed, %lld files%s%s\n",
               json_string_value(json_object_get(e, "action")),
               json_string_value(json_object_get(e, "target")),
               json_is_true(json_object_get(e, "ok")) ? "ok" : "FAILED",
               (long long)json_integer_value(json_object_get(e, "bytes_freed")),
               (long long)json_integer_value(json_object_get(e, "files")), err ? ": " : "",
               err ? err : "");
    }
    json_decref(root);
}

/* Apply params.batch_size from the decision, if any. */
static void apply_params(job *j)
{
    const char *pj = fl_decision_params_json(j->d);
    json_t *p = pj ? json_loads(pj, 0, NULL) : NULL;
    json_t *bs = json_object_get(p, "batch_size");
    if (json_is_number(bs) && json_number_value(bs) >= 1) {
        printf("     batch size %d -> %d\n", j->batch, (int)json_number_value(bs));
        j->batch = (int)json_number_value(bs);
    }
    json_decref(p);
}

/* Report the failure; 1 when the policy says retry. */
static int ask_policy(job *j, const char *msg, int attempt, int n)
{
    char num[32];
    fl_event_reset(j->ev);
    fl_event_set(j->ev, FL_FIELD_MESSAGE, msg, (size_t)-1);
    fl_event_set(j->ev, FL_FIELD_DOMAIN, "posix", (size_t)-1);
    fl_event_set(j->ev, FL_FIELD_OP, j->stage == 2 ? "pipeline.load" : "pipeline.transform",
                 (size_t)-1);
    fl_event_set_attempt(j->ev, attempt);
    snprintf(num, sizeof num, "%d", n);
    fl_event_set_tag(j->ev, "batch_size", num);
    fl_event_set_tag(j->ev, "stage", stages[j->stage]);
    int rc = fl_decide(j->ctx, j->ev, NULL, 0, j->d);
    fl_action a = fl_decision_action(j->d);
    const char *pj = fl_decision_params_json(j->d);
    printf("  ! %s\n  -> decision: %s (rule %s, %s)%s%s\n", msg, fl_action_name(a),
           fl_decision_rule(j->d), fl_decision_category(j->d), pj ? ", params " : "",
           pj ? pj : "");
    printf("     message: %s\n", fl_decision_message(j->d) ? fl_decision_message(j->d) : "");
    print_effects(fl_decision_to_json(j->d));
    if (rc != FL_OK)
        printf("     (policy error: %s)\n", fl_decision_error(j->d));
    if (a == FL_ACTION_RETRY)
        apply_params(j);
    return a == FL_ACTION_RETRY;
}

/* ---- the job ------------------------------------------------------------ */

/* Run one batch with retries as the policy decides.  0 or -1 (gave up). */
static int batch_with_policy(job *j)
{
    char err[512];
    for (int attempt = 1;; attempt++) {
        int n = j->batch < j->items - j->next ? j->batch : j->items - j->next;
        if (run_batch(j, n, err, sizeof err) == 0) {
            printf("[%s] items %d-%d done (batch %d, disk %llu KiB of %llu)\n",
                   stages[j->stage], j->next, j->next + n - 1, n,
                   (unsigned long long)(used_bytes(j) / 1024),
                   (unsigned long long)(j->quota / 1024));
            j->next += n;
            return 0;
        }
        if (!ask_policy(j, err, attempt, n))
            return -1;
    }
}

static int run_job(job *j)
{
    resume(j);
    while (!(j->stage == 2 && j->next >= j->items)) {
        if (batch_with_policy(j) != 0) {
            printf("pipeline FAILED in stage %s\n", stages[j->stage]);
            return 1;
        }
        if (j->next >= j->items && j->stage < 2)
            j->stage++, j->next = 0;
        save(j);
        if (j->crash_after && ++j->batches == j->crash_after) {
            printf("*** killed (SIGKILL) after %d batches ***\n", j->batches);
            fflush(stdout);
            raise(SIGKILL);
        }
    }
    printf("pipeline finished: %d records through extract, transform and load\n", j->items);
    return 0;
}

/* ---- setup -------------------------------------------------------------- */

static int open_all(job *j, const char *policy)
{
    char data[600], out[600];
    fl_diag_t diag;
    snprintf(data, sizeof data, "%s/data", j->work);
    snprintf(out, sizeof out, "%s/out", j->work);
    mkdir(j->work, 0755);
    mkdir(out, 0755);
    make_spool(j);
    const char *roots[] = {j->work}; /* the policy may touch the work dir only */
    fl_bindings_options_t bo = {.storage_roots = roots, .storage_roots_count = 1,
                                .data_dir = data};
    if (fl_bindings_new(&bo, &j->b) != FL_OK) {
        fprintf(stderr, "pipeline: cannot open %s\n", j->work);
        return -1;
    }
    fl_engine_options_t eo = {.bindings = j->b};
    if (fl_engine_new(&eo, &j->eng) != FL_OK || fl_engine_load(j->eng, policy, &diag) != FL_OK) {
        char buf[1200];
        fprintf(stderr, "pipeline: policy %s: %s\n", policy,
                fl_diag_format(&diag, buf, sizeof buf));
        return -1;
    }
    if (fl_ctx_new(j->eng, &j->ctx) || fl_event_new(&j->ev) || fl_decision_new(&j->d))
        return -1;
    return 0;
}

static void close_all(job *j)
{
    fl_decision_free(j->d);
    fl_event_free(j->ev);
    fl_ctx_free(j->ctx);
    fl_engine_free(j->eng);
    fl_bindings_free(j->b);
}

/* --demo: run this program killed after 5 batches, then again to resume. */
static int demo(char **argv, const char *work, const char *policy)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
    if (system(cmd) != 0)
        return 1;
    for (int run = 0; run < 2; run++) {
        printf("\n=== run %d: %s ===\n", run + 1,
               run ? "start again: resume from the last checkpoint" : "fresh start");
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            execl(argv[0], argv[0], "--work", work, "--policy", policy, "--crash-after",
                  run ? "0" : "5", (char *)NULL);
            _exit(127);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        if (run == 0 && !WIFSIGNALED(st))
            return 1; /* the first run must have been killed */
        if (run == 0)
            printf("(run 1 ended by signal %d)\n", WTERMSIG(st));
        else
            return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    }
    return 1;
}

int main(int argc, char **argv)
{
    job j = {.items = 600, .batch = 256, .quota = 1u << 20};
    const char *policy = PIPELINE_POLICY_DIR, *work = NULL;
    char tmpwork[4096];
    int is_demo = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--demo"))
            is_demo = 1;
        else if (!strcmp(argv[i], "--work") && v)
            work = argv[++i];
        else if (!strcmp(argv[i], "--policy") && v)
            policy = argv[++i];
        else if (!strcmp(argv[i], "--items") && v)
            j.items = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--crash-after") && v)
            j.crash_after = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--demo] [--work DIR] [--policy DIR] [--items N] "
                            "[--crash-after N]\n", argv[0]);
            return 2;
        }
    }
    if (!work) { /* never into the working directory: a fresh temporary one */
        const char *tmp = getenv("TMPDIR");
        snprintf(tmpwork, sizeof tmpwork, "%s/faultline-pipeline-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(tmpwork)) {
            perror("pipeline: cannot create a temporary work directory");
            return 1;
        }
        work = tmpwork;
        fprintf(stderr, "pipeline: work directory %s\n", work);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* The storage roots are absolute: make the work directory absolute too,
     * so paths built from it are not resolved against the root twice. */
    char abs[1024];
    if (work[0] != '/' && getcwd(abs, sizeof abs - strlen(work) - 2)) {
        strcat(abs, "/");
        strcat(abs, work);
        work = abs;
    }
    if (is_demo)
        return demo(argv, work, policy);
    snprintf(j.work, sizeof j.work, "%s", work);
    printf("pipeline: %d records, work dir %s (quota %llu KiB), policy %s\n", j.items, work,
           (unsigned long long)(j.quota / 1024), policy);
    int rc = open_all(&j, policy) == 0 ? run_job(&j) : 1;
    close_all(&j);
    return rc;
}
