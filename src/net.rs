//! How token requests reach the network: which certificate authorities are trusted, and which
//! proxy (if any) carries the connection. Both are decided once, when the client is built.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::Error;

/// Which certificate authorities the client trusts for HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TrustStore {
    /// The operating system's store: `SSL_CERT_FILE` and/or `SSL_CERT_DIR` when set (as OpenSSL,
    /// curl, Python and Go read them), else the platform's bundle (`/etc/ssl/certs` and the like,
    /// the macOS keychain, the Windows store). Read at the first build and kept for the process,
    /// per value of those variables. Certificates from `root_ca_pem` are trusted too. The default.
    ///
    /// When neither variable is set and the platform store has no certificate (a minimal
    /// container without `ca-certificates`), the Mozilla roots compiled into cctoken are used
    /// instead. When a variable is set but nothing usable can be read from it, building the
    /// client fails: the operator asked for a store that is not there.
    #[default]
    System,
    /// The Mozilla roots compiled into cctoken (webpki-root-certs), plus `root_ca_pem`; the
    /// system store and `SSL_CERT_*` are ignored.
    Bundled,
    /// Only the `root_ca_pem` certificates (at least one is required): for a token endpoint
    /// behind a private CA that nothing else should vouch for.
    RootCaOnly,
}

impl TrustStore {
    /// The name used in configuration: `system`, `bundled` or `root_ca_only`.
    pub fn as_str(self) -> &'static str {
        match self {
            TrustStore::System => "system",
            TrustStore::Bundled => "bundled",
            TrustStore::RootCaOnly => "root_ca_only",
        }
    }
}

impl FromStr for TrustStore {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "system" => Ok(TrustStore::System),
            "bundled" => Ok(TrustStore::Bundled),
            "root_ca_only" => Ok(TrustStore::RootCaOnly),
            other => Err(Error::config(
                "trust_store",
                format!("unknown value `{}` (system, bundled or root_ca_only)", printable(other)),
            )),
        }
    }
}

/// The roots a client's TLS configuration trusts. `extra` is the parsed `root_ca_pem`.
pub(crate) fn root_certs(
    store: TrustStore,
    extra: &[ureq::tls::Certificate<'static>],
) -> Result<ureq::tls::RootCerts, Error> {
    let mut roots: Vec<ureq::tls::Certificate<'static>> = match store {
        TrustStore::Bundled => bundled(),
        TrustStore::RootCaOnly => Vec::new(),
        TrustStore::System => {
            let from_env: Vec<String> = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
                .into_iter()
                .filter_map(|v| std::env::var_os(v).map(|p| format!("{v}={}", p.to_string_lossy())))
                .collect();
            system_or_fallback(&system_roots(&from_env), &from_env)?
        }
    };
    roots.extend(extra.iter().cloned());
    if roots.is_empty() {
        return Err(Error::config("root_ca_pem", "missing (trust_store root_ca_only trusts only these)"));
    }
    Ok(ureq::tls::RootCerts::from(roots))
}

fn bundled() -> Vec<ureq::tls::Certificate<'static>> {
    let der = webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter();
    der.map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned()).collect()
}

/// What `system` trusts given what the store held: the store; when it is empty, the bundled
/// roots, unless `SSL_CERT_*` (`from_env`, as `NAME=value`) named the store, which is an error.
fn system_or_fallback(
    system: &[ureq::tls::Certificate<'static>],
    from_env: &[String],
) -> Result<Vec<ureq::tls::Certificate<'static>>, Error> {
    match (system.is_empty(), from_env.is_empty()) {
        (false, _) => Ok(system.to_vec()),
        (true, true) => Ok(bundled()),
        (true, false) => Err(Error::config(
            "trust_store",
            format!(
                "no certificate could be read from {} (unset it, or choose trust_store bundled)",
                printable(&from_env.join(" "))
            ),
        )),
    }
}

/// The system store's certificates. Reading it costs ~10 ms (a 200 KB bundle and a directory),
/// so it is read once per process and per value of the `SSL_CERT_*` variables, as Go does; an
/// empty result is not kept, so a store that appears later is found.
fn system_roots(env_key: &[String]) -> Arc<Vec<ureq::tls::Certificate<'static>>> {
    type Cache = Mutex<Option<(Vec<String>, Arc<Vec<ureq::tls::Certificate<'static>>>)>>;
    static CACHE: Cache = Mutex::new(None);
    if let Some((key, certs)) = &*CACHE.lock() {
        if key == env_key {
            return Arc::clone(certs);
        }
    }
    // Loaded without the lock held: a fork() meanwhile (pre-fork servers) must not leave the
    // child a lock that nobody will release. Two threads may both load; either result is right.
    let loaded = rustls_native_certs::load_native_certs();
    let certs: Arc<Vec<_>> =
        Arc::new(loaded.certs.iter().map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned()).collect());
    if !certs.is_empty() {
        *CACHE.lock() = Some((env_key.to_vec(), Arc::clone(&certs)));
    }
    certs
}

/// Whether token requests go through a proxy.
///
/// Proxies are used through HTTP `CONNECT`, so an `https://` token request stays encrypted end
/// to end: the proxy sees the host and port, never the credentials or the token.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Proxy {
    /// The standard variables, read when the client is built: `HTTPS_PROXY` (or `https_proxy`)
    /// for `https://` endpoints, `http_proxy` for `http://` ones (`HTTP_PROXY` too, except in a
    /// CGI process, where a request header can set it), then `ALL_PROXY`; `NO_PROXY` (or
    /// `no_proxy`) lists the hosts that go direct (`*`, host names, `.suffix` or `suffix`
    /// for a domain and its subdomains, IP addresses). When `NO_PROXY` is unset, loopback
    /// hosts go direct: a proxy on another machine cannot reach this machine's loopback. The
    /// default.
    #[default]
    Environment,
    /// Direct connections only; the proxy variables are ignored.
    None,
    /// This proxy, `http://[user:password@]host:port` (or `https://` for TLS to the proxy).
    /// The password is never shown in errors or `Debug`.
    Url(String),
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Proxy::Environment => f.write_str("Environment"),
            Proxy::None => f.write_str("None"),
            Proxy::Url(u) => write!(f, "Url({:?})", redacted(u)),
        }
    }
}

impl FromStr for Proxy {
    type Err = Error;
    /// `env`, `none`, or a proxy URL.
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "env" => Proxy::Environment,
            "none" => Proxy::None,
            url => Proxy::Url(url.to_string()),
        })
    }
}

/// The proxy a client's requests go through, decided at build time. `Debug` shows the proxy
/// URL without its password.
#[derive(Clone)]
pub(crate) struct Route {
    pub proxy: ureq::Proxy,
    /// Where the setting came from (`proxy` or the variable's name), for messages.
    pub source: &'static str,
    pub shown: String,
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Route({} from {})", self.shown, self.source)
    }
}

/// Decides the proxy for requests to `target`. `var` reads an environment variable (injected
/// so that the decision can be tested without touching the process environment).
///
/// An `http://` target through any proxy would hand the credentials to the proxy in clear, so
/// that combination is refused unless `allow_insecure_http` is set.
pub(crate) fn route(
    setting: &Proxy,
    target: &url::Url,
    allow_insecure_http: bool,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<Route>, Error> {
    let (raw, source) = match setting {
        Proxy::None => return Ok(None),
        Proxy::Url(u) => (u.clone(), "proxy"),
        Proxy::Environment => match from_environment(target, &var) {
            Some(found) => found,
            None => return Ok(None),
        },
    };
    let shown = redacted(&raw);
    let field = "proxy";
    let why = |reason: &str| Error::config(field, format!("{reason} ({source}={shown})"));
    let parsed = url::Url::parse(&raw).map_err(|e| why(&format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(why("only http:// and https:// proxies are supported"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(why("has no host"));
    }
    if parsed.path() != "/" || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(why("must be scheme://[user:password@]host[:port] with no path"));
    }
    if target.scheme() == "http" && !allow_insecure_http {
        return Err(why("an http:// token endpoint through a proxy would send the credentials to the proxy in clear \
             (use https, set proxy none, list the host in NO_PROXY, or allow_insecure_http on a test network)"));
    }
    let proxy = ureq::Proxy::new(&raw).map_err(|_| why("not a usable proxy URL"))?;
    Ok(Some(Route { proxy, source, shown }))
}

/// The proxy URL and the variable it came from, when the environment names one for `target`.
fn from_environment(target: &url::Url, var: &impl Fn(&str) -> Option<String>) -> Option<(String, &'static str)> {
    let first = |names: &[&'static str]| {
        names.iter().find_map(|&n| var(n).filter(|v| !v.trim().is_empty()).map(|v| (v.trim().to_string(), n)))
    };
    let host = match target.host() {
        Some(url::Host::Domain(d)) => d.trim_end_matches('.').to_ascii_lowercase(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return None,
    };
    match first(&["NO_PROXY", "no_proxy"]) {
        Some((list, _)) if no_proxy_matches(&list, &host) => return None,
        None if is_loopback(&host) => return None,
        _ => {}
    }
    // httpoxy (CVE-2016-5385): a CGI server turns a request's `Proxy:` header into HTTP_PROXY.
    let cgi = var("REQUEST_METHOD").is_some();
    let names: &[&'static str] = match (target.scheme(), cgi) {
        ("https", _) => &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"],
        (_, false) => &["http_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy"],
        (_, true) => &["http_proxy", "ALL_PROXY", "all_proxy"],
    };
    first(names)
}

/// `NO_PROXY` as curl reads it: comma-separated; `*` matches everything; a name matches itself
/// and its subdomains (a leading `.` or `*.` is the same); an IP address matches itself.
fn no_proxy_matches(list: &str, host: &str) -> bool {
    list.split(',').map(|e| e.trim().to_ascii_lowercase()).filter(|e| !e.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry = entry.trim_start_matches("*.").trim_start_matches('.').trim_end_matches('.');
        let entry = entry.strip_prefix('[').and_then(|e| e.strip_suffix(']')).unwrap_or(entry);
        host == entry || (!entry.is_empty() && host.ends_with(entry) && host[..host.len() - entry.len()].ends_with('.'))
    })
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A proxy URL fit for messages: the password replaced, control characters dropped.
pub(crate) fn redacted(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            printable(u.as_str())
        }
        // Not a URL: whatever follows the last `@`, so no user-info can show.
        Err(_) => printable(&format!("<unparsable>{}", raw.rsplit_once('@').map_or("", |(_, h)| h))),
    }
}

/// At most 200 printable characters, so a value quoted in an error stays one short line.
fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn decide(setting: &Proxy, target: &str, env: &[(&str, &str)]) -> Result<Option<String>, Error> {
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let target = url::Url::parse(target).unwrap();
        route(setting, &target, false, |k| env.get(k).cloned()).map(|r| r.map(|r| format!("{} {}", r.source, r.shown)))
    }

    #[test]
    fn environment_picks_the_variable_for_the_scheme() {
        let env = [("HTTPS_PROXY", "http://p1:3128"), ("http_proxy", "http://p2:3128"), ("ALL_PROXY", "http://p3:1")];
        let got = decide(&Proxy::Environment, "https://as.example.com/token", &env).unwrap();
        assert_eq!(got.as_deref(), Some("HTTPS_PROXY http://p1:3128/"));
        let got = decide(&Proxy::Environment, "https://as.example.com/token", &env[2..]).unwrap();
        assert_eq!(got.as_deref(), Some("ALL_PROXY http://p3:1/"));
        // http_proxy never applies to https, and no variable means direct.
        assert_eq!(decide(&Proxy::Environment, "https://as.example.com/t", &env[1..2]).unwrap(), None);
        assert_eq!(decide(&Proxy::Environment, "https://as.example.com/t", &[]).unwrap(), None);
    }

    #[test]
    fn no_proxy_and_loopback_go_direct() {
        let p = [("HTTPS_PROXY", "http://p:3128")];
        fn with(no: &str) -> [(&str, &str); 2] {
            [("HTTPS_PROXY", "http://p:3128"), ("NO_PROXY", no)]
        }
        for (target, no_proxy) in [
            ("https://as.corp.example/t", "corp.example"),
            ("https://as.corp.example/t", ".corp.example"),
            ("https://as.corp.example/t", "*.corp.example"),
            ("https://AS.Corp.Example./t", "other, corp.example "),
            ("https://10.1.2.3/t", "10.1.2.3"),
            ("https://[::1]:8443/t", "[::1]"),
            ("https://anything/t", "*"),
        ] {
            assert_eq!(decide(&Proxy::Environment, target, &with(no_proxy)).unwrap(), None, "{target} {no_proxy}");
        }
        // A suffix matches at a label boundary only.
        assert!(decide(&Proxy::Environment, "https://notcorp.example/t", &with("corp.example")).unwrap().is_some());
        // Loopback goes direct when NO_PROXY is unset; a NO_PROXY that is set is the whole list.
        for target in ["https://127.0.0.1:8443/t", "https://localhost/t", "https://[::1]/t", "https://a.localhost/t"] {
            assert_eq!(decide(&Proxy::Environment, target, &p).unwrap(), None, "{target}");
        }
        assert!(decide(&Proxy::Environment, "https://127.0.0.1:8443/t", &with("example.org")).unwrap().is_some());
    }

    #[test]
    fn httpoxy_upper_case_http_proxy_is_ignored_under_cgi() {
        let env = [("HTTP_PROXY", "http://attacker:80"), ("NO_PROXY", "x")];
        let target = "http://127.0.0.1:8080/t";
        let setting = Proxy::Environment;
        // Outside CGI it applies, and an http:// endpoint through a proxy is refused.
        let err = decide(&setting, target, &env).unwrap_err().to_string();
        assert!(err.contains("in clear") && err.contains("HTTP_PROXY"), "{err}");
        let cgi = [env[0], env[1], ("REQUEST_METHOD", "GET")];
        assert_eq!(decide(&setting, target, &cgi).unwrap(), None);
    }

    #[test]
    fn none_ignores_the_environment_and_url_is_checked() {
        let env = [("HTTPS_PROXY", "http://p:3128"), ("NO_PROXY", "x")];
        assert_eq!(decide(&Proxy::None, "https://as.example.com/t", &env).unwrap(), None);
        let url = Proxy::Url("http://user:hunter2@proxy.corp:3128".into());
        assert_eq!(
            decide(&url, "https://as/t", &[]).unwrap().as_deref(),
            Some("proxy http://user:***@proxy.corp:3128/")
        );
        for bad in ["socks5://p:1080", "http://p:3128/path", "no-scheme", "http://:3128"] {
            let err = decide(&Proxy::Url(bad.into()), "https://as/t", &[]).unwrap_err();
            assert!(matches!(err, Error::Config { field: "proxy", .. }), "{bad}: {err}");
        }
        let err = decide(&Proxy::Url("ftp://u:hunter2@p".into()), "https://as/t", &[]).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
        assert!(!format!("{url:?}").contains("hunter2"));
        let target = url::Url::parse("http://as.test/t").unwrap();
        assert!(route(&Proxy::Url("http://p:1".into()), &target, true, |_| None).unwrap().is_some());
    }

    #[test]
    fn names_round_trip() {
        for s in [TrustStore::System, TrustStore::Bundled, TrustStore::RootCaOnly] {
            assert_eq!(s.as_str().parse::<TrustStore>().unwrap(), s);
        }
        assert!("mozilla".parse::<TrustStore>().is_err());
        assert_eq!("env".parse::<Proxy>().unwrap(), Proxy::Environment);
        assert_eq!("none".parse::<Proxy>().unwrap(), Proxy::None);
    }

    #[test]
    fn an_empty_system_store_falls_back_to_the_bundled_roots_unless_a_variable_named_it() {
        let fallback = system_or_fallback(&[], &[]).unwrap();
        assert_eq!(fallback.len(), webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
        assert!(fallback.len() > 100);
        let named = ["SSL_CERT_DIR=/empty\n".to_string()];
        let err = system_or_fallback(&[], &named).unwrap_err().to_string();
        assert!(err.contains("trust_store") && err.contains("SSL_CERT_DIR=/empty") && !err.contains('\n'), "{err}");
        let one = bundled()[..1].to_vec();
        assert_eq!(system_or_fallback(&one, &named).unwrap().len(), 1, "a store that has certificates is used as is");
    }

    #[test]
    fn root_ca_only_needs_a_certificate() {
        let err = root_certs(TrustStore::RootCaOnly, &[]).unwrap_err();
        assert!(matches!(err, Error::Config { field: "root_ca_pem", .. }), "{err}");
        assert!(root_certs(TrustStore::Bundled, &[]).is_ok());
    }
}
