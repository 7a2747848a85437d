//! A mount's private slice of the barrier.

use std::sync::Arc;

use async_trait::async_trait;
use warden_logical::{LogicalError, StorageEntry, StorageOp, StorageView};

use crate::barrier::{Barrier, BarrierError, BarrierOp};

/// Storage seen through a fixed prefix: every key a backend names is joined to the prefix,
/// so a backend cannot reach outside its mount's slice.
#[derive(Debug, Clone)]
pub struct BarrierView {
    barrier: Arc<Barrier>,
    prefix: String,
}

impl BarrierView {
    /// A view of `barrier` under `prefix` (empty, or ending in `/`).
    pub fn new(barrier: Arc<Barrier>, prefix: impl Into<String>) -> Self {
        Self {
            barrier,
            prefix: prefix.into(),
        }
    }

    /// A view of a sub-folder of this view.
    pub fn sub_view(&self, prefix: &str) -> Self {
        Self::new(
            Arc::clone(&self.barrier),
            format!("{}{prefix}", self.prefix),
        )
    }

    /// The prefix of this view inside the barrier.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn full_key(&self, key: &str) -> Result<String, LogicalError> {
        if key.split('/').any(|segment| segment == "..") {
            return Err(LogicalError::internal(format!(
                "invalid storage key {key:?}"
            )));
        }
        Ok(format!("{}{key}", self.prefix))
    }

    /// Deletes every key under the view (used when a mount is disabled).
    pub async fn clear(&self) -> Result<(), LogicalError> {
        let mut pending = vec![String::new()];
        while let Some(folder) = pending.pop() {
            let keys = self.list(&folder).await?;
            let mut deletes = Vec::new();
            for key in keys {
                let full = format!("{folder}{key}");
                if full.ends_with('/') {
                    pending.push(full);
                } else {
                    deletes.push(StorageOp::Delete(full));
                }
            }
            if !deletes.is_empty() {
                self.transaction(deletes).await?;
            }
        }
        Ok(())
    }
}

fn to_logical(error: BarrierError) -> LogicalError {
    match error {
        BarrierError::Sealed => LogicalError::Sealed,
        other => LogicalError::internal(other),
    }
}

#[async_trait]
impl StorageView for BarrierView {
    async fn get(&self, key: &str) -> Result<Option<StorageEntry>, LogicalError> {
        let value = self
            .barrier
            .get(&self.full_key(key)?)
            .await
            .map_err(to_logical)?;
        Ok(value.map(|value| StorageEntry {
            key: key.to_owned(),
            value,
        }))
    }

    async fn put(&self, entry: StorageEntry) -> Result<(), LogicalError> {
        let key = self.full_key(&entry.key)?;
        self.barrier
            .put(&key, entry.value)
            .await
            .map_err(to_logical)
    }

    async fn delete(&self, key: &str) -> Result<(), LogicalError> {
        self.barrier
            .delete(&self.full_key(key)?)
            .await
            .map_err(to_logical)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, LogicalError> {
        self.barrier
            .list(&self.full_key_allow_empty(prefix)?)
            .await
            .map_err(to_logical)
    }

    async fn transaction(&self, ops: Vec<StorageOp>) -> Result<(), LogicalError> {
        let mut barrier_ops = Vec::with_capacity(ops.len());
        for op in ops {
            barrier_ops.push(match op {
                StorageOp::Put(entry) => BarrierOp::Put {
                    key: self.full_key(&entry.key)?,
                    value: entry.value,
                },
                StorageOp::Delete(key) => BarrierOp::Delete {
                    key: self.full_key(&key)?,
                },
            });
        }
        self.barrier
            .transaction(barrier_ops)
            .await
            .map_err(to_logical)
    }
}

impl BarrierView {
    fn full_key_allow_empty(&self, prefix: &str) -> Result<String, LogicalError> {
        if prefix.is_empty() {
            Ok(self.prefix.clone())
        } else {
            self.full_key(prefix)
        }
    }
}
