/*
 * Provider credentials through the C ABI (issue 12): certificate thumbprints for Microsoft
 * Entra ID (PEM and PKCS#12), client assertions read from a file (workload identity
 * federation), and the JWT bearer grant with Google service-account key files.
 *
 * Without an argument: the API contract of the new setters, no server needed (NULL
 * arguments, invalid UTF-8, enum values, configuration errors at cct_client_new).
 *
 * With an argument, one scenario against the dev server's provider stand-ins (run.sh starts
 * `cctoken-dev-server --providers-dir DIR` and exports the values of DIR/providers.json as
 * CCTOKEN_ENTRA_*, CCTOKEN_GOOGLE_* and CCTOKEN_FEDERATED_*; after each scenario it checks the
 * assertion the stand-in saw, through /_dev/last-assertion):
 *   entra-pem             key and certificate PEM files: RS256 with x5t (the default)
 *   entra-pem-s256        PS256 with x5t#S256 and the x5c chain
 *   entra-pfx             PKCS#12 from a file (password, none) and from memory; a wrong password
 *   entra-wrong-thumbprint a certificate Entra does not know: CCT_STATUS_OAUTH with its AADSTS code
 *   entra-assertion-too-long an assertion valid for an hour: CCT_STATUS_OAUTH, AADSTS700024
 *   federated             an assertion file; expired and missing files name the path
 *   google                a service-account file and JSON, with subject; a foreign key
 *
 * No check prints a secret, a key, an assertion or a token: messages are checked for them.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* Not valid UTF-8 (a lone continuation byte). */
#define BAD_UTF8 "\x80"

/* A service-account key as Google writes it, minus what `drop` names (NULL: nothing), with a
 * private key that is no key: the fields are checked before the key is parsed. */
static char *service_account_json(const char *drop, const char *type) {
    static const char *fields[][2] = {
        {"project_id", "\"cctoken-dev\""},
        {"private_key_id", "\"0123456789abcdef0123456789abcdef01234567\""},
        {"private_key", "\"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n\""},
        {"client_email", "\"svc@cctoken-dev.iam.gserviceaccount.com\""},
        {"client_id", "\"123456789012345678901\""},
        {"token_uri", "\"https://oauth2.googleapis.com/token\""},
    };
    char *json = malloc(4096);
    int n = snprintf(json, 4096, "{\"type\": \"%s\"", type);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (drop == NULL || strcmp(drop, fields[i][0]) != 0) {
            n += snprintf(json + n, 4096 - (size_t)n, ", \"%s\": %s", fields[i][0], fields[i][1]);
        }
    }
    snprintf(json + n, 4096 - (size_t)n, "}");
    return json;
}

static cct_config *offline_config(void) {
    cct_config *cfg = NULL;
    CHECK_OK(cct_config_new(&cfg, NULL), NULL);
    CHECK_OK(cct_config_set_token_url(cfg, "https://as.example/token", NULL), NULL);
    CHECK_OK(cct_config_set_client_id(cfg, "c", NULL), NULL);
    return cfg;
}

/* cct_client_new(cfg) fails with CCT_STATUS_CONFIG and a message naming `names`; frees cfg. */
static void expect_config_error(cct_config *cfg, const char *names, int line) {
    cct_client *client = SENTINEL;
    cct_error *err = NULL;
    check_status_at(cct_client_new(cfg, &client, &err), &err, CCT_STATUS_CONFIG, names, "cct_client_new", __FILE__,
                    line);
    check_at(client == SENTINEL, "a failed cct_client_new leaves *out alone", __FILE__, line);
    cct_config_free(cfg);
}

static void test_null_arguments(void) {
    static const uint8_t pem[] = "-----BEGIN CERTIFICATE-----\n";
    cct_config *cfg = offline_config();
    for (int pass = 0; pass < 2; pass++) {
        cct_error *e = NULL;
        cct_error **errp = pass ? &e : NULL; /* without, then with an err out-param */
        CHECK_FAILS(cct_config_set_assertion_certificate_pem(NULL, pem, sizeof pem - 1, errp), errp,
                    CCT_STATUS_NULL_ARGUMENT, "cfg");
        CHECK_FAILS(cct_config_set_assertion_certificate_pem(cfg, NULL, 0, errp), errp, CCT_STATUS_NULL_ARGUMENT,
                    "pem");
        CHECK_FAILS(cct_config_set_pkcs12_file(NULL, "/x.pfx", "pw", errp), errp, CCT_STATUS_NULL_ARGUMENT, "cfg");
        CHECK_FAILS(cct_config_set_pkcs12_file(cfg, NULL, "pw", errp), errp, CCT_STATUS_NULL_ARGUMENT, "path");
        CHECK_FAILS(cct_config_set_pkcs12_der(NULL, pem, sizeof pem - 1, NULL, errp), errp, CCT_STATUS_NULL_ARGUMENT,
                    "cfg");
        CHECK_FAILS(cct_config_set_pkcs12_der(cfg, NULL, 0, NULL, errp), errp, CCT_STATUS_NULL_ARGUMENT, "der");
        CHECK_FAILS(cct_config_set_thumbprint(NULL, CCT_THUMBPRINT_X5T, errp), errp, CCT_STATUS_NULL_ARGUMENT, "cfg");
        CHECK_FAILS(cct_config_set_x5c(NULL, true, errp), errp, CCT_STATUS_NULL_ARGUMENT, "cfg");
        CHECK_FAILS(cct_config_set_client_assertion_file(NULL, "/t", errp), errp, CCT_STATUS_NULL_ARGUMENT, "cfg");
        CHECK_FAILS(cct_config_set_client_assertion_file(cfg, NULL, errp), errp, CCT_STATUS_NULL_ARGUMENT, "path");
        CHECK_FAILS(cct_config_set_grant_type(NULL, CCT_GRANT_JWT_BEARER, errp), errp, CCT_STATUS_NULL_ARGUMENT,
                    "cfg");
        CHECK_FAILS(cct_config_set_subject(NULL, "u", errp), errp, CCT_STATUS_NULL_ARGUMENT, "cfg");
        CHECK_FAILS(cct_config_set_subject(cfg, NULL, errp), errp, CCT_STATUS_NULL_ARGUMENT, "sub");
        CHECK_FAILS(cct_config_set_service_account_file(NULL, "/k.json", errp), errp, CCT_STATUS_NULL_ARGUMENT,
                    "cfg");
        CHECK_FAILS(cct_config_set_service_account_file(cfg, NULL, errp), errp, CCT_STATUS_NULL_ARGUMENT, "path");
        CHECK_FAILS(cct_config_set_service_account_json(NULL, "{}", errp), errp, CCT_STATUS_NULL_ARGUMENT, "cfg");
        CHECK_FAILS(cct_config_set_service_account_json(cfg, NULL, errp), errp, CCT_STATUS_NULL_ARGUMENT, "json");
    }
    /* The failed calls left the configuration usable. */
    CHECK_OK(cct_config_set_client_secret(cfg, "s", NULL), NULL);
    cct_client_free(client_from(cfg));
}

static void test_invalid_utf8(void) {
    cct_config *cfg = offline_config();
    cct_error *err = NULL;
    CHECK_FAILS(cct_config_set_pkcs12_file(cfg, BAD_UTF8, NULL, &err), &err, CCT_STATUS_INVALID_UTF8, "path");
    CHECK_FAILS(cct_config_set_pkcs12_file(cfg, "/x.pfx", BAD_UTF8, &err), &err, CCT_STATUS_INVALID_UTF8, "password");
    CHECK_FAILS(cct_config_set_pkcs12_der(cfg, (const uint8_t *)"x", 1, BAD_UTF8, &err), &err,
                CCT_STATUS_INVALID_UTF8, "password");
    CHECK_FAILS(cct_config_set_client_assertion_file(cfg, BAD_UTF8, &err), &err, CCT_STATUS_INVALID_UTF8, "path");
    CHECK_FAILS(cct_config_set_subject(cfg, BAD_UTF8, &err), &err, CCT_STATUS_INVALID_UTF8, "sub");
    CHECK_FAILS(cct_config_set_service_account_file(cfg, BAD_UTF8, &err), &err, CCT_STATUS_INVALID_UTF8, "path");
    CHECK_FAILS(cct_config_set_service_account_json(cfg, BAD_UTF8, &err), &err, CCT_STATUS_INVALID_UTF8, "json");
    CHECK_FAILS(cct_config_set_service_account_json(cfg, BAD_UTF8, NULL), NULL, CCT_STATUS_INVALID_UTF8, NULL);
    cct_config_free(cfg);
}

static void test_enum_values(void) {
    cct_config *cfg = offline_config();
    cct_error *err = NULL;
    for (cct_thumbprint t = CCT_THUMBPRINT_NONE; t <= CCT_THUMBPRINT_BOTH; t++) {
        CHECK_OK(cct_config_set_thumbprint(cfg, t, &err), &err);
    }
    for (cct_grant_type g = CCT_GRANT_CLIENT_CREDENTIALS; g <= CCT_GRANT_JWT_BEARER; g++) {
        CHECK_OK(cct_config_set_grant_type(cfg, g, &err), &err);
    }
    CHECK_OK(cct_config_set_x5c(cfg, false, &err), &err);
    /* Anything else is refused at the setter, with and without an err out-param. */
    static const uint32_t bad_thumbprint[] = {4, 99, 1000, UINT32_MAX};
    static const uint32_t bad_grant[] = {2, 99, 1000, UINT32_MAX};
    for (size_t i = 0; i < 4; i++) {
        CHECK_FAILS(cct_config_set_thumbprint(cfg, bad_thumbprint[i], &err), &err, CCT_STATUS_INVALID_ARGUMENT,
                    "thumbprint");
        CHECK_FAILS(cct_config_set_thumbprint(cfg, bad_thumbprint[i], NULL), NULL, CCT_STATUS_INVALID_ARGUMENT, NULL);
        CHECK_FAILS(cct_config_set_grant_type(cfg, bad_grant[i], &err), &err, CCT_STATUS_INVALID_ARGUMENT, "grant");
        CHECK_FAILS(cct_config_set_grant_type(cfg, bad_grant[i], NULL), NULL, CCT_STATUS_INVALID_ARGUMENT, NULL);
    }
    cct_config_free(cfg);
}

/* Combinations cct_client_new refuses, each naming what is at fault. */
static void test_config_errors(void) {
    cct_config *cfg;

    /* A thumbprint or x5c needs a certificate. */
    cfg = offline_config();
    CHECK_OK(cct_config_set_client_secret(cfg, "s", NULL), NULL);
    CHECK_OK(cct_config_set_thumbprint(cfg, CCT_THUMBPRINT_X5T_S256, NULL), NULL);
    expect_config_error(cfg, "thumbprint", __LINE__);
    cfg = offline_config();
    CHECK_OK(cct_config_set_client_secret(cfg, "s", NULL), NULL);
    CHECK_OK(cct_config_set_x5c(cfg, true, NULL), NULL);
    expect_config_error(cfg, "x5c", __LINE__);

    /* Not a PKCS#12 file: named, no bytes of it quoted. */
    cfg = offline_config();
    static const uint8_t junk[] = "not a PFX at all, secret-looking-bytes-91c2";
    CHECK_OK(cct_config_set_pkcs12_der(cfg, junk, sizeof junk - 1, "pw-5be1", NULL), NULL);
    cct_client *client = SENTINEL;
    cct_error *err = NULL;
    CHECK(cct_client_new(cfg, &client, &err) == CCT_STATUS_CONFIG);
    CHECK(client == SENTINEL);
    if (err != NULL) {
        const char *msg = cct_error_message(err);
        CHECK(strstr(msg, "pkcs12") != NULL || strstr(msg, "PKCS#12") != NULL);
        CHECK(strstr(msg, "secret-looking-bytes-91c2") == NULL);
        CHECK(strstr(msg, "pw-5be1") == NULL);
        cct_error_free(err);
        err = NULL;
    }
    cct_config_free(cfg);

    /* A federated assertion file and a secret are two credentials. */
    cfg = offline_config();
    CHECK_OK(cct_config_set_client_secret(cfg, "s", NULL), NULL);
    CHECK_OK(cct_config_set_client_assertion_file(cfg, "/var/run/secrets/tokens/azure-identity-token", NULL), NULL);
    expect_config_error(cfg, "client_assertion_file", __LINE__);

    /* Nor can it share tokens through a store: there is no credential to derive the key from. */
    cfg = offline_config();
    CHECK_OK(cct_config_set_client_assertion_file(cfg, "/var/run/secrets/tokens/azure-identity-token", NULL), NULL);
    CHECK_OK(cct_config_set_cache_dir(cfg, "/tmp/cctoken-test-providers-never-created", NULL), NULL);
    expect_config_error(cfg, "client_assertion_file", __LINE__);

    /* A service-account key without a field names the field, never the key. */
    static const char *required[] = {"private_key_id", "private_key", "client_email", "token_uri"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        char *json = service_account_json(required[i], "service_account");
        cct_config *c = NULL;
        CHECK_OK(cct_config_new(&c, NULL), NULL);
        CHECK_OK(cct_config_set_service_account_json(c, json, NULL), NULL);
        expect_config_error(c, required[i], __LINE__);
        free(json);
    }
    char *json = service_account_json(NULL, "authorized_user");
    cct_config *c = NULL;
    CHECK_OK(cct_config_new(&c, NULL), NULL);
    CHECK_OK(cct_config_set_service_account_json(c, json, NULL), NULL);
    expect_config_error(c, "service_account", __LINE__);
    free(json);

    /* A missing service-account file names its path. */
    CHECK_OK(cct_config_new(&c, NULL), NULL);
    CHECK_OK(cct_config_set_service_account_file(c, "/nonexistent/cctoken-sa-key.json", NULL), NULL);
    expect_config_error(c, "cctoken-sa-key.json", __LINE__);
}

/* ---- Against the stand-ins ------------------------------------------------------------------ */

/* The whole file in a malloc'd buffer (length in *len), NUL-terminated; NULL after a failed check. */
static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (f == NULL) {
        return NULL;
    }
    unsigned char *buf = malloc(65536);
    *len = fread(buf, 1, 65535, f);
    fclose(f);
    CHECK(*len > 0 && *len < 65535);
    buf[*len] = '\0';
    return buf;
}

/* `msg` holds no credential of the fixtures: the PFX password, the secret, a line of a key. */
static void check_no_credentials(const char *msg, int line) {
    if (msg == NULL) {
        return;
    }
    const char *secrets[] = {getenv("CCTOKEN_ENTRA_PFX_PASSWORD"), getenv("CCTOKEN_ENTRA_CLIENT_SECRET")};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        if (secrets[i] != NULL && secrets[i][0] != '\0' && strstr(msg, secrets[i]) != NULL) {
            fail_at(__FILE__, line, "an error message holds a credential (not shown)");
        }
    }
    size_t len = 0;
    unsigned char *key = read_file(env_or_die("CCTOKEN_ENTRA_KEY_PEM"), &len);
    char *save = NULL;
    for (char *l = key ? strtok_r((char *)key, "\n", &save) : NULL; l != NULL; l = strtok_r(NULL, "\n", &save)) {
        if (strncmp(l, "-----", 5) != 0 && strlen(l) > 16 && strstr(msg, l) != NULL) {
            fail_at(__FILE__, line, "an error message holds a line of the private key (not shown)");
        }
    }
    free(key);
}

/* A configuration for the Entra stand-in: its token URL, scope and the given client id. */
static cct_config *entra_config(const char *client_id_var) {
    cct_config *cfg = NULL;
    CHECK_OK(cct_config_new(&cfg, NULL), NULL);
    if (cfg == NULL) {
        return NULL;
    }
    CHECK_OK(cct_config_set_token_url(cfg, env_or_die("CCTOKEN_ENTRA_TOKEN_URL"), NULL), NULL);
    CHECK_OK(cct_config_set_client_id(cfg, env_or_die(client_id_var), NULL), NULL);
    CHECK_OK(cct_config_add_scope(cfg, env_or_die("CCTOKEN_ENTRA_SCOPE"), NULL), NULL);
    return cfg;
}

/* The PEM key of the certificate client, and the PEM file `cert_var` names as its certificate. */
static cct_config *entra_pem_config(const char *cert_var) {
    cct_config *cfg = entra_config("CCTOKEN_ENTRA_CERT_CLIENT_ID");
    size_t len = 0;
    unsigned char *key = read_file(env_or_die("CCTOKEN_ENTRA_KEY_PEM"), &len);
    if (cfg != NULL && key != NULL) {
        CHECK_OK(cct_config_set_private_key_pem(cfg, key, len, NULL), NULL);
    }
    free(key);
    unsigned char *cert = read_file(env_or_die(cert_var), &len);
    if (cfg != NULL && cert != NULL) {
        CHECK_OK(cct_config_set_assertion_certificate_pem(cfg, cert, len, NULL), NULL);
    }
    free(cert);
    return cfg;
}

/* A token from a client built from `cfg` (freed): a Bearer token. */
static void expect_token(cct_config *cfg, int line) {
    cct_client *client = client_from(cfg);
    cct_token *tok = NULL;
    cct_error *err = NULL;
    check_status_at(cct_client_get_token(client, &tok, &err), &err, CCT_STATUS_OK, NULL, "cct_client_get_token",
                    __FILE__, line);
    check_at(tok != NULL && strlen(cct_token_access_token(tok)) > 0, "a token", __FILE__, line);
    check_at(tok != NULL && strcmp(cct_token_token_type(tok), "Bearer") == 0, "a Bearer token", __FILE__, line);
    cct_token_free(tok);
    cct_client_free(client);
}

static void scenario_entra_pem(void) {
    expect_token(entra_pem_config("CCTOKEN_ENTRA_CERT_PEM"), __LINE__);
}

static void scenario_entra_pem_s256(void) {
    cct_config *cfg = entra_pem_config("CCTOKEN_ENTRA_CERT_PEM");
    if (cfg == NULL) {
        return;
    }
    CHECK_OK(cct_config_set_signing_alg(cfg, CCT_ALG_PS256, NULL), NULL);
    CHECK_OK(cct_config_set_thumbprint(cfg, CCT_THUMBPRINT_X5T_S256, NULL), NULL);
    CHECK_OK(cct_config_set_x5c(cfg, true, NULL), NULL);
    expect_token(cfg, __LINE__);
}

static void scenario_entra_pfx(void) {
    const char *pfx = env_or_die("CCTOKEN_ENTRA_PFX");
    const char *password = env_or_die("CCTOKEN_ENTRA_PFX_PASSWORD");

    /* From the file Azure hands out, then the same bytes from memory. */
    cct_config *cfg = entra_config("CCTOKEN_ENTRA_CERT_CLIENT_ID");
    CHECK_OK(cct_config_set_pkcs12_file(cfg, pfx, password, NULL), NULL);
    expect_token(cfg, __LINE__);

    size_t len = 0;
    unsigned char *der = read_file(pfx, &len);
    cfg = entra_config("CCTOKEN_ENTRA_CERT_CLIENT_ID");
    if (der != NULL) {
        CHECK_OK(cct_config_set_pkcs12_der(cfg, der, len, password, NULL), NULL);
    }
    expect_token(cfg, __LINE__);

    /* A wrong password: CCT_STATUS_CONFIG naming PKCS#12, without either password. */
    cfg = entra_config("CCTOKEN_ENTRA_CERT_CLIENT_ID");
    if (der != NULL) {
        CHECK_OK(cct_config_set_pkcs12_der(cfg, der, len, "wrong-password-40d7", NULL), NULL);
    }
    cct_client *client = SENTINEL;
    cct_error *err = NULL;
    CHECK(cct_client_new(cfg, &client, &err) == CCT_STATUS_CONFIG);
    CHECK(client == SENTINEL);
    if (err != NULL) {
        const char *msg = cct_error_message(err);
        CHECK(strstr(msg, "pkcs12") != NULL || strstr(msg, "PKCS#12") != NULL);
        CHECK(strstr(msg, "wrong-password-40d7") == NULL);
        check_no_credentials(msg, __LINE__);
        cct_error_free(err);
    }
    cct_config_free(cfg);
    free(der);

    /* A PFX without a password: NULL. Last, so run.sh checks its x5t#S256. */
    cfg = entra_config("CCTOKEN_ENTRA_CERT_CLIENT_ID");
    CHECK_OK(cct_config_set_pkcs12_file(cfg, env_or_die("CCTOKEN_ENTRA_PFX_NOPASS"), NULL, NULL), NULL);
    CHECK_OK(cct_config_set_thumbprint(cfg, CCT_THUMBPRINT_BOTH, NULL), NULL);
    expect_token(cfg, __LINE__);
}

static void scenario_entra_wrong_thumbprint(void) {
    cct_client *client = client_from(entra_pem_config("CCTOKEN_ENTRA_OTHER_CERT_PEM"));
    cct_token *tok = SENTINEL;
    cct_error *err = NULL;
    CHECK(cct_client_get_token(client, &tok, &err) == CCT_STATUS_OAUTH);
    CHECK(tok == SENTINEL);
    CHECK(err != NULL);
    if (err != NULL) {
        CHECK(cct_error_status(err) == CCT_STATUS_OAUTH);
        CHECK(cct_error_http_status(err) == 401);
        CHECK(!cct_error_retryable(err));
        const char *code = cct_error_oauth_error(err);
        CHECK(code != NULL && strcmp(code, "invalid_client") == 0);
        const char *description = cct_error_oauth_description(err);
        CHECK(description != NULL && strncmp(description, "AADSTS700027", 12) == 0);
        CHECK(strstr(cct_error_message(err), "AADSTS700027") != NULL);
        const char *uri = cct_error_oauth_uri(err);
        CHECK(uri == NULL || strncmp(uri, "http", 4) == 0);
        check_no_credentials(cct_error_message(err), __LINE__);
        check_no_credentials(description, __LINE__);
        cct_error_free(err);
    }
    cct_client_free(client);
}

/* An assertion valid for an hour: Entra allows 5-10 minutes after nbf (the stand-in enforces
 * 10), so it is refused with AADSTS700024 even though the certificate is right. */
static void scenario_entra_assertion_too_long(void) {
    cct_config *cfg = entra_pem_config("CCTOKEN_ENTRA_CERT_PEM");
    if (cfg == NULL) {
        return;
    }
    CHECK_OK(cct_config_set_assertion_lifetime_ms(cfg, 3600 * 1000, NULL), NULL);
    cct_client *client = client_from(cfg);
    cct_token *tok = SENTINEL;
    cct_error *err = NULL;
    CHECK(cct_client_get_token(client, &tok, &err) == CCT_STATUS_OAUTH);
    CHECK(tok == SENTINEL);
    CHECK(err != NULL);
    if (err != NULL) {
        CHECK(cct_error_http_status(err) == 401);
        const char *code = cct_error_oauth_error(err);
        CHECK(code != NULL && strcmp(code, "invalid_client") == 0);
        const char *description = cct_error_oauth_description(err);
        CHECK(description != NULL && strncmp(description, "AADSTS700024", 12) == 0);
        check_no_credentials(cct_error_message(err), __LINE__);
        cct_error_free(err);
    }
    cct_client_free(client);
}

static void scenario_federated(void) {
    /* A fresh assertion (run.sh fetched it from the federation issuer into the file). */
    cct_config *cfg = entra_config("CCTOKEN_ENTRA_FEDERATED_CLIENT_ID");
    CHECK_OK(cct_config_set_client_assertion_file(cfg, env_or_die("CCTOKEN_FEDERATED_TOKEN_FILE"), NULL), NULL);
    expect_token(cfg, __LINE__);

    /* Expired, missing: errors that name the path, never the contents; nothing is sent. */
    const char *files[] = {env_or_die("CCTOKEN_FEDERATED_EXPIRED_FILE"), "/nonexistent/cctoken-federated-token"};
    size_t len = 0;
    unsigned char *expired = read_file(files[0], &len);
    for (size_t i = 0; i < 2; i++) {
        cfg = entra_config("CCTOKEN_ENTRA_FEDERATED_CLIENT_ID");
        CHECK_OK(cct_config_set_client_assertion_file(cfg, files[i], NULL), NULL);
        cct_client *client = NULL;
        cct_error *err = NULL;
        cct_status st = cct_client_new(cfg, &client, &err);
        cct_config_free(cfg);
        if (st == CCT_STATUS_OK) {
            cct_token *tok = SENTINEL;
            st = cct_client_get_token(client, &tok, &err);
            CHECK(tok == SENTINEL);
        }
        CHECK(st != CCT_STATUS_OK);
        CHECK(err != NULL);
        if (err != NULL) {
            const char *msg = cct_error_message(err);
            const char *name = strrchr(files[i], '/') + 1;
            if (strstr(msg, name) == NULL) {
                fail_at(__FILE__, __LINE__, "the error does not name %s: %s", name, msg);
            }
            if (i == 0) {
                CHECK(strstr(msg, "expired") != NULL);
                /* No part of the JWT (header, payload, signature) is quoted. */
                char *save = NULL;
                char *jwt = expired ? strtok_r((char *)expired, ".\n", &save) : NULL;
                for (; jwt != NULL; jwt = strtok_r(NULL, ".\n", &save)) {
                    CHECK(strlen(jwt) < 8 || strstr(msg, jwt) == NULL);
                }
            }
            check_no_credentials(msg, __LINE__);
            cct_error_free(err);
        }
        cct_client_free(client);
    }
    free(expired);
}

static void scenario_google(void) {
    const char *sa = env_or_die("CCTOKEN_GOOGLE_SA_FILE");

    /* The file, the grant named explicitly (it is what a service-account key implies). */
    cct_config *cfg = NULL;
    CHECK_OK(cct_config_new(&cfg, NULL), NULL);
    CHECK_OK(cct_config_set_service_account_file(cfg, sa, NULL), NULL);
    CHECK_OK(cct_config_set_grant_type(cfg, CCT_GRANT_JWT_BEARER, NULL), NULL);
    CHECK_OK(cct_config_add_scope(cfg, env_or_die("CCTOKEN_GOOGLE_SCOPE"), NULL), NULL);
    expect_token(cfg, __LINE__);

    /* Its client id is the service account's email: another one is a contradiction. */
    CHECK_OK(cct_config_new(&cfg, NULL), NULL);
    CHECK_OK(cct_config_set_service_account_file(cfg, sa, NULL), NULL);
    CHECK_OK(cct_config_set_client_id(cfg, "someone-else@example.com", NULL), NULL);
    expect_config_error(cfg, "client_id", __LINE__);

    /* The JWT bearer grant signed with a key that is not the service account's: Google's
     * invalid_grant, as CCT_STATUS_OAUTH. */
    size_t len = 0;
    unsigned char *key = read_file(env_or_die("CCTOKEN_ENTRA_KEY_PEM"), &len);
    CHECK_OK(cct_config_new(&cfg, NULL), NULL);
    CHECK_OK(cct_config_set_token_url(cfg, env_or_die("CCTOKEN_GOOGLE_TOKEN_URL"), NULL), NULL);
    CHECK_OK(cct_config_set_client_id(cfg, env_or_die("CCTOKEN_GOOGLE_CLIENT_EMAIL"), NULL), NULL);
    CHECK_OK(cct_config_set_grant_type(cfg, CCT_GRANT_JWT_BEARER, NULL), NULL);
    CHECK_OK(cct_config_add_scope(cfg, env_or_die("CCTOKEN_GOOGLE_SCOPE"), NULL), NULL);
    if (key != NULL) {
        CHECK_OK(cct_config_set_private_key_pem(cfg, key, len, NULL), NULL);
    }
    free(key);
    cct_client *client = client_from(cfg);
    cct_token *tok = SENTINEL;
    cct_error *err = NULL;
    CHECK(cct_client_get_token(client, &tok, &err) == CCT_STATUS_OAUTH);
    if (err != NULL) {
        const char *code = cct_error_oauth_error(err);
        CHECK(code != NULL && strcmp(code, "invalid_grant") == 0);
        check_no_credentials(cct_error_message(err), __LINE__);
        cct_error_free(err);
    }
    cct_client_free(client);

    /* The same key as JSON in memory, acting as a Workspace user. Last, so run.sh checks sub. */
    unsigned char *json = read_file(sa, &len);
    CHECK_OK(cct_config_new(&cfg, NULL), NULL);
    if (json != NULL) {
        CHECK_OK(cct_config_set_service_account_json(cfg, (const char *)json, NULL), NULL);
    }
    free(json);
    CHECK_OK(cct_config_set_subject(cfg, "admin@example.com", NULL), NULL);
    CHECK_OK(cct_config_add_scope(cfg, env_or_die("CCTOKEN_GOOGLE_SCOPE"), NULL), NULL);
    expect_token(cfg, __LINE__);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        test_null_arguments();
        test_invalid_utf8();
        test_enum_values();
        test_config_errors();
    } else if (strcmp(argv[1], "entra-pem") == 0) {
        scenario_entra_pem();
    } else if (strcmp(argv[1], "entra-pem-s256") == 0) {
        scenario_entra_pem_s256();
    } else if (strcmp(argv[1], "entra-pfx") == 0) {
        scenario_entra_pfx();
    } else if (strcmp(argv[1], "entra-wrong-thumbprint") == 0) {
        scenario_entra_wrong_thumbprint();
    } else if (strcmp(argv[1], "entra-assertion-too-long") == 0) {
        scenario_entra_assertion_too_long();
    } else if (strcmp(argv[1], "federated") == 0) {
        scenario_federated();
    } else if (strcmp(argv[1], "google") == 0) {
        scenario_google();
    } else {
        fprintf(stderr, "test_providers: unknown scenario %s\n", argv[1]);
        return 2;
    }
    return test_result("test_providers");
}
