"""Runs every benchmark scenario of cctoken and its peers side by side, against one dev server,
and writes the report: a Markdown table, a PNG chart and the raw results as JSON.

    python run.py [--smoke] --dev-server PATH --out results/latest.md

`make bench` / `make -C benches smoke` call it after building everything (see the Makefile).
Each runner prints one JSON result per line:
    {"scenario", "case", "group", "library", "ref", "unit", "median", "p99", "max", "n", "note"}
`group` is the language; `ref` marks the cctoken row that the group's ratios are relative to.
"""

from __future__ import annotations

import argparse
import functools
import datetime
import json
import os
import platform
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
STAGE = REPO / "target" / "stage"
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret"
SCENARIOS = {
    "P1": "cache hit, one thread",
    "P2": "hit throughput (aggregate ns per hit: wall time / hits of all threads)",
    "P3": "stampede: token requests the server saw",
    "P4": "caller latency across a refresh, server answering /token in +50 ms (ratio on the worst call)",
    "P5": "cold fetch over a kept-alive connection",
    "P6": "footprint",
    "P7": "shared cache store: token requests per lifetime for N processes, and a store hit next to a fetch",
}
GROUP_ORDER = {"rust": 0, "c": 1, "go": 2, "python": 3, "shell": 4}


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


class DevServer:
    """cctoken-dev-server on 127.0.0.1:0; dies with us (--exit-on-stdin-eof) or on stop()."""

    def __init__(self, path: str) -> None:
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [path, "--addr", "127.0.0.1:0", "--exit-on-stdin-eof", "--quiet",
             "--client", CLIENT_ID, "--secret", CLIENT_SECRET, "--lifetime", "3600"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        # A generous bound for the banner (a loaded machine is slow, a hung server must not hang us).
        ready, _, _ = select.select([self.proc.stdout], [], [], 120)
        line = self.proc.stdout.readline() if ready else ""
        if (took := time.monotonic() - started) > 5:
            log(f"note: the dev server took {took:.1f} s to start")
        m = re.search(r"listening on (http://\S+)", line)
        if not m:
            self.stop()
            raise SystemExit(f"dev server did not start: {line!r}")
        self.base = m.group(1)
        self.token_url = self.base + "/token"

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.base + "/_dev/reset", data=b"", method="POST")).read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Run:
    def __init__(self, args: argparse.Namespace, server: DevServer) -> None:
        self.args = args
        self.server = server
        self.results: list[dict] = []
        self.failures: list[str] = []
        self.timings: list[tuple[str, float]] = []
        self.env = dict(os.environ,
                        CCTOKEN_BENCH_TOKEN_URL=server.token_url,
                        CCTOKEN_BENCH_CLIENT_ID=CLIENT_ID,
                        CCTOKEN_BENCH_CLIENT_SECRET=CLIENT_SECRET,
                        CCTOKEN_LIBRARY=str(STAGE / "lib" / "libcctoken.so"),
                        PYTHONPATH=str(REPO / "bindings" / "python"))
        # A smoke run keeps the runners' own output (figures from debug builds) in a log file,
        # so that nothing on the terminal reads as a result.
        if args.smoke:
            Path(args.work).mkdir(parents=True, exist_ok=True)
            self.chatter = open(Path(args.work) / "smoke-runners.log", "w")  # read it when a runner fails
        else:
            self.chatter = sys.stderr

    def runner(self, name: str, argv: list[str], cwd: Path = HERE) -> None:
        """Runs one runner and collects its JSON lines; a failure is recorded, not fatal."""
        log(f"{name}: {' '.join(argv)}")
        self.server.reset()
        t0 = time.monotonic()
        proc = subprocess.run(argv, cwd=cwd, env=self.env, stdout=subprocess.PIPE, text=True)
        self.timings.append((name, time.monotonic() - t0))
        got = 0
        for line in proc.stdout.splitlines():
            line = line.strip()
            if line.startswith("{"):
                self.results.append(json.loads(line))
                got += 1
            elif line:
                print(line, file=self.chatter)
        if proc.returncode != 0 or got == 0:
            self.failures.append(f"{name} exited with {proc.returncode} after {got} result(s)")
            log(f"{name}: FAILED ({proc.returncode})")

    def criterion(self) -> None:
        """P1 for the Rust API: criterion's per-sample times, one value per sample."""
        home = Path(self.args.work) / "criterion"
        shutil.rmtree(home, ignore_errors=True)
        self.env["CRITERION_HOME"] = str(home)
        timing = (["--warm-up-time", "0.05", "--measurement-time", "0.2", "--sample-size", "10"] if self.args.smoke
                  else ["--warm-up-time", "1", "--measurement-time", "3", "--sample-size", "100"])
        argv = [self.args.cargo, "bench", "--quiet", "-p", "cctoken-bench", "--bench", "hit",
                *self.args.cargo_profile, "--", *timing, "--noplot"]
        log("criterion: " + " ".join(argv))
        self.server.reset()
        t0 = time.monotonic()
        proc = subprocess.run(argv, cwd=REPO, env=self.env, stdout=self.chatter,
                              stderr=self.chatter if self.args.smoke else None)  # its progress names iteration counts
        self.timings.append(("rust criterion (P1)", time.monotonic() - t0))
        names = {"cctoken": ("cctoken (Rust API)", True, "Client::token(); criterion, per-sample mean"),
                 "oauth2": ("oauth2 5.0.0 + RwLock", False,
                            "no cache in the crate: application-held token behind an RwLock")}
        for bench, (library, ref, note) in names.items():
            sample = home / "p1_hit" / bench / "new" / "sample.json"
            if proc.returncode != 0 or not sample.exists():
                self.failures.append(f"criterion {bench}: exit {proc.returncode}, no {sample}")
                continue
            data = json.loads(sample.read_text())
            per_iter = sorted(t / i for t, i in zip(data["times"], data["iters"]))
            at = lambda q: per_iter[int((len(per_iter) - 1) * q + 0.5)]  # noqa: E731
            self.results.append({"scenario": "P1", "case": "cache hit, 1 thread", "group": "rust", "library": library,
                                 "ref": ref, "unit": "ns", "median": at(0.5), "p99": at(0.99), "max": per_iter[-1],
                                 "n": len(per_iter), "note": f"{note} ({len(per_iter)} samples)"})

    def curl(self) -> None:
        """P5 for curl: one process, n POSTs over one kept-alive connection (`-K` config)."""
        n = 5 if self.args.smoke else 400
        entry = (f'url = "{self.server.token_url}"\nuser = "{CLIENT_ID}:{CLIENT_SECRET}"\n'
                 'data = "grant_type=client_credentials&scope=read"\noutput = "/dev/null"\n'
                 'write-out = "%{time_total} %{num_connects} %{http_code}\\n"\n')
        warm = max(n // 10, 2)
        with tempfile.NamedTemporaryFile("w", suffix=".curl", dir=self.args.work, delete=False) as f:
            f.write("next\n".join([entry] * (n + warm)))
        self.server.reset()
        t0 = time.monotonic()
        proc = subprocess.run(["curl", "-s", "-K", f.name], stdout=subprocess.PIPE, text=True)
        self.timings.append(("curl (P5)", time.monotonic() - t0))
        os.unlink(f.name)
        rows = [line.split() for line in proc.stdout.splitlines()][warm:]
        if proc.returncode != 0 or len(rows) != n or any(r[2] != "200" for r in rows):
            self.failures.append(f"curl exited with {proc.returncode}, {len(rows)} answers")
            return
        ns = sorted(float(r[0]) * 1e9 for r in rows)
        connects = sum(int(r[1]) for r in rows)
        self.results.append({"scenario": "P5", "case": "cold fetch over a kept-alive connection", "group": "rust",
                             "library": "curl raw POST", "ref": False, "unit": "ns", "median": ns[len(ns) // 2],
                             "p99": ns[int((len(ns) - 1) * 0.99 + 0.5)], "max": ns[-1], "n": n,
                             "note": f"curl -K, {n} POSTs, {connects} new connection(s); "
                                     "%{time_total}, no JSON parsing; a separate process: for reference"})

    def sizes(self) -> None:
        for name in ("libcctoken.so", "libcctoken.a"):
            path = (STAGE / "lib" / name).resolve()
            note = "release build (make stage)"
            if name.endswith(".so"):
                stripped = Path(self.args.work) / "libcctoken.stripped.so"
                if shutil.which("strip") and subprocess.run(["strip", "-o", stripped, path]).returncode == 0:
                    note += f"; {stripped.stat().st_size / 2**20:.2f} MiB stripped"
            self.results.append({"scenario": "P6", "case": f"size of {name}", "group": "c", "library": "cctoken",
                                 "ref": True, "unit": "bytes", "median": path.stat().st_size, "p99": None,
                                 "max": None, "n": 1, "note": note})


# --- the report ---

def fmt(value, unit: str) -> str:
    if value is None:
        return ""
    if unit == "ns":
        for div, suffix in ((1e6, "ms"), (1e3, "µs")):
            if value >= div:
                return f"{value / div:.3g} {suffix}" if value / div < 100 else f"{value / div:.0f} {suffix}"
        return f"{value:.3g} ns" if value < 100 else f"{value:.0f} ns"
    if unit == "bytes":
        if value >= 2**20 or value <= -(2**20):
            return f"{value / 2**20:.2f} MiB"
        return f"{value / 2**10:.0f} KiB"
    if unit == "requests/lifetime":
        return f"{value:.2f}"
    return f"{value:.0f}"


def ratio_metric(r: dict) -> float | None:
    return r["max"] if r["scenario"] == "P4" else r["median"]


def order(results: list[dict]) -> list[dict]:
    first_case: dict[tuple, int] = {}
    for i, r in enumerate(results):
        first_case.setdefault((r["scenario"], r["case"]), i)
    return sorted(results, key=lambda r: (r["scenario"], first_case[(r["scenario"], r["case"])],
                                          GROUP_ORDER.get(r["group"], 9), not r["ref"]))


def best_p1(results: list[dict]) -> list[dict]:
    """Of repeated P1 rows (same case and library), the one with the lowest median."""
    best: dict[tuple, dict] = {}
    passes: dict[tuple, int] = {}
    out = []
    for r in results:
        if r["scenario"] != "P1":
            out.append(r)
            continue
        key = (r["case"], r["group"], r["library"])
        passes[key] = passes.get(key, 0) + 1
        if key not in best or r["median"] < best[key]["median"]:
            best[key] = r
    for key, r in best.items():
        if passes[key] > 1:
            r = dict(r, note=f"{r['note']}; best median of {passes[key]} passes")
        out.append(r)
    return out


def add_ratios(results: list[dict]) -> None:
    refs: dict[tuple, dict] = {}
    rows: dict[tuple, int] = {}
    for r in results:
        key = (r["scenario"], r["case"], r["group"])
        rows[key] = rows.get(key, 0) + 1
        if r["ref"]:
            refs.setdefault(key, r)
    for r in results:
        key = (r["scenario"], r["case"], r["group"])
        if r["scenario"] == "P3" and "expired" in r["case"] and r["median"] == 0:
            # No request after expiry means the callers got the expired token: a failure, not a ratio.
            r["ratio"] = None
            r["note"] = f"**served the expired token** (no request after expiry); {r['note']}"
            continue
        ref = refs.get(key) if rows[key] > 1 else None  # a row alone has nothing to compare
        a, b = ratio_metric(r), ref and ratio_metric(ref)
        r["ratio"] = a / b if ref is not None and a is not None and b else None


def find(results, scenario, group, library_prefix, case_part=""):
    return [r for r in results if r["scenario"] == scenario and r["group"] == group
            and r["library"].startswith(library_prefix) and case_part in r["case"]]


def targets(results: list[dict], total_s: float, smoke: bool) -> list[tuple[str, str, str]]:
    """(target, met/missed/n.a., figures) for each target of the issue."""
    out = []

    def verdict(ok):
        return "n/a" if ok is None else ("met" if ok else "**missed**")

    c = find(results, "P1", "c", "cctoken")
    out.append(("C ABI hit ≤ 50 ns median",
                verdict(c[0]["median"] <= 50 if c else None),
                f"{c[0]['median']:.1f} ns median, {c[0]['p99']:.1f} ns p99" if c else "not run"))
    for group, peers_desc in (("rust", "Rust API hit ≥ 2× faster than oauth2 + RwLock"),
                              ("go", "Go binding hit ≥ 2× faster than x/oauth2 ReuseTokenSource"),
                              ("python", "Python binding hit ≥ 2× faster than the best of authlib, httpx-auth, "
                                         "requests-oauthlib")):
        rows = [r for r in results if r["scenario"] == "P1" and r["group"] == group]
        ref = [r for r in rows if r["ref"]]
        peers = [r for r in rows if not r["library"].startswith("cctoken")]
        if ref and peers:
            best = min(peers, key=lambda r: r["median"])
            speedup = best["median"] / ref[0]["median"]
            out.append((peers_desc, verdict(speedup >= 2),
                        f"{ref[0]['median']:.0f} ns vs {best['library']} {best['median']:.0f} ns: {speedup:.2f}×"))
        else:
            out.append((peers_desc, "n/a", "not run"))
    p3 = [r for r in results if r["scenario"] == "P3" and r["library"].startswith("cctoken")]
    out.append(("stampede: 1 token request for 64 callers (cold and expired)",
                verdict(all(r["median"] == 1 for r in p3) if p3 else None),
                ", ".join(f"{r['group']} {r['case'].split(', ')[-1]}: {r['median']:.0f}" for r in p3)))
    p4 = [r for r in results if r["scenario"] == "P4" and r["library"].startswith("cctoken")]
    out.append(("worst caller latency across a refresh ≤ 1 ms",
                verdict(all(r["max"] <= 1e6 for r in p4) if p4 else None),
                ", ".join(f"{r['group']} {fmt(r['max'], 'ns')}" for r in p4)))
    cc = find(results, "P5", "rust", "cctoken")
    raw = [r for r in results if r["scenario"] == "P5" and r["library"] == "ureq 3 raw POST"]
    if cc and raw:
        x = cc[0]["median"] / raw[0]["median"]
        out.append(("cold fetch ≤ 1.1× a raw POST with the same client (ureq)", verdict(x <= 1.1),
                    f"{fmt(cc[0]['median'], 'ns')} vs {fmt(raw[0]['median'], 'ns')}: {x:.2f}×"))
    th = [r for r in results if r["scenario"] == "P6" and r["case"].startswith("threads") and r["group"] == "c"]
    no_bg = [r for r in th if "background" not in r["case"]]
    out.append(("no thread unless the background refresher is on",
                verdict(all(r["median"] == 1 for r in no_bg) if no_bg else None),
                "; ".join(f"{r['case']}: {r['median']:.0f}" for r in th)))
    p7 = [r for r in results if r["scenario"] == "P7" and r["unit"] == "requests/lifetime"]
    alone = [r for r in p7 if r["n"] == 1 and "memory only" in r["library"]]
    shared = [r for r in p7 if "store" in r["library"]]
    out.append(("P7: with a shared store, N processes make as many token requests as one process alone",
                verdict(all(r["median"] <= alone[0]["median"] + 0.25 for r in shared) if alone and shared else None),
                ", ".join(f"N={r['n']} {'store' if 'store' in r['library'] else 'memory'}: {r['median']:.2f}"
                          for r in p7)))
    out.append(("`make bench` under 10 minutes" if not smoke else "smoke under 60 s",
                verdict(total_s < (60 if smoke else 600)), f"{total_s:.0f} s for the run (builds not counted)"))
    return out


@functools.lru_cache(maxsize=None)
def machine() -> list[str]:
    """Taken once, at the start of the run: the run's own output files must not count as changes."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(argv):
        try:
            out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
            return out.splitlines()[0].strip() if out else "?"
        except OSError:
            return "not installed"

    commit = version(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], stdout=subprocess.PIPE, text=True).stdout
    return [
        f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {os.cpu_count()} CPUs (nproc {version(['nproc'])}), {model}, {platform.system()} {platform.release()}",
        f"- cctoken: commit {commit}{' + uncommitted changes' if dirty.strip() else ''}",
        f"- toolchains: {version(['rustc', '--version'])}; {version(['go', 'version'])}; "
        f"Python {platform.python_version()}; {' '.join(version(['curl', '--version']).split()[:2])}",
    ]


def peers_text() -> list[str]:
    reqs = [line.strip() for line in (HERE / "python" / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    gomod = (HERE / "go" / "go.mod").read_text()
    m = re.search(r"golang.org/x/oauth2 (v\S+)", gomod)
    return [f"- Rust: `oauth2` =5.0.0 (feature `ureq`), `ureq` 3 (as cctoken), criterion =0.8.2 (benches/rust/Cargo.toml)",
            f"- Go: golang.org/x/oauth2 {m.group(1) if m else '?'} (benches/go/go.mod)",
            f"- Python: {', '.join(reqs)} (benches/python/requirements.txt)",
            "- curl: the system's (above)"]


def write_markdown(path: Path, results: list[dict], run: Run, total_s: float, chart: Path | None) -> None:
    smoke = run.args.smoke
    lines = ["# cctoken benchmarks" + (" (SMOKE RUN: tiny counts, debug builds; numbers meaningless)" if smoke else ""),
             "", "Generated by `make bench` (benches/run.py). Do not edit by hand.", ""]
    lines += machine() + [""]
    lines += ["## Targets", "", "| target | result | figures |", "|---|---|---|"]
    lines += [f"| {t} | {v} | {f} |" for t, v, f in targets(results, total_s, smoke)]
    if run.failures:
        lines += ["", "## Failures", ""] + [f"- {f}" for f in run.failures]
    lines += ["", "## Results", "",
              "Ratios are to the cctoken row of the same language (group): above 1 means slower, or more",
              "requests, than cctoken. P4's ratio is on the worst call (max); the others on the median.",
              "For P3 and P6 median is the single measured value.", ""]
    if chart:
        lines += [f"![chart]({chart.name})", ""]
    lines += ["| scenario | case | lang | library | median | p99 | max | ratio to cctoken | notes |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        ratio = "" if r.get("ratio") is None else f"{r['ratio']:.2f}×"
        lines.append(f"| {r['scenario']} | {r['case']} | {r['group']} | {r['library']} | {fmt(r['median'], r['unit'])} | "
                     f"{fmt(r['p99'], r['unit']) if r['n'] > 1 else ''} | {fmt(r['max'], r['unit']) if r['n'] > 1 else ''} | "
                     f"{ratio} | {r['note']} |")
    lines += ["", "## Scenarios", ""] + [f"- **{k}**: {v}" for k, v in SCENARIOS.items()]
    lines += ["", "## Peers (pinned)", ""] + peers_text()
    lines += ["", "## How each peer is used", "", (HERE / "PEERS.md").read_text().strip() if (HERE / "PEERS.md").exists() else ""]
    lines += ["", "## Run time", ""] + [f"- {name}: {s:.1f} s" for name, s in run.timings] + [f"- total: {total_s:.1f} s", ""]
    path.write_text("\n".join(lines))


README_BEGIN = "<!-- bench:begin (written by benches/run.py) -->"
README_END = "<!-- bench:end -->"


def update_readme(readme: Path, report: Path, results: list[dict], total_s: float, chart: Path | None) -> None:
    """Replaces the README's benchmark block with this run's machine, targets and chart."""
    text = readme.read_text()
    if README_BEGIN not in text or README_END not in text:
        raise SystemExit(f"{readme}: the markers {README_BEGIN!r} and {README_END!r} are missing")
    rel = report.resolve().relative_to(REPO)
    lines = [README_BEGIN, "", *machine(), "", "| target | result | figures |", "|---|---|---|"]
    lines += [f"| {t} | {v} | {f} |" for t, v, f in targets(results, total_s, False)]
    lines += [""]
    if chart:
        lines += [f"![benchmark chart]({chart.resolve().relative_to(REPO)})", ""]
    lines += [f"Every row, with p99, max and notes: [{rel}]({rel}).", "", README_END]
    head, rest = text.split(README_BEGIN, 1)
    tail = rest.split(README_END, 1)[1]
    readme.write_text(head + "\n".join(lines) + tail)


def write_chart(path: Path, results: list[dict], smoke: bool) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        log(f"no chart: {e}")
        return False

    def label(r):
        return f"{r['group']}: {r['library']}"

    def colour(r):
        return "tab:green" if r["library"].startswith("cctoken") else "tab:grey"

    fig, axes = plt.subplots(3, 2, figsize=(18, 18), layout="constrained")
    fig.suptitle("cctoken vs peers" + (" (smoke run: meaningless numbers)" if smoke else ""), fontsize=14)

    def bars(ax, rows, key, title, xlabel, log=True):
        rows = [r for r in rows if r[key] is not None]
        ax.barh([label(r) for r in rows], [r[key] for r in rows], color=[colour(r) for r in rows])
        ax.invert_yaxis()
        if log:
            ax.set_xscale("log")
        ax.set_title(title, fontsize=11)
        ax.set_xlabel(xlabel)
        ax.tick_params(axis="y", labelsize=8)

    by = lambda s: [r for r in results if r["scenario"] == s]  # noqa: E731
    bars(axes[0][0], by("P1"), "median", "P1 cache hit, one thread (median, log)", "ns per hit")

    ax = axes[0][1]
    series: dict[str, list[tuple[int, float]]] = {}
    for r in by("P2"):
        threads = int(re.search(r"(\d+) threads", r["case"]).group(1))
        series.setdefault(label(r), []).append((threads, r["median"]))
    for name, pts in series.items():
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name,
                linestyle="-" if "cctoken" in name else "--")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_title("P2 hit throughput (aggregate ns per hit, median, log)", fontsize=11)
    ax.set_xlabel("threads / goroutines")
    ax.legend(fontsize=7)

    ax = axes[1][0]
    p3 = by("P3")
    names = list(dict.fromkeys(label(r) for r in p3))
    cases = list(dict.fromkeys(r["case"] for r in p3))
    for i, case in enumerate(cases):
        vals = [next((r["median"] for r in p3 if label(r) == n and r["case"] == case), 0) for n in names]
        ax.barh([y + i * 0.4 for y in range(len(names))], vals, height=0.4, label=case.split(", ")[-1])
    ax.set_yticks([y + 0.2 for y in range(len(names))], names, fontsize=8)
    ax.invert_yaxis()
    ax.set_title("P3 stampede of 64 callers: token requests", fontsize=11)
    ax.legend(fontsize=8)

    bars(axes[1][1], by("P4"), "max", "P4 worst caller latency across a refresh, server +50 ms (log)", "ns")
    bars(axes[2][0], by("P5"), "median", "P5 cold fetch over a kept-alive connection (median, log)", "ns")
    p6 = [r for r in by("P6") if r["unit"] == "bytes"]
    bars(axes[2][1], [dict(r, library=f"{r['library']} — {r['case']}") for r in p6], "median",
         "P6 footprint (bytes, log)", "bytes")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return True


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="tiny counts: check that every scenario runs")
    p.add_argument("--dev-server", required=True)
    p.add_argument("--c-bench", required=True)
    p.add_argument("--go-bench", required=True)
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--cargo", default=os.environ.get("CARGO", "cargo"))
    p.add_argument("--work", default=str(HERE / ".work"))
    p.add_argument("--out", required=True, help="Markdown report; the PNG and JSON go beside it")
    args = p.parse_args()
    args.cargo_profile = ["--profile", "dev"] if args.smoke else []
    Path(args.work).mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    if args.smoke:
        log("SMOKE RUN: every scenario once, tiny counts, debug builds; it checks that `make bench` still "
            "works and measures nothing (no figures shown; `make bench` gives real ones)")
    started = time.monotonic()
    machine()
    server = DevServer(args.dev_server)
    log(f"dev server at {server.base}")
    run = Run(args, server)
    smoke = ["--smoke"] if args.smoke else []
    try:
        run.criterion()
        run.runner("rust scenarios (P2-P5)", [args.cargo, "bench", "--quiet", "-p", "cctoken-bench", "--bench",
                                              "scenarios", *args.cargo_profile, "--", *smoke], cwd=REPO)
        for what in ("p1", "p2", "p6"):
            run.runner(f"C ABI ({what})", [args.c_bench, *smoke, what])
        run.curl()
        run.runner("go (P1-P5)", [args.go_bench, *(["-smoke"] if args.smoke else [])])
        run.runner("python (P6)", [args.python, str(HERE / "python" / "bench.py"), *smoke, "p6"])
        run.runner("python (P1, P3-P5)", [args.python, str(HERE / "python" / "bench.py"), *smoke, "p1", "p3", "p4", "p5"])
        run.sizes()
        run.runner("store (P7)", [sys.executable, str(HERE / "p7.py"), *smoke, "--dev-server", args.dev_server,
                                  "--work", args.work])
        # P1 again, twice: on a shared VM a slow phase can land on one library's turn; noise
        # only adds time, so each library's best median of the passes is kept (best_p1).
        for again in range(2 if not args.smoke else 0):
            run.criterion()
            run.runner(f"C ABI (p1, pass {again + 2})", [args.c_bench, "p1"])
            run.runner(f"go (P1, pass {again + 2})", [args.go_bench, "p1"])
            run.runner(f"python (P1, pass {again + 2})", [args.python, str(HERE / "python" / "bench.py"), "p1"])
    finally:
        server.stop()
    total = time.monotonic() - started

    results = order(best_p1(run.results))
    add_ratios(results)
    chart = out.with_suffix(".png")
    if not write_chart(chart, results, args.smoke):
        chart = None
        run.failures.append("no chart (matplotlib missing)")
    out.with_suffix(".json").write_text(json.dumps({"results": results, "failures": run.failures,
                                                    "timings": run.timings, "total_s": total}, indent=1))
    write_markdown(out, results, run, total, chart)
    if not args.smoke:
        update_readme(REPO / "README.md", out, results, total, chart)
    log(f"wrote {out}" + (f" and {chart}" if chart else "") + f" in {total:.0f} s")
    for f in run.failures:
        log(f"FAILED: {f}")
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
