//! The `storage "<type>" { … }` stanza (legacy name: `backend`).
//!
//! Vault (`ParseStorage`): exactly one stanza; `storage` wins over `backend` when both are
//! present; the type is lower-cased; `redirect_addr`, `advertise_addr`, `cluster_addr` and
//! `disable_clustering` are common to every type. warden maps the types it can serve onto its own
//! backends: `inmem` is the memory backend; `file`, `embedded` and `raft` are the embedded (redb)
//! store at `path`. The embedded store's on-disk format is warden's own, so a `path` written by
//! Vault's file or raft backend is not readable by warden (and the other way round).

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::{Invalid, invalid, source};

/// The storage types warden accepts, for error messages.
const SUPPORTED: &str = "inmem, file, embedded, raft";

/// Keys every storage type accepts (Vault pulls them out before the backend sees the rest).
const COMMON_KEYS: &[&str] = &[
    "redirect_addr",
    "advertise_addr",
    "cluster_addr",
    "disable_clustering",
];

/// The storage stanza.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageConfig {
    /// The type as written, lower-cased (`inmem`, `file`, `embedded`, `raft`).
    pub storage_type: String,
    /// The backend warden runs for it.
    pub kind: StorageKind,
}

/// The backend warden runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageKind {
    /// In memory; everything is lost on exit (`inmem`).
    Memory,
    /// The embedded redb store under `path` (`file`, `embedded`, `raft`).
    Embedded {
        /// `path`: the directory the store lives in.
        path: PathBuf,
    },
}

/// Parses the one storage stanza out of the top-level tree.
pub(super) fn parse(
    tree: &Map<String, Value>,
    warnings: &mut Vec<String>,
) -> Result<StorageConfig, Invalid> {
    let stanza = if tree.contains_key("storage") {
        if tree.contains_key("backend") {
            warnings.push(
                "both \"storage\" and \"backend\" are set; \"backend\" is ignored, as Vault does"
                    .to_owned(),
            );
        }
        "storage"
    } else if tree.contains_key("backend") {
        "backend"
    } else {
        return Err(invalid("storage", "A storage backend must be specified"));
    };
    let value = tree.get(stanza).cloned().unwrap_or(Value::Null);
    let mut blocks = source::blocks(stanza, &value, false).map_err(|e| invalid(stanza, e))?;
    if blocks.len() > 1 {
        return Err(invalid(
            stanza,
            format!("only one {stanza:?} block is permitted"),
        ));
    }
    let Some((Some(label), body)) = blocks.pop() else {
        return Err(invalid(stanza, "A storage backend must be specified"));
    };
    let storage_type = label.to_ascii_lowercase();
    let here = format!("{stanza} {storage_type:?}");
    let key_path = |key: &str| format!("{stanza}.{storage_type}.{key}");

    let path = |required: bool| -> Result<Option<PathBuf>, Invalid> {
        match body.get("path") {
            Some(v) => {
                let p = source::as_string(v).map_err(|e| {
                    invalid(
                        key_path("path"),
                        format!("invalid value for \"path\" in {here}: {e}"),
                    )
                })?;
                if p.is_empty() {
                    return Err(invalid(
                        key_path("path"),
                        format!("'path' must be set in {here}"),
                    ));
                }
                Ok(Some(PathBuf::from(p)))
            }
            None if required => Err(invalid(
                key_path("path"),
                format!("'path' must be set in {here}"),
            )),
            None => Ok(None),
        }
    };

    let (kind, known): (StorageKind, &[&str]) = match storage_type.as_str() {
        "inmem" => (StorageKind::Memory, &[]),
        "file" | "embedded" => (
            StorageKind::Embedded {
                path: path(true)?.unwrap_or_default(),
            },
            &["path"],
        ),
        "raft" => {
            let path = path(true)?.unwrap_or_default();
            warnings.push(format!(
                "storage \"raft\" runs as warden's single-node embedded store at {}; raft \
                 clustering is not supported",
                path.display()
            ));
            (StorageKind::Embedded { path }, &["path", "node_id"])
        }
        other => {
            return Err(invalid(
                stanza,
                format!("Unknown storage type {other} (warden supports: {SUPPORTED})"),
            ));
        }
    };

    for key in body.keys() {
        if known.contains(&key.as_str()) || COMMON_KEYS.contains(&key.as_str()) {
            continue;
        }
        if storage_type == "raft" {
            warnings.push(format!(
                "{key:?} in storage \"raft\" is ignored: warden runs raft configurations as a \
                 single-node embedded store"
            ));
        } else {
            warnings.push(format!("unknown key {key:?} in {here}"));
        }
    }

    Ok(StorageConfig { storage_type, kind })
}
