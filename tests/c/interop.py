"""JSON work for the interop block of run.sh (the C programs parse no JSON).

  interop.py setup DIR < server-stdout
      Reads the first line of tests/interop/server.mjs's stdout that starts with '{' and writes
      what it describes as plain files (mode 0600) under DIR: issuer, token_endpoint,
      introspection_endpoint, stats_endpoint, ca_pem, clients/<name>/<field> for every string
      field, resources/<name>/<field>, introspector.curlrc (curl -K: Basic credentials of the
      client `introspector`, form-encoded as RFC 6749 2.3.1 says), and secrets.txt (every
      client secret, one a line: run.sh checks that no test output contains one).

  interop.py check DIR CLIENT SCOPE AUDIENCE TOKEN_TYPE [CNF_MEMBER CNF_FILE] < introspection
      Checks an RFC 7662 introspection answer: active, iss, client_id, scope (as a set), aud,
      token_type, and cnf: CNF_MEMBER equal to the content of CNF_FILE, or no cnf at all.
      Prints what differs (these fields hold no secrets) and exits 1 then.

  interop.py stat DIR requests CLIENT            < stats      successful token requests
  interop.py stat DIR errors CLIENT ERROR        < stats      failed ones with that error
      Prints a count from the server's /_interop/stats answer (0 when absent).
"""

import json
import os
import sys
import urllib.parse


def put(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def setup(root):
    os.umask(0o077)
    line = next((line for line in sys.stdin if line.startswith("{")), None)
    if line is None:
        sys.exit("interop.py: the server printed no JSON line")
    info = json.loads(line)
    for key in ("issuer", "token_endpoint", "introspection_endpoint", "stats_endpoint", "ca_pem"):
        put(root, key, info[key])
    for name, fields in info["resources"].items():
        for key, value in fields.items():
            put(root, f"resources/{name}/{key}", value)
    secrets = []
    for name, fields in info["clients"].items():
        for key, value in fields.items():
            if isinstance(value, str):
                put(root, f"clients/{name}/{key}", value)
        if fields.get("client_secret"):
            secrets.append(fields["client_secret"])
    put(root, "secrets.txt", "".join(s + "\n" for s in secrets))
    intro = info["clients"]["introspector"]
    user = ":".join(urllib.parse.quote_plus(s, safe="") for s in (intro["client_id"], intro["client_secret"]))
    put(root, "introspector.curlrc", f'user = "{user}"\n')


def read(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8") as f:
        return f.read()


def check(root, client, scope, aud, token_type, cnf_member=None, cnf_file=None):
    try:
        got = json.load(sys.stdin)
    except ValueError:
        print("    introspection: the answer is not JSON", file=sys.stderr)
        return 1
    want = {
        "active": True,
        "iss": read(root, "issuer"),
        "client_id": client,
        "scope": sorted(scope.split()),
        "aud": aud,
        "token_type": token_type,
        "cnf": {cnf_member: read(root, cnf_file)} if cnf_member else None,
    }
    have = dict(got, scope=sorted(got.get("scope", "").split()) if "scope" in got else None)
    bad = [k for k in want if have.get(k) != want[k]]
    for k in bad:
        print(f"    introspection {k}: got {json.dumps(have.get(k))}, expected {json.dumps(want[k])}", file=sys.stderr)
    return 1 if bad else 0


def stat(kind, client, error=None):
    stats = json.load(sys.stdin)
    if kind == "requests":
        print(stats["token_requests"].get(client, 0))
    else:
        print(stats["token_errors"].get(client, {}).get(error, 0))
    return 0


def main(argv):
    cmd, root, args = argv[1], argv[2], argv[3:]
    if cmd == "setup":
        setup(root)
        return 0
    if cmd == "check":
        return check(root, *args)
    if cmd == "stat":
        return stat(*args)
    sys.exit(f"interop.py: unknown command {cmd}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
