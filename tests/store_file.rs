//! The file store: real processes (the `cctoken` CLI) and clients sharing one directory against
//! the dev server. One token request per lifetime for the host; every store trouble falls back
//! to fetching directly and is counted.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{CLIENT_ID, DevServer, SECRET, assert_no_secrets, client};
use serde_json::json;

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("cctoken-store-{tag}-{}-{:x}", std::process::id(), rand_u64()));
        fs::create_dir_all(&p).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o700)).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::set_permissions(&self.0, fs::Permissions::from_mode(0o700));
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish()
}

/// `cctoken token` against `server` with the file store in `dir`, started (not waited for).
fn spawn_cli(server: &DevServer, secret_file: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cctoken"))
        .args(["token", "--token-url", &server.token_url(), "--client-id", CLIENT_ID, "--scope", "read"])
        .arg("--client-secret-file")
        .arg(secret_file)
        .args(extra)
        .env_remove("CCTOKEN_REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cctoken")
}

fn token_of(out: &Output) -> String {
    assert!(out.status.success(), "cctoken failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap().trim().to_string()
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "entry"))
        .collect();
    v.sort();
    v
}

#[test]
fn a_cold_store_shared_by_eight_processes_costs_one_token_request() {
    let server = DevServer::start();
    let tmp = TempDir::new("cold");
    let secret = tmp.0.join("secret");
    fs::write(&secret, SECRET).unwrap();
    let dir = tmp.0.join("cache");
    let dir_arg = dir.to_str().unwrap();
    // A slow token response, so the others find the lease taken and must wait for the entry.
    server.fault(json!({"latency_ms": 700}));
    let children: Vec<Child> = (0..8).map(|_| spawn_cli(&server, &secret, &["--cache-dir", dir_arg])).collect();
    let tokens: Vec<String> = children.into_iter().map(|c| token_of(&c.wait_with_output().unwrap())).collect();
    assert_eq!(server.token_requests(), 1, "one token request for eight processes");
    assert!(tokens.iter().all(|t| t == &tokens[0]), "every process got the one token");

    // Layout and modes: directory 0700, entry 0600, nothing readable by anyone else.
    assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    let found = entries(&dir);
    assert_eq!(found.len(), 1);
    assert_eq!(fs::metadata(&found[0]).unwrap().mode() & 0o777, 0o600);
    // The entry is sealed: neither the token nor the secret is in it, nor in any file name.
    let raw = fs::read(&found[0]).unwrap();
    assert!(raw.starts_with(b"CCTK"));
    let text = String::from_utf8_lossy(&raw).to_string();
    let names: String =
        fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_no_secrets(&format!("{text}{names}"), &[&tokens[0]]);

    // Warm: another run makes no request.
    let again = token_of(&spawn_cli(&server, &secret, &["--cache-dir", dir_arg]).wait_with_output().unwrap());
    assert!(again == tokens[0]);
    assert_eq!(server.token_requests(), 1);
    // --no-cache does not read the store.
    let fresh = token_of(&spawn_cli(&server, &secret, &["--no-cache"]).wait_with_output().unwrap());
    assert!(fresh != tokens[0]);
    assert_eq!(server.token_requests(), 2);
}

#[test]
fn the_cli_caches_in_the_xdg_cache_directory_by_default() {
    let server = DevServer::start();
    let tmp = TempDir::new("xdg");
    let secret = tmp.0.join("secret");
    fs::write(&secret, SECRET).unwrap();
    let run = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cctoken"));
        cmd.args(["token", "--token-url", &server.token_url(), "--client-id", CLIENT_ID])
            .arg("--client-secret-file")
            .arg(&secret)
            .env("XDG_CACHE_HOME", &tmp.0)
            .env_remove("CCTOKEN_REDIS_URL");
        token_of(&cmd.output().unwrap())
    };
    let first = run();
    let second = run();
    assert!(first == second);
    assert_eq!(server.token_requests(), 1, "a warm `cctoken token` makes no token request");
    assert_eq!(entries(&tmp.0.join("cctoken")).len(), 1);
}

#[test]
fn the_lease_holder_killed_mid_fetch_is_taken_over() {
    let server = DevServer::start();
    let tmp = TempDir::new("kill");
    let secret = tmp.0.join("secret");
    fs::write(&secret, SECRET).unwrap();
    let dir = tmp.0.join("cache");
    let dir_arg = dir.to_str().unwrap();
    server.fault(json!({"latency_ms": 20_000}));
    let mut holder = spawn_cli(&server, &secret, &["--cache-dir", dir_arg]);
    let start = Instant::now();
    while server.in_flight() == 0 {
        assert!(start.elapsed() < Duration::from_secs(20), "the first process never sent its request");
        std::thread::sleep(Duration::from_millis(20));
    }
    let waiter = spawn_cli(&server, &secret, &["--cache-dir", dir_arg, "--timeout-ms", "30000"]);
    std::thread::sleep(Duration::from_millis(300)); // the waiter finds the lease taken
    holder.kill().unwrap(); // SIGKILL: no chance to release anything
    holder.wait().unwrap();
    let killed_at = Instant::now();
    let token = token_of(&waiter.wait_with_output().unwrap());
    // Within the lease time (request timeout, 10 s): the waiter took over, it did not time out.
    assert!(killed_at.elapsed() < Duration::from_secs(9), "the waiter waited out the lease instead of taking over");
    assert_eq!(server.resource_status(&format!("Bearer {token}")), 200);
    assert_eq!(server.token_requests(), 2);
}

/// An entry's bytes replaced by `damage`; a fresh client must ignore it, fetch, count the error
/// and replace it with an entry the next client reads.
#[test]
fn corrupt_truncated_foreign_and_old_entries_are_ignored_and_replaced() {
    let server = DevServer::start();
    let tmp = TempDir::new("corrupt");
    let dir = tmp.0.join("cache");
    let with_dir = |b: cctoken::ClientBuilder| b.cache_dir(&dir);
    client(&server, with_dir).token().unwrap();
    let entry = entries(&dir).pop().unwrap();
    let good = fs::read(&entry).unwrap();
    // A valid entry of another configuration (another scope) under this one's name.
    client(&server, |b| b.cache_dir(&dir).scopes(["write"])).token().unwrap();
    let foreign = entries(&dir).into_iter().find(|p| *p != entry).map(|p| fs::read(p).unwrap()).unwrap();

    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    let mut old_version = good.clone();
    old_version[4] = 0;
    let damages: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() / 2].to_vec()),
        ("empty", Vec::new()),
        ("flipped tag", flipped),
        ("older format version", old_version),
        ("foreign", foreign),
        ("garbage", b"not an entry at all".to_vec()),
    ];
    for (what, bytes) in damages {
        fs::write(&entry, &bytes).unwrap();
        let before = server.token_requests();
        let c = client(&server, with_dir);
        let token = c.token().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(server.resource_status(&token.authorization_header()), 200, "{what}");
        let m = c.metrics();
        assert!(m.store_errors >= 1, "{what}: the bad entry was not counted: {m:?}");
        assert_eq!(server.token_requests(), before + 1, "{what}");
        // Replaced: the next process reads it without a request.
        let next = client(&server, with_dir);
        assert!(next.token().unwrap().access_token() == token.access_token(), "{what}");
        assert_eq!(next.metrics().store_hits, 1, "{what}");
        assert_eq!(server.token_requests(), before + 1, "{what}");
    }
}

#[test]
fn an_entry_loosened_to_others_is_not_trusted() {
    let server = DevServer::start();
    let tmp = TempDir::new("loose");
    let dir = tmp.0.join("cache");
    client(&server, |b| b.cache_dir(&dir)).token().unwrap();
    let entry = entries(&dir).pop().unwrap();
    fs::set_permissions(&entry, fs::Permissions::from_mode(0o666)).unwrap();
    let c = client(&server, |b| b.cache_dir(&dir));
    c.token().unwrap();
    assert_eq!(server.token_requests(), 2, "a world-writable entry is not read");
    assert_eq!(c.metrics().store_hits, 0);
    assert_eq!(fs::metadata(&entry).unwrap().mode() & 0o777, 0o600, "and it was replaced");
}

#[test]
fn an_unusable_directory_falls_back_to_fetching_and_is_counted() {
    let server = DevServer::start();
    let tmp = TempDir::new("unusable");
    let blocker = tmp.0.join("a-file");
    fs::write(&blocker, b"x").unwrap();
    // A directory that cannot be created (a file is in the way): the client still works.
    let dir = blocker.join("cache");
    for round in 1..=2u64 {
        let c = client(&server, |b| b.cache_dir(&dir));
        let token = c.token().unwrap();
        assert_eq!(server.resource_status(&token.authorization_header()), 200);
        assert!(c.metrics().store_errors >= 1, "{:?}", c.metrics());
        assert_eq!(server.token_requests(), round);
    }
    // Read-only: only meaningful where permissions bind (not for root).
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        let ro = tmp.0.join("ro");
        fs::create_dir(&ro).unwrap();
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o500)).unwrap();
        let c = client(&server, |b| b.cache_dir(&ro));
        c.token().unwrap();
        assert!(c.metrics().store_errors >= 1);
    }
}

#[test]
fn dropping_a_client_that_waits_for_another_processs_lease_returns_promptly() {
    let server = DevServer::start();
    let tmp = TempDir::new("drop");
    let dir = tmp.0.join("cache");
    server.fault(json!({"latency_ms": 8000}));
    let holder = client(&server, |b| b.cache_dir(&dir));
    let holding = std::thread::spawn(move || holder.token().map(|_| ()));
    while server.in_flight() == 0 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let waiter = client(&server, |b| b.cache_dir(&dir));
    assert!(waiter.token_timeout(Duration::from_millis(200)).is_err(), "the lease is held: it waits");
    assert_eq!(waiter.metrics().store_lease_waits, 1);
    let started = Instant::now();
    drop(waiter); // cancels its wait for the lease and joins its fetch thread
    assert!(started.elapsed() < Duration::from_secs(5), "drop waited for the lease (10 s)");
    holding.join().unwrap().unwrap();
}

#[test]
fn a_directory_removed_under_running_clients_is_created_again() {
    let server = DevServer::start();
    let tmp = TempDir::new("removed");
    let dir = tmp.0.join("cache");
    let a = client(&server, |b| b.cache_dir(&dir));
    let b = client(&server, |b| b.cache_dir(&dir));
    fs::remove_dir_all(&dir).unwrap();
    let token = a.token().unwrap();
    assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    assert!(b.token().unwrap().access_token() == token.access_token());
    assert_eq!((b.metrics().store_hits, server.token_requests()), (1, 1));
}

#[test]
fn a_directory_open_to_others_or_owned_by_another_user_is_refused() {
    let tmp = TempDir::new("refuse");
    let server = DevServer::start();
    let open = tmp.0.join("open");
    fs::create_dir(&open).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
    let build = |dir: &Path| {
        cctoken::Client::builder()
            .token_url(server.token_url())
            .client_id(CLIENT_ID)
            .client_secret(SECRET)
            .cache_dir(dir)
            .build()
    };
    let err = build(&open).unwrap_err().to_string();
    assert!(err.contains("writable by group or others"), "{err}");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let theirs = tmp.0.join("theirs");
        fs::create_dir(&theirs).unwrap();
        fs::set_permissions(&theirs, fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
        let err = build(&theirs).unwrap_err().to_string();
        assert!(err.contains("owned by uid 65534"), "{err}");
    }
}

#[test]
fn a_rejected_token_is_replaced_once_for_every_process() {
    let server = DevServer::start();
    let tmp = TempDir::new("invalidate");
    let dir = tmp.0.join("cache");
    let a = client(&server, |b| b.cache_dir(&dir));
    let b = client(&server, |b| b.cache_dir(&dir));
    let old = a.token().unwrap();
    assert!(b.token().unwrap().access_token() == old.access_token());
    assert_eq!(server.token_requests(), 1);
    // Both see the resource server reject it; only the first deletes the entry.
    a.invalidate(&old);
    let new = a.token().unwrap();
    assert!(new.access_token() != old.access_token());
    let old_in_b = b.token().unwrap();
    b.invalidate(&old_in_b);
    assert!(b.token().unwrap().access_token() == new.access_token());
    assert_eq!(server.token_requests(), 2, "one replacement for both");
}

#[test]
fn debug_and_errors_never_show_the_redis_password() {
    let b = cctoken::Client::builder()
        .token_url("https://as.example.com/token")
        .client_id(CLIENT_ID)
        .client_secret(SECRET)
        .redis_url("rediss://app:hunter2-pw@redis.example.com:6380/0");
    let debug = format!("{b:?}");
    assert!(!debug.contains("hunter2-pw") && debug.contains("redis.example.com"), "{debug}");
    let err = cctoken::Client::builder()
        .token_url("https://as.example.com/token")
        .client_id(CLIENT_ID)
        .client_secret(SECRET)
        .redis_url("http://app:hunter2-pw@redis.example.com")
        .build()
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("hunter2-pw"));
    assert_no_secrets(&debug, &[]);
}
