/*
 * The event callback and the metrics exposition, against the dev server:
 *
 *   1. A scenario (success, a failing refresh with retries while the cached token is served,
 *      recovery, invalid_client and its cool-down, secret rotation): every event is kept (its
 *      JSON and its fields) and searched for the secret and the tokens; expected kinds and
 *      fields are checked.
 *   2. A callback that calls back into the client (cct_client_get_token) does not deadlock,
 *      even on the failure of the very first fetch.
 *   3. A slow callback delays nobody's cache hit: hits on another thread complete while the
 *      callback sleeps (a bounded "did not block" check, not a speed measurement).
 *   4. The callback is never called after cct_client_free returns, which waits for a
 *      callback in progress.
 *
 * Faults are queued at the dev server with curl (like run.sh does), since these checks need
 * them in the middle of a run. alarm() bounds the whole program: a deadlock fails, not hangs.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

static void set_fault(const char *json) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "curl -sSf -o /dev/null -X POST -H 'Content-Type: application/json' -d '%s' '%s/_dev/fault'", json,
             env_or_die("CCTOKEN_BASE_URL"));
    CHECK(system(cmd) == 0);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- every event, kept as text ------------------------------------------------------------ */

enum { MAX_EVENTS = 512, MAX_TOKENS = 64 };
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *events[MAX_EVENTS]; /* "kind level|json|name=value;..." per event */
static int n_events;
static char *tokens[MAX_TOKENS]; /* every access token seen (copies, never printed) */
static int n_tokens;

static void keep_token(const cct_token *t) {
    pthread_mutex_lock(&lock);
    if (n_tokens < MAX_TOKENS) tokens[n_tokens++] = strdup(cct_token_access_token(t));
    pthread_mutex_unlock(&lock);
}

static void record(const cct_event *ev) {
    char buf[8192];
    int len = snprintf(buf, sizeof buf, "%s %u|%s|%s|", cct_event_kind(ev), cct_event_level(ev),
                       cct_event_message(ev), cct_event_json(ev));
    size_t count = cct_event_field_count(ev);
    for (size_t i = 0; i < count && len < (int)sizeof buf; i++) {
        const char *name = NULL, *value = NULL;
        CHECK(cct_event_field(ev, i, &name, &value));
        len += snprintf(buf + len, sizeof buf - (size_t)len, "%s=%s;", name, value);
    }
    const char *n = NULL, *v = NULL;
    CHECK(!cct_event_field(ev, count, &n, &v) && n == NULL); /* out of range: nothing written */
    pthread_mutex_lock(&lock);
    if (n_events < MAX_EVENTS) events[n_events++] = strdup(buf);
    pthread_mutex_unlock(&lock);
}

/* How many kept events start with `kind` and contain every one of the `needles` (NULL-ended). */
static int count_events(const char *kind, const char *const *needles) {
    int n = 0;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < n_events; i++) {
        size_t k = strlen(kind);
        if (strncmp(events[i], kind, k) != 0 || (events[i][k] != ' ' && events[i][k] != '|')) continue;
        int all = 1;
        for (const char *const *s = needles; s && *s; s++) all = all && strstr(events[i], *s) != NULL;
        n += all;
    }
    pthread_mutex_unlock(&lock);
    return n;
}

static int wait_events(const char *kind, int want, int limit_ms) {
    for (int waited = 0; waited < limit_ms; waited += 10) {
        if (count_events(kind, NULL) >= want) return 1;
        sleep_ms(10);
    }
    return count_events(kind, NULL) >= want;
}

static void on_event(const cct_event *ev, void *user_data) {
    CHECK(user_data == &lock);
    CHECK(cct_event_time_unix_ms(ev) > 1700000000000ULL && cct_event_time_unix_ms(ev) <= (uint64_t)time(NULL) * 1000 + 1000);
    record(ev);
}

static cct_token *get(const cct_client *c) {
    cct_token *t = NULL;
    cct_error *err = NULL;
    cct_status s = cct_client_get_token(c, &t, &err);
    cct_error_free(err);
    if (s == CCT_STATUS_OK) keep_token(t);
    return s == CCT_STATUS_OK ? t : NULL;
}

static void scenario(void) {
    cct_error *err = NULL;
    cct_config *cfg = dev_config(env_or_die("CCTOKEN_CLIENT_SECRET"));
    CHECK_OK(cct_config_set_event_callback(cfg, on_event, &lock, &err), &err);
    CHECK_OK(cct_config_set_refresh_policy(cfg, 0.5, 0, 0.0, &err), &err);
    CHECK_OK(cct_config_set_retry_policy(cfg, 3, 10, 50, &err), &err);
    cct_client *c = client_from(cfg);
    if (c == NULL) return;

    /* 1. Success: a 3 s token, refreshed from 1.5 s on. */
    set_fault("{\"expires_in\": 3}");
    cct_token *first = get(c);
    CHECK(first != NULL);
    /* 2. The refresh fails three times (503 + Retry-After); the cached token is served. */
    set_fault("{\"status\": 503, \"error\": \"temporarily_unavailable\", \"retry_after\": \"0\", \"count\": 3}");
    for (int i = 0; i < 500 && cct_token_expires_in_ms(first) > 1400; i++) sleep_ms(10);
    cct_token *served = get(c);
    CHECK(served != NULL && strcmp(cct_token_access_token(served), cct_token_access_token(first)) == 0);
    cct_token_free(served);
    cct_token_free(first);
    CHECK(wait_events("refresh.failed_stale_served", 1, 10000));
    /* 3. Recovery. */
    for (int i = 0; i < 1000 && count_events("token_request.succeeded", NULL) < 2; i++) {
        cct_token_free(get(c));
        sleep_ms(10);
    }
    CHECK(count_events("token_request.succeeded", NULL) >= 2);
    /* 4. invalid_client: a cool-down; the next call fails without a request. */
    cct_token *current = get(c);
    set_fault("{\"status\": 401, \"error\": \"invalid_client\"}");
    CHECK_OK(cct_client_invalidate(c, current, &err), &err);
    cct_token_free(current);
    CHECK(get(c) == NULL);
    CHECK(get(c) == NULL);
    /* 5. Rotation ends the cool-down. */
    CHECK_OK(cct_client_set_client_secret(c, env_or_die("CCTOKEN_CLIENT_SECRET"), &err), &err);
    cct_token *after = get(c);
    CHECK(after != NULL);
    cct_token_free(after);

    cct_metrics m = metrics_of(c);
    CHECK(m.requests_oauth == 4 && m.requests_success >= 3);
    CHECK(m.cooldowns == 1 && m.cooldown_rejections == 1);
    CHECK(m.fetch_latency_count == m.fetches && m.token_cached == 1 && m.token_expires_in_ms > 0);
    uint64_t bucketed = 0;
    for (int i = 0; i < 12; i++) bucketed += m.fetch_latency_buckets[i];
    CHECK(bucketed == m.fetch_latency_count); /* every fetch here took under 30 s */
    char *text = NULL;
    CHECK_OK(cct_client_metrics_text(c, 5, &text, &err), &err);
    CHECK(text != NULL && strstr(text, "cctoken_token_requests_total{client_id=\"c-test\",outcome=\"oauth\"} 4"));
    CHECK(text != NULL && strstr(text, "# TYPE cctoken_fetch_duration_seconds histogram"));
    char hits[128];
    snprintf(hits, sizeof hits, "cctoken_cache_hits_total{client_id=\"c-test\"} %llu",
             (unsigned long long)(m.hits + 5));
    CHECK(text != NULL && strstr(text, hits));
    CHECK_FAILS(cct_client_metrics_text(NULL, 0, &text, &err), &err, CCT_STATUS_NULL_ARGUMENT, "client");
    CHECK_FAILS(cct_client_metrics_text(c, 0, NULL, &err), &err, CCT_STATUS_NULL_ARGUMENT, "out");
    cct_client_free(c);

    /* Expected kinds and fields. */
    const char *retried[] = {"attempt=1;", "http_status=503;", "will_retry=true;", "error_class=oauth;",
                             "oauth_error=temporarily_unavailable;", "retry_after_ms=0;", "client_id=c-test;",
                             "scopes=read;", NULL};
    CHECK(count_events("token_request.failed 2", retried) >= 1);
    const char *gave_up[] = {"attempt=3;", "will_retry=false;", NULL};
    CHECK(count_events("token_request.failed 1", gave_up) >= 1);
    const char *stale[] = {"time_left_ms=", NULL};
    CHECK(count_events("refresh.failed_stale_served 2", stale) == 1);
    CHECK(count_events("refresh.started 4", NULL) >= 1);
    const char *cool[] = {"oauth_error=invalid_client;", "cooldown_ms=", NULL};
    CHECK(count_events("cooldown.entered 1", cool) == 1);
    const char *ended[] = {"reason=secret_rotated;", NULL};
    CHECK(count_events("cooldown.ended 3", ended) == 1);
    CHECK(count_events("secret.rotated 3", NULL) == 1);
    const char *ok[] = {"http_status=200;", "token_endpoint=", "auth_method=client_secret_basic;", NULL};
    CHECK(count_events("token_request.succeeded 3", ok) >= 3);

    /* No event holds the secret or a token (checked without printing either). */
    const char *secret = env_or_die("CCTOKEN_CLIENT_SECRET");
    pthread_mutex_lock(&lock);
    for (int i = 0; i < n_events; i++) {
        if (strstr(events[i], secret)) fail_at(__FILE__, __LINE__, "event %d holds the secret", i);
        for (int t = 0; t < n_tokens; t++)
            if (strstr(events[i], tokens[t])) fail_at(__FILE__, __LINE__, "event %d holds a token", i);
    }
    if (text != NULL) {
        CHECK(strstr(text, secret) == NULL);
        for (int t = 0; t < n_tokens; t++) CHECK(strstr(text, tokens[t]) == NULL);
    }
    printf("scenario: %d events, searched for the secret and %d tokens\n", n_events, n_tokens);
    pthread_mutex_unlock(&lock);
    cct_string_free(text);
}

/* ---- a callback that calls back into the client --------------------------------------------- */

static cct_client *reentrant_client;
static int reentrant_calls;

static void call_back_in(const cct_event *ev, void *user_data) {
    (void)user_data;
    if (strncmp(cct_event_kind(ev), "token_request.", 14) != 0 || reentrant_calls >= 4) return;
    reentrant_calls++;
    cct_token_free(get(reentrant_client)); /* may fetch, may hit: must return either way */
}

static void reentrant(void) {
    cct_error *err = NULL;
    cct_config *cfg = dev_config(env_or_die("CCTOKEN_CLIENT_SECRET"));
    CHECK_OK(cct_config_set_event_callback(cfg, call_back_in, NULL, &err), &err);
    CHECK_OK(cct_config_set_retry_policy(cfg, 1, 10, 10, &err), &err);
    reentrant_client = client_from(cfg);
    if (reentrant_client == NULL) return;
    /* The very first fetch fails: its callback asks for a token again, while no token exists. */
    set_fault("{\"status\": 503}");
    CHECK(get(reentrant_client) == NULL);
    CHECK(reentrant_calls >= 2); /* on the failure, then on the nested fetch's success */
    cct_token *t = get(reentrant_client);
    CHECK(t != NULL);
    cct_token_free(t);
    cct_client_free(reentrant_client);
}

/* ---- a slow callback delays no cache hit ----------------------------------------------------- */

static volatile int slow_armed, slow_inside, hits_done, hits_done_seen_in_callback;

static void slow(const cct_event *ev, void *user_data) {
    (void)user_data;
    if (!slow_armed || strcmp(cct_event_kind(ev), "token_request.succeeded") != 0) return;
    __atomic_store_n(&slow_inside, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 2000 && !__atomic_load_n(&hits_done, __ATOMIC_SEQ_CST); i++) sleep_ms(10); /* <= 20 s */
    __atomic_store_n(&hits_done_seen_in_callback, __atomic_load_n(&hits_done, __ATOMIC_SEQ_CST), __ATOMIC_SEQ_CST);
    __atomic_store_n(&slow_inside, 0, __ATOMIC_SEQ_CST);
}

static void *fetch_once(void *client) {
    cct_token_free(get(client));
    return NULL;
}

static void slow_callback(void) {
    cct_error *err = NULL;
    cct_config *cfg = dev_config(env_or_die("CCTOKEN_CLIENT_SECRET"));
    CHECK_OK(cct_config_set_event_callback(cfg, slow, NULL, &err), &err);
    cct_client *c = client_from(cfg);
    if (c == NULL) return;
    cct_token_free(get(c));
    cct_token *old = get(c);
    CHECK_OK(cct_client_invalidate(c, old, &err), &err);
    cct_token_free(old);
    slow_armed = 1;
    pthread_t fetcher;
    CHECK(pthread_create(&fetcher, NULL, fetch_once, c) == 0); /* its success event sleeps */
    for (int i = 0; i < 2000 && !__atomic_load_n(&slow_inside, __ATOMIC_SEQ_CST); i++) sleep_ms(10);
    CHECK(__atomic_load_n(&slow_inside, __ATOMIC_SEQ_CST));
    for (int i = 0; i < 1000; i++) { /* hits, while the callback sleeps */
        cct_token *t = NULL;
        CHECK_OK(cct_client_get_token(c, &t, &err), &err);
        cct_token_free(t);
    }
    __atomic_store_n(&hits_done, 1, __ATOMIC_SEQ_CST);
    pthread_join(fetcher, NULL);
    CHECK(hits_done_seen_in_callback); /* the hits finished before the callback did */
    cct_client_free(c);
}

/* ---- never called after cct_client_free ------------------------------------------------------ */

static volatile int freed, in_callback, late_calls, early_calls;

static void watch(const cct_event *ev, void *user_data) {
    (void)ev;
    (void)user_data;
    if (__atomic_load_n(&freed, __ATOMIC_SEQ_CST)) __atomic_add_fetch(&late_calls, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&in_callback, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&early_calls, 1, __ATOMIC_SEQ_CST);
    sleep_ms(300);
    __atomic_store_n(&in_callback, 0, __ATOMIC_SEQ_CST);
}

static void after_free(void) {
    cct_error *err = NULL;
    cct_config *cfg = dev_config(env_or_die("CCTOKEN_CLIENT_SECRET"));
    CHECK_OK(cct_config_set_event_callback(cfg, watch, NULL, &err), &err);
    cct_client *c = client_from(cfg);
    if (c == NULL) return;
    /* A slow fetch this caller gives up on keeps running on its own thread. */
    set_fault("{\"latency_ms\": 600}");
    cct_token *t = NULL;
    CHECK_FAILS(cct_client_get_token_timeout(c, 100, &t, &err), &err, CCT_STATUS_TIMEOUT, NULL);
    cct_client_free(c);
    __atomic_store_n(&freed, 1, __ATOMIC_SEQ_CST);
    CHECK(!__atomic_load_n(&in_callback, __ATOMIC_SEQ_CST)); /* free waited for a running call */
    sleep_ms(1500);                                          /* the fetch ends meanwhile */
    CHECK(late_calls == 0);

    /* And with a callback running (on the background refresher) when the client is freed:
     * cct_client_free waits for it. */
    freed = 0;
    early_calls = 0;
    cfg = dev_config(env_or_die("CCTOKEN_CLIENT_SECRET"));
    CHECK_OK(cct_config_set_event_callback(cfg, watch, NULL, &err), &err);
    CHECK_OK(cct_config_set_background_refresh(cfg, true, &err), &err);
    CHECK_OK(cct_config_set_refresh_policy(cfg, 0.5, 0, 0.0, &err), &err);
    c = client_from(cfg);
    if (c == NULL) return;
    set_fault("{\"expires_in\": 2}");
    cct_token_free(get(c)); /* refreshed by the refresher from 1 s on */
    for (int i = 0; i < 2000 && !__atomic_load_n(&in_callback, __ATOMIC_SEQ_CST); i++) sleep_ms(5);
    CHECK(__atomic_load_n(&in_callback, __ATOMIC_SEQ_CST)); /* the refresher is inside the callback */
    cct_client_free(c);
    __atomic_store_n(&freed, 1, __ATOMIC_SEQ_CST);
    CHECK(!__atomic_load_n(&in_callback, __ATOMIC_SEQ_CST));
    sleep_ms(1000);
    CHECK(early_calls >= 2 && late_calls == 0);
}

static void api_contract(void) {
    cct_error *err = NULL;
    CHECK_FAILS(cct_config_set_event_callback(NULL, on_event, NULL, &err), &err, CCT_STATUS_NULL_ARGUMENT, "cfg");
    cct_config *cfg = dev_config(env_or_die("CCTOKEN_CLIENT_SECRET"));
    CHECK_OK(cct_config_set_event_callback(cfg, on_event, NULL, &err), &err);
    CHECK_OK(cct_config_set_event_callback(cfg, NULL, NULL, &err), &err); /* removes it */
    cct_config_free(cfg);
    const char *n = SENTINEL, *v = SENTINEL;
    CHECK(cct_event_level(NULL) == 0 && cct_event_kind(NULL) == NULL && cct_event_message(NULL) == NULL);
    CHECK(cct_event_field_count(NULL) == 0 && cct_event_json(NULL) == NULL && cct_event_time_unix_ms(NULL) == 0);
    CHECK(!cct_event_field(NULL, 0, &n, &v) && n == SENTINEL && v == SENTINEL);
}

int main(void) {
    alarm(120); /* a deadlock fails the test instead of hanging it */
    api_contract();
    scenario();
    reentrant();
    slow_callback();
    after_free();
    for (int i = 0; i < n_events; i++) free(events[i]);
    for (int i = 0; i < n_tokens; i++) free(tokens[i]);
    return test_result("test_events");
}
