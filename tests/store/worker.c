/*
 * One C process of the multi-language store test (tests/store/run.py): see worker.py, which
 * this mirrors line for line. Prints FNV-1a fingerprints of tokens, never a token.
 * Also used by `make bench` P7 (benches/p7.py): without CCTOKEN_CACHE_DIR (empty) it uses no
 * store; `worker cost N` prints the median first-call latency of N fresh clients, with a warm
 * store and without one.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cctoken.h"

static uint64_t fnv1a(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int die(const char *what, cct_error *err) {
    printf("error %s: %s\n", what, err ? cct_error_message(err) : "");
    cct_error_free(err);
    return 1;
}

static cct_client *new_client(int with_store, cct_error **err) {
    cct_config *cfg = NULL;
    cct_client *client = NULL;
    const char *dir = getenv("CCTOKEN_CACHE_DIR");
    if (cct_config_new(&cfg, err) || cct_config_set_token_url(cfg, getenv("CCTOKEN_TOKEN_URL"), err) ||
        cct_config_set_client_id(cfg, getenv("CCTOKEN_CLIENT_ID"), err) ||
        cct_config_set_client_secret(cfg, getenv("CCTOKEN_CLIENT_SECRET"), err) ||
        (with_store && dir && *dir && cct_config_set_cache_dir(cfg, dir, err)) ||
        cct_config_set_refresh_policy(cfg, 0.1, 300, 0.25, err) || cct_client_new(cfg, &client, err)) {
        client = NULL;
    }
    cct_config_free(cfg);
    return client;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median latency of the first get_token of `n` fresh clients, in ns. */
static double first_call_ns(int with_store, int n) {
    double *t = calloc((size_t)n, sizeof *t);
    for (int i = 0; i < n; i++) {
        cct_error *err = NULL;
        cct_client *client = new_client(with_store, &err);
        cct_token *tok = NULL;
        double start = now_s();
        if (client == NULL || cct_client_get_token(client, &tok, &err) != CCT_STATUS_OK) {
            die("cost", err);
            exit(1);
        }
        t[i] = (now_s() - start) * 1e9;
        cct_token_free(tok);
        cct_client_free(client);
    }
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    double median = t[n / 2];
    free(t);
    return median;
}

int main(int argc, char **argv) {
    cct_error *err = NULL;
    if (argc == 3 && strcmp(argv[1], "cost") == 0) {
        int n = atoi(argv[2]);
        first_call_ns(1, 1); /* warms the store */
        double hit = first_call_ns(1, n), fetch = first_call_ns(0, n);
        printf("store_hit_ns=%.0f fetch_ns=%.0f n=%d\n", hit, fetch, n);
        return 0;
    }
    cct_client *client = new_client(1, &err);
    if (client == NULL) {
        return die("config", err);
    }
    double duration = atof(getenv("CCTOKEN_DURATION_S"));
    printf("ready\n");
    fflush(stdout);
    while (access(getenv("CCTOKEN_GO_FILE"), F_OK) != 0) {
        sleep_ms(5);
    }
    double end = now_s() + duration;
    uint64_t first = 0, last = 0;
    unsigned distinct = 0, calls = 0;
    do {
        cct_token *tok = NULL;
        if (cct_client_get_token(client, &tok, &err) != CCT_STATUS_OK) {
            return die("token", err);
        }
        if (cct_token_expires_in_ms(tok) == 0) {
            printf("error: an expired token was served\n");
            return 1;
        }
        uint64_t fp = fnv1a(cct_token_access_token(tok));
        if (calls++ == 0) {
            first = fp;
        }
        if (fp != last) {
            distinct++;
            last = fp;
        }
        cct_token_free(tok);
        sleep_ms(50);
    } while (now_s() < end);
    cct_store_metrics sm;
    cct_client_store_metrics(client, &sm, NULL);
    printf("ok first=%016llx distinct=%u calls=%u store_errors=%llu\n", (unsigned long long)first, distinct, calls,
           (unsigned long long)sm.store_errors);
    cct_client_free(client);
    return 0;
}
