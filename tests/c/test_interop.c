/*
 * Interop scenarios against a real authorization server: oidc-provider, run by
 * tests/interop/server.mjs (see tests/interop/README.md). One scenario per run:
 *
 *   test_interop SCENARIO        (run.sh lists them; `test_interop` alone prints the list)
 *
 * run.sh starts the server, parses its JSON line (this program parses no JSON) and writes what
 * it describes as plain files under CCTOKEN_INTEROP_DIR:
 *
 *   token_endpoint, issuer, ca_pem
 *   clients/<name>/<field>       client_secret, private_key_pem, kid, cert_pem, key_pem, ...
 *   resources/<name>/<field>     resource, audience
 *
 * A scenario that gets a token writes it to out/<scenario>.token (mode 0600; never to stdout
 * or stderr) and, with DPoP, the key's thumbprint to out/<scenario>.jkt. run.sh then
 * introspects the token at the server (as the client `introspector`), checks active,
 * client_id, scope, aud and cnf, and deletes the file. So every "works" here means the server
 * itself accepts the token, not just that cctoken parsed a 200.
 *
 * The error scenarios check the status, the OAuth error code, the HTTP status, and that
 * neither the message nor the description contains a secret.
 */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

/* Every request is bounded: a hung server fails the test in seconds, not minutes. */
#define CALL_TIMEOUT_MS 5000

/* ----------------------------------------------------------------------------------------- */
/* Inputs written by run.sh                                                                  */

/* The file CCTOKEN_INTEROP_DIR/<rel> as a NUL-terminated malloc'd string (its length in
 * *len when len is not NULL); NULL after a failed check. */
static char *read_input(const char *rel, size_t *len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", env_or_die("CCTOKEN_INTEROP_DIR"), rel);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail_at(__FILE__, __LINE__, "cannot open %s (run.sh writes it from the server's JSON line)", path);
        return NULL;
    }
    size_t cap = 65536;
    char *buf = malloc(cap);
    size_t n = buf ? fread(buf, 1, cap - 1, f) : 0;
    fclose(f);
    if (buf == NULL || n == 0 || n == cap - 1) {
        fail_at(__FILE__, __LINE__, "%s is empty or too large", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len != NULL) {
        *len = n;
    }
    return buf;
}

/* CCTOKEN_INTEROP_DIR/clients/<client>/<field>; see read_input. */
static char *client_field(const char *client, const char *field, size_t *len) {
    char rel[512];
    snprintf(rel, sizeof rel, "clients/%s/%s", client, field);
    return read_input(rel, len);
}

/* The absolute path of CCTOKEN_INTEROP_DIR/<rel>, in a static buffer. */
static const char *input_path(const char *rel) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", env_or_die("CCTOKEN_INTEROP_DIR"), rel);
    return path;
}

/* ----------------------------------------------------------------------------------------- */
/* Configurations                                                                            */

/* Adds each scope of the space-separated list `scopes`. */
static void add_scopes(cct_config *cfg, const char *scopes) {
    char copy[256];
    snprintf(copy, sizeof copy, "%s", scopes);
    char *save = NULL;
    for (char *s = strtok_r(copy, " ", &save); s != NULL; s = strtok_r(NULL, " ", &save)) {
        CHECK_OK(cct_config_add_scope(cfg, s, NULL), NULL);
    }
}

/* A configuration for `client` with `scopes`, trusting the server's CA and with a short call
 * timeout; the token endpoint is set unless `discover` (then: the issuer). No authentication
 * yet. NULL after a failed check. */
static cct_config *interop_config(const char *client, const char *scopes, bool discover) {
    cct_config *cfg = NULL;
    cct_error *err = NULL;
    CHECK_OK(cct_config_new(&cfg, &err), &err);
    if (cfg == NULL) {
        return NULL;
    }
    char *url = read_input(discover ? "issuer" : "token_endpoint", NULL);
    if (url != NULL) {
        if (discover) {
            CHECK_OK(cct_config_set_issuer(cfg, url, &err), &err);
        } else {
            CHECK_OK(cct_config_set_token_url(cfg, url, &err), &err);
        }
    }
    free(url);
    CHECK_OK(cct_config_set_client_id(cfg, client, &err), &err);
    add_scopes(cfg, scopes);
    size_t len = 0;
    char *ca = read_input("ca_pem", &len);
    if (ca != NULL) {
        CHECK_OK(cct_config_add_root_ca_pem(cfg, (const uint8_t *)ca, len, &err), &err);
    }
    free(ca);
    CHECK_OK(cct_config_set_call_timeout_ms(cfg, CALL_TIMEOUT_MS, &err), &err);
    return cfg;
}

/* Sets `method` and the client's secret (read from its file, then wiped). */
static void use_secret(cct_config *cfg, const char *client, cct_auth_method method) {
    if (cfg == NULL) {
        return;
    }
    CHECK_OK(cct_config_set_auth_method(cfg, method, NULL), NULL);
    size_t len = 0;
    char *secret = client_field(client, "client_secret", &len);
    if (secret != NULL) {
        CHECK_OK(cct_config_set_client_secret(cfg, secret, NULL), NULL);
        memset(secret, 0, len);
    }
    free(secret);
}

/* Sets `method` and the client's certificate and key (PEM). */
static void use_certificate(cct_config *cfg, const char *client, cct_auth_method method) {
    if (cfg == NULL) {
        return;
    }
    CHECK_OK(cct_config_set_auth_method(cfg, method, NULL), NULL);
    size_t cert_len = 0, key_len = 0;
    char *cert = client_field(client, "cert_pem", &cert_len);
    char *key = client_field(client, "key_pem", &key_len);
    if (cert != NULL && key != NULL) {
        CHECK_OK(cct_config_set_client_certificate_pem(cfg, (const uint8_t *)cert, cert_len, (const uint8_t *)key,
                                                       key_len, NULL),
                 NULL);
    }
    free(cert);
    free(key);
}

/* private_key_jwt with the client's PKCS#8 PEM key and kid; `alg` is set explicitly when it is
 * not the key's natural algorithm (CCT_ALG_HS256 means: leave the default). */
static void use_private_key(cct_config *cfg, const char *client, cct_signing_alg alg) {
    if (cfg == NULL) {
        return;
    }
    CHECK_OK(cct_config_set_auth_method(cfg, CCT_AUTH_PRIVATE_KEY_JWT, NULL), NULL);
    size_t len = 0;
    char *pem = client_field(client, "private_key_pem", &len);
    char *kid = client_field(client, "kid", NULL);
    if (pem != NULL) {
        CHECK_OK(cct_config_set_private_key_pem(cfg, (const uint8_t *)pem, len, NULL), NULL);
        memset(pem, 0, len);
    }
    if (kid != NULL) {
        CHECK_OK(cct_config_set_key_id(cfg, kid, NULL), NULL);
    }
    if (alg != CCT_ALG_HS256) {
        CHECK_OK(cct_config_set_signing_alg(cfg, alg, NULL), NULL);
    }
    free(pem);
    free(kid);
}

/* ----------------------------------------------------------------------------------------- */
/* Outcomes                                                                                  */

/* Writes `text` to CCTOKEN_INTEROP_DIR/out/<scenario>.<ext>, mode 0600, no newline. */
static void write_output(const char *scenario, const char *ext, const char *text) {
    char rel[512];
    snprintf(rel, sizeof rel, "out/%s.%s", scenario, ext);
    const char *path = input_path(rel);
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        fail_at(__FILE__, __LINE__, "cannot create %s", path);
        return;
    }
    size_t len = strlen(text);
    CHECK(write(fd, text, len) == (ssize_t)len);
    CHECK(close(fd) == 0);
}

/*
 * Builds a client from `cfg` (freed), gets a token, and checks it: type `token_type`, scope
 * `scope`, a lifetime of at most the server's 600 s, one request to the server; a second call
 * is a cache hit with the same token. Hands the token (and with DPoP the key thumbprint) to
 * run.sh through out/<scenario>.token and out/<scenario>.jkt.
 */
static void expect_token(const char *scenario, cct_config *cfg, const char *token_type, const char *scope) {
    cct_client *client = client_from(cfg);
    if (client == NULL) {
        return;
    }
    cct_token *tok = NULL;
    cct_error *err = NULL;
    CHECK_OK(cct_client_get_token(client, &tok, &err), &err);
    if (tok != NULL) {
        const char *access = cct_token_access_token(tok);
        const char *type = cct_token_token_type(tok);
        const char *granted = cct_token_scope(tok);
        CHECK(access != NULL && access[0] != '\0');
        if (type == NULL || strcmp(type, token_type) != 0) {
            fail_at(__FILE__, __LINE__, "token_type is %s, expected %s", type ? type : "NULL", token_type);
        }
        if (granted == NULL || strcmp(granted, scope) != 0) {
            fail_at(__FILE__, __LINE__, "scope is %s, expected %s", granted ? granted : "NULL", scope);
        }
        uint64_t ms = cct_token_expires_in_ms(tok);
        CHECK(ms > 500000 && ms <= 600000);

        cct_token *again = NULL;
        CHECK_OK(cct_client_get_token(client, &again, &err), &err);
        CHECK(again != NULL && strcmp(cct_token_access_token(again), access) == 0);
        cct_token_free(again);
        cct_metrics m = metrics_of(client);
        CHECK(m.fetches == 1);
        CHECK(m.fetch_failures == 0);
        CHECK(m.hits == 1);

        if (strcmp(token_type, "DPoP") == 0) {
            char *jkt = NULL;
            CHECK_OK(cct_client_dpop_jkt(client, &jkt, &err), &err);
            CHECK(jkt != NULL && strlen(jkt) == 43); /* base64url of a SHA-256 */
            if (jkt != NULL) {
                write_output(scenario, "jkt", jkt);
            }
            cct_string_free(jkt);
        }
        if (access != NULL) {
            write_output(scenario, "token", access);
        }
    }
    cct_token_free(tok);
    cct_client_free(client);
}

/* `haystack` (may be NULL) does not contain `secret` (may be NULL or empty: nothing to find). */
static void check_secret_free(const char *what, const char *haystack, const char *secret) {
    if (haystack != NULL && secret != NULL && secret[0] != '\0' && strstr(haystack, secret) != NULL) {
        fail_at(__FILE__, __LINE__, "the error's %s contains a secret (not shown)", what);
    }
}

/*
 * Builds a client from `cfg` (freed) whose token request the server refuses: CCT_STATUS_OAUTH
 * with `oauth_error` and `http_status`, not retryable, the output untouched, and neither the
 * message nor the description containing `secret_a` or `secret_b` (either may be NULL).
 */
static void expect_oauth_error(cct_config *cfg, const char *oauth_error, uint16_t http_status, const char *secret_a,
                               const char *secret_b) {
    cct_client *client = client_from(cfg);
    if (client == NULL) {
        return;
    }
    cct_token *tok = SENTINEL;
    cct_error *err = NULL;
    cct_status st = cct_client_get_token(client, &tok, &err);
    CHECK(tok == SENTINEL);
    if (st != CCT_STATUS_OAUTH || err == NULL) {
        fail_at(__FILE__, __LINE__, "get_token returned %u (%s), expected CCT_STATUS_OAUTH with an error: %s", st,
                cct_status_str(st), err ? cct_error_message(err) : "(no error object)");
    } else {
        const char *code = cct_error_oauth_error(err);
        const char *msg = cct_error_message(err);
        const char *desc = cct_error_oauth_description(err);
        CHECK(cct_error_status(err) == CCT_STATUS_OAUTH);
        if (code == NULL || strcmp(code, oauth_error) != 0) {
            fail_at(__FILE__, __LINE__, "oauth error is %s, expected %s", code ? code : "NULL", oauth_error);
        }
        if (cct_error_http_status(err) != http_status) {
            fail_at(__FILE__, __LINE__, "http status is %u, expected %u", (unsigned)cct_error_http_status(err),
                    (unsigned)http_status);
        }
        CHECK(!cct_error_retryable(err));
        CHECK(msg != NULL && strstr(msg, oauth_error) != NULL);
        check_secret_free("message", msg, secret_a);
        check_secret_free("message", msg, secret_b);
        check_secret_free("description", desc, secret_a);
        check_secret_free("description", desc, secret_b);
    }
    cct_error_free(err);
    cct_metrics m = metrics_of(client);
    CHECK(m.fetches == 1);
    CHECK(m.fetch_failures == 1);
    CHECK(m.retries == 0); /* an OAuth 4xx is final */
    cct_client_free(client);
}

/* ----------------------------------------------------------------------------------------- */
/* Scenarios                                                                                 */

/* client_secret_basic, form-encoded (the default): the secret holds `+/=%:! ` and a space. */
static void scenario_basic(const char *name) {
    cct_config *cfg = interop_config("basic", "read write", false);
    use_secret(cfg, "basic", CCT_AUTH_CLIENT_SECRET_BASIC);
    expect_token(name, cfg, "Bearer", "read write");
}

/* client_secret_post with the secret read from a file, for resource "b" (RFC 8707), whose
 * audience differs from its URI. */
static void scenario_post(const char *name) {
    cct_config *cfg = interop_config("post", "read", false);
    if (cfg != NULL) {
        CHECK_OK(cct_config_set_auth_method(cfg, CCT_AUTH_CLIENT_SECRET_POST, NULL), NULL);
        CHECK_OK(cct_config_set_client_secret_file(cfg, input_path("clients/post/client_secret"), false, NULL),
                 NULL);
        char *resource = read_input("resources/b/resource", NULL);
        if (resource != NULL) {
            CHECK_OK(cct_config_add_resource(cfg, resource, NULL), NULL);
        }
        free(resource);
    }
    expect_token(name, cfg, "Bearer", "read");
}

/* client_secret_jwt: an HS256 assertion signed with the secret. */
static void scenario_secret_jwt(const char *name) {
    cct_config *cfg = interop_config("secret-jwt", "read write", false);
    use_secret(cfg, "secret-jwt", CCT_AUTH_CLIENT_SECRET_JWT);
    expect_token(name, cfg, "Bearer", "read write");
}

/* private_key_jwt with the PEM key of client `name` (pkjwt-<alg>). */
static void scenario_private_key_jwt(const char *name) {
    /* RSA keys sign RS256 by default: PS256 must be asked for. The others are the default. */
    cct_signing_alg alg = strcmp(name, "pkjwt-ps256") == 0 ? CCT_ALG_PS256 : CCT_ALG_HS256;
    cct_config *cfg = interop_config(name, "read", false);
    use_private_key(cfg, name, alg);
    expect_token(name, cfg, "Bearer", "read");
}

/* tls_client_auth (CA-issued certificate) or self_signed_tls_client_auth: certificate-bound
 * tokens, whose cnf run.sh compares with the certificate's thumbprint. */
static void scenario_tls(const char *name) {
    bool self_signed = strcmp(name, "self-signed-tls") == 0;
    cct_config *cfg = interop_config(name, "write", false);
    use_certificate(cfg, name, self_signed ? CCT_AUTH_SELF_SIGNED_TLS_CLIENT_AUTH : CCT_AUTH_TLS_CLIENT_AUTH);
    expect_token(name, cfg, "Bearer", "write");
}

/* DPoP with a client the server sends a use_dpop_nonce challenge first: cctoken retries once
 * with the nonce (run.sh checks the server counted exactly one challenge). */
static void scenario_dpop(const char *name) {
    cct_config *cfg = interop_config("dpop-nonce", "read write", false);
    use_secret(cfg, "dpop-nonce", CCT_AUTH_CLIENT_SECRET_BASIC);
    if (cfg != NULL) {
        CHECK_OK(cct_config_set_dpop(cfg, true, NULL), NULL);
    }
    expect_token(name, cfg, "DPoP", "read write");
}

/* The issuer instead of the token URL: the endpoint comes from the server's metadata. The
 * all-scopes client may have `admin`. */
static void scenario_discovery(const char *name) {
    cct_config *cfg = interop_config("all-scopes", "read admin", true);
    use_secret(cfg, "all-scopes", CCT_AUTH_CLIENT_SECRET_BASIC);
    expect_token(name, cfg, "Bearer", "read admin");
}

/* A wrong secret: 401 invalid_client; neither secret appears in the error. */
static void scenario_wrong_secret(const char *name) {
    (void)name;
    static const char wrong[] = "not+the/secret= %:! 7f3a";
    cct_config *cfg = interop_config("basic", "read", false);
    if (cfg != NULL) {
        CHECK_OK(cct_config_set_client_secret(cfg, wrong, NULL), NULL);
    }
    char *real = client_field("basic", "client_secret", NULL);
    expect_oauth_error(cfg, "invalid_client", 401, wrong, real);
    free(real);
}

/* The same credentials sent as raw Basic (not form-encoded): oidc-provider cannot decode the
 * `%` in the secret and answers 400 invalid_request. */
static void scenario_raw_basic(const char *name) {
    (void)name;
    cct_config *cfg = interop_config("basic", "read", false);
    use_secret(cfg, "basic", CCT_AUTH_CLIENT_SECRET_BASIC_RAW);
    char *real = client_field("basic", "client_secret", NULL);
    expect_oauth_error(cfg, "invalid_request", 400, real, NULL);
    free(real);
}

/* A scope the server knows but the client may not have: 400 invalid_scope. */
static void scenario_disallowed_scope(const char *name) {
    (void)name;
    cct_config *cfg = interop_config("basic", "read admin", false);
    use_secret(cfg, "basic", CCT_AUTH_CLIENT_SECRET_BASIC);
    char *real = client_field("basic", "client_secret", NULL);
    expect_oauth_error(cfg, "invalid_scope", 400, real, NULL);
    free(real);
}

/* A client not registered for client_credentials. RFC 6749 §5.2 would say unauthorized_client;
 * oidc-provider answers 400 invalid_request ("requested grant type is not allowed for this
 * client"), and that is what we pin here. */
static void scenario_no_cc_grant(const char *name) {
    (void)name;
    cct_config *cfg = interop_config("no-cc-grant", "read", false);
    use_secret(cfg, "no-cc-grant", CCT_AUTH_CLIENT_SECRET_BASIC);
    char *real = client_field("no-cc-grant", "client_secret", NULL);
    expect_oauth_error(cfg, "invalid_request", 400, real, NULL);
    free(real);
}

/* A private_key_jwt assertion in another algorithm than the registered one: invalid_client. */
static void scenario_wrong_alg(const char *name) {
    (void)name;
    cct_config *cfg = interop_config("pkjwt-rs256", "read", false);
    use_private_key(cfg, "pkjwt-rs256", CCT_ALG_PS256);
    expect_oauth_error(cfg, "invalid_client", 401, NULL, NULL);
}

/* The DPoP-bound client without DPoP: 400 invalid_grant. */
static void scenario_dpop_missing(const char *name) {
    (void)name;
    cct_config *cfg = interop_config("dpop-nonce", "read", false);
    use_secret(cfg, "dpop-nonce", CCT_AUTH_CLIENT_SECRET_BASIC);
    char *real = client_field("dpop-nonce", "client_secret", NULL);
    expect_oauth_error(cfg, "invalid_grant", 400, real, NULL);
    free(real);
}

static const struct {
    const char *name;
    void (*run)(const char *name);
} SCENARIOS[] = {
    {"basic", scenario_basic},
    {"post", scenario_post},
    {"secret-jwt", scenario_secret_jwt},
    {"pkjwt-rs256", scenario_private_key_jwt},
    {"pkjwt-ps256", scenario_private_key_jwt},
    {"pkjwt-es256", scenario_private_key_jwt},
    {"pkjwt-eddsa", scenario_private_key_jwt},
    {"tls", scenario_tls},
    {"self-signed-tls", scenario_tls},
    {"dpop", scenario_dpop},
    {"discovery", scenario_discovery},
    {"wrong-secret", scenario_wrong_secret},
    {"raw-basic", scenario_raw_basic},
    {"disallowed-scope", scenario_disallowed_scope},
    {"no-cc-grant", scenario_no_cc_grant},
    {"wrong-alg", scenario_wrong_alg},
    {"dpop-missing", scenario_dpop_missing},
};

int main(int argc, char **argv) {
    size_t count = sizeof SCENARIOS / sizeof SCENARIOS[0];
    if (argc == 2) {
        for (size_t i = 0; i < count; i++) {
            if (strcmp(argv[1], SCENARIOS[i].name) == 0) {
                SCENARIOS[i].run(SCENARIOS[i].name);
                return test_result(argv[0]);
            }
        }
    }
    fprintf(stderr, "usage: %s SCENARIO, one of:", argc > 0 ? argv[0] : "test_interop");
    for (size_t i = 0; i < count; i++) {
        fprintf(stderr, " %s", SCENARIOS[i].name);
    }
    fputc('\n', stderr);
    return 2;
}
