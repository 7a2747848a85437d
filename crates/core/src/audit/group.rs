//! Group writing for file devices: concurrent requests queue their entry lines and one
//! writer task appends everything queued with a single checked `write`, then tells each
//! request how it went. A request still waits until its own line is in the file (audit
//! stays fail-closed and ordered: a request's entry is written before its backend runs),
//! but under load one `stat` + `write` serves many entries instead of two syscalls each.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Notify, oneshot};

use super::file::Sink;

/// One queued line and where its outcome goes.
#[derive(Debug)]
struct Pending {
    line: Vec<u8>,
    done: oneshot::Sender<Result<(), String>>,
}

#[derive(Debug)]
struct Shared {
    sink: Sink,
    queue: Mutex<Vec<Pending>>,
    wake: Notify,
    closed: AtomicBool,
}

/// A device's writer: files are written by a group-writing task, standard output and
/// `discard` directly.
#[derive(Debug)]
pub(crate) struct GroupWriter {
    shared: Arc<Shared>,
    grouped: bool,
}

impl GroupWriter {
    /// Wraps `sink`; for a file, starts the writer task on the current runtime.
    pub(crate) fn start(sink: Sink) -> Self {
        let grouped = sink.is_file();
        let shared = Arc::new(Shared {
            sink,
            queue: Mutex::new(Vec::new()),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
        });
        if grouped {
            tokio::spawn(run(Arc::clone(&shared)));
        }
        Self { shared, grouped }
    }

    /// Appends one line; returns once it is written (or failed to be).
    pub(crate) async fn write(&self, line: Vec<u8>) -> Result<(), String> {
        if !self.grouped {
            return self.shared.sink.write(&line).map_err(|e| e.to_string());
        }
        let (done, outcome) = oneshot::channel();
        self.shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Pending { line, done });
        self.shared.wake.notify_one();
        outcome
            .await
            .unwrap_or_else(|_| Err("audit writer stopped".to_owned()))
    }

    /// Closes and reopens the file (SIGHUP).
    pub(crate) fn reopen(&self) -> io::Result<()> {
        self.shared.sink.reopen()
    }
}

impl Drop for GroupWriter {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }
}

/// The most buffer capacity kept between groups; a burst beyond it is freed afterwards.
const KEPT_BUFFER: usize = 1 << 20;

/// The writer task: each wake-up writes everything queued as one buffer. The buffer and the
/// batch vector are kept from group to group: a fresh 50–100 KiB buffer per group made the
/// allocator consolidate its free lists on every free.
async fn run(shared: Arc<Shared>) {
    let mut batch = Vec::new();
    let mut buffer = Vec::new();
    loop {
        shared.wake.notified().await;
        // The wake-up puts this task first in line (tokio's LIFO slot), which would write
        // each line alone; yielding lets the requests already runnable queue theirs first.
        tokio::task::yield_now().await;
        std::mem::swap(
            &mut batch,
            &mut *shared.queue.lock().unwrap_or_else(PoisonError::into_inner),
        );
        if !batch.is_empty() {
            buffer.clear();
            for pending in &batch {
                buffer.extend_from_slice(&pending.line);
            }
            let result = shared.sink.write(&buffer).map_err(|e| e.to_string());
            for pending in batch.drain(..) {
                let _ = pending.done.send(result.clone());
            }
            if buffer.capacity() > KEPT_BUFFER {
                buffer = Vec::new();
            }
        }
        let idle = shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty();
        if shared.closed.load(Ordering::Acquire) && idle {
            break;
        }
    }
}
