//! Token requests through a real HTTP proxy: Debian's `tinyproxy` on 127.0.0.1, started per test
//! from a generated config. A recording relay in front of it keeps every byte the client sent to
//! the proxy, so the tests can show what a proxy operator could read: the CONNECT line and
//! ciphertext, never the credentials or the token.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use cctoken::{Client, Error, Proxy};
use common::{CLIENT_ID, DevServer, SECRET, assert_no_secrets};
use parking_lot::Mutex;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let dir = std::env::temp_dir().join(format!("cctoken-proxy-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A tinyproxy process on 127.0.0.1, killed on drop.
struct Tinyproxy {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: TempDir,
}

impl Tinyproxy {
    /// `auth`: a user and password the proxy demands (`BasicAuth`).
    fn start(auth: Option<(&str, &str)>) -> Tinyproxy {
        let dir = TempDir::new("tinyproxy");
        // A free port can be taken between our probe and tinyproxy's bind: try a few.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let log = dir.0.join("tinyproxy.log");
            let mut conf = format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\nAllow 127.0.0.1\nLogLevel Info\n\
                 LogFile \"{}\"\n",
                log.display()
            );
            if let Some((user, password)) = auth {
                conf.push_str(&format!("BasicAuth {user} {password}\n"));
            }
            let conf_path = dir.0.join("tinyproxy.conf");
            std::fs::write(&conf_path, conf).unwrap();
            let child = Command::new("tinyproxy")
                .arg("-d")
                .arg("-c")
                .arg(&conf_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start tinyproxy (Debian package `tinyproxy`; .ci/run installs it)");
            let mut child = child;
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(120) {
                if child.try_wait().unwrap().is_some() {
                    break; // exited: most likely the port was taken
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    if started.elapsed() > Duration::from_secs(5) {
                        eprintln!("tinyproxy took {:?} to start", started.elapsed());
                    }
                    return Tinyproxy { child, port, log, _dir: dir };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("tinyproxy did not start within 120 s (5 tries)");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The number of CONNECT requests to `127.0.0.1:port` the proxy logged.
    fn connects_to(&self, port: u16) -> usize {
        self.log().matches(&format!("CONNECT 127.0.0.1:{port} ")).count()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Forwards connections on its own port to `target`, keeping a copy of every byte the client
/// sent. The accept loop stops when the relay drops.
struct Relay {
    port: u16,
    sent: Arc<Mutex<Vec<u8>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Relay {
    fn start(target: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (seen, halt) = (Arc::clone(&sent), Arc::clone(&stop));
        std::thread::spawn(move || {
            let started = Instant::now();
            while !halt.load(std::sync::atomic::Ordering::Relaxed) && started.elapsed() < Duration::from_secs(120) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let upstream = TcpStream::connect(("127.0.0.1", target)).expect("relay to tinyproxy");
                let (mut c_read, mut u_write) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
                let (mut u_read, mut c_write) = (upstream, client);
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    while let Ok(n @ 1..) = c_read.read(&mut buf) {
                        seen.lock().extend_from_slice(&buf[..n]);
                        if u_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = u_write.shutdown(std::net::Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut u_read, &mut c_write);
                    let _ = c_write.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Relay { port, sent, stop }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn sent(&self) -> Vec<u8> {
        self.sent.lock().clone()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn port_of(url: &str) -> u16 {
    url::Url::parse(url).unwrap().port().unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn https_server(dir: &TempDir) -> DevServer {
    DevServer::with_tls(&dir.0, &["--client", CLIENT_ID, "--secret", SECRET])
}

fn secret_client(url: &str, ca: Option<&[u8]>, proxy: Proxy, insecure: bool) -> Result<Client, Error> {
    let mut b = Client::builder()
        .token_url(url)
        .client_id(CLIENT_ID)
        .client_secret(SECRET)
        .proxy(proxy)
        .allow_insecure_http(insecure);
    if let Some(ca) = ca {
        b = b.root_ca_pem(ca.to_vec());
    }
    b.build()
}

/// What a proxy could read of an HTTPS token request: the CONNECT line, then ciphertext.
#[test]
fn https_through_a_proxy_shows_the_proxy_no_credentials() {
    let dir = TempDir::new("https");
    let server = https_server(&dir);
    let ca = std::fs::read(dir.0.join("ca.pem")).unwrap();
    let proxy = Tinyproxy::start(None);
    let relay = Relay::start(proxy.port);
    let server_port = port_of(&server.base);

    let client = secret_client(&server.token_url(), Some(&ca), Proxy::Url(relay.url()), false).unwrap();
    let token = client.token().expect("token through the proxy");
    assert_eq!(server.introspect(token.access_token())["active"], true);

    assert_eq!(proxy.connects_to(server_port), 1, "tinyproxy log:\n{}", proxy.log());
    let sent = relay.sent();
    let connect = format!("CONNECT 127.0.0.1:{server_port} HTTP/1.1\r\n");
    assert!(sent.starts_with(connect.as_bytes()), "the proxy saw: {:?}", String::from_utf8_lossy(&sent[..80]));
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{SECRET}"));
    let encoded: String = form_urlencoded::byte_serialize(SECRET.as_bytes()).collect();
    for needle in [SECRET, encoded.as_str(), basic.as_str(), token.access_token(), "grant_type"] {
        assert!(!contains(&sent, needle.as_bytes()), "the proxy could read a credential, the token or the form");
    }
    assert_no_secrets(&proxy.log(), &[token.access_token()]);
}

#[test]
fn proxy_credentials_are_used_and_never_shown() {
    let dir = TempDir::new("auth");
    let server = https_server(&dir);
    let ca = std::fs::read(dir.0.join("ca.pem")).unwrap();
    let proxy = Tinyproxy::start(Some(("alice", "proxy-pw-7731")));
    let with_password = |pw: &str| Proxy::Url(format!("http://alice:{pw}@127.0.0.1:{}", proxy.port));

    let client = secret_client(&server.token_url(), Some(&ca), with_password("proxy-pw-7731"), false).unwrap();
    client.token().expect("token through an authenticating proxy");
    assert_eq!(proxy.connects_to(port_of(&server.base)), 1, "{}", proxy.log());

    let builder = Client::builder().token_url(server.token_url()).proxy(with_password("wrong-pw-4410"));
    assert!(!format!("{builder:?}").contains("wrong-pw-4410"), "Debug shows the proxy password");
    let client = secret_client(&server.token_url(), Some(&ca), with_password("wrong-pw-4410"), false).unwrap();
    let err = client.token().expect_err("the proxy refuses a wrong password");
    let shown = format!("{err} {err:?} {client:?}");
    assert!(!shown.contains("wrong-pw-4410"), "the proxy password leaked: {err}");
    assert_no_secrets(&shown, &[]);
    assert_eq!(server.token_requests(), 1, "the refused attempt never reached the server");

    // The CLI says where to look, and shows no password either.
    let secret = dir.0.join("secret");
    std::fs::write(&secret, SECRET).unwrap();
    let (url, ca, proxy_url) =
        (server.token_url(), dir.0.join("ca.pem"), format!("http://alice:wrong-pw-4410@127.0.0.1:{}", proxy.port));
    let out = cctoken_cli(
        &["token", "--token-url", &url, "--client-id", CLIENT_ID, "--client-secret-file", secret.to_str().unwrap()]
            .into_iter()
            .chain(["--ca-file", ca.to_str().unwrap(), "--proxy", &proxy_url])
            .collect::<Vec<_>>(),
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("hint: the proxy refused") && !stderr.contains("wrong-pw-4410"), "{stderr}");
}

/// An http:// endpoint through a proxy would hand the secret over in clear: refused unless the
/// caller allows insecure HTTP, and the relay shows why.
#[test]
fn http_token_url_through_a_proxy_is_refused_unless_insecure_is_allowed() {
    let server = DevServer::start();
    let proxy = Tinyproxy::start(None);
    let relay = Relay::start(proxy.port);
    match secret_client(&server.token_url(), None, Proxy::Url(relay.url()), false) {
        Err(Error::Config { field: "proxy", reason }) => assert!(reason.contains("in clear"), "{reason}"),
        other => panic!("expected a proxy config error, got {:?}", other.map(|_| "a client")),
    }
    let client = secret_client(&server.token_url(), None, Proxy::Url(relay.url()), true).unwrap();
    client.token().expect("token through the proxy over http");
    assert_eq!(proxy.connects_to(port_of(&server.base)), 1, "{}", proxy.log());
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{}", {
        let e: String = form_urlencoded::byte_serialize(SECRET.as_bytes()).collect();
        e
    }));
    assert!(contains(&relay.sent(), basic.as_bytes()), "over http the proxy reads the credentials");
}

/// The CLI without its shared token cache, so every run makes its own request.
fn cctoken_cli(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cctoken"));
    cmd.args(args).arg("--no-cache").env_remove("CCTOKEN_REDIS_URL");
    for var in
        ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"]
    {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied()).output().expect("run cctoken")
}

/// The environment's proxy (the default), `none`, and the loopback rule, in a child process
/// (the environment is process-wide).
#[test]
fn environment_proxy_is_used_unless_none_and_loopback_goes_direct_without_no_proxy() {
    let dir = TempDir::new("env");
    let server = https_server(&dir);
    let proxy = Tinyproxy::start(None);
    let server_port = port_of(&server.base);
    let secret = dir.0.join("secret");
    std::fs::write(&secret, SECRET).unwrap();
    let (url, ca, secret) =
        (server.token_url(), dir.0.join("ca.pem").display().to_string(), secret.display().to_string());
    let args =
        ["token", "--token-url", &url, "--client-id", CLIENT_ID, "--client-secret-file", &secret, "--ca-file", &ca];
    let proxy_url = proxy.url();

    // NO_PROXY set (and not naming 127.0.0.1): it is the whole list, so loopback is proxied.
    let env = [("HTTPS_PROXY", proxy_url.as_str()), ("NO_PROXY", "example.invalid")];
    let out = cctoken_cli(&args, &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(proxy.connects_to(server_port), 1, "HTTPS_PROXY was used: {}", proxy.log());

    // --proxy none ignores the same environment.
    let mut none = args.to_vec();
    none.extend(["--proxy", "none"]);
    let out = cctoken_cli(&none, &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(proxy.connects_to(server_port), 1, "--proxy none went direct");

    // Without NO_PROXY, loopback endpoints go direct.
    let out = cctoken_cli(&args, &env[..1]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(proxy.connects_to(server_port), 1, "loopback bypassed the environment proxy");
    assert_eq!(server.token_requests(), 3);
}
