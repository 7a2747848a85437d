//! The in-memory indexes of the identity store (Vault's MemDB tables `entities` and
//! `entity_aliases`) and the storage layout they mirror.
//!
//! Storage under the store's view:
//!
//! | key | value |
//! |---|---|
//! | `entity/<entity id>` | the [`Entity`] as JSON, aliases included |
//! | `index/name/<sha256(lower-cased name)>` | `{"entity_id"}` |
//! | `index/alias/<sha256(accessor NUL lower-cased alias name)>` | `{"alias_id","entity_id"}` |
//! | `index/alias-id/<alias id>` | `{"entity_id"}` |
//!
//! The `index/` records are written in the same transaction as the entity, so a later
//! lazy store can answer a login's alias lookup with one `get` instead of loading every
//! entity at unseal. Names are hashed because they may hold any character (`/`, `..`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use aws_lc_rs::digest::{SHA256, digest};
use serde::{Deserialize, Serialize};

use super::types::Entity;

/// Storage prefix of the entity records.
pub(super) const ENTITY_PREFIX: &str = "entity/";

/// Vault's `sanitizeName` with case-insensitive names (the default): names are compared
/// lower-cased.
pub(super) fn fold(name: &str) -> String {
    name.to_lowercase()
}

/// The key of an alias in the by-factors index.
pub(super) fn factors_key(mount_accessor: &str, name: &str) -> (String, String) {
    (mount_accessor.to_owned(), fold(name))
}

fn hashed(text: &str) -> String {
    hex::encode(digest(&SHA256, text.as_bytes()))
}

/// What an index record points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct IndexRecord {
    /// The alias, for alias records.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(super) alias_id: String,
    /// The entity.
    pub(super) entity_id: String,
}

/// Every storage record an entity owns (its own record excluded), key to value.
pub(super) fn index_records(entity: &Entity) -> BTreeMap<String, IndexRecord> {
    let mut out = BTreeMap::new();
    let to_entity = |alias_id: &str| IndexRecord {
        alias_id: alias_id.to_owned(),
        entity_id: entity.id.clone(),
    };
    out.insert(
        format!("index/name/{}", hashed(&fold(&entity.name))),
        to_entity(""),
    );
    for alias in &entity.aliases {
        let factors = format!("{}\0{}", alias.mount_accessor, fold(&alias.name));
        out.insert(
            format!("index/alias/{}", hashed(&factors)),
            to_entity(&alias.id),
        );
        out.insert(format!("index/alias-id/{}", alias.id), to_entity(""));
    }
    out
}

/// The identity tables, by every key Vault's MemDB indexes.
#[derive(Debug, Default)]
pub(super) struct Indexes {
    /// Entities by id.
    pub(super) entities: HashMap<String, Arc<Entity>>,
    /// Entity ids by folded name.
    pub(super) by_name: HashMap<String, String>,
    /// Alias ids by (mount accessor, folded alias name).
    pub(super) by_factors: HashMap<(String, String), String>,
    /// Entity ids by alias id.
    pub(super) by_alias_id: HashMap<String, String>,
    /// Folded names given to entities that are being created but not yet stored.
    pub(super) pending_names: HashSet<String>,
}

impl Indexes {
    /// The entity with this id.
    pub(super) fn entity(&self, id: &str) -> Option<&Arc<Entity>> {
        self.entities.get(id)
    }

    /// The entity with this name (case-insensitively).
    pub(super) fn entity_by_name(&self, name: &str) -> Option<&Arc<Entity>> {
        self.by_name
            .get(&fold(name))
            .and_then(|id| self.entities.get(id))
    }

    /// The entity holding the alias with this id.
    pub(super) fn entity_by_alias_id(&self, alias_id: &str) -> Option<&Arc<Entity>> {
        self.by_alias_id
            .get(alias_id)
            .and_then(|id| self.entities.get(id))
    }

    /// The alias id and its entity for (accessor, name).
    pub(super) fn by_factors(
        &self,
        mount_accessor: &str,
        name: &str,
    ) -> Option<(&str, &Arc<Entity>)> {
        let alias_id = self.by_factors.get(&factors_key(mount_accessor, name))?;
        let entity = self.entity_by_alias_id(alias_id)?;
        Some((alias_id.as_str(), entity))
    }

    /// Whether `name` is taken by an entity other than `except` (or by one being created).
    pub(super) fn name_taken(&self, name: &str, except: &str) -> bool {
        let folded = fold(name);
        self.pending_names.contains(&folded)
            || self.by_name.get(&folded).is_some_and(|id| id != except)
    }

    /// Removes an entity and everything that points at it.
    pub(super) fn remove(&mut self, id: &str) {
        let Some(entity) = self.entities.remove(id) else {
            return;
        };
        let folded = fold(&entity.name);
        if self.by_name.get(&folded).is_some_and(|owner| owner == id) {
            self.by_name.remove(&folded);
        }
        for alias in &entity.aliases {
            let key = factors_key(&alias.mount_accessor, &alias.name);
            if self.by_factors.get(&key).is_some_and(|a| *a == alias.id) {
                self.by_factors.remove(&key);
            }
            if self.by_alias_id.get(&alias.id).is_some_and(|e| e == id) {
                self.by_alias_id.remove(&alias.id);
            }
        }
    }

    /// Inserts (or replaces) an entity. Returns the alias factors that another entity
    /// already held, which are left pointing at that entity (only corrupt storage has them).
    pub(super) fn insert(&mut self, entity: Entity) -> Vec<(String, String)> {
        self.remove(&entity.id);
        let mut conflicts = Vec::new();
        self.by_name.insert(fold(&entity.name), entity.id.clone());
        for alias in &entity.aliases {
            let key = factors_key(&alias.mount_accessor, &alias.name);
            match self.by_factors.get(&key) {
                Some(other) if *other != alias.id => conflicts.push(key),
                _ => {
                    self.by_factors.insert(key, alias.id.clone());
                }
            }
            self.by_alias_id.insert(alias.id.clone(), entity.id.clone());
        }
        self.entities.insert(entity.id.clone(), Arc::new(entity));
        conflicts
    }

    /// Every entity, sorted by id (Vault's MemDB iterates the namespace index in id
    /// order).
    pub(super) fn sorted_entities(&self) -> Vec<Arc<Entity>> {
        let mut all: Vec<Arc<Entity>> = self.entities.values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }
}
