//! A hostile token endpoint: a small HTTP server written here on 127.0.0.1 (std TcpListener,
//! raw bytes) that trickles, never ends, loops on 100 Continue, floods headers, gzips, resets
//! and sends absurd `Retry-After` values. Each case checks three things:
//!
//! 1. a client with nothing cached gets the expected error class,
//! 2. within a "did not hang" bound (call timeout + 5 s, generous for a loaded CI machine),
//! 3. a client holding a still-valid token inside its refresh window keeps serving that token
//!    while its background refresh meets the hostile server, and pauses refreshing after it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use cctoken::{Client, Error, RefreshPolicy, RetryPolicy, TransportKind};

/// Lifetime of the good tokens: the refresh window is its second half (see `client`).
const LIFETIME_S: u64 = 12;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// "Did not hang": the call timeout plus generous slack.
const BOUND: Duration = Duration::from_secs(2 + 5);
/// The server never behaves badly for longer than this (bounded loops; threads end).
const SERVER_PATIENCE: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Good,
    TrickleHead,
    TrickleBody,
    TrickleChunks,
    EndlessBody,
    EndlessChunked,
    ContinueLoop,
    HugeHeader,
    ManyHeaders,
    Gzip,
    ResetMidHead,
    ResetMidBody,
    RetryAfterOverflow,
    RetryAfterDate,
}

struct Hostile {
    port: u16,
    mode: Arc<Mutex<Mode>>,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Hostile {
    fn start() -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("nonblocking listener");
        let port = listener.local_addr().expect("local addr").port();
        let server = Hostile {
            port,
            mode: Arc::new(Mutex::new(Mode::Good)),
            requests: Arc::new(AtomicUsize::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (mode, requests, stop) = (server.mode.clone(), server.requests.clone(), server.stop.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (mode, requests, stop) = (mode.clone(), requests.clone(), stop.clone());
                        thread::spawn(move || serve(conn, &mode, &requests, &stop));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        server
    }

    fn set(&self, m: Mode) {
        *self.mode.lock().unwrap() = m;
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn client(&self) -> Client {
        Client::builder()
            .token_url(format!("http://127.0.0.1:{}/token", self.port))
            .client_id("svc-hostile")
            .client_secret("hostile-s3cret")
            .connect_timeout(REQUEST_TIMEOUT)
            .request_timeout(REQUEST_TIMEOUT)
            .call_timeout(CALL_TIMEOUT)
            .retry_policy(RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(50),
                max_delay: Duration::from_millis(200),
            })
            // The refresh window is exactly the second half of the token's life.
            .refresh_policy(RefreshPolicy { ratio: 0.5, min_window: Duration::ZERO, jitter: 0.0 })
            .build()
            .expect("client config")
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads one request (head and Content-Length body); false when the peer went away.
fn read_request(conn: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(1) if buf.len() < 64 * 1024 => buf.push(byte[0]),
            _ => return false,
        }
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len.min(64 * 1024)];
    conn.read_exact(&mut body).is_ok()
}

/// Writes `data` one byte at a time, 100 ms apart, until the client gives up (or patience ends).
fn trickle(conn: &mut TcpStream, data: &[u8], stop: &AtomicBool) {
    let start = Instant::now();
    for b in data.iter().cycle() {
        if stop.load(Ordering::Relaxed) || start.elapsed() > SERVER_PATIENCE || conn.write_all(&[*b]).is_err() {
            return;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Writes `chunk` over and over until the client gives up (or patience ends).
fn flood(conn: &mut TcpStream, chunk: &[u8], stop: &AtomicBool) {
    let start = Instant::now();
    while !stop.load(Ordering::Relaxed) && start.elapsed() < SERVER_PATIENCE {
        if conn.write_all(chunk).is_err() {
            return;
        }
    }
}

/// Closes with a TCP reset (SO_LINGER 0) instead of an orderly FIN.
fn reset(conn: TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: a valid socket and a correctly sized option value.
    let rc = unsafe {
        libc::setsockopt(
            conn.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER");
    drop(conn);
}

const GZIP_TOKEN: [u8; 57] = [
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xab, 0x56, 0x4a, 0x4c, 0x4e, 0x4e, 0x2d, 0x2e, 0x8e,
    0x2f, 0xc9, 0xcf, 0x4e, 0xcd, 0x53, 0xb2, 0x52, 0x4a, 0xaf, 0x52, 0xd2, 0x51, 0x4a, 0xad, 0x28, 0xc8, 0x2c, 0x4a,
    0x2d, 0x8e, 0xcf, 0x04, 0x8a, 0x98, 0x19, 0xd4, 0x02, 0x00, 0xb4, 0x42, 0xe4, 0x71, 0x25, 0x00, 0x00, 0x00, 0x00,
];

fn serve(mut conn: TcpStream, mode: &Mutex<Mode>, requests: &AtomicUsize, stop: &AtomicBool) {
    let _ = conn.set_read_timeout(Some(SERVER_PATIENCE));
    let _ = conn.set_write_timeout(Some(SERVER_PATIENCE));
    while read_request(&mut conn) {
        let n = requests.fetch_add(1, Ordering::SeqCst) + 1;
        let m = *mode.lock().unwrap();
        let json_head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";
        match m {
            Mode::Good => {
                let body = format!(r#"{{"access_token":"tok-{n}","token_type":"Bearer","expires_in":{LIFETIME_S}}}"#);
                let r = format!("{json_head}Content-Length: {}\r\n\r\n{body}", body.len());
                if conn.write_all(r.as_bytes()).is_err() {
                    return;
                }
                continue; // keep-alive
            }
            Mode::TrickleHead => trickle(&mut conn, format!("{json_head}X-Slow: ").as_bytes(), stop),
            Mode::TrickleBody => {
                let _ = conn.write_all(format!("{json_head}Content-Length: 100000\r\n\r\n").as_bytes());
                trickle(&mut conn, br#"{"access_token":"slow"}"#, stop);
            }
            Mode::TrickleChunks => {
                let _ = conn.write_all(format!("{json_head}Transfer-Encoding: chunked\r\n\r\n").as_bytes());
                trickle(&mut conn, b"1\r\nx\r\n", stop);
            }
            Mode::EndlessBody => {
                let _ = conn.write_all(format!("{json_head}Content-Length: 99999999999\r\n\r\n").as_bytes());
                flood(&mut conn, &[b' '; 16 * 1024], stop);
            }
            Mode::EndlessChunked => {
                let _ = conn.write_all(format!("{json_head}Transfer-Encoding: chunked\r\n\r\n").as_bytes());
                let mut chunk = b"4000\r\n".to_vec();
                chunk.extend_from_slice(&[b' '; 0x4000]);
                chunk.extend_from_slice(b"\r\n");
                flood(&mut conn, &chunk, stop);
            }
            Mode::ContinueLoop => {
                let start = Instant::now();
                while start.elapsed() < SERVER_PATIENCE && !stop.load(Ordering::Relaxed) {
                    if conn.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
                        break;
                    }
                    thread::sleep(Duration::from_millis(10));
                }
            }
            Mode::HugeHeader => {
                let _ = conn.write_all(format!("{json_head}X-Huge: ").as_bytes());
                flood(&mut conn, &[b'a'; 16 * 1024], stop);
            }
            Mode::ManyHeaders => {
                let _ = conn.write_all(json_head.as_bytes());
                let start = Instant::now();
                for i in 0.. {
                    if start.elapsed() > SERVER_PATIENCE || conn.write_all(format!("X-H{i}: v\r\n").as_bytes()).is_err()
                    {
                        break;
                    }
                }
            }
            Mode::Gzip => {
                let head = format!("{json_head}Content-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", GZIP_TOKEN.len());
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(&GZIP_TOKEN);
            }
            Mode::ResetMidHead => {
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Ty");
                let _ = conn.flush();
                thread::sleep(Duration::from_millis(50));
                return reset(conn);
            }
            Mode::ResetMidBody => {
                let _ = conn.write_all(format!("{json_head}Content-Length: 200\r\n\r\n{{\"access_tok").as_bytes());
                let _ = conn.flush();
                thread::sleep(Duration::from_millis(50));
                return reset(conn);
            }
            Mode::RetryAfterOverflow => {
                let r = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 18446744073709551615\r\nContent-Length: 0\r\n\r\n";
                let _ = conn.write_all(r.as_bytes());
            }
            Mode::RetryAfterDate => {
                let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
                let r =
                    format!("HTTP/1.1 503 Service Unavailable\r\nRetry-After: {later}\r\nContent-Length: 0\r\n\r\n");
                let _ = conn.write_all(r.as_bytes());
            }
        }
        return; // every hostile answer ends the connection
    }
}

/// Runs one hostile case: `expect` judges the error a cold client gets.
fn case(mode: Mode, expect: impl Fn(&Error) -> bool) {
    let server = Hostile::start();

    // A warm client: a good token, then into its refresh window (the second half of its life).
    let warm = server.client();
    let first = warm.token().expect("good token");
    let window = Instant::now() + Duration::from_millis(LIFETIME_S * 1000 / 2 + 200);
    thread::sleep(window.saturating_duration_since(Instant::now()));

    server.set(mode);

    // A cold client meets the hostile server directly (on its own thread, while the warm
    // client's refresh meets it too, so the warm token is far from expiry throughout).
    let cold = server.client();
    let before = server.requests();
    let cold_call = thread::spawn(move || {
        let start = Instant::now();
        let result = cold.token().map(|t| t.access_token().to_string());
        (result, start.elapsed())
    });

    // The warm client: this call is in the refresh window, so it starts a background refresh
    // against the hostile server and returns the cached token at once.
    let start = Instant::now();
    let t = warm.token().expect("still-valid token served");
    assert_eq!(t.access_token(), first.access_token(), "{mode:?}");
    assert!(start.elapsed() < BOUND, "{mode:?}: a cache hit took {:?}", start.elapsed());
    // Wait for the refresh to fail (bounded by its call timeout), serving the token meanwhile.
    let deadline = Instant::now() + BOUND;
    while warm.metrics().fetch_failures == 0 {
        assert!(Instant::now() < deadline, "{mode:?}: background refresh did not end within {BOUND:?}");
        let t = warm.token().expect("still-valid token served while the refresh runs");
        assert_eq!(t.access_token(), first.access_token(), "{mode:?}");
        thread::sleep(Duration::from_millis(20));
    }
    // After the failure, refreshing pauses: calls keep getting the cached token without
    // starting one fetch per call.
    let fetches = warm.metrics().fetches;
    for _ in 0..20 {
        let t = warm.token().expect("still-valid token served after a failed refresh");
        assert_eq!(t.access_token(), first.access_token(), "{mode:?}");
        assert!(!t.is_expired(), "{mode:?}: served an expired token");
    }
    assert_eq!(warm.metrics().fetches, fetches, "{mode:?}: failed refresh did not pause refreshing");
    assert!(warm.metrics().stale_served >= 20, "{mode:?}: {:?}", warm.metrics());

    let (result, took) = cold_call.join().expect("cold call thread");
    let err = result.expect_err("a hostile answer gives no token");
    assert!(expect(&err), "{mode:?}: unexpected error class: {err:?}");
    assert!(took < BOUND, "{mode:?}: the call took {took:?}");
    assert!(server.requests() > before, "{mode:?}: the server saw no request");
    assert!(!err.to_string().contains("hostile-s3cret"), "{mode:?}: secret in the error");
}

fn transport(kinds: &'static [TransportKind]) -> impl Fn(&Error) -> bool {
    move |e| matches!(e, Error::Transport { kind, .. } if kinds.contains(kind))
}

fn invalid_response(e: &Error) -> bool {
    matches!(e, Error::InvalidResponse(_))
}

#[test]
fn slow_trickle_in_the_head_times_out() {
    case(Mode::TrickleHead, transport(&[TransportKind::Timeout]));
}

#[test]
fn slow_trickle_in_the_body_times_out() {
    case(Mode::TrickleBody, transport(&[TransportKind::Timeout]));
}

#[test]
fn slow_trickle_of_chunks_times_out() {
    case(Mode::TrickleChunks, transport(&[TransportKind::Timeout]));
}

#[test]
fn endless_body_is_cut_at_the_limit() {
    case(Mode::EndlessBody, invalid_response);
}

#[test]
fn endless_chunked_body_is_cut_at_the_limit() {
    case(Mode::EndlessChunked, invalid_response);
}

#[test]
fn endless_100_continue_is_bounded() {
    case(Mode::ContinueLoop, transport(&[TransportKind::Timeout, TransportKind::Io]));
}

#[test]
fn huge_header_is_refused() {
    case(Mode::HugeHeader, transport(&[TransportKind::Io]));
}

#[test]
fn many_headers_are_refused() {
    case(Mode::ManyHeaders, transport(&[TransportKind::Io]));
}

#[test]
fn gzip_body_is_not_a_token() {
    case(Mode::Gzip, invalid_response);
}

#[test]
fn reset_in_the_head_is_an_io_error() {
    case(Mode::ResetMidHead, transport(&[TransportKind::Io]));
}

#[test]
fn reset_in_the_body_is_an_io_error() {
    case(Mode::ResetMidBody, transport(&[TransportKind::Io]));
}

/// The server's Retry-After is longer than the call may wait: the 503 comes back at once,
/// after one request, with the (clamped) delay for the caller to honour.
fn long_retry_after(e: &Error) -> bool {
    matches!(e, Error::Http { status: 503, retry_after: Some(d), .. } if *d > CALL_TIMEOUT)
}

#[test]
fn overflowing_retry_after_is_clamped() {
    case(Mode::RetryAfterOverflow, long_retry_after);
}

#[test]
fn http_date_retry_after_is_honoured() {
    case(Mode::RetryAfterDate, |e| {
        long_retry_after(e) && e.retry_after().is_some_and(|d| d <= Duration::from_secs(3600))
    });
}
