//! Cheap profiling without perf: CPU time per thread group from `/proc/self/task/*`
//! (`schedstat`, nanoseconds on CPU), storage commit counters, and resident memory.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use warden_storage::embedded::{EmbeddedBackend, EmbeddedStats};

/// Thread-name prefixes of the bench's runtimes, and the group each is reported under.
const GROUPS: [(&str, &str); 5] = [
    ("bench-server", "server"),
    ("bench-client", "client"),
    ("bench-kube", "kube_standin"),
    ("warden-storage", "storage_writer"),
    ("bench-mint", "minting"),
];

/// A point-in-time reading.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    at: Instant,
    /// CPU nanoseconds per group.
    cpu_ns: BTreeMap<&'static str, u64>,
    storage: Option<EmbeddedStats>,
    /// Busy CPU ticks of the whole machine and of this process (`/proc/stat`,
    /// `/proc/self/stat`), to tell how much of the machine other processes took.
    machine_ticks: u64,
    self_ticks: u64,
}

/// Takes [`Sample`]s; knows the storage backend under test, if any.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sampler {
    backend: Option<Arc<EmbeddedBackend>>,
}

impl Sampler {
    /// A sampler that also reads `backend`'s commit counters.
    pub(crate) fn with_backend(backend: Arc<EmbeddedBackend>) -> Self {
        Self {
            backend: Some(backend),
        }
    }

    /// Reads the counters now.
    pub(crate) fn sample(&self) -> Sample {
        Sample {
            at: Instant::now(),
            cpu_ns: thread_cpu(),
            storage: self.backend.as_ref().map(|b| b.stats()),
            machine_ticks: machine_busy_ticks(),
            self_ticks: self_ticks(),
        }
    }
}

fn group_of(comm: &str) -> &'static str {
    GROUPS
        .iter()
        .find(|(prefix, _)| comm.starts_with(prefix))
        .map_or("other", |(_, group)| group)
}

/// Busy ticks of all CPUs: every `/proc/stat` `cpu` field but idle and iowait.
fn machine_busy_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0;
    };
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    fields
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum()
}

/// utime + stime of this process, in ticks.
fn self_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command may hold spaces: fields count from after the closing parenthesis.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Field 3 (state) comes first, so field N is at N - 3: utime (14) and stime (15).
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// CPU nanoseconds of every live thread of this process, summed per group. Threads that
/// exited are lost, which only matters for idle blocking-pool threads.
fn thread_cpu() -> BTreeMap<&'static str, u64> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let dir = task.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        let ns = std::fs::read_to_string(dir.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0);
        *out.entry(group_of(comm.trim())).or_insert(0) += ns;
    }
    out
}

/// What happened between two samples, per request: CPU per thread group, cores busy, and
/// storage commits.
pub(crate) fn profile(start: &Sample, end: &Sample, requests: u64) -> Value {
    let wall = end.at.duration_since(start.at).as_secs_f64();
    let per = requests.max(1) as f64;
    let mut cpu = serde_json::Map::new();
    let mut total_cores = 0.0;
    for (group, &ns_end) in &end.cpu_ns {
        let ns = ns_end.saturating_sub(start.cpu_ns.get(group).copied().unwrap_or(0));
        if ns == 0 {
            continue;
        }
        let cores = if wall > 0.0 {
            ns as f64 / 1e9 / wall
        } else {
            0.0
        };
        total_cores += cores;
        cpu.insert(
            (*group).to_owned(),
            json!({
                "cpu_us_per_request": round(ns as f64 / 1e3 / per, 2),
                "cores_busy": round(cores, 3),
            }),
        );
    }
    // Clock ticks are 1/100 s on Linux (USER_HZ).
    let ticks = |a: u64, b: u64| b.saturating_sub(a) as f64 / 100.0 / wall.max(1e-9);
    let other =
        ticks(start.machine_ticks, end.machine_ticks) - ticks(start.self_ticks, end.self_ticks);
    let mut out = json!({
        "cpu": cpu,
        "cores_busy_total": round(total_cores, 3),
        "other_processes_cores_busy": round(other.max(0.0), 2),
    });
    if let (Some(a), Some(b)) = (start.storage, end.storage) {
        let commits = b.commits.saturating_sub(a.commits);
        let writes = b.writes.saturating_sub(a.writes);
        out["storage"] = json!({
            "commits": commits,
            "writes": writes,
            "writes_per_request": round(writes as f64 / per, 2),
            "requests_per_commit": round(per / commits.max(1) as f64, 2),
            "commits_per_second": round(commits as f64 / wall.max(1e-9), 0),
            "largest_group_since_open": b.largest_group,
        });
    }
    out
}

/// Rounds to `digits` decimals (for readable JSON).
pub(crate) fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

/// `VmRSS` and `VmHWM` of a process (`"self"` or a pid), in bytes.
pub(crate) fn rss_bytes(pid: &str) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse::<u64>()
            .ok()
            .map(|kib| kib * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// The machine: CPU model, cores, memory, kernel.
pub(crate) fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or_else(String::new, |m| m.trim().to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    json!({
        "cpu_model": model,
        "cpus": std::thread::available_parallelism().map_or(0, usize::from),
        "memory_gib": round(mem_kib as f64 / 1024.0 / 1024.0, 1),
        "kernel": kernel.trim(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_thread_name_prefix() {
        assert_eq!(group_of("bench-server"), "server");
        assert_eq!(group_of("warden-storage-"), "storage_writer");
        assert_eq!(group_of("tokio-runtime-w"), "other");
        assert_eq!(round(1.23456, 2), 1.23);
    }
}
