//! The embedded backend: one redb file on local disk, durable, with group commit.
//!
//! Durability: a write is acknowledged only after the redb transaction holding it committed
//! with [`redb::Durability::Immediate`] (redb's commit fsyncs the file), so an `Ok` survives
//! `kill -9` and power loss as far as the disk honours fsync. The directory entry of a newly
//! created file is fsynced too.
//!
//! Throughput: all writes go to one writer thread that commits whatever is queued in one
//! transaction and one fsync (see `writer`), so concurrent writers share fsyncs.
//! [`EmbeddedBackend::stats`] counts commits and the writes they carried.
//!
//! Reads each run in their own redb read transaction (a snapshot) and see every write
//! acknowledged before they started: point reads inline, listings (which may scan a large
//! folder) on tokio's blocking pool.

use std::fmt;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redb::{Database, ReadableDatabase};
use tokio::sync::oneshot;

use crate::{
    Backend, Entry, LevelLister, ListStep, MAX_VALUE_SIZE, Result, StorageError, TxnOp,
    check_entry, check_op, validate_key, validate_prefix,
};

mod writer;

use writer::{Counters, TABLE, WriteRequest, Writer};

const KIND: &str = "embedded";
/// How long dropping the backend waits for cancelled reads still holding the database.
const RELEASE_WAIT: Duration = Duration::from_secs(5);

/// The database file inside the directory given to [`EmbeddedBackend::open`].
pub const FILE_NAME: &str = "warden.redb";

/// The page cache redb may use, in bytes.
const CACHE_SIZE: usize = 256 * 1024 * 1024;

/// Commit statistics of an [`EmbeddedBackend`] since it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EmbeddedStats {
    /// Durable commits (one fsync each) that succeeded.
    pub commits: u64,
    /// Write requests (puts, deletes, transactions) those commits carried.
    pub writes: u64,
    /// The most write requests one commit carried.
    pub largest_group: u64,
}

/// Durable single-node storage in one redb file, with group commit.
///
/// Dropping the handle closes the write queue and waits for the writer thread to finish its
/// current group (at most one commit) and for reads still running, so the file can be
/// reopened right after the drop.
pub struct EmbeddedBackend {
    db: Arc<Database>,
    path: PathBuf,
    queue: Option<Sender<WriteRequest>>,
    writer: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl fmt::Debug for EmbeddedBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedBackend")
            .field("path", &self.path)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl EmbeddedBackend {
    /// Opens (creating if needed) the store in directory `dir`, in the file [`FILE_NAME`].
    ///
    /// This blocks: it may create directories, and after a crash redb repairs the file before
    /// returning. Call it before serving, or on a blocking thread. Fails with
    /// [`StorageError::Unavailable`] when the file is already open (by this or another
    /// process) or cannot be created, and [`StorageError::Corrupted`] when it cannot be read.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let dir_existed = dir.is_dir();
        fs::create_dir_all(dir).map_err(io_error)?;
        let path = dir.join(FILE_NAME);
        let file_existed = path.is_file();

        // redb's default page cache is 1 GiB; warden keeps its own hot state in memory, so a
        // smaller cache keeps the resident size bounded with millions of stored tokens.
        let db = Database::builder()
            .set_cache_size(CACHE_SIZE)
            .create(&path)
            .map_err(|e| map_redb(e.into()))?;
        // Create the table up front so readers never meet a missing table.
        let txn = db.begin_write().map_err(|e| map_redb(e.into()))?;
        txn.open_table(TABLE).map_err(|e| map_redb(e.into()))?;
        txn.commit().map_err(|e| map_redb(e.into()))?;

        // redb fsyncs the file; a new file also needs its directory entry made durable.
        if !file_existed {
            sync_dir(dir)?;
        }
        if !dir_existed && let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }

        let db = Arc::new(db);
        let counters = Arc::new(Counters::default());
        let (queue, rx) = mpsc::channel();
        let writer = Writer {
            db: Arc::clone(&db),
            counters: Arc::clone(&counters),
            apply: writer::apply_op,
        };
        let writer = thread::Builder::new()
            .name("warden-storage-writer".into())
            .spawn(move || writer.run(&rx))
            .map_err(io_error)?;
        tracing::debug!(path = %path.display(), "opened embedded storage");
        Ok(Self {
            db,
            path,
            queue: Some(queue),
            writer: Some(writer),
            counters,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Commit statistics since open.
    pub fn stats(&self) -> EmbeddedStats {
        EmbeddedStats {
            commits: self.counters.commits.load(Ordering::Relaxed),
            writes: self.counters.requests.load(Ordering::Relaxed),
            largest_group: self.counters.largest_group.load(Ordering::Relaxed),
        }
    }

    /// Durable commits since open (one fsync each); see [`EmbeddedBackend::stats`].
    pub fn commit_count(&self) -> u64 {
        self.stats().commits
    }

    /// Queues validated steps for the writer and waits for their commit.
    async fn submit(&self, ops: Vec<TxnOp>) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        let queue = self
            .queue
            .as_ref()
            .ok_or(StorageError::Closed { backend: KIND })?;
        queue
            .send(WriteRequest { ops, reply })
            .map_err(|_| StorageError::Closed { backend: KIND })?;
        // The writer drops the reply only if it died (panicked) with the request queued.
        answer
            .await
            .map_err(|_| StorageError::Closed { backend: KIND })?
    }

    fn get_now(&self, key: &str) -> Result<Option<Entry>, redb::Error> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(TABLE)?;
        let value = table.get(key)?.map(|guard| guard.value().to_vec());
        Ok(value.map(|value| Entry::new(key, value)))
    }

    /// Runs `read` on the blocking pool against a fresh read transaction's table.
    async fn read<T, F>(&self, read: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&redb::ReadOnlyTable<&'static str, &'static [u8]>) -> Result<T, redb::Error>,
        F: Send + 'static,
    {
        let db = Arc::clone(&self.db);
        let task = tokio::task::spawn_blocking(move || {
            let txn = db.begin_read()?;
            let table = txn.open_table(TABLE)?;
            read(&table)
        });
        match task.await {
            Ok(result) => result.map_err(map_redb),
            Err(join) => Err(StorageError::Unavailable {
                backend: KIND,
                cause: format!("read task failed: {join}").into(),
            }),
        }
    }
}

impl Drop for EmbeddedBackend {
    fn drop(&mut self) {
        // Closing the queue ends the writer's loop after its current group.
        drop(self.queue.take());
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!(path = %self.path.display(), "embedded storage writer had panicked");
        }
        // A list whose caller gave up still runs to its end on the blocking pool, holding
        // the database; wait (boundedly) for such reads, so the file can be reopened right
        // after the drop.
        let deadline = Instant::now() + RELEASE_WAIT;
        while Arc::strong_count(&self.db) > 1 && Instant::now() < deadline {
            #[expect(
                clippy::disallowed_methods,
                reason = "drop is synchronous and only runs at shutdown; like the writer join \
                          above it must block until the file is free"
            )]
            thread::sleep(Duration::from_millis(1));
        }
    }
}

#[async_trait]
impl Backend for EmbeddedBackend {
    async fn get(&self, key: &str) -> Result<Option<Entry>> {
        validate_key(key)?;
        // A point read runs inline: it descends a few B-tree pages, normally from redb's page
        // cache, in well under 10 µs (a cache miss costs one pread from the OS page cache), and
        // beginning a read transaction never waits for a commit's fsync. Handing it to the
        // blocking pool would cost ~30x more than the read itself.
        self.get_now(key).map_err(map_redb)
    }

    async fn put(&self, entry: Entry) -> Result<()> {
        check_entry(&entry, KIND, MAX_VALUE_SIZE)?;
        self.submit(vec![TxnOp::Put(entry)]).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        validate_key(key)?;
        self.submit(vec![TxnOp::Delete(key.to_owned())]).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        validate_prefix(prefix)?;
        let prefix = prefix.to_owned();
        self.read(move |table| {
            let mut lister = LevelLister::new(&prefix);
            let mut from = prefix.clone();
            'scan: loop {
                for item in table.range(from.as_str()..)? {
                    let (key, _) = item?;
                    match lister.offer(key.value()) {
                        ListStep::Next => {}
                        ListStep::Stop => break 'scan,
                        ListStep::SeekTo(bound) => {
                            from = bound;
                            continue 'scan;
                        }
                    }
                }
                break;
            }
            Ok(lister.finish())
        })
        .await
    }

    async fn transaction(&self, ops: Vec<TxnOp>) -> Result<()> {
        // Every step is checked before the request is queued, so an invalid transaction fails
        // whole, with nothing applied, and never joins (or disturbs) a commit group.
        for op in &ops {
            check_op(op, KIND, MAX_VALUE_SIZE)?;
        }
        if ops.is_empty() {
            return Ok(());
        }
        self.submit(ops).await
    }

    fn kind(&self) -> &'static str {
        KIND
    }
}

/// Maps a redb error to its meaning.
fn map_redb(err: redb::Error) -> StorageError {
    match err {
        redb::Error::Corrupted(detail) => StorageError::Corrupted {
            backend: KIND,
            detail,
        },
        redb::Error::DatabaseClosed => StorageError::Closed { backend: KIND },
        redb::Error::Io(err) => io_error(err),
        redb::Error::DatabaseAlreadyOpen => StorageError::Unavailable {
            backend: KIND,
            cause: "the database file is already open, by this or another process".into(),
        },
        redb::Error::PreviousIo => StorageError::Unavailable {
            backend: KIND,
            cause: "an earlier I/O error left the database unwritable; restart to recover".into(),
        },
        other => StorageError::Unavailable {
            backend: KIND,
            cause: Box::new(other),
        },
    }
}

/// A copy of `err` for another waiter of the same failed commit group.
fn same_error(err: &StorageError) -> StorageError {
    match err {
        StorageError::Closed { backend } => StorageError::Closed { backend },
        StorageError::Corrupted { backend, detail } => StorageError::Corrupted {
            backend,
            detail: detail.clone(),
        },
        StorageError::Unavailable { backend, cause } => StorageError::Unavailable {
            backend,
            cause: cause.to_string().into(),
        },
        StorageError::EntryTooLarge {
            backend,
            key,
            size,
            max,
        } => StorageError::EntryTooLarge {
            backend,
            key: key.clone(),
            size: *size,
            max: *max,
        },
        StorageError::InvalidKey { key, reason } => StorageError::InvalidKey {
            key: key.clone(),
            reason,
        },
    }
}

fn io_error(err: io::Error) -> StorageError {
    StorageError::Unavailable {
        backend: KIND,
        cause: Box::new(err),
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_creates_nested_directories_and_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        let backend = EmbeddedBackend::open(&dir).unwrap();
        assert_eq!(backend.path(), dir.join(FILE_NAME));
        assert!(backend.path().is_file());
        assert_eq!(backend.kind(), "embedded");
        assert!(format!("{backend:?}").contains("EmbeddedBackend"));
    }

    #[tokio::test]
    async fn a_second_open_of_the_same_file_is_unavailable() {
        let tmp = tempfile::tempdir().unwrap();
        let _first = EmbeddedBackend::open(tmp.path()).unwrap();
        let err = EmbeddedBackend::open(tmp.path()).unwrap_err();
        assert!(matches!(err, StorageError::Unavailable { .. }), "{err}");
        assert!(err.to_string().contains("already open"), "{err}");
    }

    #[tokio::test]
    async fn empty_transaction_commits_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let backend = EmbeddedBackend::open(tmp.path()).unwrap();
        backend.transaction(Vec::new()).await.unwrap();
        assert_eq!(backend.commit_count(), 0);
        backend.put(Entry::new("k", *b"v")).await.unwrap();
        assert_eq!(
            backend.stats(),
            EmbeddedStats {
                commits: 1,
                writes: 1,
                largest_group: 1
            }
        );
    }

    #[test]
    fn errors_keep_their_meaning_when_fanned_out() {
        let corrupted = map_redb(redb::Error::Corrupted("bad page".into()));
        assert!(
            matches!(same_error(&corrupted), StorageError::Corrupted { detail, .. } if detail == "bad page")
        );
        let io = map_redb(redb::Error::Io(io::Error::other("disk full")));
        let copy = same_error(&io);
        assert!(matches!(copy, StorageError::Unavailable { .. }));
        assert_eq!(
            copy.to_string(),
            "embedded storage is unavailable: disk full"
        );
    }
}
