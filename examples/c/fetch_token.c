/*
 * fetch_token.c: get an OAuth 2.0 client-credentials token with cctoken, call an API with it,
 * and show that the following calls are answered from the cache.
 *
 * Build (from the repository root, after `make stage`):
 *   cc -std=c11 -Wall -Itarget/stage/include examples/c/fetch_token.c \
 *      target/stage/lib/libcctoken.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o fetch_token
 *
 * Run (`make demo` starts the dev server and does this for you):
 *   CCTOKEN_TOKEN_URL=http://127.0.0.1:PORT/token CCTOKEN_CLIENT_ID=demo-client \
 *   CCTOKEN_CLIENT_SECRET=demo-secret CCTOKEN_RESOURCE_URL=http://127.0.0.1:PORT/resource \
 *   ./fetch_token
 *
 * It prints one line, "c: token fetches=N cache hits=M", and exits non-zero on any failure.
 * The API call uses the curl command-line tool, to keep this example free of an HTTP library.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cctoken.h"

/* Prints what failed and the library's message (which never contains secrets or tokens),
 * then frees the error. */
static void report(const char *what, cct_status status, cct_error *err) {
    fprintf(stderr, "fetch_token: %s: %s\n", what, err ? cct_error_message(err) : cct_status_str(status));
    cct_error_free(err);
}

static const char *env(const char *name) {
    const char *value = getenv(name);
    if (value == NULL || value[0] == '\0') {
        fprintf(stderr, "fetch_token: set %s\n", name);
    }
    return value;
}

/* Writes `key = "<prefix><value>"` as a line of a curl config file. Returns false if the
 * value holds a line break, which could smuggle a second header or option into the file. */
static bool put_config_line(FILE *f, const char *key, const char *prefix, const char *value) {
    if (strpbrk(value, "\r\n") != NULL) {
        return false;
    }
    fprintf(f, "%s = \"%s", key, prefix);
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            fputc('\\', f); /* curl config quoting */
        }
        fputc(*p, f);
    }
    fputs("\"\n", f);
    return true;
}

/*
 * GET `url` with "Authorization: <type> <token>", using curl. The URL and the header reach
 * curl through its stdin as a config file (--config -), never through its command line, which
 * every local user can read in the process list.
 * Returns curl's exit status: 0 for a 2xx answer, 22 for an HTTP error status (--fail),
 * anything else (or -1) when the request could not be made.
 */
static int call_resource(const char *url, const cct_token *token) {
    char prefix[64];
    snprintf(prefix, sizeof prefix, "Authorization: %s ", cct_token_token_type(token));

    FILE *curl = popen("curl --silent --show-error --fail --max-time 10 --output /dev/null --config -", "w");
    if (curl == NULL) {
        return -1;
    }
    bool ok = put_config_line(curl, "url", "", url) &&
              put_config_line(curl, "header", prefix, cct_token_access_token(token));
    int status = pclose(curl);
    if (!ok || status == -1 || !WIFEXITED(status)) {
        return -1;
    }
    return WEXITSTATUS(status);
}

int main(void) {
    const char *token_url = env("CCTOKEN_TOKEN_URL");
    const char *client_id = env("CCTOKEN_CLIENT_ID");
    const char *secret = env("CCTOKEN_CLIENT_SECRET");
    const char *resource_url = env("CCTOKEN_RESOURCE_URL");
    if (!token_url || !client_id || !secret || !resource_url) {
        return 2;
    }
    /* If curl exits before reading its config, writing to it must fail, not kill us. */
    signal(SIGPIPE, SIG_IGN);

    int exit_code = 1;
    cct_config *cfg = NULL;
    cct_client *client = NULL;
    cct_token *token = NULL;
    cct_error *err = NULL;
    cct_status st;

    /* 1. Configure. The setters copy their arguments; the configuration is checked as a whole
     *    by cct_client_new, whose error names the option at fault. */
    if ((st = cct_config_new(&cfg, &err)) != CCT_STATUS_OK ||
        (st = cct_config_set_token_url(cfg, token_url, &err)) != CCT_STATUS_OK ||
        (st = cct_config_set_client_id(cfg, client_id, &err)) != CCT_STATUS_OK ||
        (st = cct_config_set_client_secret(cfg, secret, &err)) != CCT_STATUS_OK ||
        (st = cct_config_add_scope(cfg, "read", &err)) != CCT_STATUS_OK) {
        report("configuration", st, err);
        goto done;
    }
    if ((st = cct_client_new(cfg, &client, &err)) != CCT_STATUS_OK) {
        report("configuration", st, err);
        goto done;
    }

    /* 2. Get a token (this one is fetched) and call the API with it. */
    if ((st = cct_client_get_token(client, &token, &err)) != CCT_STATUS_OK) {
        report("token", st, err);
        goto done;
    }
    int curl_status = call_resource(resource_url, token);
    if (curl_status == 22) {
        /* An HTTP error. curl does not say which one; the dev server's answer is 401, meaning
         * the token was refused (revoked, or the server restarted). Tell the client, so that
         * the next call fetches a new token, and try once more. (With an HTTP library, do
         * this on 401 only.) */
        cct_client_invalidate(client, token, NULL);
        cct_token_free(token);
        token = NULL;
        if ((st = cct_client_get_token(client, &token, &err)) != CCT_STATUS_OK) {
            report("token", st, err);
            goto done;
        }
        curl_status = call_resource(resource_url, token);
    }
    if (curl_status != 0) {
        fprintf(stderr, "fetch_token: the resource request failed (curl exit status %d)\n", curl_status);
        goto done;
    }

    /* 3. Ask again, as a busy service would before every request: these are cache hits. */
    for (int i = 0; i < 1000; i++) {
        cct_token *again = NULL;
        if ((st = cct_client_get_token(client, &again, &err)) != CCT_STATUS_OK) {
            report("token", st, err);
            goto done;
        }
        cct_token_free(again);
    }

    cct_metrics m;
    if ((st = cct_client_metrics(client, &m, &err)) != CCT_STATUS_OK) {
        report("metrics", st, err);
        goto done;
    }
    printf("c: token fetches=%" PRIu64 " cache hits=%" PRIu64 "\n", m.fetches, m.hits);
    exit_code = 0;

done:
    /* Every *_free accepts NULL, so one cleanup path serves all exits. */
    cct_token_free(token);
    cct_client_free(client);
    cct_config_free(cfg);
    return exit_code;
}
