//! The `identity/` mount: the path table and the response shapes Vault's handlers build
//! (`handleEntityReadCommon`, `handleAliasReadCommon`, `ListResponseWithInfo`).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use warden_logical::framework::FrameworkBackend;
use warden_logical::{BackendKind, LogicalBackend, LogicalError, Map, Response};

use super::IdentityStore;
use super::types::{Entity, EntityAlias, format_time};
use super::{path_alias, path_entity};

const HELP: &str = "Identity store: entities, their aliases, and lookups.";

/// Builds the backend of the `identity/` mount over `store`.
pub fn backend(store: Arc<IdentityStore>) -> Result<Arc<dyn LogicalBackend>, LogicalError> {
    let mut builder = FrameworkBackend::builder(BackendKind::Secret).help(HELP);
    for path in path_entity::paths(&store)
        .into_iter()
        .chain(path_alias::paths(&store))
    {
        builder = builder.path(path);
    }
    let backend = builder.build().map_err(LogicalError::internal)?;
    Ok(Arc::new(backend))
}

/// A map as a JSON object with sorted keys, as Go's encoder writes maps; `null` when
/// empty, as Vault shows a map that went through storage empty.
fn string_map(map: &BTreeMap<String, String>) -> Value {
    if map.is_empty() {
        Value::Null
    } else {
        json!(map)
    }
}

/// A list that Vault shows as `null` when empty (a nil Go slice).
fn nil_list(list: &[String]) -> Value {
    if list.is_empty() {
        Value::Null
    } else {
        json!(list)
    }
}

/// Orders the keys of an object, as Go's encoder does for maps.
fn sorted(map: Map) -> Map {
    let ordered: BTreeMap<String, Value> = map.into_iter().collect();
    ordered.into_iter().collect()
}

/// Adds `mount_type` and `mount_path` from the router, when it knows the accessor.
fn add_mount(store: &IdentityStore, accessor: &str, data: &mut Map) {
    if let Some(mount) = store.resolve_mount(accessor) {
        data.insert("mount_type".into(), json!(mount.mount_type));
        data.insert("mount_path".into(), json!(mount.mount_path));
    }
}

/// An alias as an entity read shows it.
fn entity_alias_data(store: &IdentityStore, alias: &EntityAlias) -> Value {
    let mut data = Map::new();
    data.insert("id".into(), json!(alias.id));
    data.insert("canonical_id".into(), json!(alias.canonical_id));
    data.insert("mount_accessor".into(), json!(alias.mount_accessor));
    data.insert("metadata".into(), string_map(&alias.metadata));
    data.insert("name".into(), json!(alias.name));
    data.insert(
        "merged_from_canonical_ids".into(),
        nil_list(&alias.merged_from_canonical_ids),
    );
    data.insert(
        "creation_time".into(),
        json!(format_time(alias.creation_time)),
    );
    data.insert(
        "last_update_time".into(),
        json!(format_time(alias.last_update_time)),
    );
    data.insert("local".into(), json!(alias.local));
    data.insert("custom_metadata".into(), string_map(&alias.custom_metadata));
    add_mount(store, &alias.mount_accessor, &mut data);
    Value::Object(sorted(data))
}

/// The response of an entity read or lookup.
pub(super) fn entity_response(store: &IdentityStore, entity: &Entity) -> Option<Response> {
    let mut data = Map::new();
    data.insert("id".into(), json!(entity.id));
    data.insert("name".into(), json!(entity.name));
    data.insert("metadata".into(), string_map(&entity.metadata));
    data.insert(
        "merged_entity_ids".into(),
        nil_list(&entity.merged_entity_ids),
    );
    data.insert("policies".into(), json!(entity.policies));
    data.insert("disabled".into(), json!(entity.disabled));
    data.insert("namespace_id".into(), json!(entity.namespace_id));
    data.insert(
        "creation_time".into(),
        json!(format_time(entity.creation_time)),
    );
    data.insert(
        "last_update_time".into(),
        json!(format_time(entity.last_update_time)),
    );
    let aliases: Vec<Value> = entity
        .aliases
        .iter()
        .map(|alias| entity_alias_data(store, alias))
        .collect();
    data.insert("aliases".into(), Value::Array(aliases));
    // Groups are not implemented: no entity belongs to one.
    data.insert("direct_group_ids".into(), json!([]));
    data.insert("inherited_group_ids".into(), json!([]));
    data.insert("group_ids".into(), json!([]));
    Some(Response::with_data(sorted(data)))
}

/// The response of an alias read.
pub(super) fn alias_response(store: &IdentityStore, alias: &EntityAlias) -> Option<Response> {
    let mut data = Map::new();
    data.insert("id".into(), json!(alias.id));
    data.insert("canonical_id".into(), json!(alias.canonical_id));
    data.insert("mount_accessor".into(), json!(alias.mount_accessor));
    data.insert("metadata".into(), string_map(&alias.metadata));
    data.insert("custom_metadata".into(), string_map(&alias.custom_metadata));
    data.insert("name".into(), json!(alias.name));
    data.insert(
        "merged_from_canonical_ids".into(),
        nil_list(&alias.merged_from_canonical_ids),
    );
    data.insert("namespace_id".into(), json!(alias.namespace_id));
    data.insert("local".into(), json!(alias.local));
    add_mount(store, &alias.mount_accessor, &mut data);
    data.insert(
        "creation_time".into(),
        json!(format_time(alias.creation_time)),
    );
    data.insert(
        "last_update_time".into(),
        json!(format_time(alias.last_update_time)),
    );
    Some(Response::with_data(sorted(data)))
}

/// One `key_info` entry of an alias list.
pub(super) fn alias_list_info(store: &IdentityStore, alias: &EntityAlias) -> Value {
    let mut data = Map::new();
    data.insert("name".into(), json!(alias.name));
    data.insert("canonical_id".into(), json!(alias.canonical_id));
    data.insert("mount_accessor".into(), json!(alias.mount_accessor));
    data.insert("custom_metadata".into(), string_map(&alias.custom_metadata));
    data.insert("metadata".into(), string_map(&alias.metadata));
    data.insert("local".into(), json!(alias.local));
    add_mount(store, &alias.mount_accessor, &mut data);
    Value::Object(sorted(data))
}

/// One `key_info` entry of an entity list.
pub(super) fn entity_list_info(store: &IdentityStore, entity: &Entity) -> Value {
    let mut data = Map::new();
    data.insert("name".into(), json!(entity.name));
    if !entity.aliases.is_empty() {
        let aliases: Vec<Value> = entity
            .aliases
            .iter()
            .map(|alias| {
                let mut entry = Map::new();
                entry.insert("id".into(), json!(alias.id));
                entry.insert("name".into(), json!(alias.name));
                entry.insert("mount_accessor".into(), json!(alias.mount_accessor));
                add_mount(store, &alias.mount_accessor, &mut entry);
                Value::Object(sorted(entry))
            })
            .collect();
        data.insert("aliases".into(), Value::Array(aliases));
    }
    Value::Object(sorted(data))
}

/// Vault's `logical.ListResponseWithInfo`: `keys` only when there are some, `key_info`
/// only for keys it has an entry for (so listing entities by name has none, as in Vault).
pub(super) fn list_response(keys: Vec<String>, mut info: Map) -> Option<Response> {
    let mut data = Map::new();
    let mut key_info = Map::new();
    for key in &keys {
        if let Some(entry) = info.remove(key) {
            key_info.insert(key.clone(), entry);
        }
    }
    if !keys.is_empty() {
        data.insert("keys".into(), json!(keys));
    }
    if !key_info.is_empty() {
        data.insert("key_info".into(), Value::Object(sorted(key_info)));
    }
    Some(Response::with_data(data))
}
