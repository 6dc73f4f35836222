//! The Redis store against a real `redis-server` (Debian package) that each test starts on a
//! free loopback port, in a temp directory, with an ACL user and password (the default user is
//! off), and stops at the end. Processes (the `cctoken` CLI) and clients share it.

mod common;

use std::fs;
use std::io::{BufRead as _, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{CLIENT_ID, DevServer, SECRET, client};
use serde_json::json;

const USER: &str = "cct";
const PASSWORD: &str = "redis-Pa55-word";

struct Redis {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
    tls: Option<PathBuf>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Redis {
    /// Plain TCP; `tls_dir` holds the dev server's `ca.pem`, `server.pem`, `server-key.pem` for TLS.
    fn start(tls_dir: Option<&Path>) -> Redis {
        let dir = std::env::temp_dir().join(format!("cctoken-redis-{}-{:x}", std::process::id(), rand_u64()));
        fs::create_dir_all(&dir).unwrap();
        let mut r = Redis { child: None, dir, port: free_port(), tls: tls_dir.map(Path::to_path_buf) };
        r.run();
        r
    }

    fn run(&mut self) {
        let conf = self.dir.join("redis.conf");
        let mut text = format!(
            "bind 127.0.0.1\nprotected-mode yes\ndir {}\nsave \"\"\nappendonly no\ndaemonize no\n\
             user default off\nuser {USER} on >{PASSWORD} ~cctoken:* +@all\n",
            self.dir.display()
        );
        match &self.tls {
            None => text.push_str(&format!("port {}\n", self.port)),
            Some(t) => text.push_str(&format!(
                "port 0\ntls-port {}\ntls-cert-file {}\ntls-key-file {}\ntls-ca-cert-file {}\ntls-auth-clients no\n",
                self.port,
                t.join("server.pem").display(),
                t.join("server-key.pem").display(),
                t.join("ca.pem").display()
            )),
        }
        fs::write(&conf, text).unwrap();
        let mut child = Command::new("redis-server")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server) must be installed");
        let out = BufReader::new(child.stdout.take().unwrap());
        // Read the log until it says it is ready; keep draining it so redis never blocks on it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if line.contains("Ready to accept connections") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(20)).expect("redis-server did not start");
        self.child = Some(child);
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Wait until the port is closed, so a restart on it cannot race the old process.
        let end = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "rediss" } else { "redis" };
        format!("{scheme}://{USER}:{PASSWORD}@127.0.0.1:{}/0", self.port)
    }

    /// `redis-cli` with the ACL user; the output, trimmed.
    fn cli(&self, args: &[&str]) -> String {
        let mut cmd = Command::new("redis-cli");
        cmd.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "--user", USER, "--no-auth-warning"])
            .env("REDISCLI_AUTH", PASSWORD);
        if let Some(t) = &self.tls {
            cmd.arg("--tls").arg("--cacert").arg(t.join("ca.pem"));
        }
        let out = cmd.args(args).output().expect("redis-cli");
        assert!(out.status.success(), "redis-cli {args:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn keys(&self) -> Vec<String> {
        let mut k: Vec<String> = self.cli(&["--scan", "--pattern", "cctoken:*"]).lines().map(str::to_string).collect();
        k.sort();
        k
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
}

fn token_of(out: &Output) -> String {
    assert!(out.status.success(), "cctoken failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap().trim().to_string()
}

#[test]
fn processes_sharing_redis_make_one_token_request_and_the_layout_is_as_documented() {
    let server = DevServer::start();
    let redis = Redis::start(None);
    let secret = redis.dir.join("secret");
    fs::write(&secret, SECRET).unwrap();
    server.fault(json!({"latency_ms": 700}));
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_cctoken"))
            .args(["token", "--token-url", &server.token_url(), "--client-id", CLIENT_ID, "--scope", "read"])
            .arg("--client-secret-file")
            .arg(&secret)
            // The password goes through the environment, not the command line.
            .env("CCTOKEN_REDIS_URL", redis.url())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children: Vec<Child> = (0..8).map(|_| spawn()).collect();
    let tokens: Vec<String> = children.into_iter().map(|c| token_of(&c.wait_with_output().unwrap())).collect();
    assert!(tokens.iter().all(|t| t == &tokens[0]));
    assert_eq!(server.token_requests(), 1, "one token request for eight processes");

    // cctoken:{<32 hex>}:entry, expiring with the token; the lease is gone.
    let keys = redis.keys();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let name = keys[0].strip_prefix("cctoken:{").and_then(|k| k.strip_suffix("}:entry")).expect("layout");
    assert!(name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit()));
    let ttl: u64 = redis.cli(&["PTTL", &keys[0]]).parse().unwrap();
    assert!(ttl > 3_000_000 && ttl <= 3_600_000, "entry expires with the token: {ttl}");
    let raw = redis.cli(&["GET", &keys[0]]);
    assert!(!raw.contains(&tokens[0]), "the entry is sealed");

    let warm = token_of(&spawn().wait_with_output().unwrap());
    assert!(warm == tokens[0]);
    assert_eq!(server.token_requests(), 1);
}

#[test]
fn a_dead_holders_lease_expires_and_a_waiter_takes_over() {
    let server = DevServer::start();
    let redis = Redis::start(None);
    let url = redis.url();
    client(&server, |b| b.redis_url(&url)).token().unwrap();
    let entry = redis.keys().pop().unwrap();
    let lease = entry.replace(":entry", ":lease");
    // As a SIGKILLed holder leaves it: no entry, a lease nobody will release.
    redis.cli(&["DEL", &entry]);
    redis.cli(&["SET", &lease, "dead-owner", "PX", "1500"]);
    let c = client(&server, |b| b.redis_url(&url));
    let started = Instant::now();
    let token = c.token().unwrap();
    assert_eq!(server.resource_status(&token.authorization_header()), 200);
    let m = c.metrics();
    assert_eq!(m.store_lease_waits, 1, "{m:?}");
    assert_eq!(m.store_errors, 0, "{m:?}");
    // Taken over when the lease lapsed, not after waiting a whole request timeout (10 s).
    assert!(started.elapsed() < Duration::from_secs(8));
    assert_eq!(server.token_requests(), 2);
    assert_eq!(redis.keys(), vec![entry], "the new entry is written, the lease released");
}

#[test]
fn redis_stopped_mid_run_costs_direct_fetches_and_sharing_resumes_when_it_is_back() {
    let server = DevServer::start();
    let mut redis = Redis::start(None);
    let url = redis.url();
    let with_redis = |b: cctoken::ClientBuilder| b.redis_url(&url);
    client(&server, with_redis).token().unwrap();
    let shared = client(&server, with_redis);
    shared.token().unwrap();
    assert_eq!(shared.metrics().store_hits, 1);
    assert_eq!(server.token_requests(), 1);

    redis.stop();
    for round in 1..=3u64 {
        let c = client(&server, with_redis);
        let token = c.token().expect("a valid token without Redis");
        assert_eq!(server.resource_status(&token.authorization_header()), 200);
        assert!(c.metrics().store_errors >= 1, "{:?}", c.metrics());
        assert_eq!(server.token_requests(), 1 + round, "each fetched directly");
    }
    // A client that kept its connection across the restart reconnects on its next miss.
    redis.run();
    let a = client(&server, with_redis);
    let first = a.token().unwrap();
    let b = client(&server, with_redis);
    assert!(b.token().unwrap().access_token() == first.access_token());
    assert_eq!(b.metrics().store_hits, 1, "sharing resumed");
    assert_eq!(server.token_requests(), 5);
    shared.invalidate(&shared.token().unwrap());
    assert!(shared.token().unwrap().access_token() == first.access_token(), "old connection reconnected");
}

#[test]
fn invalidate_deletes_the_entry_only_while_it_holds_the_rejected_token() {
    let server = DevServer::start();
    let redis = Redis::start(None);
    let url = redis.url();
    let a = client(&server, |b| b.redis_url(&url));
    let b = client(&server, |b| b.redis_url(&url));
    let old = a.token().unwrap();
    let old_in_b = b.token().unwrap();
    assert!(old_in_b.access_token() == old.access_token());
    // Both see the resource server reject it; the first deletes the entry and fetches.
    a.invalidate(&old);
    assert!(redis.keys().is_empty(), "compare-and-delete removed the entry");
    let new = a.token().unwrap();
    b.invalidate(&old_in_b);
    assert_eq!(redis.keys().len(), 1, "a newer entry is left alone");
    assert!(b.token().unwrap().access_token() == new.access_token(), "b took the replacement");
    assert_eq!(server.token_requests(), 2);
}

#[test]
fn rediss_with_the_dev_servers_ca() {
    let tls = std::env::temp_dir().join(format!("cctoken-redis-tls-{}-{:x}", std::process::id(), rand_u64()));
    fs::create_dir_all(&tls).unwrap();
    let server = DevServer::with_tls(
        &tls,
        &["--client", CLIENT_ID, "--secret", SECRET, "--scopes", "read", "--lifetime", "3600"],
    );
    let redis = Redis::start(Some(&tls));
    let ca = fs::read(tls.join("ca.pem")).unwrap();
    let make = || {
        cctoken::Client::builder()
            .token_url(server.token_url())
            .client_id(CLIENT_ID)
            .client_secret(SECRET)
            .scope("read")
            .root_ca_pem(ca.clone())
            .redis_url(&redis.url())
            .redis_ca_pem(ca.clone())
            .build()
            .unwrap()
    };
    let first = make().token().unwrap();
    let second = make();
    assert!(second.token().unwrap().access_token() == first.access_token());
    assert_eq!(second.metrics().store_hits, 1, "{:?}", second.metrics());
    assert_eq!(server.token_requests(), 1);
    // Without the CA the server's certificate is not trusted: counted, and a direct fetch.
    let untrusting = cctoken::Client::builder()
        .token_url(server.token_url())
        .client_id(CLIENT_ID)
        .client_secret(SECRET)
        .scope("read")
        .root_ca_pem(ca.clone())
        .redis_url(&redis.url())
        .build()
        .unwrap();
    untrusting.token().unwrap();
    assert!(untrusting.metrics().store_errors >= 1);
    assert_eq!(server.token_requests(), 2);
    drop(server);
    let _ = fs::remove_dir_all(&tls);
}

#[test]
fn a_wrong_password_or_an_unreachable_redis_is_counted_and_never_shown() {
    let server = DevServer::start();
    let redis = Redis::start(None);
    let wrong = format!("redis://{USER}:not-{PASSWORD}@127.0.0.1:{}/0", redis.port);
    let c = client(&server, |b| b.redis_url(&wrong));
    c.token().unwrap();
    assert!(c.metrics().store_errors >= 1);
    assert!(!format!("{c:?}").contains(PASSWORD));
    // A blackholed address: bounded by the store timeout, then a direct fetch.
    let c = client(&server, |b| b.redis_url("redis://192.0.2.1:6379").store_timeout(Duration::from_millis(100)));
    let started = Instant::now();
    c.token().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(c.metrics().store_errors >= 1);
}

/// Six `redis-server` processes in cluster mode (three masters, a replica each), formed with
/// `redis-cli --cluster create`; a password on every node.
struct Cluster {
    nodes: Vec<(u16, Child)>,
    dir: PathBuf,
}

const CLUSTER_PASSWORD: &str = "cluster-Pa55";

impl Cluster {
    fn start() -> Cluster {
        let dir = std::env::temp_dir().join(format!("cctoken-cluster-{}-{:x}", std::process::id(), rand_u64()));
        let mut nodes = Vec::new();
        for _ in 0..6 {
            let port = free_port();
            let node_dir = dir.join(port.to_string());
            fs::create_dir_all(&node_dir).unwrap();
            let child = Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--dir"])
                .arg(&node_dir)
                .args(["--save", "", "--appendonly", "no", "--cluster-enabled", "yes"])
                .args(["--cluster-node-timeout", "1000", "--cluster-replica-validity-factor", "0"])
                .args(["--requirepass", CLUSTER_PASSWORD, "--masterauth", CLUSTER_PASSWORD])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server");
            nodes.push((port, child));
        }
        let cluster = Cluster { nodes, dir };
        for (port, _) in &cluster.nodes {
            let end = Instant::now() + Duration::from_secs(20);
            while TcpStream::connect(("127.0.0.1", *port)).is_err() {
                assert!(Instant::now() < end, "redis-server did not start");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let addrs: Vec<String> = cluster.nodes.iter().map(|(p, _)| format!("127.0.0.1:{p}")).collect();
        let out = Command::new("redis-cli")
            .args(["--no-auth-warning", "--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .env("REDISCLI_AUTH", CLUSTER_PASSWORD)
            .output()
            .unwrap();
        assert!(out.status.success(), "redis-cli --cluster create failed");
        cluster.wait_ok(None);
        cluster
    }

    fn cli(&self, port: u16, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "--no-auth-warning"])
            .args(args)
            .env("REDISCLI_AUTH", CLUSTER_PASSWORD)
            .output()
            .ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Until every live node (but `dead`) reports cluster_state:ok.
    fn wait_ok(&self, dead: Option<u16>) {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let ok =
                self.nodes.iter().filter(|(p, _)| Some(*p) != dead).all(|(p, _)| {
                    self.cli(*p, &["CLUSTER", "INFO"]).is_some_and(|info| info.contains("cluster_state:ok"))
                });
            if ok {
                return;
            }
            assert!(Instant::now() < end, "the cluster did not reach cluster_state:ok");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The port of the master that serves `key`'s slot.
    fn master_of(&self, key: &str) -> u16 {
        let port = self.nodes[0].0;
        let slot: u32 = self.cli(port, &["CLUSTER", "KEYSLOT", key]).unwrap().parse().unwrap();
        for line in self.cli(port, &["CLUSTER", "NODES"]).unwrap().lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if !f[2].contains("master") || f[2].contains("fail") {
                continue;
            }
            for range in &f[8..] {
                let (lo, hi) = range.split_once('-').unwrap_or((range, range));
                if let (Ok(lo), Ok(hi)) = (lo.parse::<u32>(), hi.parse::<u32>()) {
                    if (lo..=hi).contains(&slot) {
                        return f[1].split(['@', ':']).nth(1).unwrap().parse().unwrap();
                    }
                }
            }
        }
        panic!("no master serves slot {slot}");
    }

    fn kill(&mut self, port: u16) {
        let (_, child) = self.nodes.iter_mut().find(|(p, _)| *p == port).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    fn url(&self) -> String {
        let seeds: Vec<String> =
            self.nodes.iter().map(|(p, _)| format!("redis://:{CLUSTER_PASSWORD}@127.0.0.1:{p}")).collect();
        seeds.join(",")
    }

    fn entry_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        for (port, _) in &self.nodes {
            if let Some(out) = self.cli(*port, &["--scan", "--pattern", "cctoken:*"]) {
                keys.extend(out.lines().filter(|l| !l.is_empty()).map(str::to_string));
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.nodes {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn redis_cluster_shares_across_slots_and_survives_a_failover_of_the_entrys_master() {
    let server = DevServer::start();
    let mut cluster = Cluster::start();
    let url = cluster.url();
    for scope in ["read", "write"] {
        let first = client(&server, |b| b.redis_url(&url).scopes([scope]));
        let token = first.token().unwrap();
        let second = client(&server, |b| b.redis_url(&url).scopes([scope]));
        assert!(second.token().unwrap().access_token() == token.access_token(), "{scope}");
        assert_eq!(second.metrics().store_hits, 1, "{scope}: {:?}", second.metrics());
    }
    assert_eq!(server.token_requests(), 2);
    let keys = cluster.entry_keys();
    assert_eq!(keys.len(), 2, "{keys:?}");

    // Which key is the `read` entry: the one that goes when a `read` client invalidates it.
    let probe = client(&server, |b| b.redis_url(&url).scopes(["read"]));
    probe.invalidate(&probe.token().unwrap());
    let remaining = cluster.entry_keys();
    assert_eq!(remaining.len(), 1);
    let read_entry = keys.iter().find(|k| **k != remaining[0]).unwrap().clone();
    // Kill the master that holds it; its replica takes over.
    let master = cluster.master_of(&read_entry);
    cluster.kill(master);
    // Every caller keeps getting valid tokens, during the failover and after it.
    let end = Instant::now() + Duration::from_secs(40);
    let (mut resumed, mut failing_rounds) = (false, 0);
    while Instant::now() < end {
        let a = client(&server, |b| b.redis_url(&url).scopes(["read"]).store_timeout(Duration::from_millis(300)));
        let token = a.token().expect("a token while the cluster fails over");
        assert_eq!(server.resource_status(&token.authorization_header()), 200);
        let b = client(&server, |b| b.redis_url(&url).scopes(["read"]).store_timeout(Duration::from_millis(300)));
        let again = b.token().unwrap();
        if a.metrics().store_errors == 0 && b.metrics().store_hits == 1 && again.access_token() == token.access_token()
        {
            resumed = true;
            break;
        }
        failing_rounds += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(resumed, "sharing did not resume after the failover");
    eprintln!("failover: {failing_rounds} rounds of direct fetches before sharing resumed");
    cluster.wait_ok(Some(master));
}
