/*
 * cct_client_free ends the client's work (issue 8, defect 10). run.sh makes the dev server
 * answer the first token request with 503 and Retry-After: 5; a call with a 300 ms timeout
 * leaves that fetch waiting to retry; freeing the last handle must cancel the retry and return
 * promptly. run.sh then checks, after the retry would have been sent, that the dev server saw
 * one token request only.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <time.h>

#include "test_util.h"

static double seconds_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

int main(void) {
    cct_config *cfg = dev_config(env_or_die("CCTOKEN_CLIENT_SECRET"));
    cct_error *err = NULL;
    CHECK_OK(cct_config_set_call_timeout_ms(cfg, 30000, &err), &err);
    cct_client *client = client_from(cfg);

    /* The fetch outlives this impatient call: it waits for the server's Retry-After. */
    cct_token *token = SENTINEL;
    CHECK_FAILS(cct_client_get_token_timeout(client, 300, &token, &err), &err, CCT_STATUS_TIMEOUT, NULL);
    CHECK(token == SENTINEL);

    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    cct_client_free(client);
    double took = seconds_since(&start);
    /* Generous: only "did not wait out the 5 s Retry-After plus a request". */
    if (took > 4.0) {
        fail_at(__FILE__, __LINE__, "cct_client_free took %.1f s", took);
    }
    return test_result("test_free");
}
