/*
 * The C ABI's contract, checked without a token server: versions, status strings, NULL and
 * invalid arguments for every function, configuration errors, and "outputs are written only
 * on success". The conventions block at the top of cctoken.h is what is being tested.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

/* Not valid UTF-8: a lone continuation byte, then a truncated two-byte sequence. */
static const char BAD_UTF8[] = "ok\x80\xc3";

/* A loopback URL nothing listens on: these tests never reach the network, except the one
 * transport-error test, which wants a refused connection. */
static const char OFFLINE_URL[] = "http://127.0.0.1:1/token";

static cct_config *offline_config(void) {
    cct_config *cfg = NULL;
    cct_error *err = NULL;
    CHECK_OK(cct_config_new(&cfg, &err), &err);
    CHECK_OK(cct_config_set_token_url(cfg, OFFLINE_URL, &err), &err);
    CHECK_OK(cct_config_set_client_id(cfg, "c-test", &err), &err);
    CHECK_OK(cct_config_set_client_secret(cfg, "offline-secret", &err), &err);
    return cfg;
}

static void test_versions(void) {
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", CCT_VERSION_MAJOR, CCT_VERSION_MINOR, CCT_VERSION_PATCH);
    CHECK(cct_version() != NULL);
    CHECK(strcmp(cct_version(), expected) == 0);
    CHECK(cct_abi_version() == CCT_ABI_VERSION);
}

static void test_status_strings(void) {
    static const cct_status known[] = {
        CCT_STATUS_OK,      CCT_STATUS_NULL_ARGUMENT, CCT_STATUS_INVALID_UTF8, CCT_STATUS_INVALID_ARGUMENT,
        CCT_STATUS_PANIC,   CCT_STATUS_CONFIG,        CCT_STATUS_CONNECT,      CCT_STATUS_TIMEOUT,
        CCT_STATUS_TLS,     CCT_STATUS_IO,            CCT_STATUS_HTTP,         CCT_STATUS_OAUTH,
        CCT_STATUS_INVALID_RESPONSE,
    };
    static const cct_status unknown[] = {5, 99, 101, 199, 204, 299, 303, 400, 1000, UINT32_MAX};
    size_t n = sizeof known / sizeof known[0];

    for (size_t i = 0; i < n; i++) {
        const char *s = cct_status_str(known[i]);
        CHECK(s != NULL && s[0] != '\0');
        CHECK(s != NULL && strcmp(s, "unknown status") != 0);
        /* Each status has its own description. */
        for (size_t j = 0; j < i; j++) {
            CHECK(s != NULL && strcmp(s, cct_status_str(known[j])) != 0);
        }
    }
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = cct_status_str(unknown[i]);
        CHECK(s != NULL && strcmp(s, "unknown status") == 0);
    }
}

static void test_free_null(void) {
    /* Each is a documented no-op; reaching the next line is the test (ASan would object). */
    cct_config_free(NULL);
    cct_client_free(NULL);
    cct_token_free(NULL);
    cct_error_free(NULL);
    cct_string_free(NULL);
}

static void test_accessors_of_null(void) {
    CHECK(cct_token_access_token(NULL) == NULL);
    CHECK(cct_token_token_type(NULL) == NULL);
    CHECK(cct_token_scope(NULL) == NULL);
    CHECK(cct_token_expires_in_ms(NULL) == 0);
    CHECK(cct_token_fresh_for_ms(NULL) == 0);
    CHECK(cct_token_expires_at_unix(NULL) == 0);

    CHECK(cct_error_status(NULL) == CCT_STATUS_NULL_ARGUMENT);
    CHECK(cct_error_message(NULL) == NULL);
    CHECK(cct_error_http_status(NULL) == 0);
    CHECK(cct_error_retryable(NULL) == false);
    CHECK(cct_error_retry_after_ms(NULL) == -1); /* "-1 when it sent none" */
    CHECK(cct_error_oauth_error(NULL) == NULL);
    CHECK(cct_error_oauth_description(NULL) == NULL);
    CHECK(cct_error_oauth_uri(NULL) == NULL);
}

/* The config setters, grouped by signature so each group is checked in one loop. The third
 * field is the parameter name from the header, which the error message must mention. */
typedef cct_status (*string_setter)(cct_config *, const char *, cct_error **);
static const struct {
    const char *name;
    string_setter set;
    const char *param;
} string_setters[] = {
    {"cct_config_set_token_url", cct_config_set_token_url, "url"},
    {"cct_config_set_client_id", cct_config_set_client_id, "client_id"},
    {"cct_config_set_client_secret", cct_config_set_client_secret, "secret"},
    {"cct_config_add_scope", cct_config_add_scope, "scope"},
    {"cct_config_set_audience", cct_config_set_audience, "audience"},
    {"cct_config_add_resource", cct_config_add_resource, "resource"},
    {"cct_config_set_user_agent", cct_config_set_user_agent, "user_agent"},
    {"cct_config_set_issuer", cct_config_set_issuer, "issuer"},
    {"cct_config_set_private_key_jwk", cct_config_set_private_key_jwk, "jwk"},
    {"cct_config_set_key_id", cct_config_set_key_id, "kid"},
    {"cct_config_set_proxy", cct_config_set_proxy, "proxy"},
};

typedef cct_status (*u64_setter)(cct_config *, uint64_t, cct_error **);
static const struct {
    const char *name;
    u64_setter set;
} u64_setters[] = {
    {"cct_config_set_connect_timeout_ms", cct_config_set_connect_timeout_ms},
    {"cct_config_set_request_timeout_ms", cct_config_set_request_timeout_ms},
    {"cct_config_set_call_timeout_ms", cct_config_set_call_timeout_ms},
    {"cct_config_set_default_lifetime_ms", cct_config_set_default_lifetime_ms},
    {"cct_config_set_failure_cooldown_ms", cct_config_set_failure_cooldown_ms},
    {"cct_config_set_assertion_lifetime_ms", cct_config_set_assertion_lifetime_ms},
};

typedef cct_status (*bool_setter)(cct_config *, bool, cct_error **);
static const struct {
    const char *name;
    bool_setter set;
} bool_setters[] = {
    {"cct_config_set_allow_insecure_http", cct_config_set_allow_insecure_http},
    {"cct_config_set_background_refresh", cct_config_set_background_refresh},
    {"cct_config_set_dpop", cct_config_set_dpop},
};

typedef cct_status (*bytes_setter)(cct_config *, const uint8_t *, size_t, cct_error **);
static const struct {
    const char *name;
    bytes_setter set;
} bytes_setters[] = {
    {"cct_config_add_root_ca_pem", cct_config_add_root_ca_pem},
    {"cct_config_set_private_key_pem", cct_config_set_private_key_pem},
    {"cct_config_set_dpop_key_pem", cct_config_set_dpop_key_pem},
};

/* check_status_at with a description built from a setter's name, for the table loops. */
static void check_setter(cct_status got, cct_error **errp, cct_status want, const char *names, const char *setter,
                         const char *how, int line) {
    char what[160];
    snprintf(what, sizeof what, "%s(%s)", setter, how);
    check_status_at(got, errp, want, names, what, __FILE__, line);
}

static void test_config_null_arguments(void) {
    static const uint8_t pem[] = "-----BEGIN NOTHING-----\n";
    cct_config *cfg = offline_config();

    for (int pass = 0; pass < 2; pass++) {
        cct_error *e = NULL;
        cct_error **errp = pass ? &e : NULL; /* without, then with an err out-param */

        CHECK_FAILS(cct_config_new(NULL, errp), errp, CCT_STATUS_NULL_ARGUMENT, "out");

        for (size_t i = 0; i < sizeof string_setters / sizeof string_setters[0]; i++) {
            check_setter(string_setters[i].set(NULL, "x", errp), errp, CCT_STATUS_NULL_ARGUMENT, "cfg",
                         string_setters[i].name, "cfg=NULL", __LINE__);
            check_setter(string_setters[i].set(cfg, NULL, errp), errp, CCT_STATUS_NULL_ARGUMENT,
                         string_setters[i].param, string_setters[i].name, "value=NULL", __LINE__);
        }
        for (size_t i = 0; i < sizeof u64_setters / sizeof u64_setters[0]; i++) {
            check_setter(u64_setters[i].set(NULL, 1000, errp), errp, CCT_STATUS_NULL_ARGUMENT, "cfg",
                         u64_setters[i].name, "cfg=NULL", __LINE__);
        }
        for (size_t i = 0; i < sizeof bool_setters / sizeof bool_setters[0]; i++) {
            check_setter(bool_setters[i].set(NULL, true, errp), errp, CCT_STATUS_NULL_ARGUMENT, "cfg",
                         bool_setters[i].name, "cfg=NULL", __LINE__);
        }
        for (size_t i = 0; i < sizeof bytes_setters / sizeof bytes_setters[0]; i++) {
            check_setter(bytes_setters[i].set(NULL, pem, sizeof pem - 1, errp), errp, CCT_STATUS_NULL_ARGUMENT,
                         "cfg", bytes_setters[i].name, "cfg=NULL", __LINE__);
            /* NULL is refused even with a zero length. */
            check_setter(bytes_setters[i].set(cfg, NULL, 0, errp), errp, CCT_STATUS_NULL_ARGUMENT, "pem",
                         bytes_setters[i].name, "pem=NULL", __LINE__);
        }

        /* The setters with other signatures, one by one. */
        CHECK_FAILS(cct_config_set_client_secret_file(NULL, "/nonexistent", false, errp), errp,
                    CCT_STATUS_NULL_ARGUMENT, "cfg");
        CHECK_FAILS(cct_config_set_client_secret_file(cfg, NULL, false, errp), errp, CCT_STATUS_NULL_ARGUMENT,
                    "path");
        CHECK_FAILS(cct_config_set_auth_method(NULL, CCT_AUTH_CLIENT_SECRET_POST, errp), errp,
                    CCT_STATUS_NULL_ARGUMENT, "cfg");
        CHECK_FAILS(cct_config_add_extra_param(NULL, "n", "v", errp), errp, CCT_STATUS_NULL_ARGUMENT, "cfg");
        CHECK_FAILS(cct_config_add_extra_param(cfg, NULL, "v", errp), errp, CCT_STATUS_NULL_ARGUMENT, "name");
        CHECK_FAILS(cct_config_add_extra_param(cfg, "n", NULL, errp), errp, CCT_STATUS_NULL_ARGUMENT, "value");
        CHECK_FAILS(cct_config_set_refresh_policy(NULL, 0.1, 60000, 0.25, errp), errp, CCT_STATUS_NULL_ARGUMENT,
                    "cfg");
        CHECK_FAILS(cct_config_set_retry_policy(NULL, 3, 200, 5000, errp), errp, CCT_STATUS_NULL_ARGUMENT, "cfg");
        CHECK_FAILS(cct_config_set_signing_alg(NULL, CCT_ALG_ES256, errp), errp, CCT_STATUS_NULL_ARGUMENT, "cfg");
        CHECK_FAILS(cct_config_set_assertion_audience(NULL, CCT_AUD_TOKEN_ENDPOINT, NULL, errp), errp,
                    CCT_STATUS_NULL_ARGUMENT, "cfg");
        CHECK_FAILS(cct_config_set_assertion_audience(cfg, CCT_AUD_CUSTOM, NULL, errp), errp,
                    CCT_STATUS_NULL_ARGUMENT, "custom");
        CHECK_FAILS(cct_config_set_client_certificate_pem(NULL, pem, sizeof pem - 1, pem, sizeof pem - 1, errp),
                    errp, CCT_STATUS_NULL_ARGUMENT, "cfg");
        CHECK_FAILS(cct_config_set_client_certificate_pem(cfg, NULL, 0, pem, sizeof pem - 1, errp), errp,
                    CCT_STATUS_NULL_ARGUMENT, "cert_pem");
        CHECK_FAILS(cct_config_set_client_certificate_pem(cfg, pem, sizeof pem - 1, NULL, 0, errp), errp,
                    CCT_STATUS_NULL_ARGUMENT, "key_pem");
    }

    /* `custom` is documented as read only for CCT_AUD_CUSTOM, so NULL is fine otherwise. */
    cct_error *err = NULL;
    CHECK_OK(cct_config_set_assertion_audience(cfg, CCT_AUD_TOKEN_ENDPOINT, NULL, &err), &err);
    CHECK_OK(cct_config_set_assertion_audience(cfg, CCT_AUD_ISSUER, NULL, &err), &err);
    cct_config_free(cfg);
}

static void test_client_null_arguments(void) {
    /* A DPoP client, so that the DPoP functions get past "DPoP is not enabled". */
    cct_config *cfg = offline_config();
    cct_error *err = NULL;
    CHECK_OK(cct_config_set_dpop(cfg, true, &err), &err);
    cct_client *client = NULL;
    CHECK_OK(cct_client_new(cfg, &client, &err), &err);

    for (int pass = 0; pass < 2; pass++) {
        cct_error *e = NULL;
        cct_error **errp = pass ? &e : NULL; /* without, then with an err out-param */
        cct_client *new_client = SENTINEL;
        cct_token *token = SENTINEL;
        char *str = SENTINEL;
        cct_metrics m;

        CHECK_FAILS(cct_client_new(NULL, &new_client, errp), errp, CCT_STATUS_NULL_ARGUMENT, "cfg");
        CHECK_FAILS(cct_client_new(cfg, NULL, errp), errp, CCT_STATUS_NULL_ARGUMENT, "out");
        CHECK_FAILS(cct_client_clone(NULL, &new_client, errp), errp, CCT_STATUS_NULL_ARGUMENT, "client");
        CHECK_FAILS(cct_client_clone(client, NULL, errp), errp, CCT_STATUS_NULL_ARGUMENT, "out");
        CHECK_FAILS(cct_client_get_token(NULL, &token, errp), errp, CCT_STATUS_NULL_ARGUMENT, "client");
        CHECK_FAILS(cct_client_get_token(client, NULL, errp), errp, CCT_STATUS_NULL_ARGUMENT, "out");
        CHECK_FAILS(cct_client_get_token_timeout(NULL, 1000, &token, errp), errp, CCT_STATUS_NULL_ARGUMENT,
                    "client");
        CHECK_FAILS(cct_client_get_token_timeout(client, 1000, NULL, errp), errp, CCT_STATUS_NULL_ARGUMENT, "out");
        /* (NULL client, real token) is checked in test_fetch.c, which has a token. */
        CHECK_FAILS(cct_client_invalidate(NULL, NULL, errp), errp, CCT_STATUS_NULL_ARGUMENT, "client");
        CHECK_FAILS(cct_client_invalidate(client, NULL, errp), errp, CCT_STATUS_NULL_ARGUMENT, "token");
        CHECK_FAILS(cct_client_set_client_secret(NULL, "s", errp), errp, CCT_STATUS_NULL_ARGUMENT, "client");
        CHECK_FAILS(cct_client_set_client_secret(client, NULL, errp), errp, CCT_STATUS_NULL_ARGUMENT, "secret");
        CHECK_FAILS(cct_client_metrics(NULL, &m, errp), errp, CCT_STATUS_NULL_ARGUMENT, "client");
        CHECK_FAILS(cct_client_metrics(client, NULL, errp), errp, CCT_STATUS_NULL_ARGUMENT, "out");
        CHECK_FAILS(cct_client_dpop_proof(NULL, "GET", "https://rs.example/a", NULL, NULL, &str, errp), errp,
                    CCT_STATUS_NULL_ARGUMENT, "client");
        CHECK_FAILS(cct_client_dpop_proof(client, NULL, "https://rs.example/a", NULL, NULL, &str, errp), errp,
                    CCT_STATUS_NULL_ARGUMENT, "method");
        CHECK_FAILS(cct_client_dpop_proof(client, "GET", NULL, NULL, NULL, &str, errp), errp,
                    CCT_STATUS_NULL_ARGUMENT, "url");
        CHECK_FAILS(cct_client_dpop_proof(client, "GET", "https://rs.example/a", NULL, NULL, NULL, errp), errp,
                    CCT_STATUS_NULL_ARGUMENT, "out");
        CHECK_FAILS(cct_client_dpop_jkt(NULL, &str, errp), errp, CCT_STATUS_NULL_ARGUMENT, "client");
        CHECK_FAILS(cct_client_dpop_jkt(client, NULL, errp), errp, CCT_STATUS_NULL_ARGUMENT, "out");

        /* None of those failures wrote an output. */
        CHECK(new_client == SENTINEL);
        CHECK(token == SENTINEL);
        CHECK(str == SENTINEL);
    }

    cct_config_free(cfg);
    cct_client_free(client);
}

static void test_invalid_utf8(void) {
    cct_config *cfg = offline_config();
    cct_error *err = NULL;

    for (size_t i = 0; i < sizeof string_setters / sizeof string_setters[0]; i++) {
        check_setter(string_setters[i].set(cfg, BAD_UTF8, &err), &err, CCT_STATUS_INVALID_UTF8,
                     string_setters[i].param, string_setters[i].name, "invalid UTF-8", __LINE__);
        check_setter(string_setters[i].set(cfg, BAD_UTF8, NULL), NULL, CCT_STATUS_INVALID_UTF8, NULL,
                     string_setters[i].name, "invalid UTF-8, err=NULL", __LINE__);
    }
    CHECK_FAILS(cct_config_set_client_secret_file(cfg, BAD_UTF8, true, &err), &err, CCT_STATUS_INVALID_UTF8, "path");
    CHECK_FAILS(cct_config_add_extra_param(cfg, BAD_UTF8, "v", &err), &err, CCT_STATUS_INVALID_UTF8, "name");
    CHECK_FAILS(cct_config_add_extra_param(cfg, "n", BAD_UTF8, &err), &err, CCT_STATUS_INVALID_UTF8, "value");
    CHECK_FAILS(cct_config_set_assertion_audience(cfg, CCT_AUD_CUSTOM, BAD_UTF8, &err), &err,
                CCT_STATUS_INVALID_UTF8, "custom");

    cct_config_free(cfg);
    cfg = offline_config();
    CHECK_OK(cct_config_set_dpop(cfg, true, &err), &err);
    cct_client *client = client_from(cfg);
    char *proof = SENTINEL;
    CHECK_FAILS(cct_client_set_client_secret(client, BAD_UTF8, &err), &err, CCT_STATUS_INVALID_UTF8, "secret");
    CHECK_FAILS(cct_client_dpop_proof(client, BAD_UTF8, "https://rs.example/a", NULL, NULL, &proof, &err), &err,
                CCT_STATUS_INVALID_UTF8, "method");
    CHECK_FAILS(cct_client_dpop_proof(client, "GET", BAD_UTF8, NULL, NULL, &proof, &err), &err,
                CCT_STATUS_INVALID_UTF8, "url");
    CHECK_FAILS(cct_client_dpop_proof(client, "GET", "https://rs.example/a", NULL, BAD_UTF8, &proof, &err), &err,
                CCT_STATUS_INVALID_UTF8, "nonce");
    CHECK(proof == SENTINEL);
    cct_client_free(client);
}

static void test_enum_values(void) {
    cct_config *cfg = offline_config();
    cct_error *err = NULL;

    /* Every documented value is accepted by its setter (whether the combination makes a
     * usable client is cct_client_new's business). */
    for (cct_auth_method m = CCT_AUTH_CLIENT_SECRET_BASIC; m <= CCT_AUTH_SELF_SIGNED_TLS_CLIENT_AUTH; m++) {
        CHECK_OK(cct_config_set_auth_method(cfg, m, &err), &err);
    }
    for (cct_signing_alg a = CCT_ALG_HS256; a <= CCT_ALG_EDDSA; a++) {
        CHECK_OK(cct_config_set_signing_alg(cfg, a, &err), &err);
    }
    CHECK_OK(cct_config_set_assertion_audience(cfg, CCT_AUD_CUSTOM, "https://as.example", &err), &err);
    for (cct_trust_store t = CCT_TRUST_SYSTEM; t <= CCT_TRUST_ROOT_CA_ONLY; t++) {
        CHECK_OK(cct_config_set_trust_store(cfg, t, &err), &err);
    }
    CHECK_FAILS(cct_config_set_trust_store(cfg, CCT_TRUST_ROOT_CA_ONLY + 1, &err), &err, CCT_STATUS_INVALID_ARGUMENT,
                "store");
    CHECK_FAILS(cct_config_set_trust_store(cfg, UINT32_MAX, NULL), NULL, CCT_STATUS_INVALID_ARGUMENT, NULL);

    /* Anything else is refused, with and without an err out-param. */
    static const uint32_t bad[] = {8, 99, 1000, UINT32_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_FAILS(cct_config_set_auth_method(cfg, bad[i], &err), &err, CCT_STATUS_INVALID_ARGUMENT, "method");
        CHECK_FAILS(cct_config_set_auth_method(cfg, bad[i], NULL), NULL, CCT_STATUS_INVALID_ARGUMENT, NULL);
        CHECK_FAILS(cct_config_set_signing_alg(cfg, bad[i], &err), &err, CCT_STATUS_INVALID_ARGUMENT, "alg");
        CHECK_FAILS(cct_config_set_signing_alg(cfg, bad[i], NULL), NULL, CCT_STATUS_INVALID_ARGUMENT, NULL);
        CHECK_FAILS(cct_config_set_assertion_audience(cfg, bad[i], "x", &err), &err, CCT_STATUS_INVALID_ARGUMENT,
                    "audience");
        CHECK_FAILS(cct_config_set_assertion_audience(cfg, bad[i], "x", NULL), NULL, CCT_STATUS_INVALID_ARGUMENT,
                    NULL);
    }
    /* The first values past each range, which an off-by-one would let through. */
    CHECK_FAILS(cct_config_set_signing_alg(cfg, CCT_ALG_EDDSA + 1, &err), &err, CCT_STATUS_INVALID_ARGUMENT, "alg");
    CHECK_FAILS(cct_config_set_assertion_audience(cfg, CCT_AUD_CUSTOM + 1, "x", &err), &err,
                CCT_STATUS_INVALID_ARGUMENT, "audience");
    cct_config_free(cfg);
}

/* cct_client_new validates the configuration, names the option at fault, writes no client. */
static void test_config_errors(void) {
    cct_error *err = NULL;
    cct_client *client = SENTINEL;

    cct_config *cfg = NULL;
    CHECK_OK(cct_config_new(&cfg, &err), &err);
    CHECK_OK(cct_config_set_client_id(cfg, "c-test", &err), &err);
    CHECK_OK(cct_config_set_client_secret(cfg, "offline-secret", &err), &err);
    CHECK_FAILS(cct_client_new(cfg, &client, &err), &err, CCT_STATUS_CONFIG, "token_url");
    CHECK_FAILS(cct_client_new(cfg, &client, NULL), NULL, CCT_STATUS_CONFIG, NULL);
    CHECK(client == SENTINEL);
    cct_config_free(cfg);

    cfg = NULL;
    CHECK_OK(cct_config_new(&cfg, &err), &err);
    CHECK_OK(cct_config_set_token_url(cfg, OFFLINE_URL, &err), &err);
    CHECK_FAILS(cct_client_new(cfg, &client, &err), &err, CCT_STATUS_CONFIG, "client_id");
    CHECK(client == SENTINEL);
    cct_config_free(cfg);

    /* Plain http:// is refused off loopback unless explicitly allowed. */
    cfg = offline_config();
    CHECK_OK(cct_config_set_token_url(cfg, "http://as.example/token", &err), &err);
    CHECK_FAILS(cct_client_new(cfg, &client, &err), &err, CCT_STATUS_CONFIG, "token_url");
    CHECK(client == SENTINEL);
    CHECK_OK(cct_config_set_allow_insecure_http(cfg, true, &err), &err);
    client = NULL;
    CHECK_OK(cct_client_new(cfg, &client, &err), &err);
    cct_client_free(client);
    cct_config_free(cfg);

    /* root_ca_only needs a certificate; an http:// token URL through a proxy would send the secret
     * to the proxy in clear; a proxy's password never shows in the error. */
    cfg = offline_config();
    CHECK_OK(cct_config_set_trust_store(cfg, CCT_TRUST_ROOT_CA_ONLY, &err), &err);
    client = SENTINEL;
    CHECK_FAILS(cct_client_new(cfg, &client, &err), &err, CCT_STATUS_CONFIG, "root_ca_pem");
    CHECK(client == SENTINEL);
    cct_config_free(cfg);
    cfg = offline_config();
    CHECK_OK(cct_config_set_proxy(cfg, "http://user:c-proxy-pw-5521@127.0.0.1:3128", &err), &err);
    CHECK_FAILS(cct_client_new(cfg, &client, &err), &err, CCT_STATUS_CONFIG, "proxy");
    CHECK_OK(cct_config_set_proxy(cfg, "none", &err), &err);
    client = NULL;
    CHECK_OK(cct_client_new(cfg, &client, &err), &err);
    cct_client_free(client);
    CHECK_OK(cct_config_set_proxy(cfg, "socks5://user:c-proxy-pw-5521@127.0.0.1:1080", &err), &err);
    CHECK_OK(cct_config_set_token_url(cfg, "https://127.0.0.1:1/token", &err), &err);
    client = SENTINEL;
    CHECK(cct_client_new(cfg, &client, &err) == CCT_STATUS_CONFIG);
    CHECK(err != NULL && strstr(cct_error_message(err), "proxy") != NULL);
    CHECK(err != NULL && strstr(cct_error_message(err), "c-proxy-pw-5521") == NULL);
    cct_error_free(err);
    err = NULL;
    CHECK(client == SENTINEL);
    cct_config_free(cfg);

    /* Reserved form parameters cannot be smuggled in as extras. */
    cfg = offline_config();
    CHECK_OK(cct_config_add_extra_param(cfg, "grant_type", "password", &err), &err);
    client = SENTINEL;
    CHECK_FAILS(cct_client_new(cfg, &client, &err), &err, CCT_STATUS_CONFIG, "grant_type");
    CHECK(client == SENTINEL);
    cct_config_free(cfg);

    /* A secret and a secret file: refused, naming both, whichever was set last (issue 8). */
    cfg = offline_config();
    CHECK_OK(cct_config_set_client_secret_file(cfg, "/nonexistent", false, &err), &err);
    CHECK_FAILS(cct_client_new(cfg, &client, &err), &err, CCT_STATUS_CONFIG, "client_secret_file");
    CHECK(client == SENTINEL);
    cct_config_free(cfg);

    /* A secret "file" that never ends or blocks is refused at once (issue 8). */
    cfg = NULL;
    CHECK_OK(cct_config_new(&cfg, &err), &err);
    CHECK_OK(cct_config_set_token_url(cfg, OFFLINE_URL, &err), &err);
    CHECK_OK(cct_config_set_client_id(cfg, "c-test", &err), &err);
    CHECK_OK(cct_config_set_client_secret_file(cfg, "/dev/zero", false, &err), &err);
    CHECK_FAILS(cct_client_new(cfg, &client, &err), &err, CCT_STATUS_CONFIG, "not a regular file");
    CHECK(client == SENTINEL);
    cct_config_free(cfg);
}

/* A failing setter must not change the configuration ("nothing is partially written"). */
static void test_failed_setter_keeps_config(void) {
    for (int which = 0; which < 3; which++) {
        cct_config *cfg = offline_config();
        cct_error *err = NULL;
        const char *what = NULL;
        switch (which) {
        case 0:
            what = "cct_config_set_auth_method(cfg, 99)";
            CHECK_FAILS(cct_config_set_auth_method(cfg, 99, &err), &err, CCT_STATUS_INVALID_ARGUMENT, "method");
            break;
        case 1:
            what = "cct_config_add_scope(cfg, NULL)";
            CHECK_FAILS(cct_config_add_scope(cfg, NULL, &err), &err, CCT_STATUS_NULL_ARGUMENT, "scope");
            break;
        default:
            what = "cct_config_set_audience(cfg, <invalid UTF-8>)";
            CHECK_FAILS(cct_config_set_audience(cfg, BAD_UTF8, &err), &err, CCT_STATUS_INVALID_UTF8, "audience");
            break;
        }
        /* The token URL, client id and secret set before must still be there. */
        cct_client *client = NULL;
        cct_status st = cct_client_new(cfg, &client, &err);
        if (st != CCT_STATUS_OK) {
            fail_at(__FILE__, __LINE__,
                    "ABI BUG (src/ffi/config.rs): after a failed %s, cct_client_new on the same config "
                    "returned %u (%s): %s\n    -> the failed setter reset the whole configuration",
                    what, (unsigned)st, cct_status_str(st), cct_error_message(err));
        }
        cct_error_free(err);
        cct_client_free(client);
        cct_config_free(cfg);
    }
}

/* Outputs are written only on success, and *err only on failure. */
static void test_outputs_untouched(void) {
    cct_config *cfg = offline_config();
    cct_error *err = NULL;
    cct_client *client = client_from(cfg);

    /* Success leaves *err alone, whatever it held. */
    cfg = offline_config();
    err = SENTINEL;
    CHECK(cct_config_set_user_agent(cfg, "cctoken-c-tests", &err) == CCT_STATUS_OK);
    CHECK(err == SENTINEL);
    cct_metrics m;
    CHECK(cct_client_metrics(client, &m, &err) == CCT_STATUS_OK);
    CHECK(err == SENTINEL);
    err = NULL;
    cct_config_free(cfg);

    /* A failed metrics call leaves every byte of *out as it was. */
    cct_metrics before, after;
    memset(&before, 0xA5, sizeof before);
    after = before;
    CHECK_FAILS(cct_client_metrics(NULL, &after, &err), &err, CCT_STATUS_NULL_ARGUMENT, "client");
    CHECK(memcmp(&before, &after, sizeof before) == 0);

    /* Without DPoP, the DPoP functions fail with CCT_STATUS_CONFIG and write nothing. */
    char *str = SENTINEL;
    CHECK_FAILS(cct_client_dpop_jkt(client, &str, &err), &err, CCT_STATUS_CONFIG, "dpop");
    CHECK_FAILS(cct_client_dpop_proof(client, "GET", "https://rs.example/a", NULL, NULL, &str, &err), &err,
                CCT_STATUS_CONFIG, NULL);
    CHECK(str == SENTINEL);

    /* A refused connection: a transport error, retryable, no HTTP status, no token written.
     * One attempt only, so the test does not wait for backoff. */
    cct_client_free(client);
    cfg = offline_config();
    CHECK_OK(cct_config_set_retry_policy(cfg, 1, 10, 10, &err), &err);
    client = client_from(cfg);
    cct_token *token = SENTINEL;
    cct_status st = cct_client_get_token(client, &token, &err);
    CHECK(st == CCT_STATUS_CONNECT);
    CHECK(token == SENTINEL);
    CHECK(err != NULL && cct_error_status(err) == st);
    CHECK(cct_error_retryable(err));
    CHECK(cct_error_http_status(err) == 0);
    CHECK(cct_error_oauth_error(err) == NULL);
    CHECK(cct_error_message(err) != NULL && strstr(cct_error_message(err), "offline-secret") == NULL);
    cct_error_free(err);
    err = NULL;
    cct_metrics mm = metrics_of(client);
    CHECK(mm.fetches == 1 && mm.fetch_failures == 1 && mm.misses == 1 && mm.hits == 0);
    cct_client_free(client);
}

/* With DPoP on, the two DPoP functions hand out strings freed with cct_string_free. */
static void test_dpop_strings(void) {
    cct_config *cfg = offline_config();
    cct_error *err = NULL;
    CHECK_OK(cct_config_set_dpop(cfg, true, &err), &err);
    cct_client *client = client_from(cfg);

    char *jkt = NULL, *proof = NULL;
    CHECK_OK(cct_client_dpop_jkt(client, &jkt, &err), &err);
    CHECK(jkt != NULL && strlen(jkt) == 43); /* base64url of a SHA-256 digest */
    CHECK_OK(cct_client_dpop_proof(client, "GET", "https://rs.example/a", NULL, "n-1", &proof, &err), &err);
    /* A compact JWS: header.payload.signature */
    CHECK(proof != NULL && strchr(proof, '.') != NULL && strchr(strchr(proof, '.') + 1, '.') != NULL);
    cct_string_free(jkt);
    cct_string_free(proof);
    cct_client_free(client);
}

int main(void) {
    test_versions();
    test_status_strings();
    test_free_null();
    test_accessors_of_null();
    test_config_null_arguments();
    test_client_null_arguments();
    test_invalid_utf8();
    test_enum_values();
    test_config_errors();
    test_failed_setter_keeps_config();
    test_outputs_untouched();
    test_dpop_strings();
    return test_result("test_api");
}
