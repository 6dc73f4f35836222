/*
 * Shared helpers for the C tests: a CHECK that records a failure and keeps going (so one run
 * reports every broken check, not just the first), and a few helpers built on it.
 *
 * Test output never contains a secret or an access token: checks print their source text and
 * the library's error message (which the header promises is secret-free), never values.
 */
#ifndef CCTOKEN_TEST_UTIL_H
#define CCTOKEN_TEST_UTIL_H

#include <stdbool.h>

#include "cctoken.h"

/* CHECK(condition): records a failure (with file, line and the condition's text) if false.
 * Safe to use from several threads. */
#define CHECK(cond) check_at((cond), #cond, __FILE__, __LINE__)

/* CHECK_OK(call, errp): the call returned CCT_STATUS_OK; otherwise its error is printed.
 * `errp` is the err argument the call was given (NULL or &err); see check_status_at. */
#define CHECK_OK(call, errp) check_status_at((call), (errp), CCT_STATUS_OK, NULL, #call, __FILE__, __LINE__)

/* CHECK_FAILS(call, errp, status, names): the call failed with `status`, and (when errp is
 * not NULL) handed out an error whose message contains `names` (unless that is NULL). */
#define CHECK_FAILS(call, errp, status, names) \
    check_status_at((call), (errp), (status), (names), #call, __FILE__, __LINE__)

/* A pointer that no cctoken function returns: outputs are pre-set to it to prove that a
 * failing call leaves them alone. */
extern char sentinel_byte;
#define SENTINEL ((void *)&sentinel_byte)

void check_at(bool ok, const char *what, const char *file, int line);

/* Records a failure with a free-form explanation (printf-style). */
void fail_at(const char *file, int line, const char *fmt, ...);

/*
 * The call returned `want`. `errp` is the err argument the call was given (NULL or &err,
 * with err == NULL before the call). When errp is not NULL:
 *   - on success, *errp must still be NULL (success leaves it untouched);
 *   - on failure, *errp must hold an error with the same status and a non-empty message,
 *     containing `names` when that is not NULL (the argument or option at fault).
 * The error is then freed and *errp reset to NULL, so the caller can reuse it.
 */
void check_status_at(cct_status got, cct_error **errp, cct_status want, const char *names, const char *what,
                     const char *file, int line);

/* A required environment variable (run.sh sets them); exits with status 2 if missing. */
const char *env_or_die(const char *name);

/* A configuration for the dev server named in the environment: CCTOKEN_TOKEN_URL,
 * CCTOKEN_CLIENT_ID, the given secret and the scope "read". NULL after a failed check. */
cct_config *dev_config(const char *secret);

/* A client built from `cfg`, which is freed. NULL after a failed check. */
cct_client *client_from(cct_config *cfg);

/* The client's counters (all zero after a failed check). */
cct_metrics metrics_of(const cct_client *client);

/* The end of every test's main: prints how many checks failed, returns the exit status. */
int test_result(const char *program);

#endif /* CCTOKEN_TEST_UTIL_H */
