//! The Rust scenarios other than P1 (which is criterion's, in benches/hit.rs): P2 hit
//! throughput, P3 stampede, P4 worst caller latency across a refresh, P5 cold fetch.
//!
//! Usage: `cargo bench -p cctoken-bench --bench scenarios -- [--smoke] [p2|p3|p4|p5]...` (all
//! when none is named; cargo's own `--bench` flag is ignored), with the dev server in the
//! environment (see lib.rs). Prints one JSON result per line.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use cctoken_bench::{Server, emit, json};

const GROUP: &str = "rust";
/// Safety margin of the application-held `oauth2` token (x/oauth2's default expiry delta).
const OAUTH2_MARGIN: Duration = Duration::from_secs(10);

struct Sizes {
    rounds: usize,
    round: Duration,
    stampede: usize,
    p4_callers: usize,
    cold_fetches: usize,
    /// Seconds of life of the short tokens of P3 (expired) and P4, past each client's margin.
    lifetime: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let wanted: Vec<&str> = args.iter().map(String::as_str).filter(|a| !a.starts_with("--")).collect();
    let run = |name: &str| wanted.is_empty() || wanted.contains(&name);
    let sizes = if smoke {
        Sizes { rounds: 2, round: Duration::from_millis(20), stampede: 64, p4_callers: 2, cold_fetches: 5, lifetime: 1 }
    } else {
        Sizes {
            rounds: 15,
            round: Duration::from_millis(100),
            stampede: 64,
            p4_callers: 4,
            cold_fetches: 400,
            lifetime: 2,
        }
    };
    let server = Server::from_env();
    if run("p2") {
        p2_throughput(&server, &sizes, smoke);
    }
    if run("p3") {
        p3_stampede(&server, &sizes);
    }
    if run("p4") {
        p4_refresh(&server, &sizes);
    }
    if run("p5") {
        p5_cold_fetch(&server, &sizes);
    }
}

/// Aggregate nanoseconds per hit (wall time / hits of all threads) for each round.
fn throughput<F: Fn() + Sync>(threads: usize, sizes: &Sizes, hit: F) -> Vec<f64> {
    (0..sizes.rounds)
        .map(|_| {
            let stop = AtomicBool::new(false);
            let start = Barrier::new(threads + 1);
            let (hits, elapsed) = thread::scope(|s| {
                let workers: Vec<_> = (0..threads)
                    .map(|_| {
                        s.spawn(|| {
                            start.wait();
                            let mut n = 0u64;
                            while !stop.load(Ordering::Relaxed) {
                                for _ in 0..64 {
                                    hit();
                                }
                                n += 64;
                            }
                            n
                        })
                    })
                    .collect();
                // The clock starts before the release: with more threads than cores, this
                // thread may run again only after the workers have been hitting for a while.
                let t0 = Instant::now();
                start.wait();
                thread::sleep(sizes.round);
                stop.store(true, Ordering::Relaxed);
                let hits: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
                (hits, t0.elapsed())
            });
            elapsed.as_nanos() as f64 / hits as f64
        })
        .collect()
}

fn p2_throughput(server: &Server, sizes: &Sizes, smoke: bool) {
    let client = server.cctoken();
    client.token().unwrap();
    let peer = server.oauth2(OAUTH2_MARGIN);
    peer.token();
    let how = format!("{} rounds of {:?}; wall time / hits of all threads", sizes.rounds, sizes.round);
    let threads: &[usize] = if smoke { &[1, 8] } else { &[1, 2, 8, 64] };
    for &n in threads {
        let case = format!("hit throughput, {n} threads");
        let mut ns = throughput(n, sizes, || {
            black_box(client.token().unwrap());
        });
        emit("P2", &case, GROUP, "cctoken (Rust API)", true, "ns", &mut ns, &how);
        let mut ns = throughput(n, sizes, || {
            black_box(peer.token());
        });
        emit(
            "P2",
            &case,
            GROUP,
            "oauth2 5.0.0 + RwLock",
            false,
            "ns",
            &mut ns,
            "application-held token (no cache in the crate)",
        );
    }
}

/// Lets `callers` threads call `get` at the same instant; returns the token requests made.
fn stampede(server: &Server, callers: usize, get: &(dyn Fn() + Sync)) -> (u64, Duration) {
    let before = server.token_requests();
    let start = Barrier::new(callers);
    let t0 = Instant::now();
    thread::scope(|s| {
        for _ in 0..callers {
            s.spawn(|| {
                start.wait();
                get();
            });
        }
    });
    let elapsed = t0.elapsed();
    (server.token_requests() - before, elapsed)
}

fn p3_stampede(server: &Server, sizes: &Sizes) {
    let n = sizes.stampede;
    let cold = format!("stampede, {n} callers, cold cache");
    let expired = format!("stampede, {n} callers, expired token");
    let report = |case: &str, library: &str, is_ref: bool, (requests, took): (u64, Duration), note: &str| {
        let note = format!("{note}all {n} served in {:.1} ms", took.as_secs_f64() * 1e3);
        emit("P3", case, GROUP, library, is_ref, "requests", &mut [requests as f64], &note);
    };

    let client = server.cctoken();
    report(&cold, "cctoken (Rust API)", true, stampede(server, n, &|| drop(client.token().unwrap())), "");
    let peer = server.oauth2(OAUTH2_MARGIN);
    report(&cold, "oauth2 5.0.0 + RwLock", false, stampede(server, n, &|| drop(peer.token())), "");

    // Tokens that expire `lifetime` s after issue (for the peer: after its safety margin starts).
    let wait = Duration::from_millis(sizes.lifetime * 1000 + 200);
    server.fault(json!({"expires_in": sizes.lifetime, "count": 0}));
    let client = server.cctoken();
    client.token().unwrap();
    thread::sleep(wait);
    report(&expired, "cctoken (Rust API)", true, stampede(server, n, &|| drop(client.token().unwrap())), "");
    server.clear_faults();
    server.fault(json!({"expires_in": sizes.lifetime + OAUTH2_MARGIN.as_secs(), "count": 0}));
    let peer = server.oauth2(OAUTH2_MARGIN);
    peer.token();
    thread::sleep(wait);
    report(&expired, "oauth2 5.0.0 + RwLock", false, stampede(server, n, &|| drop(peer.token())), "");
    server.clear_faults();
}

/// Callers ask for a token every 200 µs for `run` while the server answers /token in 50 ms
/// (tokens of `lifetime` seconds); returns every call's latency (ns) and the token requests made.
fn through_refresh(
    server: &Server,
    lifetime: u64,
    callers: usize,
    run: Duration,
    get: &(dyn Fn() + Sync),
) -> (Vec<f64>, u64) {
    server.fault(json!({"latency_ms": 50, "expires_in": lifetime, "count": 0}));
    let before = server.token_requests();
    let latencies = Mutex::new(Vec::new());
    let start = Instant::now();
    thread::scope(|s| {
        for _ in 0..callers {
            s.spawn(|| {
                let mut mine = Vec::with_capacity(20_000);
                while start.elapsed() < run {
                    let t0 = Instant::now();
                    get();
                    mine.push(t0.elapsed().as_nanos() as f64);
                    thread::sleep(Duration::from_micros(200));
                }
                latencies.lock().unwrap().extend(mine);
            });
        }
    });
    let requests = server.token_requests() - before;
    server.clear_faults();
    (latencies.into_inner().unwrap(), requests)
}

fn p4_refresh(server: &Server, sizes: &Sizes) {
    let case = "worst caller latency across a refresh (server +50 ms)";
    let callers = sizes.p4_callers;
    // cctoken: tokens enter their refresh window after half their life (+ up to 25% jitter).
    let lifetime = sizes.lifetime;
    let run = Duration::from_millis(lifetime * 1000 - 200);
    server.fault(json!({"expires_in": lifetime}));
    let client = server.cctoken();
    client.token().unwrap();
    let (mut lat, requests) = through_refresh(server, lifetime, callers, run, &|| {
        black_box(client.token().unwrap());
    });
    let note = format!("{callers} callers every 200 µs for {run:?}; {requests} token request(s) during the run");
    emit("P4", case, GROUP, "cctoken (Rust API)", true, "ns", &mut lat, &note);

    // oauth2 + RwLock: with its 10 s margin the refresh is due `lifetime` s after issue.
    let lifetime = sizes.lifetime + OAUTH2_MARGIN.as_secs();
    server.fault(json!({"expires_in": lifetime}));
    let peer = server.oauth2(OAUTH2_MARGIN);
    peer.token();
    thread::sleep(Duration::from_millis(sizes.lifetime * 1000 - 500));
    let (mut lat, requests) = through_refresh(server, lifetime, callers, Duration::from_millis(1000), &|| {
        black_box(peer.token());
    });
    let note = format!("{callers} callers every 200 µs for 1 s; {requests} token request(s) during the run");
    emit("P4", case, GROUP, "oauth2 5.0.0 + RwLock", false, "ns", &mut lat, &note);
}

fn p5_cold_fetch(server: &Server, sizes: &Sizes) {
    let case = "cold fetch over a kept-alive connection";
    let n = sizes.cold_fetches;

    let client = server.cctoken();
    let cctoken = || {
        let token = client.token().unwrap();
        client.invalidate(&token);
    };

    // The same HTTP client, version and features as cctoken, used directly: POST, read, parse.
    // Once as ureq's defaults, once with the timeouts cctoken sets (5 s connect, 10 s global):
    // with a timeout, ureq 3 resolves the host on a new thread for every request, pooled
    // connection or not. cctoken skips that lookup for IP-literal hosts (src/fetch.rs).
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", server.client_id, server.client_secret))
    );
    let basic = basic.as_str();
    let raw = |agent: ureq::Agent| {
        move || {
            let body = agent
                .post(&server.token_url)
                .header("Authorization", basic)
                .send_form([("grant_type", "client_credentials"), ("scope", "read")])
                .and_then(|mut r| r.body_mut().read_to_string())
                .unwrap();
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            black_box(v["access_token"].as_str().unwrap().len());
        }
    };
    let raw_default = raw(ureq::Agent::config_builder().max_redirects(0).build().into());
    let raw_timeouts = raw(ureq::Agent::config_builder()
        .max_redirects(0)
        .timeout_connect(Some(Duration::from_secs(5)))
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into());
    let peer = server.oauth2(OAUTH2_MARGIN);
    let oauth2 = || {
        black_box(peer.fetch());
    };

    // Interleaved, one sample of each per round, so the machine's drift during the run is
    // shared alike; the order rotates every round, because whoever goes first in a round
    // measurably pays for the previous round's server-side cleanup.
    let libraries: [(&str, bool, &str, &dyn Fn()); 4] = [
        ("cctoken (Rust API)", true, "invalidate + token(): one POST each", &cctoken),
        ("ureq 3 raw POST", false, "same HTTP client as cctoken, default config: the P5 baseline", &raw_default),
        (
            "ureq 3 raw POST, cctoken's timeouts",
            false,
            "with timeouts set, ureq resolves the host on a new thread per request",
            &raw_timeouts,
        ),
        ("oauth2 5.0.0 (ureq 2)", false, "exchange_client_credentials().request()", &oauth2),
    ];
    for _ in 0..(n / 10).max(2) {
        for (_, _, _, fetch) in &libraries {
            fetch(); // warm the connections and the allocator
        }
    }
    let mut samples = vec![Vec::with_capacity(n); libraries.len()];
    for round in 0..n {
        for k in 0..libraries.len() {
            let i = (round + k) % libraries.len();
            let t0 = Instant::now();
            (libraries[i].3)();
            samples[i].push(t0.elapsed().as_nanos() as f64);
        }
    }
    for ((library, is_ref, note, _), mut ns) in libraries.iter().zip(samples) {
        emit("P5", case, GROUP, library, *is_ref, "ns", &mut ns, note);
    }
}
