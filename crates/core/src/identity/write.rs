//! Writing the identity store: one storage transaction per change set (entity records and
//! their index records together), then the same change applied to memory.

use std::collections::BTreeMap;
use std::sync::Arc;

use time::OffsetDateTime;
use warden_logical::{LogicalError, StorageEntry, StorageOp};

use super::index::{ENTITY_PREFIX, IndexRecord, fold, index_records};
use super::types::{Entity, ROOT_NAMESPACE_ID};
use super::{IdentityStore, core_error};
use crate::CoreError;
use crate::random::random_hex;

/// How many entities one transaction of a bulk change (mount removal) holds.
const BULK_CHUNK: usize = 256;

/// One entity's change: created (`before` is `None`), updated, or deleted (`after` is
/// `None`).
#[derive(Debug)]
pub(super) struct Change {
    /// The entity as memory holds it now.
    pub(super) before: Option<Arc<Entity>>,
    /// The entity as it will be.
    pub(super) after: Option<Entity>,
}

impl Change {
    /// A new entity.
    pub(super) fn create(entity: Entity) -> Self {
        Self {
            before: None,
            after: Some(entity),
        }
    }

    /// An existing entity, changed.
    pub(super) fn update(before: Arc<Entity>, after: Entity) -> Self {
        Self {
            before: Some(before),
            after: Some(after),
        }
    }

    /// An entity removed.
    pub(super) fn delete(before: Arc<Entity>) -> Self {
        Self {
            before: Some(before),
            after: None,
        }
    }
}

/// A fresh UUID (Vault's `uuid.GenerateUUID` format).
pub(super) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The current time, as stored.
pub(super) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// A new entity with nothing set but its id, name and times.
pub(super) fn new_entity(name: String) -> Entity {
    let now = now();
    Entity {
        id: new_id(),
        name,
        metadata: BTreeMap::new(),
        policies: Vec::new(),
        disabled: false,
        aliases: Vec::new(),
        creation_time: now,
        last_update_time: now,
        namespace_id: ROOT_NAMESPACE_ID.to_owned(),
        bucket_key: String::new(),
        merged_entity_ids: Vec::new(),
    }
}

impl IdentityStore {
    /// Writes `changes` in one transaction, then applies them to memory. Callers hold the
    /// lock that makes their `before` snapshots current.
    pub(super) async fn commit(&self, changes: Vec<Change>) -> Result<(), LogicalError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut old: BTreeMap<String, IndexRecord> = BTreeMap::new();
        let mut new: BTreeMap<String, IndexRecord> = BTreeMap::new();
        let mut ops = Vec::new();
        for change in &changes {
            if let Some(before) = &change.before {
                old.extend(index_records(before));
            }
            match &change.after {
                Some(after) => {
                    new.extend(index_records(after));
                    ops.push(StorageOp::Put(StorageEntry::json(
                        format!("{ENTITY_PREFIX}{}", after.id),
                        after,
                    )?));
                }
                None => {
                    if let Some(before) = &change.before {
                        ops.push(StorageOp::Delete(format!("{ENTITY_PREFIX}{}", before.id)));
                    }
                }
            }
        }
        for key in old.keys().filter(|key| !new.contains_key(*key)) {
            ops.push(StorageOp::Delete(key.clone()));
        }
        for (key, record) in &new {
            if old.get(key) != Some(record) {
                ops.push(StorageOp::Put(StorageEntry::json(key.clone(), record)?));
            }
        }
        self.storage().transaction(ops).await?;

        let mut state = self.write_state();
        for change in &changes {
            if let Some(before) = &change.before {
                state.remove(&before.id);
            }
        }
        for change in changes {
            if let Some(after) = change.after {
                state.insert(after);
            }
        }
        Ok(())
    }

    /// Picks a free `entity_<8 hex>` name (Vault's `generateName`) and reserves it until
    /// [`Self::release_name`].
    pub(super) fn reserve_generated_name(&self) -> String {
        let mut state = self.write_state();
        loop {
            let name = format!("entity_{}", random_hex(4));
            if !state.name_taken(&name, "") {
                state.pending_names.insert(fold(&name));
                return name;
            }
        }
    }

    /// Ends a name reservation.
    pub(super) fn release_name(&self, name: &str) {
        self.write_state().pending_names.remove(&fold(name));
    }

    /// Deletes every alias of the mount with this accessor (when the mount is disabled).
    /// The entities stay. Returns how many aliases were removed.
    pub async fn remove_aliases_for_mount(&self, mount_accessor: &str) -> Result<usize, CoreError> {
        let _write = self.write_lock.lock().await;
        let affected: Vec<Arc<Entity>> = self
            .read_state()
            .sorted_entities()
            .into_iter()
            .filter(|entity| entity.alias_for_mount(mount_accessor).is_some())
            .collect();
        let mut removed = 0;
        for chunk in affected.chunks(BULK_CHUNK) {
            let mut changes = Vec::with_capacity(chunk.len());
            for before in chunk {
                let mut after = Entity::clone(before);
                let count = after.aliases.len();
                after
                    .aliases
                    .retain(|alias| alias.mount_accessor != mount_accessor);
                removed += count - after.aliases.len();
                changes.push(Change::update(Arc::clone(before), after));
            }
            self.commit(changes).await.map_err(core_error)?;
        }
        Ok(removed)
    }

    /// Deletes an entity and its aliases; `false` when there was none.
    pub async fn delete_entity(&self, id: &str) -> Result<bool, CoreError> {
        let _write = self.write_lock.lock().await;
        self.delete_entity_locked(id).await.map_err(core_error)
    }

    /// [`Self::delete_entity`] for callers that hold the write lock.
    pub(super) async fn delete_entity_locked(&self, id: &str) -> Result<bool, LogicalError> {
        let Some(before) = self.read_state().entity(id).cloned() else {
            return Ok(false);
        };
        self.commit(vec![Change::delete(before)]).await?;
        Ok(true)
    }
}
