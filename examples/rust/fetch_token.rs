//! Fetches a token, calls a protected resource with it, shows a cache hit and a refresh.
//!
//! Run against the dev server (`make demo` does this for you):
//!   CCTOKEN_TOKEN_URL=http://127.0.0.1:PORT/token CCTOKEN_CLIENT_ID=demo-client \
//!   CCTOKEN_CLIENT_SECRET=demo-secret CCTOKEN_RESOURCE_URL=http://127.0.0.1:PORT/resource \
//!   cargo run --example fetch_token

use std::time::{Duration, Instant};

fn env(name: &str) -> Result<String, Box<dyn std::error::Error>> {
    std::env::var(name).map_err(|_| format!("set {name}").into())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = cctoken::Client::builder()
        .token_url(env("CCTOKEN_TOKEN_URL")?)
        .client_id(env("CCTOKEN_CLIENT_ID")?)
        .client_secret(cctoken::Secret::from_env("CCTOKEN_CLIENT_SECRET")?)
        .scopes(["read"])
        .build()?;
    let resource = env("CCTOKEN_RESOURCE_URL")?;
    let http = ureq::Agent::new_with_defaults();

    // 1. The first call fetches a token; the resource server accepts it.
    let token = client.token()?;
    let answer = http.get(&resource).header("Authorization", token.authorization_header()).call()?;
    println!(
        "rust: fetched a {} token, valid for {}s; resource answered {}",
        token.token_type(),
        token.expires_in().as_secs(),
        answer.status()
    );

    // 2. The next calls are cache hits: same token, no request.
    for _ in 0..1000 {
        assert_eq!(client.token()?.access_token(), token.access_token());
    }

    // 3. Short-lived tokens (the demo server issues them) are refreshed ahead of expiry while
    //    callers keep being served.
    let give_up = Instant::now() + token.expires_in() + Duration::from_secs(5);
    while client.token()?.access_token() == token.access_token() && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(100));
    }
    let refreshed = client.token()?;
    let m = client.metrics();
    println!(
        "rust: token fetches={} cache hits={} misses={} refreshed={}",
        m.fetches,
        m.hits,
        m.misses,
        refreshed.access_token() != token.access_token()
    );
    Ok(())
}
