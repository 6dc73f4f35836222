/*
 * The shared file store from C: run.sh starts several copies of this program at once on one
 * cache directory (CCTOKEN_CACHE_DIR) and checks that the dev server saw one token request.
 * Each copy gets a token through the store, checks its store counters, then checks the store
 * setters' argument handling and that a Redis URL's password never shows in an error.
 *
 * Access tokens are never printed.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "test_util.h"

static const char REDIS_PASSWORD[] = "c-redis-Pa55-word";

static void test_shared_token(const char *dir) {
    cct_error *err = NULL;
    cct_config *cfg = dev_config(env_or_die("CCTOKEN_CLIENT_SECRET"));
    CHECK_OK(cct_config_set_cache_dir(cfg, dir, &err), &err);
    CHECK_OK(cct_config_set_cache_store_timeout_ms(cfg, 500, &err), &err);
    cct_client *client = client_from(cfg);
    if (client == NULL) {
        return;
    }
    cct_token *token = NULL;
    CHECK_OK(cct_client_get_token(client, &token, &err), &err);
    CHECK(token != NULL && cct_token_expires_in_ms(token) > 0);

    cct_store_metrics sm;
    memset(&sm, 0xff, sizeof sm);
    CHECK_OK(cct_client_store_metrics(client, &sm, &err), &err);
    /* Either this process fetched (a store miss) or it read the entry another one wrote. */
    CHECK(sm.store_hits + sm.store_misses >= 1);
    CHECK(sm.store_errors == 0);
    cct_metrics m = metrics_of(client);
    CHECK(m.fetches == 1); /* the local cache asked its source once: the store or the server */

    CHECK_FAILS(cct_client_store_metrics(client, NULL, &err), &err, CCT_STATUS_NULL_ARGUMENT, "out");
    CHECK_FAILS(cct_client_store_metrics(NULL, &sm, &err), &err, CCT_STATUS_NULL_ARGUMENT, "client");
    cct_token_free(token);
    cct_client_free(client);
}

static void test_setters(void) {
    cct_error *err = NULL;
    cct_config *cfg = NULL;
    CHECK_OK(cct_config_new(&cfg, &err), &err);
    CHECK_FAILS(cct_config_set_cache_dir(cfg, NULL, &err), &err, CCT_STATUS_NULL_ARGUMENT, "path");
    CHECK_FAILS(cct_config_set_cache_redis_url(NULL, "redis://x", &err), &err, CCT_STATUS_NULL_ARGUMENT, "cfg");
    CHECK_FAILS(cct_config_set_cache_redis_ca_pem(cfg, NULL, 0, &err), &err, CCT_STATUS_NULL_ARGUMENT, "pem");
    CHECK_FAILS(cct_config_set_cache_store_timeout_ms(NULL, 1, &err), &err, CCT_STATUS_NULL_ARGUMENT, "cfg");
    cct_config_free(cfg);

    /* A URL that is not redis:// is refused by cct_client_new, naming the option, not the password. */
    cfg = dev_config(env_or_die("CCTOKEN_CLIENT_SECRET"));
    char url[128];
    snprintf(url, sizeof url, "http://app:%s@127.0.0.1:6379", REDIS_PASSWORD);
    CHECK_OK(cct_config_set_cache_redis_url(cfg, url, &err), &err);
    cct_client *client = SENTINEL;
    cct_status status = cct_client_new(cfg, &client, &err);
    CHECK(status == CCT_STATUS_CONFIG);
    CHECK(client == SENTINEL);
    const char *msg = err ? cct_error_message(err) : NULL;
    CHECK(msg != NULL && strstr(msg, "redis_url") != NULL);
    CHECK(msg != NULL && strstr(msg, REDIS_PASSWORD) == NULL);
    cct_error_free(err);
    cct_config_free(cfg);
}

int main(void) {
    test_shared_token(env_or_die("CCTOKEN_CACHE_DIR"));
    test_setters();
    return test_result("test_store");
}
