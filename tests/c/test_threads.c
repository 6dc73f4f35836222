/*
 * Single-flight: 16 threads x 1000 cct_client_get_token calls on one shared client. All of
 * them must see the same access token, and the client must fetch exactly once. run.sh makes
 * the dev server slow (a latency fault) so the 16 first calls really overlap, and afterwards
 * checks that the server itself saw exactly one token request.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

enum { THREADS = 16, CALLS = 1000 };

struct worker {
    pthread_t thread;
    const cct_client *client;
    pthread_barrier_t *start;
    char *first_token; /* this thread's first access token (a copy); never printed */
    int failures;      /* calls that failed or saw a different token */
};

static void *work(void *arg) {
    struct worker *w = arg;
    /* Everyone starts together, so the first calls race for the one fetch. */
    pthread_barrier_wait(w->start);
    for (int i = 0; i < CALLS; i++) {
        cct_token *token = NULL;
        cct_error *err = NULL;
        CHECK_OK(cct_client_get_token(w->client, &token, &err), &err);
        const char *access = cct_token_access_token(token);
        if (access == NULL) {
            w->failures++;
        } else if (w->first_token == NULL) {
            w->first_token = strdup(access);
        } else if (strcmp(access, w->first_token) != 0) {
            w->failures++;
        }
        cct_token_free(token);
    }
    return NULL;
}

int main(void) {
    cct_client *client = client_from(dev_config(env_or_die("CCTOKEN_CLIENT_SECRET")));
    if (client == NULL) {
        return test_result("test_threads");
    }

    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, THREADS);
    struct worker workers[THREADS];
    memset(workers, 0, sizeof workers);
    for (int i = 0; i < THREADS; i++) {
        workers[i].client = client;
        workers[i].start = &start;
        CHECK(pthread_create(&workers[i].thread, NULL, work, &workers[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(workers[i].thread, NULL);
    }
    pthread_barrier_destroy(&start);

    /* Every call of every thread saw one and the same token. */
    for (int i = 0; i < THREADS; i++) {
        CHECK(workers[i].failures == 0);
        CHECK(workers[i].first_token != NULL);
        CHECK(workers[i].first_token && workers[0].first_token &&
              strcmp(workers[i].first_token, workers[0].first_token) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        free(workers[i].first_token);
    }

    /* One fetch; every call is counted once, as a hit or a miss; the misses beyond the
     * first waited for that fetch instead of starting their own. */
    cct_metrics m = metrics_of(client);
    CHECK(m.fetches == 1);
    CHECK(m.fetch_failures == 0);
    CHECK(m.hits + m.misses == (uint64_t)THREADS * CALLS);
    CHECK(m.misses >= 1);
    CHECK(m.coalesced_waiters <= m.misses - 1);

    cct_client_free(client);
    return test_result("test_threads");
}
