/*
 * cctoken through its C ABI: P1 cache hit (one thread), P2 hit throughput (pthreads) and
 * P6 footprint (RSS and threads). Prints one JSON result per line for benches/run.py.
 *
 *   bench [--smoke] p1|p2|p6
 *
 * The dev server comes from CCTOKEN_BENCH_TOKEN_URL, CCTOKEN_BENCH_CLIENT_ID and
 * CCTOKEN_BENCH_CLIENT_SECRET. A hit is cct_client_get_token + cct_token_free, timed with
 * clock_gettime(CLOCK_MONOTONIC) around batches of calls (a single call is shorter than the
 * clock's own cost), so each sample is a batch's time divided by its size.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cctoken.h"

static int smoke;

static void die(const char *what, cct_status st, cct_error *err) {
    fprintf(stderr, "bench: %s: %s (%s)\n", what, cct_status_str(st), err ? cct_error_message(err) : "");
    exit(1);
}

static const char *env(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "bench: %s is not set: run the benchmarks with `make bench`\n", name);
        exit(2);
    }
    return v;
}

static cct_client *new_client(int background) {
    cct_config *cfg;
    cct_client *client;
    cct_error *err = NULL;
    cct_status st = cct_config_new(&cfg, &err);
    if (st) die("cct_config_new", st, err);
    if ((st = cct_config_set_token_url(cfg, env("CCTOKEN_BENCH_TOKEN_URL"), &err)) ||
        (st = cct_config_set_client_id(cfg, env("CCTOKEN_BENCH_CLIENT_ID"), &err)) ||
        (st = cct_config_set_client_secret(cfg, env("CCTOKEN_BENCH_CLIENT_SECRET"), &err)) ||
        (st = cct_config_add_scope(cfg, "read", &err)) ||
        (st = cct_config_set_background_refresh(cfg, background, &err)))
        die("config", st, err);
    if ((st = cct_client_new(cfg, &client, &err))) die("cct_client_new", st, err);
    cct_config_free(cfg);
    return client;
}

static inline void hit(const cct_client *client) {
    cct_token *tok;
    cct_error *err = NULL;
    cct_status st = cct_client_get_token(client, &tok, &err);
    if (__builtin_expect(st != CCT_STATUS_OK, 0)) die("cct_client_get_token", st, err);
    cct_token_free(tok);
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void emit(const char *scenario, const char *cse, const char *library, const char *unit, double *v, size_t n,
                 const char *note) {
    qsort(v, n, sizeof *v, cmp_double);
    double median = v[(size_t)((n - 1) * 0.5 + 0.5)], p99 = v[(size_t)((n - 1) * 0.99 + 0.5)];
    printf("{\"scenario\":\"%s\",\"case\":\"%s\",\"group\":\"c\",\"library\":\"%s\",\"ref\":true,\"unit\":\"%s\","
           "\"median\":%.3f,\"p99\":%.3f,\"max\":%.3f,\"n\":%zu,\"note\":\"%s\"}\n",
           scenario, cse, library, unit, median, p99, v[n - 1], n, note);
    fflush(stdout);
}

static void p1(void) {
    cct_client *client = new_client(0);
    hit(client);
    enum { BATCH = 1000 };
    size_t batches = smoke ? 50 : 4000;
    double *ns = calloc(batches, sizeof *ns);
    for (size_t i = 0; i < batches / 10; i++)
        for (int j = 0; j < BATCH; j++) hit(client); /* warm-up */
    for (size_t i = 0; i < batches; i++) {
        double t0 = now_ns();
        for (int j = 0; j < BATCH; j++) hit(client);
        ns[i] = (now_ns() - t0) / BATCH;
    }
    char note[128];
    snprintf(note, sizeof note, "%zu batches of %d get_token+token_free; clock_gettime per batch", batches, BATCH);
    emit("P1", "cache hit, 1 thread", "cctoken (C ABI)", "ns", ns, batches, note);
    free(ns);
    cct_client_free(client);
}

struct p2_shared {
    const cct_client *client;
    atomic_int stop;
    pthread_barrier_t start;
};

static void *p2_worker(void *arg) {
    struct p2_shared *s = arg;
    uint64_t n = 0;
    pthread_barrier_wait(&s->start);
    while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        for (int i = 0; i < 64; i++) hit(s->client);
        n += 64;
    }
    return (void *)(uintptr_t)n;
}

static void p2(void) {
    cct_client *client = new_client(0);
    hit(client);
    static const int all[] = {1, 2, 8, 64}, few[] = {1, 8};
    const int *threads = smoke ? few : all;
    size_t nthreads = smoke ? 2 : 4, rounds = smoke ? 2 : 15;
    long round_ms = smoke ? 20 : 100;
    for (size_t k = 0; k < nthreads; k++) {
        int n = threads[k];
        double *ns = calloc(rounds, sizeof *ns);
        pthread_t *tids = calloc((size_t)n, sizeof *tids);
        for (size_t r = 0; r < rounds; r++) {
            struct p2_shared s = {.client = client};
            pthread_barrier_init(&s.start, NULL, (unsigned)n + 1);
            for (int i = 0; i < n; i++) pthread_create(&tids[i], NULL, p2_worker, &s);
            /* The clock starts before the release: with more threads than cores, this thread
             * may run again only after the workers have been hitting for a while. */
            double t0 = now_ns();
            pthread_barrier_wait(&s.start);
            struct timespec d = {0, round_ms * 1000000L};
            nanosleep(&d, NULL);
            atomic_store(&s.stop, 1);
            uint64_t hits = 0;
            for (int i = 0; i < n; i++) {
                void *ret;
                pthread_join(tids[i], &ret);
                hits += (uint64_t)(uintptr_t)ret;
            }
            ns[r] = (now_ns() - t0) / (double)hits;
            pthread_barrier_destroy(&s.start);
        }
        char cse[64], note[128];
        snprintf(cse, sizeof cse, "hit throughput, %d threads", n);
        snprintf(note, sizeof note, "%zu rounds of %ld ms; wall time / hits of all threads", rounds, round_ms);
        emit("P2", cse, "cctoken (C ABI)", "ns", ns, rounds, note);
        free(ns);
        free(tids);
    }
    cct_client_free(client);
}

/* VmRSS (bytes) and Threads from /proc/self/status. */
static void proc_status(double *rss, double *threads) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6)) *rss = strtod(line + 6, NULL) * 1024;
        if (!strncmp(line, "Threads:", 8)) *threads = strtod(line + 8, NULL);
    }
    if (f) fclose(f);
}

static void p6_point(const char *cse, const char *note) {
    double rss = 0, threads = 0;
    proc_status(&rss, &threads);
    char c[128];
    snprintf(c, sizeof c, "RSS, %s", cse);
    emit("P6", c, "cctoken (C ABI, libcctoken.so)", "bytes", &rss, 1, note);
    snprintf(c, sizeof c, "threads, %s", cse);
    emit("P6", c, "cctoken (C ABI, libcctoken.so)", "threads", &threads, 1, note);
}

static void p6(void) {
    p6_point("after load", "process linked against libcctoken.so, at the top of main()");
    cct_client *client = new_client(0);
    hit(client);
    p6_point("after client + first token", "");
    long hits = smoke ? 10000 : 1000000;
    for (long i = 0; i < hits; i++) hit(client);
    p6_point("after 1e6 hits", smoke ? "smoke: 1e4 hits" : "");
    cct_client_free(client);
    cct_client *bg = new_client(1);
    hit(bg);
    p6_point("background refresher on", "cct_config_set_background_refresh(cfg, true)");
    cct_client_free(bg);
}

int main(int argc, char **argv) {
    const char *what = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--smoke"))
            smoke = 1;
        else
            what = argv[i];
    }
    if (what && !strcmp(what, "p1"))
        p1();
    else if (what && !strcmp(what, "p2"))
        p2();
    else if (what && !strcmp(what, "p6"))
        p6();
    else {
        fprintf(stderr, "usage: bench [--smoke] p1|p2|p6\n");
        return 2;
    }
    return 0;
}
