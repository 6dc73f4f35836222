//! The /_dev control endpoints tests use to inspect and steer the server.

use std::sync::atomic::Ordering;

use serde_json::json;
use tiny_http::Request;

use crate::fault::Fault;
use crate::http::{self, Reply, request_header};
use crate::state::{Settings, State, Stats};

fn bad_request(description: &str) -> Reply {
    http::json(400, &json!({"error": "invalid_request", "error_description": description}))
}

pub fn revoke(state: &State) -> Reply {
    http::json(200, &json!({"revoked": state.revoke_all()}))
}

pub fn stats(state: &State) -> Reply {
    let mut snapshot = state.stats.snapshot();
    if let Some(providers) = &state.providers {
        providers.add_stats(&mut snapshot);
    }
    http::json(200, &snapshot)
}

pub fn last_token_request(state: &State) -> Reply {
    match state.last_token_request() {
        Some(record) => http::json(200, &record),
        None => http::json(404, &json!({"error": "no_token_request", "error_description": "no /token request yet"})),
    }
}

pub fn reset(state: &State) -> Reply {
    state.reset();
    http::json(200, &json!({"reset": true}))
}

pub fn get_settings(state: &State) -> Reply {
    http::json(200, &state.settings())
}

pub fn set_settings(state: &State, request: &mut Request) -> Reply {
    let body = match http::read_body(request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    match serde_json::from_slice::<Settings>(&body) {
        Ok(settings) => {
            state.set_settings(settings);
            get_settings(state)
        }
        Err(e) => bad_request(&format!("invalid settings: {e}")),
    }
}

pub fn push_fault(state: &State, request: &mut Request) -> Reply {
    let body = match http::read_body(request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    match Fault::from_json(&body) {
        Ok(fault) => http::json(200, &json!({"queued": state.push_fault(fault)})),
        Err(description) => bad_request(&description),
    }
}

pub fn clear_faults(state: &State) -> Reply {
    state.clear_faults();
    http::json(200, &json!({"queued": 0}))
}

/// Where the `redirect` fault points. It answers with a plausible token, so a client that wrongly
/// follows the redirect succeeds and the counters here give it away.
pub fn redirect_target(state: &State, request: &mut Request) -> Reply {
    Stats::bump(&state.stats.redirect_target_hits);
    let form = http::read_body(request).map(|body| http::parse_form(&body)).unwrap_or_default();
    let saw_credentials = request_header(request, "Authorization").is_some()
        || form.iter().any(|(k, _)| k == "client_secret" || k == "client_id");
    if saw_credentials {
        state.stats.redirect_target_saw_credentials.store(1, Ordering::SeqCst);
    }
    http::json(200, &json!({"access_token": "dev-redirected", "token_type": "Bearer", "expires_in": 3600}))
}
