//! P1 (cache hit, one thread) for the Rust API, with criterion. `benches/run.py` reads the
//! per-sample times criterion writes (`$CRITERION_HOME/p1_hit/*/new/sample.json`).

use std::hint::black_box;
use std::time::Duration;

use cctoken_bench::Server;
use criterion::{Criterion, criterion_group, criterion_main};

fn hits(c: &mut Criterion) {
    let server = Server::from_env();
    let mut group = c.benchmark_group("p1_hit");

    let client = server.cctoken();
    client.token().expect("first token");
    group.bench_function("cctoken", |b| b.iter(|| black_box(client.token().expect("cache hit"))));

    let peer = server.oauth2(Duration::from_secs(10));
    peer.token();
    group.bench_function("oauth2", |b| b.iter(|| black_box(peer.token())));

    group.finish();
}

criterion_group!(benches, hits);
criterion_main!(benches);
