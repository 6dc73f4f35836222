//! The protected resource (GET /resource) and token introspection (POST /introspect, RFC 7662-like).

use std::time::Instant;

use serde_json::{Map, Value, json};
use tiny_http::Request;

use crate::http::{self, Reply, request_header, with_header};
use crate::state::{State, Stats};

const REALM: &str = r#"Bearer realm="cctoken-dev-server""#;

pub fn resource(state: &State, request: &Request) -> Reply {
    Stats::bump(&state.stats.resource_requests);
    let token = request_header(request, "Authorization")
        .and_then(|value| value.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let Some(token) = token else {
        // RFC 6750 section 3.1: no error attribute when the request carried no token.
        return with_header(http::json(401, &json!({"ok": false})), "WWW-Authenticate", REALM);
    };
    match state.token(token).filter(|t| t.is_active(Instant::now())) {
        Some(issued) => http::json(200, &json!({"ok": true, "client_id": issued.client_id, "scope": issued.scope})),
        None => {
            let challenge = format!(r#"{REALM}, error="invalid_token""#);
            with_header(
                http::json(401, &json!({"ok": false, "error": "invalid_token"})),
                "WWW-Authenticate",
                &challenge,
            )
        }
    }
}

pub fn introspect(state: &State, request: &mut Request) -> Reply {
    let body = match http::read_body(request) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let form = http::parse_form(&body);
    let Some(token) = form.iter().find(|(k, _)| k == "token").map(|(_, v)| v) else {
        return http::oauth_error(400, "invalid_request", "token is missing");
    };
    let Some(issued) = state.token(token).filter(|t| t.is_active(Instant::now())) else {
        return http::json(200, &json!({"active": false}));
    };
    let mut answer = Map::new();
    answer.insert("active".into(), Value::Bool(true));
    answer.insert("client_id".into(), Value::from(issued.client_id));
    answer.insert("token_type".into(), Value::from("Bearer"));
    if let Some(scope) = issued.scope {
        answer.insert("scope".into(), Value::from(scope));
    }
    if let Some(sha256) = issued.cert_sha256 {
        answer.insert("cnf".into(), json!({"x5t#S256": sha256}));
    }
    // RFC 7662 allows `aud` as a string or an array; a single audience stays a string.
    match issued.audience.len() {
        0 => {}
        1 => {
            answer.insert("aud".into(), Value::from(issued.audience[0].clone()));
        }
        _ => {
            answer.insert("aud".into(), Value::from(issued.audience));
        }
    }
    answer.insert("resource".into(), Value::from(issued.resources));
    if let Some(exp) = issued.exp_unix {
        answer.insert("exp".into(), Value::from(exp));
    }
    http::json(200, &answer)
}
