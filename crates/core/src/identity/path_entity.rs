//! `identity/entity…` (Vault's `identity_store_entities.go`) and `identity/lookup/entity`
//! (`identity_lookup.go`).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use warden_logical::framework::{
    Field, FieldType, Input, NoInput, OPTIONAL_TRAILING_SLASH, Path, generic_name_regex, handler,
};
use warden_logical::{LogicalError, Map, Operation, Request, Response};

use super::IdentityStore;
use super::backend::{entity_list_info, entity_response, list_response};
use super::index::fold;
use super::types::{Entity, sanitize_policies, validate_metadata};
use super::write::{Change, new_entity, now};

fn entity_fields() -> [Field; 5] {
    [
        Field::new("id", FieldType::String)
            .description("ID of the entity. If set, updates the corresponding existing entity."),
        Field::new("name", FieldType::String).description("Name of the entity"),
        Field::new("metadata", FieldType::KvPairs)
            .description("Metadata to be associated with the entity."),
        Field::new("policies", FieldType::CommaStringSlice)
            .description("Policies to be tied to the entity."),
        Field::new("disabled", FieldType::Bool).description(
            "If set true, tokens tied to this identity will not be able to be used (but will not be revoked).",
        ),
    ]
}

pub(super) fn paths(store: &Arc<IdentityStore>) -> Vec<Path> {
    vec![
        Path::new("entity")
            .fields(entity_fields())
            .operation(Operation::Update, handler(store, write_entity))
            .help("Create a new entity", ""),
        Path::new("entity/name/(?P<name>.+)")
            .fields(entity_fields())
            .operation(Operation::Update, handler(store, write_entity))
            .operation(Operation::Read, handler(store, read_by_name))
            .operation(Operation::Delete, handler(store, delete_by_name))
            .help("Update, read or delete an entity using entity name", ""),
        Path::new(format!("entity/id/{}", generic_name_regex("id")))
            .fields(entity_fields())
            .operation(Operation::Update, handler(store, write_entity))
            .operation(Operation::Read, handler(store, read_by_id))
            .operation(Operation::Delete, handler(store, delete_by_id))
            .help("Update, read or delete an entity using entity ID", ""),
        Path::new("entity/batch-delete")
            .field(
                Field::new("entity_ids", FieldType::CommaStringSlice)
                    .description("Entity IDs to delete"),
            )
            .operation(Operation::Update, handler(store, batch_delete))
            .help("Delete all of the entities provided", ""),
        Path::new(format!("entity/name{OPTIONAL_TRAILING_SLASH}"))
            .operation(Operation::List, handler(store, list_by_name))
            .help("List all the entity names", ""),
        Path::new(format!("entity/id{OPTIONAL_TRAILING_SLASH}"))
            .operation(Operation::List, handler(store, list_by_id))
            .help("List all the entity IDs", ""),
        lookup_path(store),
    ]
}

#[derive(Debug, Deserialize)]
struct EntityWrite {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    metadata: Option<BTreeMap<String, String>>,
    policies: Option<Vec<String>>,
    disabled: Option<bool>,
}

/// Vault's `handleEntityUpdateCommon`: creates (200 with `id`, `name`, `aliases`) or
/// updates (204) an entity, found by `id` or else by `name`.
async fn write_entity(
    store: Arc<IdentityStore>,
    _req: Request,
    input: EntityWrite,
) -> Result<Option<Response>, LogicalError> {
    let _write = store.write_lock.lock().await;
    let before: Option<Arc<Entity>> = {
        let state = store.read_state();
        let mut current = None;
        if !input.id.is_empty() {
            match state.entity(&input.id) {
                Some(entity) => current = Some(Arc::clone(entity)),
                None => return Err(LogicalError::user("entity not found from id")),
            }
        }
        if !input.name.is_empty() {
            match (state.entity_by_name(&input.name), &current) {
                (Some(by_name), None) => current = Some(Arc::clone(by_name)),
                (Some(by_name), Some(by_id)) if by_name.id == by_id.id => {}
                (Some(_), Some(_)) => {
                    return Err(LogicalError::user("entity name is already in use"));
                }
                (None, _) if state.pending_names.contains(&fold(&input.name)) => {
                    return Err(LogicalError::user("entity name is already in use"));
                }
                (None, _) => {}
            }
        }
        current
    };
    let generated = match (&before, input.name.is_empty()) {
        (None, true) => Some(store.reserve_generated_name()),
        _ => None,
    };
    let result = update_entity(&store, before, input, generated.clone()).await;
    if let Some(name) = generated {
        store.release_name(&name);
    }
    result
}

async fn update_entity(
    store: &IdentityStore,
    before: Option<Arc<Entity>>,
    input: EntityWrite,
    generated: Option<String>,
) -> Result<Option<Response>, LogicalError> {
    let mut entity = match &before {
        Some(before) => Entity::clone(before),
        None => new_entity(generated.unwrap_or_default()),
    };
    if !input.name.is_empty() {
        entity.name = input.name;
    }
    if let Some(policies) = &input.policies {
        entity.policies = sanitize_policies(policies);
    }
    if entity.policies.iter().any(|policy| policy == "root") {
        return Err(LogicalError::user("policies cannot contain root"));
    }
    if let Some(disabled) = input.disabled {
        entity.disabled = disabled;
    }
    if let Some(metadata) = input.metadata {
        entity.metadata = metadata;
    }
    validate_metadata(&entity.metadata)
        .map_err(|err| LogicalError::internal(format!("invalid entity metadata: {err}")))?;
    let change = match before {
        Some(before) => {
            entity.last_update_time = now();
            Change::update(before, entity)
        }
        None => {
            let data = json!({
                "aliases": null,
                "id": entity.id,
                "name": entity.name,
            });
            store.commit(vec![Change::create(entity)]).await?;
            return Ok(Some(Response::with_data(object(data))));
        }
    };
    store.commit(vec![change]).await?;
    Ok(None)
}

fn object(value: serde_json::Value) -> Map {
    match value {
        serde_json::Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[derive(Debug, Deserialize)]
struct ById {
    id: String,
}

#[derive(Debug, Deserialize)]
struct ByName {
    name: String,
}

async fn read_by_id(
    store: Arc<IdentityStore>,
    _req: Request,
    input: ById,
) -> Result<Option<Response>, LogicalError> {
    let entity = store.read_state().entity(&input.id).cloned();
    Ok(entity.and_then(|entity| entity_response(&store, &entity)))
}

async fn read_by_name(
    store: Arc<IdentityStore>,
    _req: Request,
    input: ByName,
) -> Result<Option<Response>, LogicalError> {
    let entity = store.read_state().entity_by_name(&input.name).cloned();
    Ok(entity.and_then(|entity| entity_response(&store, &entity)))
}

async fn delete_by_id(
    store: Arc<IdentityStore>,
    _req: Request,
    input: ById,
) -> Result<Option<Response>, LogicalError> {
    let _write = store.write_lock.lock().await;
    store.delete_entity_locked(&input.id).await?;
    Ok(None)
}

async fn delete_by_name(
    store: Arc<IdentityStore>,
    _req: Request,
    input: ByName,
) -> Result<Option<Response>, LogicalError> {
    let _write = store.write_lock.lock().await;
    let id = store
        .read_state()
        .entity_by_name(&input.name)
        .map(|entity| entity.id.clone());
    if let Some(id) = id {
        store.delete_entity_locked(&id).await?;
    }
    Ok(None)
}

#[derive(Debug, Deserialize)]
struct BatchDelete {
    #[serde(default)]
    entity_ids: Vec<String>,
}

async fn batch_delete(
    store: Arc<IdentityStore>,
    _req: Request,
    input: BatchDelete,
) -> Result<Option<Response>, LogicalError> {
    if input.entity_ids.is_empty() {
        return Err(LogicalError::user("missing entity ids to delete"));
    }
    let _write = store.write_lock.lock().await;
    let mut ids = input.entity_ids;
    ids.sort();
    ids.dedup();
    let changes: Vec<Change> = {
        let state = store.read_state();
        ids.iter()
            .filter_map(|id| state.entity(id).cloned())
            .map(Change::delete)
            .collect()
    };
    store.commit(changes).await?;
    Ok(None)
}

async fn list_by_id(
    store: Arc<IdentityStore>,
    _req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    list(&store, |entity| entity.id.clone())
}

async fn list_by_name(
    store: Arc<IdentityStore>,
    _req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    list(&store, |entity| entity.name.clone())
}

/// Vault's `handlePathEntityListCommon`: keys in entity-id order, `key_info` by id.
fn list(
    store: &IdentityStore,
    key: impl Fn(&Entity) -> String,
) -> Result<Option<Response>, LogicalError> {
    let entities = store.read_state().sorted_entities();
    let mut keys = Vec::with_capacity(entities.len());
    let mut info = Map::new();
    for entity in &entities {
        keys.push(key(entity));
        info.insert(entity.id.clone(), entity_list_info(store, entity));
    }
    Ok(list_response(keys, info))
}

const LOOKUP_DESCRIPTION: &str = "Distinct query parameters to be set:
		- 'id'
		To query the entity by its ID.
		- 'name'
		To query the entity by its name.
		- 'alias_id'
		To query the entity by the ID of any of its aliases.
		- 'alias_name' and 'alias_mount_accessor'
		To query the entity by the unique factors that represent an alias; the name and the mount accessor.";

/// `lookup/entity` (Vault's `identity_lookup.go`; groups are not implemented, so
/// `lookup/group` is not served).
fn lookup_path(store: &Arc<IdentityStore>) -> Path {
    Path::new("lookup/entity")
            .fields([
                Field::new("name", FieldType::String).description("Name of the entity."),
                Field::new("id", FieldType::String).description("ID of the entity."),
                Field::new("alias_id", FieldType::String).description("ID of the alias."),
                Field::new("alias_name", FieldType::String).description(
                    "Name of the alias. This should be supplied in conjunction with 'alias_mount_accessor'.",
                ),
                Field::new("alias_mount_accessor", FieldType::String).description(
                    "Accessor of the mount to which the alias belongs to. This should be supplied in conjunction with 'alias_name'.",
                ),
            ])
            .operation(Operation::Update, handler(store, lookup_entity))
            .help("Query entities based on various properties.", LOOKUP_DESCRIPTION)
}

#[derive(Debug, Deserialize)]
struct Lookup {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    alias_id: String,
    #[serde(default)]
    alias_name: String,
    #[serde(default)]
    alias_mount_accessor: String,
}

/// Vault's `pathLookupEntityUpdate`: exactly one criterion (or the alias name and accessor
/// pair); no match answers nothing (204).
async fn lookup_entity(
    store: Arc<IdentityStore>,
    _req: Request,
    input: Input<Lookup>,
) -> Result<Option<Response>, LogicalError> {
    let count = [
        "id",
        "name",
        "alias_id",
        "alias_name",
        "alias_mount_accessor",
    ]
    .iter()
    .filter(|field| input.provided(field))
    .count();
    let query = input.into_inner();
    let pair = !query.alias_name.is_empty() && !query.alias_mount_accessor.is_empty();
    match count {
        0 => return Err(LogicalError::user("query parameter not supplied")),
        1 if !query.alias_name.is_empty() || !query.alias_mount_accessor.is_empty() => {
            return Err(LogicalError::user(
                "both 'alias_name' and 'alias_mount_accessor' needs to be set",
            ));
        }
        1 => {}
        2 if pair => {}
        _ => {
            return Err(LogicalError::user(
                "query parameter conflict; please supply distinct set of query parameters",
            ));
        }
    }
    let entity = {
        let state = store.read_state();
        let found = if !query.id.is_empty() {
            state.entity(&query.id)
        } else if !query.name.is_empty() {
            state.entity_by_name(&query.name)
        } else if !query.alias_id.is_empty() {
            state.entity_by_alias_id(&query.alias_id)
        } else if pair {
            state
                .by_factors(&query.alias_mount_accessor, &query.alias_name)
                .map(|(_, entity)| entity)
        } else {
            None
        };
        found.cloned()
    };
    Ok(entity.and_then(|entity| entity_response(&store, &entity)))
}
