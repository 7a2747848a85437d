//! Explainable denials, the core's half: a bounded in-memory store of the [`Denial`]s auth
//! methods record on refused logins, keyed by request id and by mount, read by the sudo
//! endpoints `sys/internal/auth-explain/…` (see `sys/explain.rs`).
//!
//! The core gives each login request a [`RequestSink`] bound to its request id and mount;
//! the auth method records through [`warden_logical::Request::record_denial`]. Each record
//! is also logged at debug level (`auth.<type>.<accessor>: login denied: …`), so the
//! operational log carries the cause too.
//!
//! Bounds: the newest [`CAPACITY`] records, none older than [`MAX_AGE`]. With a thousand
//! records a linear scan is cheaper than keeping indexes in step, so lookups by request id
//! or mount scan newest first.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use warden_logical::{Denial, DenialSink, Map, Request};

use crate::mount::MountEntry;

/// How many denials are kept.
pub(crate) const CAPACITY: usize = 1000;
/// How long a denial is kept.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// One recorded denial with the request it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) request_id: String,
    pub(crate) time: SystemTime,
    /// `auth/kubernetes/`.
    pub(crate) mount_path: String,
    pub(crate) mount_type: String,
    pub(crate) mount_accessor: String,
    pub(crate) remote_address: String,
    pub(crate) denial: Denial,
}

impl Record {
    /// The record as the endpoints return it.
    pub(crate) fn to_json(&self) -> Value {
        let time = time::OffsetDateTime::from(self.time)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let d = &self.denial;
        json!({
            "request_id": self.request_id,
            "time": time,
            "mount_path": self.mount_path,
            "mount_type": self.mount_type,
            "mount_accessor": self.mount_accessor,
            "remote_address": self.remote_address,
            "role": d.role,
            "check": d.check,
            "message": d.message,
            "expected": d.expected,
            "seen": d.seen,
            "remedy": d.remedy,
            "detail": d.detail,
        })
    }

    /// Whether `mount` names this record's mount: `kubernetes`, `auth/kubernetes/`, or the
    /// accessor.
    fn is_mount(&self, mount: &str) -> bool {
        let normalize = |m: &str| m.trim_matches('/').trim_start_matches("auth/").to_owned();
        mount == self.mount_accessor || normalize(mount) == normalize(&self.mount_path)
    }
}

/// The bounded store.
#[derive(Debug, Default)]
pub(crate) struct DenialStore {
    records: Mutex<VecDeque<Arc<Record>>>,
}

impl DenialStore {
    /// A sink for one login request on the mount `entry`.
    pub(crate) fn sink(self: &Arc<Self>, req: &Request, entry: &MountEntry) -> Arc<RequestSink> {
        Arc::new(RequestSink {
            recorded: AtomicBool::new(false),
            store: Arc::clone(self),
            request_id: req.id.clone(),
            mount_path: entry.route_path(),
            mount_type: entry.mount_type.clone(),
            mount_accessor: entry.accessor.clone(),
            remote_address: req
                .connection
                .as_ref()
                .map(|c| c.remote_addr.to_string())
                .unwrap_or_default(),
        })
    }

    fn push(&self, record: Record) {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        prune(&mut records, record.time);
        records.push_back(Arc::new(record));
        while records.len() > CAPACITY {
            records.pop_front();
        }
    }

    fn live(&self) -> Vec<Arc<Record>> {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        prune(&mut records, SystemTime::now());
        records.iter().rev().cloned().collect()
    }

    /// The denials of one request, in the order they were recorded.
    pub(crate) fn by_request(&self, request_id: &str) -> Vec<Arc<Record>> {
        let mut found: Vec<Arc<Record>> = self
            .live()
            .into_iter()
            .filter(|r| r.request_id == request_id)
            .collect();
        found.reverse();
        found
    }

    /// The newest denials, newest first, of one mount (or of all when `mount` is `None`).
    pub(crate) fn latest(&self, mount: Option<&str>, limit: usize) -> Vec<Arc<Record>> {
        self.live()
            .into_iter()
            .filter(|r| mount.is_none_or(|m| r.is_mount(m)))
            .take(limit)
            .collect()
    }
}

fn prune(records: &mut VecDeque<Arc<Record>>, now: SystemTime) {
    while records
        .front()
        .is_some_and(|r| now.duration_since(r.time).is_ok_and(|age| age > MAX_AGE))
    {
        records.pop_front();
    }
}

/// The sink of one login request.
#[derive(Debug)]
pub(crate) struct RequestSink {
    /// Whether the auth method recorded a denial (the login's outcome is then `denied`).
    recorded: AtomicBool,
    store: Arc<DenialStore>,
    request_id: String,
    mount_path: String,
    mount_type: String,
    mount_accessor: String,
    remote_address: String,
}

impl DenialSink for RequestSink {
    fn record(&self, mut denial: Denial) {
        self.recorded.store(true, Ordering::Relaxed);
        metrics::counter!(
            "warden_login_denials_total",
            "mount" => self.mount_path.clone(),
            "mount_type" => self.mount_type.clone(),
            "cause" => denial.check,
        )
        .increment(1);
        scrub_denial(&mut denial);
        tracing::debug!(
            request_id = %self.request_id,
            check = denial.check,
            "auth.{}.{}: login denied: {}: {}",
            self.mount_type,
            self.mount_accessor,
            denial.check,
            if denial.detail.is_empty() { &denial.message } else { &denial.detail },
        );
        self.store.push(Record {
            request_id: self.request_id.clone(),
            time: SystemTime::now(),
            mount_path: self.mount_path.clone(),
            mount_type: self.mount_type.clone(),
            mount_accessor: self.mount_accessor.clone(),
            remote_address: self.remote_address.clone(),
            denial,
        });
    }
}

/// Counts one login attempt in `warden_logins_total` when dropped: `success` once
/// [`LoginWatch::succeeded`] was called, `denied` if the auth method recorded a denial,
/// else `failed` (bad input, an internal error, or a request cut short).
#[derive(Debug)]
pub(crate) struct LoginWatch {
    sink: Arc<RequestSink>,
    success: bool,
}

impl LoginWatch {
    pub(crate) fn new(sink: Arc<RequestSink>) -> Self {
        Self {
            sink,
            success: false,
        }
    }

    pub(crate) fn succeeded(&mut self) {
        self.success = true;
    }
}

impl Drop for LoginWatch {
    fn drop(&mut self) {
        let outcome = if self.success {
            "success"
        } else if self.sink.recorded.load(Ordering::Relaxed) {
            "denied"
        } else {
            "failed"
        };
        metrics::counter!(
            "warden_logins_total",
            "mount" => self.sink.mount_path.clone(),
            "mount_type" => self.sink.mount_type.clone(),
            "outcome" => outcome,
        )
        .increment(1);
    }
}

/// Second line of defence: anything shaped like a compact JWS (`eyJ….….…`) is redacted.
fn scrub_denial(denial: &mut Denial) {
    for text in [
        &mut denial.message,
        &mut denial.remedy,
        &mut denial.detail,
        &mut denial.role,
    ] {
        *text = scrub_text(text);
    }
    for map in [&mut denial.expected, &mut denial.seen] {
        scrub_map(map);
    }
}

fn scrub_map(map: &mut Map) {
    for value in map.values_mut() {
        scrub_value(value);
    }
}

fn scrub_value(value: &mut Value) {
    match value {
        Value::String(text) => *text = scrub_text(text),
        Value::Array(items) => items.iter_mut().for_each(scrub_value),
        Value::Object(map) => scrub_map(map),
        _ => {}
    }
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=')
}

/// Replaces each run of base64url text that starts with `eyJ` and holds a `.` by
/// `[redacted]`.
pub(crate) fn scrub_text(text: &str) -> String {
    if !text.contains("eyJ") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("eyJ") {
        out.push_str(&rest[..at]);
        let run = &rest[at..];
        let end = run.find(|c: char| !is_token_char(c)).unwrap_or(run.len());
        if run[..end].contains('.') {
            out.push_str("[redacted]");
        } else {
            out.push_str(&run[..end]);
        }
        rest = &run[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, mount: &str, age: Duration) -> Record {
        Record {
            request_id: id.into(),
            time: SystemTime::now() - age,
            mount_path: format!("auth/{mount}/"),
            mount_type: "kubernetes".into(),
            mount_accessor: format!("auth_{mount}_1234"),
            remote_address: String::new(),
            denial: Denial::new("audience_mismatch", "invalid audience"),
        }
    }

    #[test]
    fn store_is_bounded_by_count_and_age_and_filters_by_mount() {
        let store = DenialStore::default();
        store.push(record(
            "old",
            "kubernetes",
            MAX_AGE + Duration::from_secs(5),
        ));
        for i in 0..CAPACITY + 10 {
            store.push(record(
                &format!("r{i}"),
                if i % 2 == 0 { "kubernetes" } else { "jwt" },
                Duration::ZERO,
            ));
        }
        assert!(store.by_request("old").is_empty(), "expired");
        assert!(store.by_request("r0").is_empty(), "evicted by count");
        assert_eq!(store.by_request("r1009").len(), 1);
        let latest = store.latest(Some("kubernetes"), 3);
        let ids: Vec<&str> = latest.iter().map(|r| r.request_id.as_str()).collect();
        assert_eq!(ids, ["r1008", "r1006", "r1004"]);
        assert_eq!(store.latest(Some("auth/jwt/"), 1)[0].request_id, "r1009");
        assert_eq!(
            store.latest(Some("auth_jwt_1234"), 1)[0].request_id,
            "r1009"
        );
        assert_eq!(store.latest(None, 5000).len(), CAPACITY);
    }

    #[test]
    fn jws_shaped_text_is_redacted() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
        assert_eq!(
            scrub_text(&format!("bad token {jwt}, really")),
            "bad token [redacted], really"
        );
        assert_eq!(scrub_text("eyJ alone"), "eyJ alone");
        let mut denial = Denial::new("x", "m")
            .seen("token", jwt)
            .seen("list", json!([jwt]));
        scrub_denial(&mut denial);
        assert_eq!(denial.seen["token"], "[redacted]");
        assert_eq!(denial.seen["list"][0], "[redacted]");
    }
}
