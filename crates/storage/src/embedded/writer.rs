//! The group-commit writer thread of the embedded backend.
//!
//! redb allows one write transaction at a time and each durable commit costs an fsync, so
//! committing every caller's write separately would cap throughput at one write per fsync.
//! Instead every write is queued to one dedicated thread. Each round it takes the oldest
//! queued request, drains whatever else is queued (bounded by [`MAX_GROUP_REQUESTS`] and
//! [`MAX_GROUP_BYTES`]), applies all of it in one write transaction, commits once with
//! [`Durability::Immediate`], and only then answers every waiter. Writers that arrive while a
//! commit is running form the next group, so under load each fsync carries many writes.
//!
//! Isolation between requests of one group: the async side validates every step of a request
//! (key rules, value size) before it is queued, so a request that would be rejected never
//! reaches the group. Should a step still fail while the group is being applied (an I/O or
//! page error inside redb), the group's transaction is aborted — nothing of it was committed —
//! and each request is then retried alone in its own transaction, so one request's failure is
//! never reported for, or applied partly with, another's. A failed *commit* is different: its
//! outcome on disk is uncertain and retrying could apply a write twice over a newer one, so
//! every waiter of that group gets the error.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};

use redb::{Database, Durability, Table, TableDefinition};
use tokio::sync::oneshot;

use super::{map_redb, same_error};
use crate::{Result, StorageError, TxnOp};

/// The one table holding every key.
pub(super) const TABLE: TableDefinition<'static, &'static str, &'static [u8]> =
    TableDefinition::new("warden");

/// At most this many requests share one commit (bounds the latency of the last waiter).
pub(super) const MAX_GROUP_REQUESTS: usize = 4096;

/// A group stops taking requests once it carries this many value bytes.
pub(super) const MAX_GROUP_BYTES: usize = 128 * 1024 * 1024;

/// The table type the writer applies steps to.
pub(super) type WarTable<'txn> = Table<'txn, &'static str, &'static [u8]>;

/// Applies one step to the table; replaced in tests to inject failures.
pub(super) type ApplyFn = fn(&mut WarTable<'_>, &TxnOp) -> Result<(), redb::StorageError>;

/// One caller's write: a single put or delete, or a whole transaction, all or nothing.
#[derive(Debug)]
pub(super) struct WriteRequest {
    /// The validated steps, applied in order.
    pub(super) ops: Vec<TxnOp>,
    /// Answered after the group's commit (or failure).
    pub(super) reply: oneshot::Sender<Result<()>>,
}

impl WriteRequest {
    fn bytes(&self) -> usize {
        self.ops
            .iter()
            .map(|op| match op {
                TxnOp::Put(entry) => entry.key.len() + entry.value.len(),
                TxnOp::Delete(key) => key.len(),
            })
            .sum()
    }
}

/// Counters shared between the writer thread and the backend handle.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) commits: AtomicU64,
    pub(super) requests: AtomicU64,
    pub(super) largest_group: AtomicU64,
}

/// The state owned by the writer thread.
pub(super) struct Writer {
    pub(super) db: Arc<Database>,
    pub(super) counters: Arc<Counters>,
    pub(super) apply: ApplyFn,
}

/// The real step: insert or remove in redb.
pub(super) fn apply_op(table: &mut WarTable<'_>, op: &TxnOp) -> Result<(), redb::StorageError> {
    match op {
        TxnOp::Put(entry) => {
            table.insert(entry.key.as_str(), entry.value.as_slice())?;
        }
        TxnOp::Delete(key) => {
            table.remove(key.as_str())?;
        }
    }
    Ok(())
}

/// Where a group failed.
enum Failure {
    /// Before the commit: nothing of the group is on disk; its requests may be retried alone.
    Apply(StorageError),
    /// In the commit: the outcome is uncertain; no retry.
    Commit(StorageError),
}

impl Writer {
    /// Runs until every sender of the channel is dropped, then returns (ending the thread).
    pub(super) fn run(self, rx: &Receiver<WriteRequest>) {
        let mut group = Vec::new();
        while let Ok(first) = rx.recv() {
            let mut bytes = first.bytes();
            group.push(first);
            while group.len() < MAX_GROUP_REQUESTS && bytes < MAX_GROUP_BYTES {
                match rx.try_recv() {
                    Ok(request) => {
                        bytes += request.bytes();
                        group.push(request);
                    }
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            self.commit_group(&mut group);
        }
        tracing::debug!("embedded storage writer stopped: all handles dropped");
    }

    /// Commits `group` (emptying it) and answers every waiter.
    pub(super) fn commit_group(&self, group: &mut Vec<WriteRequest>) {
        match self.commit(group.iter().map(|request| request.ops.as_slice())) {
            Ok(()) => self.acknowledge(group.drain(..)),
            Err(Failure::Apply(err)) if group.len() > 1 => {
                tracing::warn!(
                    error = %err,
                    requests = group.len(),
                    "embedded storage group failed before commit; retrying its writes one by one"
                );
                for request in group.drain(..) {
                    match self.commit(std::iter::once(request.ops.as_slice())) {
                        Ok(()) => self.acknowledge(std::iter::once(request)),
                        Err(Failure::Apply(err) | Failure::Commit(err)) => {
                            let _ = request.reply.send(Err(err));
                        }
                    }
                }
            }
            Err(Failure::Apply(err) | Failure::Commit(err)) => {
                tracing::error!(error = %err, requests = group.len(), "embedded storage write failed");
                for request in group.drain(..) {
                    // A waiter that gave up (dropped its future) has nobody to tell.
                    let _ = request.reply.send(Err(same_error(&err)));
                }
            }
        }
    }

    fn acknowledge(&self, requests: impl ExactSizeIterator<Item = WriteRequest>) {
        let count = requests.len() as u64;
        self.counters.commits.fetch_add(1, Ordering::Relaxed);
        self.counters.requests.fetch_add(count, Ordering::Relaxed);
        self.counters
            .largest_group
            .fetch_max(count, Ordering::Relaxed);
        for request in requests {
            let _ = request.reply.send(Ok(()));
        }
    }

    /// Applies the requests in order in one write transaction and commits it durably.
    fn commit<'a>(&self, requests: impl Iterator<Item = &'a [TxnOp]>) -> Result<(), Failure> {
        let apply_err = |err: redb::Error| Failure::Apply(map_redb(err));
        let mut txn = self.db.begin_write().map_err(|e| apply_err(e.into()))?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| apply_err(e.into()))?;
        {
            let mut table = txn.open_table(TABLE).map_err(|e| apply_err(e.into()))?;
            for ops in requests {
                for op in ops {
                    (self.apply)(&mut table, op).map_err(|e| apply_err(e.into()))?;
                }
            }
        }
        txn.commit()
            .map_err(|e| Failure::Commit(map_redb(e.into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::{EmbeddedBackend, KIND};
    use crate::{Backend, Entry};

    fn fail_on_poison(table: &mut WarTable<'_>, op: &TxnOp) -> Result<(), redb::StorageError> {
        if op.key().contains("poison") {
            return Err(redb::StorageError::Corrupted("injected failure".into()));
        }
        apply_op(table, op)
    }

    fn request(ops: Vec<TxnOp>) -> (WriteRequest, oneshot::Receiver<Result<()>>) {
        let (reply, rx) = oneshot::channel();
        (WriteRequest { ops, reply }, rx)
    }

    fn put(key: &str) -> TxnOp {
        TxnOp::Put(Entry::new(key, key.as_bytes()))
    }

    #[tokio::test]
    async fn a_failing_request_does_not_poison_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let backend = EmbeddedBackend::open(dir.path()).unwrap();
        let writer = Writer {
            db: Arc::clone(&backend.db),
            counters: Arc::new(Counters::default()),
            apply: fail_on_poison,
        };
        let (a, a_rx) = request(vec![put("a1"), put("a2")]);
        let (bad, bad_rx) = request(vec![put("b1"), put("poison"), put("b3")]);
        let (c, c_rx) = request(vec![put("c1"), TxnOp::Delete("a1".into())]);
        let mut group = vec![a, bad, c];
        writer.commit_group(&mut group);
        assert!(group.is_empty());

        a_rx.await.unwrap().unwrap();
        let err = bad_rx.await.unwrap().unwrap_err();
        assert!(matches!(err, StorageError::Corrupted { .. }), "{err}");
        c_rx.await.unwrap().unwrap();

        for (key, present) in [
            ("a1", false),
            ("a2", true),
            ("b1", false),
            ("b3", false),
            ("c1", true),
        ] {
            assert_eq!(backend.get(key).await.unwrap().is_some(), present, "{key}");
        }
        // The failed group committed nothing; the two good requests committed alone.
        assert_eq!(writer.counters.commits.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn a_lone_failing_request_reports_its_error() {
        let dir = tempfile::tempdir().unwrap();
        let backend = EmbeddedBackend::open(dir.path()).unwrap();
        let writer = Writer {
            db: Arc::clone(&backend.db),
            counters: Arc::new(Counters::default()),
            apply: fail_on_poison,
        };
        let (bad, bad_rx) = request(vec![put("x"), put("poison")]);
        writer.commit_group(&mut vec![bad]);
        assert!(bad_rx.await.unwrap().is_err());
        assert!(backend.get("x").await.unwrap().is_none());
        assert_eq!(KIND, backend.kind());
    }
}
