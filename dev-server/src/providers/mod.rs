//! `--providers-dir DIR`: faithful stand-ins for the token endpoints of Microsoft Entra ID
//! (client secret, certificate and federated credentials), a workload-identity federation
//! issuer (Kubernetes / GitHub Actions style), and Google's service-account JWT bearer grant.
//!
//! At start every fixture is generated afresh into DIR (keys, certificates, PKCS#12 files, the
//! Google JSON key) and described by DIR/providers.json, the one file tests in every language
//! read. Each stand-in checks what its provider documents and answers in that provider's shapes;
//! the checks and the documents they come from are listed in dev-server/tests/providers.rs.

mod entra;
mod federation;
mod fixtures;
mod google;
mod jwt;
mod keys;
mod util;

use std::collections::HashMap;
use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::{Map, Value, json};
use tiny_http::{Method, Request};

use crate::http::{self, Reply, with_header};
use crate::state::State;

pub use fixtures::generate;

pub type BoxError = Box<dyn Error + Send + Sync>;

/// The fixed tenant of the Entra stand-in.
pub const TENANT: &str = "8e4c4b1c-5d3f-4c52-9f0a-2f6d3c1b7a90";

/// Every stand-in, with the registrations generated at start.
pub struct Providers {
    entra: entra::Entra,
    federation: federation::Federation,
    google: google::Google,
    /// What /_dev/last-assertion shows.
    last_assertion: Mutex<Option<Value>>,
    /// Requests to the Entra and Google token endpoints, for /_dev/stats.
    entra_token_requests: AtomicU64,
    google_token_requests: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Providers {
    /// Answers the request when its path belongs to a stand-in; `None` otherwise.
    pub fn handle(&self, state: &State, method: &Method, request: &mut Request) -> Option<Reply> {
        let path = http::path(request).to_string();
        let tenant_token = format!("/{TENANT}/oauth2/v2.0/token");
        let tenant_metadata = format!("/{TENANT}/v2.0/.well-known/openid-configuration");
        let tenant_keys = format!("/{TENANT}/discovery/v2.0/keys");
        let get = |reply: fn(&Self, &State, &Request) -> Reply, request: &Request| match method {
            Method::Get => reply(self, state, request),
            _ => not_allowed("GET"),
        };
        let reply = match path.as_str() {
            p if p == tenant_token => match method {
                Method::Post => {
                    self.entra_token_requests.fetch_add(1, Ordering::SeqCst);
                    self.entra.token(self, state, request)
                }
                other => self.entra.only_post(other.as_str()),
            },
            p if p == tenant_metadata => get(|s, _, _| s.entra.metadata(), request),
            p if p == tenant_keys => get(|s, _, _| s.entra.jwks(), request),
            "/federation/.well-known/openid-configuration" => get(|s, _, _| s.federation.metadata(), request),
            "/federation/jwks" => get(|s, _, _| s.federation.jwks(), request),
            "/_dev/federated-token" => get(|s, _, r| s.federation.mint(r.url()), request),
            "/_dev/last-assertion" => get(|s, _, _| s.last_assertion(), request),
            "/google/token" => match method {
                Method::Post => {
                    self.google_token_requests.fetch_add(1, Ordering::SeqCst);
                    self.google.token(self, state, request)
                }
                _ => not_allowed("POST"),
            },
            // Another tenant's token endpoint: Entra's answer for a tenant it does not know.
            p if p.ends_with("/oauth2/v2.0/token") && p.matches('/').count() == 4 => {
                let other = p.split('/').nth(1).unwrap_or_default();
                self.entra.unknown_tenant(other)
            }
            _ => return None,
        };
        Some(reply)
    }

    /// Records the assertion of a token request for /_dev/last-assertion: its decoded header
    /// and claims (never the signature) and the names of the form parameters.
    fn record_assertion(&self, endpoint: &str, assertion: &str, form: &[(String, String)]) {
        let decoded = jwt::Jwt::parse(assertion);
        let mut names = Map::new();
        for (name, value) in form {
            let shown = match name.as_str() {
                "client_secret" | "client_assertion" | "assertion" => Value::from("[present]"),
                _ => Value::from(value.as_str()),
            };
            names.insert(name.clone(), shown);
        }
        let record = json!({
            "endpoint": endpoint,
            "header": decoded.as_ref().map_or(Value::Null, |j| Value::Object(j.header.clone())),
            "claims": decoded.as_ref().map_or(Value::Null, |j| Value::Object(j.claims.clone())),
            "form": names,
        });
        *lock(&self.last_assertion) = Some(record);
    }

    /// Adds the stand-ins' counters to the /_dev/stats snapshot.
    pub fn add_stats(&self, stats: &mut Value) {
        stats["entra_token_requests"] = Value::from(self.entra_token_requests.load(Ordering::SeqCst));
        stats["google_token_requests"] = Value::from(self.google_token_requests.load(Ordering::SeqCst));
    }

    /// /_dev/reset: zeroes the counters and forgets the last assertion. Used `jti`s stay used.
    pub fn reset(&self) {
        self.entra_token_requests.store(0, Ordering::SeqCst);
        self.google_token_requests.store(0, Ordering::SeqCst);
        *lock(&self.last_assertion) = None;
    }

    fn last_assertion(&self) -> Reply {
        match lock(&self.last_assertion).clone() {
            Some(record) => http::json(200, &record),
            None => http::json(
                404,
                &json!({"error": "no_assertion", "error_description": "no assertion has reached a stand-in yet"}),
            ),
        }
    }
}

fn not_allowed(allow: &str) -> Reply {
    with_header(http::json(405, &json!({"error": "method_not_allowed"})), "Allow", allow)
}

/// The query parameters of a request URL.
fn query(url: &str) -> HashMap<String, String> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

/// Reads a form body; `Err` carries the stand-in's own answer for an unreadable one.
fn read_form(request: &mut Request) -> Result<Vec<(String, String)>, Reply> {
    http::read_body(request).map(|body| http::parse_form(&body))
}

fn first<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}
