/*
 * HTTPS and mutual TLS against the dev server's --tls-dir mode (run.sh starts it and sets
 * CCTOKEN_TOKEN_URL, CCTOKEN_CLIENT_ID, CCTOKEN_CLIENT_SECRET and CCTOKEN_TLS_DIR, where the
 * server wrote ca.pem and the certificate of the tls_client_auth client "c-mtls").
 *
 * Covers: a token over HTTPS with the test CA added; an unknown CA and a host-name mismatch
 * both give CCT_STATUS_TLS; tls_client_auth with a client certificate; CCT_TRUST_ROOT_CA_ONLY.
 *
 * With an argument, one scenario that needs the environment run.sh prepares:
 *   ssl-cert-file  SSL_CERT_FILE names the test CA: trusted with no CA added (CCT_TRUST_SYSTEM),
 *                  ignored by CCT_TRUST_BUNDLED
 *   proxy          CCTOKEN_PROXY_URL is a tinyproxy on 127.0.0.1: a token through it
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* The whole file in a malloc'd buffer (length in *len); NULL after a failed check. */
static unsigned char *read_file(const char *name, size_t *len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", env_or_die("CCTOKEN_TLS_DIR"), name);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (f == NULL) {
        return NULL;
    }
    unsigned char *buf = malloc(65536);
    *len = fread(buf, 1, 65536, f);
    fclose(f);
    CHECK(*len > 0 && *len < 65536);
    return buf;
}

static void add_test_ca(cct_config *cfg) {
    size_t len = 0;
    unsigned char *ca = read_file("ca.pem", &len);
    if (ca != NULL) {
        CHECK_OK(cct_config_add_root_ca_pem(cfg, ca, len, NULL), NULL);
    }
    free(ca);
}

static void test_https_with_test_ca(void) {
    cct_config *cfg = dev_config(env_or_die("CCTOKEN_CLIENT_SECRET"));
    if (cfg != NULL) {
        add_test_ca(cfg);
    }
    cct_client *client = client_from(cfg);
    cct_token *tok = NULL;
    cct_error *err = NULL;
    CHECK_OK(cct_client_get_token(client, &tok, &err), &err);
    CHECK(tok != NULL && strlen(cct_token_access_token(tok)) > 0);
    cct_token_free(tok);
    cct_client_free(client);
}

/* A fetch from `url` (the test CA trusted only when `trust`) fails with CCT_STATUS_TLS. */
static void expect_tls_error(const char *url, bool trust) {
    cct_config *cfg = dev_config(env_or_die("CCTOKEN_CLIENT_SECRET"));
    if (cfg == NULL) {
        return;
    }
    CHECK_OK(cct_config_set_token_url(cfg, url, NULL), NULL);
    if (trust) {
        add_test_ca(cfg);
    }
    cct_client *client = client_from(cfg);
    cct_token *tok = SENTINEL;
    cct_error *err = NULL;
    CHECK_FAILS(cct_client_get_token(client, &tok, &err), &err, CCT_STATUS_TLS, "TLS");
    CHECK(tok == SENTINEL);
    cct_client_free(client);
}

static void test_unknown_ca(void) {
    expect_tls_error(env_or_die("CCTOKEN_TOKEN_URL"), false);
}

static void test_host_name_mismatch(void) {
    /* The server's certificate names 127.0.0.1 only; localhost reaches the same socket. */
    const char *url = env_or_die("CCTOKEN_TOKEN_URL");
    const char *host = strstr(url, "127.0.0.1");
    CHECK(host != NULL);
    if (host == NULL) {
        return;
    }
    char other[4096];
    snprintf(other, sizeof other, "%.*slocalhost%s", (int)(host - url), url, host + strlen("127.0.0.1"));
    expect_tls_error(other, true);
}

static void test_tls_client_auth(void) {
    cct_config *cfg = NULL;
    CHECK_OK(cct_config_new(&cfg, NULL), NULL);
    if (cfg == NULL) {
        return;
    }
    CHECK_OK(cct_config_set_token_url(cfg, env_or_die("CCTOKEN_TOKEN_URL"), NULL), NULL);
    CHECK_OK(cct_config_set_client_id(cfg, "c-mtls", NULL), NULL);
    CHECK_OK(cct_config_set_auth_method(cfg, CCT_AUTH_TLS_CLIENT_AUTH, NULL), NULL);
    add_test_ca(cfg);
    size_t cert_len = 0, key_len = 0;
    unsigned char *cert = read_file("c-mtls.pem", &cert_len);
    unsigned char *key = read_file("c-mtls-key.pem", &key_len);
    if (cert != NULL && key != NULL) {
        CHECK_OK(cct_config_set_client_certificate_pem(cfg, cert, cert_len, key, key_len, NULL), NULL);
    }
    free(cert);
    free(key);
    cct_client *client = client_from(cfg);
    cct_token *tok = NULL;
    cct_error *err = NULL;
    CHECK_OK(cct_client_get_token(client, &tok, &err), &err);
    CHECK(tok != NULL && strlen(cct_token_access_token(tok)) > 0);
    cct_token_free(tok);
    cct_client_free(client);
}

/* A client for the test server with `store`; `anchor` (a file of CCTOKEN_TLS_DIR) added. */
static cct_client *trusting(cct_trust_store store, const char *anchor) {
    cct_config *cfg = dev_config(env_or_die("CCTOKEN_CLIENT_SECRET"));
    if (cfg == NULL) {
        return NULL;
    }
    CHECK_OK(cct_config_set_trust_store(cfg, store, NULL), NULL);
    if (anchor != NULL) {
        size_t len = 0;
        unsigned char *pem = read_file(anchor, &len);
        if (pem != NULL) {
            CHECK_OK(cct_config_add_root_ca_pem(cfg, pem, len, NULL), NULL);
        }
        free(pem);
    }
    return client_from(cfg);
}

static void expect_token(cct_client *client) {
    cct_token *tok = NULL;
    cct_error *err = NULL;
    CHECK_OK(cct_client_get_token(client, &tok, &err), &err);
    CHECK(tok != NULL && strlen(cct_token_access_token(tok)) > 0);
    cct_token_free(tok);
    cct_client_free(client);
}

static void expect_tls_failure(cct_client *client) {
    cct_token *tok = SENTINEL;
    cct_error *err = NULL;
    CHECK_FAILS(cct_client_get_token(client, &tok, &err), &err, CCT_STATUS_TLS, "TLS");
    CHECK(tok == SENTINEL);
    cct_client_free(client);
}

/* Only the given certificates: the test CA works; another anchor (the client certificate, which
 * did not issue the server's) does not. */
static void test_root_ca_only(void) {
    expect_token(trusting(CCT_TRUST_ROOT_CA_ONLY, "ca.pem"));
    expect_tls_failure(trusting(CCT_TRUST_ROOT_CA_ONLY, "c-mtls.pem"));
}

static void test_ssl_cert_file(void) {
    CHECK(getenv("SSL_CERT_FILE") != NULL);
    expect_token(trusting(CCT_TRUST_SYSTEM, NULL));
    expect_tls_failure(trusting(CCT_TRUST_BUNDLED, NULL));
}

static void test_proxy(void) {
    cct_config *cfg = dev_config(env_or_die("CCTOKEN_CLIENT_SECRET"));
    if (cfg == NULL) {
        return;
    }
    add_test_ca(cfg);
    CHECK_OK(cct_config_set_proxy(cfg, env_or_die("CCTOKEN_PROXY_URL"), NULL), NULL);
    expect_token(client_from(cfg));
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "ssl-cert-file") == 0) {
        test_ssl_cert_file();
    } else if (argc > 1 && strcmp(argv[1], "proxy") == 0) {
        test_proxy();
    } else {
        test_https_with_test_ca();
        test_unknown_ca();
        test_host_name_mismatch();
        test_tls_client_auth();
        test_root_ca_only();
    }
    return test_result("test_tls");
}
