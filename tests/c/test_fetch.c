/*
 * Token fetching against the dev server (run.sh starts it and sets CCTOKEN_TOKEN_URL,
 * CCTOKEN_CLIENT_ID, CCTOKEN_CLIENT_SECRET): the token's fields, the cache, client handles,
 * invalidation, metrics, an invalid_client error and its fields, and secret rotation.
 *
 * Access tokens are compared with strcmp and never printed.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test_util.h"

/* Not the dev server's secret for this client; distinctive, so a leak into a message shows. */
static const char WRONG_SECRET[] = "wrong-secret-Zq81xv";

static const char *secret; /* the right one, from CCTOKEN_CLIENT_SECRET */

/* A copy of the token's access token (the original is borrowed from `t`). */
static char *copy_access_token(const cct_token *t) {
    const char *s = cct_token_access_token(t);
    return strdup(s ? s : "");
}

static bool same_access_token(const cct_token *a, const cct_token *b) {
    const char *x = cct_token_access_token(a), *y = cct_token_access_token(b);
    return x && y && strcmp(x, y) == 0;
}

static void test_fetch_and_cache(void) {
    cct_client *client = client_from(dev_config(secret));
    cct_error *err = NULL;
    cct_token *token = NULL;
    CHECK_OK(cct_client_get_token(client, &token, &err), &err);
    if (token == NULL) {
        cct_client_free(client);
        return;
    }

    const char *access = cct_token_access_token(token);
    CHECK(access != NULL && access[0] != '\0');
    CHECK(cct_token_token_type(token) != NULL && strcmp(cct_token_token_type(token), "Bearer") == 0);
    CHECK(cct_token_scope(token) != NULL && strcmp(cct_token_scope(token), "read") == 0);
    uint64_t expires_in_ms = cct_token_expires_in_ms(token);
    int64_t expires_at = cct_token_expires_at_unix(token);
    int64_t now = (int64_t)time(NULL);
    CHECK(expires_in_ms > 0);
    CHECK(expires_at > now);
    /* The two expiry views agree (to a couple of seconds of rounding and test time). */
    CHECK(llabs((long long)(expires_at - (now + (int64_t)(expires_in_ms / 1000)))) <= 2);
    /* A fresh token may be reused for a while (until the refresh point), never past expiry. */
    uint64_t fresh_for_ms = cct_token_fresh_for_ms(token);
    if (fresh_for_ms == 0) {
        fail_at(__FILE__, __LINE__,
                "ABI BUG: cct_token_fresh_for_ms is 0 for a just-fetched token valid for %llu ms\n"
                "    (src/cache.rs never sets the token's refresh point, Token::refresh_at)",
                (unsigned long long)expires_in_ms);
    }
    CHECK(fresh_for_ms <= expires_in_ms);

    /* The second call is a cache hit: same token, no new fetch. */
    cct_token *again = NULL;
    CHECK_OK(cct_client_get_token(client, &again, &err), &err);
    CHECK(same_access_token(token, again));
    /* A cache hit does not wait, so even a zero timeout gets the token. */
    cct_token *hit = NULL;
    CHECK_OK(cct_client_get_token_timeout(client, 0, &hit, &err), &err);
    CHECK(same_access_token(token, hit));

    cct_metrics m = metrics_of(client);
    CHECK(m.fetches == 1);
    CHECK(m.misses == 1);
    CHECK(m.hits == 2);
    CHECK(m.fetch_failures == 0);
    CHECK(m.coalesced_waiters == 0);
    CHECK(m.last_fetch_latency_us > 0);

    /* Tokens are reference-counted: they outlive the client that handed them out. */
    char *copy = copy_access_token(token);
    cct_client_free(client);
    CHECK(cct_token_access_token(again) != NULL && strcmp(cct_token_access_token(again), copy) == 0);
    CHECK(cct_token_expires_in_ms(again) > 0);
    free(copy);
    cct_token_free(token);
    cct_token_free(again);
    cct_token_free(hit);
}

/* "The library copies every input it keeps": the caller's buffers are overwritten right
 * after each setter, and the client still fetches. */
static void test_inputs_are_copied(void) {
    char url[512], id[128], sec[128], scope[16];
    cct_config *cfg = NULL;
    cct_error *err = NULL;
    CHECK_OK(cct_config_new(&cfg, &err), &err);

    snprintf(url, sizeof url, "%s", env_or_die("CCTOKEN_TOKEN_URL"));
    snprintf(id, sizeof id, "%s", env_or_die("CCTOKEN_CLIENT_ID"));
    snprintf(sec, sizeof sec, "%s", secret);
    snprintf(scope, sizeof scope, "read");
    CHECK_OK(cct_config_set_token_url(cfg, url, &err), &err);
    CHECK_OK(cct_config_set_client_id(cfg, id, &err), &err);
    CHECK_OK(cct_config_set_client_secret(cfg, sec, &err), &err);
    CHECK_OK(cct_config_add_scope(cfg, scope, &err), &err);
    memset(url, 'x', sizeof url - 1);
    memset(id, 'x', sizeof id - 1);
    memset(sec, 'x', sizeof sec - 1); /* also what a careful caller does with a secret */
    memset(scope, 'x', sizeof scope - 1);

    cct_client *client = client_from(cfg); /* frees cfg: the client has its own copy */
    cct_token *token = NULL;
    CHECK_OK(cct_client_get_token(client, &token, &err), &err);
    CHECK(cct_token_scope(token) != NULL && strcmp(cct_token_scope(token), "read") == 0);
    cct_token_free(token);
    cct_client_free(client);
}

/* cct_client_clone: a second handle to the same client (same cache, same counters), freed
 * independently of the first. */
static void test_clone(void) {
    cct_client *client = client_from(dev_config(secret));
    cct_client *clone = NULL;
    cct_error *err = NULL;
    cct_token *a = NULL, *b = NULL, *c = NULL;

    CHECK_OK(cct_client_clone(client, &clone, &err), &err);
    CHECK(clone != NULL && clone != client);
    CHECK_OK(cct_client_get_token(client, &a, &err), &err);
    CHECK_OK(cct_client_get_token(clone, &b, &err), &err); /* a hit in the shared cache */
    CHECK(same_access_token(a, b));
    cct_metrics m = metrics_of(clone);
    CHECK(m.fetches == 1 && m.misses == 1 && m.hits == 1);

    /* The client lives on while one handle remains. */
    cct_client_free(client);
    CHECK_OK(cct_client_get_token(clone, &c, &err), &err);
    CHECK(same_access_token(a, c));
    CHECK(metrics_of(clone).fetches == 1);

    cct_token_free(a);
    cct_token_free(b);
    cct_token_free(c);
    cct_client_free(clone);
}

static void test_invalidate(void) {
    cct_client *client = client_from(dev_config(secret));
    cct_error *err = NULL;
    cct_token *first = NULL, *second = NULL, *third = NULL;

    CHECK_OK(cct_client_get_token(client, &first, &err), &err);
    char *first_copy = copy_access_token(first);

    CHECK_FAILS(cct_client_invalidate(NULL, first, &err), &err, CCT_STATUS_NULL_ARGUMENT, "client");
    CHECK_FAILS(cct_client_invalidate(NULL, first, NULL), NULL, CCT_STATUS_NULL_ARGUMENT, NULL);

    /* After a 401 from a resource server: drop the token, the next call fetches a new one. */
    CHECK_OK(cct_client_invalidate(client, first, &err), &err);
    CHECK(cct_token_access_token(first) != NULL && strcmp(cct_token_access_token(first), first_copy) == 0);
    CHECK_OK(cct_client_get_token(client, &second, &err), &err);
    CHECK(second != NULL && !same_access_token(first, second));

    /* Invalidating a token that was already replaced leaves the current one alone, so many
     * callers failing with the same old token cause one fetch, not many. */
    CHECK_OK(cct_client_invalidate(client, first, &err), &err);
    CHECK_OK(cct_client_get_token(client, &third, &err), &err);
    CHECK(same_access_token(second, third));

    cct_metrics m = metrics_of(client);
    CHECK(m.fetches == 2);
    CHECK(m.misses == 2);
    CHECK(m.hits == 1);

    free(first_copy);
    cct_token_free(first);
    cct_token_free(second);
    cct_token_free(third);
    cct_client_free(client);
}

/* Neither secret may appear in `s` (NULL is fine). */
static bool free_of_secrets(const char *s) {
    return s == NULL || (strstr(s, WRONG_SECRET) == NULL && strstr(s, secret) == NULL);
}

static void test_invalid_client(void) {
    cct_client *client = client_from(dev_config(WRONG_SECRET));
    cct_error *err = NULL;
    cct_token *token = SENTINEL;

    cct_status st = cct_client_get_token(client, &token, &err);
    CHECK(st == CCT_STATUS_OAUTH);
    CHECK(token == SENTINEL); /* nothing written on failure */
    CHECK(err != NULL);
    if (err != NULL) {
        CHECK(cct_error_status(err) == CCT_STATUS_OAUTH);
        CHECK(cct_error_oauth_error(err) != NULL && strcmp(cct_error_oauth_error(err), "invalid_client") == 0);
        CHECK(cct_error_http_status(err) == 401);
        CHECK(cct_error_retryable(err) == false);
        CHECK(cct_error_retry_after_ms(err) == -1);
        CHECK(cct_error_message(err) != NULL && cct_error_message(err)[0] != '\0');
        /* Checked, not printed: if this fails the message is not shown, for the same reason. */
        CHECK(free_of_secrets(cct_error_message(err)));
        CHECK(free_of_secrets(cct_error_oauth_description(err)));
        CHECK(free_of_secrets(cct_error_oauth_uri(err)));
    }
    cct_error_free(err);
    err = NULL;

    /* Again, without an err out-param: same status (from the failure cooldown, without
     * asking the server again), still nothing written. */
    CHECK(cct_client_get_token(client, &token, NULL) == CCT_STATUS_OAUTH);
    CHECK(token == SENTINEL);

    cct_metrics m = metrics_of(client);
    CHECK(m.fetches == 1);
    CHECK(m.fetch_failures == 1);
    CHECK(m.retries == 0); /* a credential failure is not transient */
    cct_client_free(client);
}

/* cct_client_set_client_secret on a live client: the next fetch uses the new secret. */
static void test_secret_rotation(void) {
    cct_config *cfg = dev_config(WRONG_SECRET);
    cct_error *err = NULL;
    /* No cooldown, so the fetch right after the rotation asks the server. */
    CHECK_OK(cct_config_set_failure_cooldown_ms(cfg, 0, &err), &err);
    cct_client *client = client_from(cfg);

    cct_token *token = NULL;
    CHECK_FAILS(cct_client_get_token(client, &token, &err), &err, CCT_STATUS_OAUTH, "invalid_client");
    CHECK_OK(cct_client_set_client_secret(client, secret, &err), &err);
    CHECK_OK(cct_client_get_token(client, &token, &err), &err);
    CHECK(cct_token_access_token(token) != NULL);
    cct_token_free(token);
    cct_client_free(client);
}

int main(void) {
    secret = env_or_die("CCTOKEN_CLIENT_SECRET");
    test_fetch_and_cache();
    test_inputs_are_copied();
    test_clone();
    test_invalidate();
    test_invalid_client();
    test_secret_rotation();
    return test_result("test_fetch");
}
