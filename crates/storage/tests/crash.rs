//! A real crash test: a child process writes to an embedded store with many concurrent
//! writers and reports every acknowledged write on stdout; the parent SIGKILLs it mid-flight,
//! reopens the store and checks that every acknowledged write is there with its exact value
//! (and every acknowledged delete took effect). Repeated over several rounds on the same store,
//! so each round also recovers from the previous crash.
//!
//! The child is this test binary re-invoked on the ignored test `crash_child`, which works the
//! same under `cargo test` and `cargo nextest` (both run one libtest binary per test target).
#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns: a failed unwrap is a failed test"
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::task::JoinSet;
use warden_storage::embedded::EmbeddedBackend;
use warden_storage::{Backend, Entry, TxnOp};

const DIR_ENV: &str = "WARDEN_STORAGE_CRASH_DIR";
const ROUND_ENV: &str = "WARDEN_STORAGE_CRASH_ROUND";
const ROUNDS: u32 = 5;
const WRITERS: usize = 32;

/// The value written under `key`: derived from the key, 64 bytes to ~6 KiB (multi-page).
fn value_for(key: &str) -> Vec<u8> {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let len = 64 + (hash % 6000) as usize;
    let unit = format!("{key}|");
    let mut value = unit.repeat(len / unit.len() + 1).into_bytes();
    value.truncate(len);
    value
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
#[ignore = "child process of sigkill_keeps_every_acknowledged_write"]
fn crash_child() {
    let Some(dir) = std::env::var_os(DIR_ENV) else {
        return; // run directly (e.g. --include-ignored): nothing to do
    };
    let round: u32 = std::env::var(ROUND_ENV).unwrap().parse().unwrap();
    runtime().block_on(async move {
        let backend = Arc::new(EmbeddedBackend::open(PathBuf::from(dir)).unwrap());
        let mut writers = JoinSet::new();
        for w in 0..WRITERS {
            let backend = backend.clone();
            writers.spawn(async move {
                for i in 0u64.. {
                    let key = format!("r{round}/w{w:02}/{i:06}");
                    if i % 10 == 9 {
                        // A transaction: two puts and a delete of this writer's previous key.
                        let (a, b) = (format!("{key}-a"), format!("{key}-b"));
                        let previous = format!("r{round}/w{w:02}/{:06}", i - 1);
                        let ops = vec![
                            TxnOp::Put(Entry::new(a.clone(), value_for(&a))),
                            TxnOp::Delete(previous.clone()),
                            TxnOp::Put(Entry::new(b.clone(), value_for(&b))),
                        ];
                        // Until acknowledged, the delete may or may not land.
                        report(&[("MAYDEL", &previous)]);
                        backend.transaction(ops).await.unwrap();
                        report(&[("ACK", &a), ("DEL", &previous), ("ACK", &b)]);
                    } else {
                        backend
                            .put(Entry::new(key.clone(), value_for(&key)))
                            .await
                            .unwrap();
                        report(&[("ACK", &key)]);
                    }
                }
            });
        }
        // Safety net should the parent never kill us.
        tokio::time::sleep(Duration::from_secs(30)).await;
        panic!("crash child was not killed within 30 s");
    });
}

/// Writes acknowledgement lines in one locked, flushed write.
fn report(lines: &[(&str, &str)]) {
    let mut text = String::new();
    for (tag, key) in lines {
        text.push_str(&format!("{tag} {key}\n"));
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).unwrap();
    stdout.flush().unwrap();
}

/// What the parent knows of a key after a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// An acknowledged put: present with its value.
    Present,
    /// An acknowledged delete: absent.
    Absent,
    /// An acknowledged put followed by a delete that was in flight at the kill.
    Either,
}

/// Runs one child until `kill_after` acknowledgements, SIGKILLs it, and records what every
/// acknowledged write implies into `expected`.
fn crash_round(dir: &Path, round: u32, kill_after: usize, expected: &mut BTreeMap<String, Expect>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child",
            "--nocapture",
            "--ignored",
            "--test-threads=1",
        ])
        .env(DIR_ENV, dir)
        .env(ROUND_ENV, round.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (mut acks, mut killed) = (0, false);
    let mut line = String::new();
    loop {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        // A line cut short by the kill was never fully reported: ignore it.
        let Some(line) = line.strip_suffix('\n') else {
            break;
        };
        if let Some(key) = line.strip_prefix("ACK ") {
            expected.insert(key.to_owned(), Expect::Present);
            acks += 1;
        } else if let Some(key) = line.strip_prefix("MAYDEL ") {
            expected.insert(key.to_owned(), Expect::Either);
        } else if let Some(key) = line.strip_prefix("DEL ") {
            expected.insert(key.to_owned(), Expect::Absent);
        }
        if !killed && acks >= kill_after {
            child.kill().unwrap(); // SIGKILL on Unix
            killed = true;
        }
    }
    let status = child.wait().unwrap();
    assert!(
        killed,
        "round {round}: child ended before the kill, after {acks} acks: {status}"
    );
    assert_eq!(
        status.signal(),
        Some(9),
        "round {round}: child must die by SIGKILL: {status}"
    );
}

async fn verify(backend: &EmbeddedBackend, expected: &mut BTreeMap<String, Expect>, round: u32) {
    for (key, expect) in expected.iter_mut() {
        let got = backend.get(key).await.unwrap();
        match (*expect, got) {
            (Expect::Present | Expect::Either, Some(entry)) => {
                assert!(
                    entry.value == value_for(key),
                    "round {round}: {key} has a wrong value"
                );
                *expect = Expect::Present; // settled: no later round deletes it
            }
            (Expect::Present, None) => panic!("round {round}: acknowledged {key} is lost"),
            (Expect::Absent, Some(_)) => {
                panic!("round {round}: acknowledged delete of {key} was undone")
            }
            (Expect::Absent | Expect::Either, None) => *expect = Expect::Absent,
        }
    }
    // Whatever else made it to disk (in flight at the kill) must be intact too.
    for r in 0..=round {
        for writer in backend.list(&format!("r{r}/")).await.unwrap() {
            for name in backend.list(&format!("r{r}/{writer}")).await.unwrap() {
                let key = format!("r{r}/{writer}{name}");
                if expected.contains_key(&key) {
                    continue; // checked above
                }
                let entry = backend.get(&key).await.unwrap().unwrap();
                assert!(entry.value == value_for(&key), "{key} is torn");
            }
        }
    }
}

#[test]
fn sigkill_keeps_every_acknowledged_write() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let jitter = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let mut expected = BTreeMap::new();
    for round in 0..ROUNDS {
        // Vary the kill point between rounds and between runs.
        let kill_after =
            500 + round as usize * 700 + (jitter as usize / (round as usize + 1)) % 700;
        crash_round(dir.path(), round, kill_after, &mut expected);
        let backend = EmbeddedBackend::open(dir.path()).unwrap();
        runtime().block_on(verify(&backend, &mut expected, round));
        eprintln!(
            "round {round}: killed after {kill_after}+ acks; {} acknowledged keys verified ({:?})",
            expected
                .values()
                .filter(|expect| **expect == Expect::Present)
                .count(),
            started.elapsed()
        );
    }
}
