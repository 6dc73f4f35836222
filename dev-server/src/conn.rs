//! Workarounds for two limits of tiny_http 0.12's connection handling.
//!
//! 1. Stalled connections. tiny_http serves each connection on a thread from its own pool, and
//!    when connections arrive in a burst, its pool can queue a new connection although no idle
//!    thread is left to take it (it counts idle threads before they have woken up). The queued
//!    connection is then not read until another connection closes, which with clients that keep
//!    idle connections open can take their whole keep-alive time: a test hangs. A connection
//!    that closes at once frees a pool thread, which takes the oldest queued connection; so while
//!    the server is in use, [`ConnectionKicker`] opens and closes one every few milliseconds.
//!
//! 2. Closing a connection mid-response (the `close_mid_body` fault). tiny_http keeps a
//!    keep-alive connection open after a response and gives handlers no access to the socket, so
//!    a short body would leave the client waiting for the rest until its timeout. To make the
//!    client see the early EOF at once, [`shutdown`] finds this process's socket for that peer
//!    and shuts it down; tiny_http's connection thread then sees EOF too and drops it.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How often a stalled connection gets a chance to be served.
const KICK_INTERVAL: Duration = Duration::from_millis(50);
/// Kicking stops this long after the last request, so an idle server stays quiet.
const KICK_WHILE_ACTIVE_FOR: Duration = Duration::from_secs(30);

/// Unsticks connections tiny_http's pool has queued (see the module documentation).
pub struct ConnectionKicker {
    started: Instant,
    /// Milliseconds from `started` to the last request.
    last_request_ms: AtomicU64,
}

impl ConnectionKicker {
    /// Starts kicking the server at `addr` while requests keep arriving.
    pub fn start(addr: SocketAddr) -> Arc<Self> {
        let kicker = Arc::new(ConnectionKicker { started: Instant::now(), last_request_ms: AtomicU64::new(0) });
        let target = match addr.ip() {
            ip if !ip.is_unspecified() => addr,
            std::net::IpAddr::V4(_) => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()),
            std::net::IpAddr::V6(_) => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port()),
        };
        let this = Arc::clone(&kicker);
        thread::spawn(move || {
            loop {
                thread::sleep(KICK_INTERVAL);
                if this.recently_active() {
                    // Connected and closed at once: its pool thread is free again right after.
                    let _ = TcpStream::connect_timeout(&target, Duration::from_secs(1));
                }
            }
        });
        kicker
    }

    /// Records that a request arrived.
    pub fn request_arrived(&self) {
        let now = self.started.elapsed().as_millis().try_into().unwrap_or(u64::MAX);
        self.last_request_ms.store(now, Ordering::Relaxed);
    }

    fn recently_active(&self) -> bool {
        let last = Duration::from_millis(self.last_request_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last) < KICK_WHILE_ACTIVE_FOR
    }
}

/// Shuts down this process's TCP connection between `local_port` and `peer`.
#[cfg(unix)]
pub fn shutdown(local_port: u16, peer: SocketAddr) {
    use std::net::Shutdown;
    use std::os::fd::{BorrowedFd, RawFd};

    // Linux lists open descriptors in /proc/self/fd, the BSDs and macOS in /dev/fd.
    let Some(entries) = ["/proc/self/fd", "/dev/fd"].iter().find_map(|dir| std::fs::read_dir(dir).ok()) else {
        eprintln!("close_mid_body: cannot list open descriptors; the client will wait for its timeout");
        return;
    };
    for entry in entries.flatten() {
        let Some(fd) = entry.file_name().to_str().and_then(|name| name.parse::<RawFd>().ok()) else {
            continue;
        };
        // SAFETY: `fd` was open when listed. We only borrow it long enough to duplicate it; if
        // another thread closed it in between, dup fails (EBADF) or yields some other descriptor,
        // which the address check below rejects. We never close or touch the original.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let Ok(owned) = borrowed.try_clone_to_owned() else { continue };
        let stream = TcpStream::from(owned);
        let is_it =
            stream.peer_addr().is_ok_and(|a| a == peer) && stream.local_addr().is_ok_and(|a| a.port() == local_port);
        if is_it {
            // Shutting down the duplicate shuts down the shared socket; dropping it closes only the dup.
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    }
}

#[cfg(not(unix))]
pub fn shutdown(_local_port: u16, _peer: SocketAddr) {
    eprintln!("close_mid_body: cannot close connections on this platform; the client will wait for its timeout");
}
