/* Helpers shared by the C tests; see test_util.h. */
#include "test_util.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char sentinel_byte;

/* Failed checks so far; atomic because the thread test checks from 16 threads at once. */
static atomic_int failures;

void check_at(bool ok, const char *what, const char *file, int line) {
    if (!ok) {
        fail_at(file, line, "check failed: %s", what);
    }
}

void fail_at(const char *file, int line, const char *fmt, ...) {
    atomic_fetch_add(&failures, 1);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void check_status_at(cct_status got, cct_error **errp, cct_status want, const char *names, const char *what,
                     const char *file, int line) {
    const char *msg = (errp && *errp) ? cct_error_message(*errp) : NULL;
    if (got != want) {
        fail_at(file, line, "%s\n    returned %u (%s), expected %u (%s)%s%s", what, (unsigned)got,
                cct_status_str(got), (unsigned)want, cct_status_str(want), msg ? ": " : "", msg ? msg : "");
    }
    if (errp == NULL) {
        return;
    }
    if (want == CCT_STATUS_OK) {
        check_at(*errp == NULL, "success must leave *err untouched", file, line);
    } else if (*errp == NULL) {
        fail_at(file, line, "%s\n    failed without handing out an error through err", what);
    } else {
        check_at(cct_error_status(*errp) == got, "cct_error_status(err) == returned status", file, line);
        check_at(msg != NULL && msg[0] != '\0', "the error has a message", file, line);
        if (names && msg && !strstr(msg, names)) {
            fail_at(file, line, "%s\n    message \"%s\" does not name \"%s\"", what, msg, names);
        }
    }
    cct_error_free(*errp);
    *errp = NULL;
}

const char *env_or_die(const char *name) {
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        fprintf(stderr, "%s is not set: run this test through tests/c/run.sh\n", name);
        exit(2);
    }
    return v;
}

cct_config *dev_config(const char *secret) {
    cct_config *cfg = NULL;
    cct_error *err = NULL;
    CHECK_OK(cct_config_new(&cfg, &err), &err);
    if (cfg == NULL) {
        return NULL;
    }
    CHECK_OK(cct_config_set_token_url(cfg, env_or_die("CCTOKEN_TOKEN_URL"), &err), &err);
    CHECK_OK(cct_config_set_client_id(cfg, env_or_die("CCTOKEN_CLIENT_ID"), &err), &err);
    CHECK_OK(cct_config_set_client_secret(cfg, secret, &err), &err);
    CHECK_OK(cct_config_add_scope(cfg, "read", &err), &err);
    return cfg;
}

cct_client *client_from(cct_config *cfg) {
    cct_client *client = NULL;
    cct_error *err = NULL;
    if (cfg != NULL) {
        CHECK_OK(cct_client_new(cfg, &client, &err), &err);
    }
    cct_config_free(cfg);
    return client;
}

cct_metrics metrics_of(const cct_client *client) {
    cct_metrics m;
    memset(&m, 0, sizeof m);
    cct_error *err = NULL;
    CHECK_OK(cct_client_metrics(client, &m, &err), &err);
    return m;
}

int test_result(const char *program) {
    int n = atomic_load(&failures);
    if (n != 0) {
        fprintf(stderr, "%s: %d check(s) failed\n", program, n);
        return 1;
    }
    return 0;
}
