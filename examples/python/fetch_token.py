"""Fetch a token with cctoken and call a protected resource with it (standard library only).

    CCTOKEN_TOKEN_URL=... CCTOKEN_CLIENT_ID=... CCTOKEN_CLIENT_SECRET=... \
    CCTOKEN_RESOURCE_URL=... python3 examples/python/fetch_token.py

Prints one line: "python: token fetches=N cache hits=M resource=STATUS".
"""

import os
import sys
import urllib.error
import urllib.request

import cctoken


def get(url: str, token: cctoken.Token) -> int:
    request = urllib.request.Request(url, headers={"Authorization": token.authorization_header})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def main() -> int:
    env = os.environ
    try:
        client = cctoken.Client(
            token_url=env["CCTOKEN_TOKEN_URL"],
            client_id=env["CCTOKEN_CLIENT_ID"],
            client_secret=env["CCTOKEN_CLIENT_SECRET"],
            scopes=["read"],
        )
    except KeyError as e:
        print(f"python: set {e.args[0]}", file=sys.stderr)
        return 2

    with client:
        try:
            token = client.token()
            status = get(env["CCTOKEN_RESOURCE_URL"], token)
            if status == 401:
                # The resource server rejected the token: drop it and try once with a new one.
                client.invalidate(token)
                status = get(env["CCTOKEN_RESOURCE_URL"], client.token())
            for _ in range(3):
                client.token()  # cached: no request, no FFI call
        except cctoken.CctokenError as e:  # messages never contain the secret or a token
            print(f"python: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        m = client.metrics()

    print(f"python: token fetches={m.fetches} cache hits={m.hits} resource={status}")
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
