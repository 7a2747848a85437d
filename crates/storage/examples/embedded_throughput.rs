//! Measures durable write throughput of the embedded backend with 1 and with many concurrent
//! writers, and read and list latency. Run:
//! `cargo run --release -p warden-storage --example embedded_throughput [parent-dir]`
//! (the store lives in a temporary directory under `parent-dir`, default `.`, so pick a
//! directory on the disk to be measured).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::task::JoinSet;
use warden_storage::embedded::EmbeddedBackend;
use warden_storage::{Backend, Entry};

const RUN: Duration = Duration::from_secs(2);

/// Single durable puts per second with `writers` concurrent writers, and the commits used.
async fn writes_per_second(
    backend: &Arc<EmbeddedBackend>,
    writers: usize,
) -> anyhow::Result<(f64, u64)> {
    let commits_before = backend.commit_count();
    let deadline = Instant::now() + RUN;
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for w in 0..writers {
        let backend = Arc::clone(backend);
        tasks.spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                let key = format!("bench/{writers}/{w}/{done}");
                backend.put(Entry::new(key, vec![7u8; 256])).await?;
                done += 1;
            }
            anyhow::Ok(done)
        });
    }
    let mut total = 0;
    for done in tasks.join_all().await {
        total += done?;
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    Ok((rate, backend.commit_count() - commits_before))
}

async fn get_latency(backend: &EmbeddedBackend) -> anyhow::Result<Duration> {
    let reads = 20_000;
    let started = Instant::now();
    for i in 0..reads {
        let key = format!("bench/1/0/{}", i % 100);
        backend.get(&key).await?.context("benchmark key missing")?;
    }
    Ok(started.elapsed() / reads)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let parent = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let tmp = tempfile::tempdir_in(&parent).with_context(|| format!("tempdir in {parent}"))?;
    let backend = Arc::new(EmbeddedBackend::open(tmp.path())?);
    for writers in [1, 4, 16, 64, 256] {
        let (rate, commits) = writes_per_second(&backend, writers).await?;
        let per_commit = rate * RUN.as_secs_f64() / commits.max(1) as f64;
        println!("{writers:>4} writers: {rate:>7.0} durable puts/s, {per_commit:>6.1} per commit");
    }

    println!("get latency, idle: {:?}", get_latency(&backend).await?);
    let load = {
        let backend = Arc::clone(&backend);
        tokio::spawn(async move { writes_per_second(&backend, 64).await })
    };
    println!(
        "get latency, during 64 writers: {:?}",
        get_latency(&backend).await?
    );
    load.await??;

    for prefix in ["bench/64/", "bench/64/0/", "bench/1/0/"] {
        let names = backend.list(prefix).await?.len();
        let started = Instant::now();
        for _ in 0..100 {
            backend.list(prefix).await?;
        }
        println!(
            "list {prefix} ({names} names): {:?}",
            started.elapsed() / 100
        );
    }
    Ok(())
}
