//! `identity/entity-alias…` (Vault's `identity_store_aliases.go`).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use warden_logical::framework::{
    Field, FieldType, NoInput, OPTIONAL_TRAILING_SLASH, Path, generic_name_regex, handler,
};
use warden_logical::{LogicalError, Map, Operation, Request, Response};

use super::IdentityStore;
use super::backend::{alias_list_info, alias_response, list_response};
use super::index::factors_key;
use super::types::{Entity, EntityAlias, MountRef, ROOT_NAMESPACE_ID, validate_custom_metadata};
use super::write::{Change, new_entity, new_id, now};

fn alias_fields(id: &'static str) -> [Field; 6] {
    [
        Field::new("id", FieldType::String).description(id),
        Field::new("entity_id", FieldType::String).description(
            "Entity ID to which this alias belongs. This field is deprecated, use canonical_id.",
        ),
        Field::new("canonical_id", FieldType::String)
            .description("Entity ID to which this alias belongs"),
        Field::new("mount_accessor", FieldType::String)
            .description("Mount accessor to which this alias belongs to; unused for a modify"),
        Field::new("name", FieldType::String).description("Name of the alias; unused for a modify"),
        Field::new("custom_metadata", FieldType::KvPairs)
            .description("User provided key-value pairs"),
    ]
}

pub(super) fn paths(store: &Arc<IdentityStore>) -> Vec<Path> {
    vec![
        Path::new("entity-alias")
            .fields(alias_fields(
                "ID of the entity alias. If set, updates the corresponding entity alias.",
            ))
            .operation(Operation::Update, handler(store, write_alias))
            .help("Create a new alias.", ""),
        Path::new(format!("entity-alias/id/{}", generic_name_regex("id")))
            .fields(alias_fields("ID of the alias"))
            .operation(Operation::Update, handler(store, write_alias))
            .operation(Operation::Read, handler(store, read_alias))
            .operation(Operation::Delete, handler(store, delete_alias))
            .help("Update, read or delete an alias ID.", ""),
        Path::new(format!("entity-alias/id{OPTIONAL_TRAILING_SLASH}"))
            .operation(Operation::List, handler(store, list_aliases))
            .help("List all the alias IDs.", ""),
    ]
}

#[derive(Debug, Deserialize)]
struct AliasWrite {
    #[serde(default)]
    id: String,
    #[serde(default)]
    entity_id: String,
    #[serde(default)]
    canonical_id: String,
    #[serde(default)]
    mount_accessor: String,
    #[serde(default)]
    name: String,
    custom_metadata: Option<BTreeMap<String, String>>,
}

/// The alias with this id and its entity.
fn alias_by_id(store: &IdentityStore, id: &str) -> Option<(Arc<Entity>, EntityAlias)> {
    let state = store.read_state();
    let entity = state.entity_by_alias_id(id)?;
    let alias = entity.aliases.iter().find(|alias| alias.id == id)?.clone();
    Some((Arc::clone(entity), alias))
}

fn ids_response(alias_id: &str, entity_id: &str) -> Option<Response> {
    let mut data = Map::new();
    data.insert("canonical_id".into(), json!(entity_id));
    data.insert("id".into(), json!(alias_id));
    Some(Response::with_data(data))
}

/// Vault's `handleAliasCreateUpdate`.
async fn write_alias(
    store: Arc<IdentityStore>,
    _req: Request,
    input: AliasWrite,
) -> Result<Option<Response>, LogicalError> {
    let custom_provided = input.custom_metadata.is_some();
    let mut custom = input.custom_metadata.unwrap_or_default();
    let canonical_id = if input.canonical_id.is_empty() {
        input.entity_id
    } else {
        input.canonical_id
    };
    if !custom.is_empty() {
        validate_custom_metadata(&custom).map_err(LogicalError::Internal)?;
    }
    let mut name = input.name;
    let mut accessor = input.mount_accessor;
    let _write = store.write_lock.lock().await;
    if !input.id.is_empty() {
        let Some((_, alias)) = alias_by_id(&store, &input.id) else {
            return Err(LogicalError::user("invalid alias ID provided"));
        };
        if !custom_provided {
            custom = alias.custom_metadata.clone();
        }
        match (accessor.is_empty(), name.is_empty()) {
            (true, true) => {
                if canonical_id.is_empty() && !custom_provided {
                    return Ok(None);
                }
                name = alias.name.clone();
                accessor = alias.mount_accessor.clone();
            }
            (true, false) => accessor = alias.mount_accessor.clone(),
            (false, true) => name = alias.name.clone(),
            (false, false) => {}
        }
        let edit = AliasEdit {
            canonical_id,
            name,
            accessor,
            custom,
        };
        return update_alias(&store, edit, alias, true).await;
    }
    if accessor.is_empty() || name.is_empty() {
        return Err(LogicalError::user(
            "'id' or 'mount_accessor' and 'name' must be provided",
        ));
    }
    let Some(mount) = store.resolve_mount(&accessor) else {
        return Err(LogicalError::user(format!(
            "invalid mount accessor {accessor:?}"
        )));
    };
    // Logins that would create this alias wait for this request.
    let _creating = store.alias_lock(&accessor, &name).lock().await;
    let existing = store
        .read_state()
        .by_factors(&accessor, &name)
        .and_then(|(alias_id, entity)| entity.aliases.iter().find(|a| a.id == alias_id).cloned());
    let edit = AliasEdit {
        canonical_id,
        name,
        accessor,
        custom,
    };
    match existing {
        Some(alias) => update_alias(&store, edit, alias, false).await,
        None => create_alias(&store, edit, &mount).await,
    }
}

/// What a write asks of an alias.
#[derive(Debug)]
struct AliasEdit {
    canonical_id: String,
    name: String,
    accessor: String,
    custom: BTreeMap<String, String>,
}

/// Vault's `handleAliasCreate`.
async fn create_alias(
    store: &IdentityStore,
    edit: AliasEdit,
    mount: &MountRef,
) -> Result<Option<Response>, LogicalError> {
    let before = if edit.canonical_id.is_empty() {
        None
    } else {
        match store.read_state().entity(&edit.canonical_id) {
            Some(entity) => Some(Arc::clone(entity)),
            None => return Err(LogicalError::user("invalid canonical ID")),
        }
    };
    if before
        .as_ref()
        .is_some_and(|entity| entity.alias_for_mount(&edit.accessor).is_some())
    {
        return Err(LogicalError::user(
            "Alias already exists for requested entity and mount accessor",
        ));
    }
    let generated = before.is_none().then(|| store.reserve_generated_name());
    let mut entity = match &before {
        Some(before) => Entity::clone(before),
        None => new_entity(generated.clone().unwrap_or_default()),
    };
    let now = now();
    let alias = EntityAlias {
        id: new_id(),
        canonical_id: entity.id.clone(),
        mount_accessor: edit.accessor,
        mount_type: mount.mount_type.clone(),
        mount_path: mount.mount_path.clone(),
        name: edit.name,
        metadata: BTreeMap::new(),
        custom_metadata: edit.custom,
        creation_time: now,
        last_update_time: now,
        local: mount.local,
        merged_from_canonical_ids: Vec::new(),
        namespace_id: ROOT_NAMESPACE_ID.to_owned(),
    };
    let response = ids_response(&alias.id, &entity.id);
    entity.aliases.push(alias);
    let change = match before {
        Some(before) => Change::update(before, entity),
        None => Change::create(entity),
    };
    let result = store.commit(vec![change]).await;
    if let Some(name) = generated {
        store.release_name(&name);
    }
    result?;
    Ok(response)
}

/// Vault's `handleAliasUpdate`. `lock_factors`: whether to take the alias lock of new
/// factors (the caller does not hold one).
async fn update_alias(
    store: &IdentityStore,
    edit: AliasEdit,
    alias: EntityAlias,
    lock_factors: bool,
) -> Result<Option<Response>, LogicalError> {
    let moving = !edit.canonical_id.is_empty() && edit.canonical_id != alias.canonical_id;
    if edit.name == alias.name
        && edit.accessor == alias.mount_accessor
        && !moving
        && edit.custom == alias.custom_metadata
    {
        return Ok(None);
    }
    let Some(current) = store.read_state().entity_by_alias_id(&alias.id).cloned() else {
        return Err(LogicalError::user(
            "given alias is not associated with an entity",
        ));
    };
    if edit.accessor != alias.mount_accessor
        && !moving
        && current.alias_for_mount(&edit.accessor).is_some()
    {
        return Err(LogicalError::user(
            "Alias cannot be updated as the entity already has an alias for the given 'mount_accessor' ",
        ));
    }
    let renaming =
        factors_key(&edit.accessor, &edit.name) != factors_key(&alias.mount_accessor, &alias.name);
    let _creating = match lock_factors && renaming {
        true => Some(store.alias_lock(&edit.accessor, &edit.name).lock().await),
        false => None,
    };
    let mut updated = alias.clone();
    updated.last_update_time = now();
    if edit.name != alias.name
        || edit.accessor != alias.mount_accessor
        || edit.custom != alias.custom_metadata
    {
        let Some(mount) = store.resolve_mount(&edit.accessor) else {
            return Err(LogicalError::user(format!(
                "invalid mount accessor {:?}",
                edit.accessor
            )));
        };
        let taken = store
            .read_state()
            .by_factors(&edit.accessor, &edit.name)
            .is_some_and(|(alias_id, _)| alias_id != alias.id);
        if taken {
            return Err(LogicalError::user(
                "alias with combination of mount accessor and name already exists",
            ));
        }
        updated.name = edit.name;
        updated.mount_accessor = edit.accessor;
        updated.mount_type = mount.mount_type;
        updated.mount_path = mount.mount_path;
        updated.custom_metadata = edit.custom;
    }
    let Some(mount) = store.resolve_mount(&updated.mount_accessor) else {
        return Err(LogicalError::internal(format!(
            "invalid mount accessor {:?}",
            updated.mount_accessor
        )));
    };
    let mut current_after = Entity::clone(&current);
    if !moving {
        if let Some(slot) = current_after.aliases.iter_mut().find(|a| a.id == alias.id) {
            *slot = updated;
        }
        store
            .commit(vec![Change::update(current, current_after)])
            .await?;
        return Ok(ids_response(&alias.id, &alias.canonical_id));
    }
    if mount.local {
        return Err(LogicalError::user(
            "local aliases can't be moved between entities",
        ));
    }
    let Some(target) = store.read_state().entity(&edit.canonical_id).cloned() else {
        return Err(LogicalError::user(
            "given 'canonical_id' is not associated with an entity",
        ));
    };
    if target.alias_for_mount(&updated.mount_accessor).is_some() {
        return Err(LogicalError::user(
            "Alias cannot be updated as the given entity already has an alias for this mount ",
        ));
    }
    updated.canonical_id = target.id.clone();
    let mut target_after = Entity::clone(&target);
    target_after.aliases.push(updated);
    current_after.aliases.retain(|a| a.id != alias.id);
    store
        .commit(vec![
            Change::update(current, current_after),
            Change::update(Arc::clone(&target), target_after),
        ])
        .await?;
    Ok(ids_response(&alias.id, &target.id))
}

#[derive(Debug, Deserialize)]
struct ById {
    id: String,
}

async fn read_alias(
    store: Arc<IdentityStore>,
    _req: Request,
    input: ById,
) -> Result<Option<Response>, LogicalError> {
    Ok(alias_by_id(&store, &input.id).and_then(|(_, alias)| alias_response(&store, &alias)))
}

async fn delete_alias(
    store: Arc<IdentityStore>,
    _req: Request,
    input: ById,
) -> Result<Option<Response>, LogicalError> {
    let _write = store.write_lock.lock().await;
    let Some((entity, _)) = alias_by_id(&store, &input.id) else {
        return Ok(None);
    };
    let mut after = Entity::clone(&entity);
    after.aliases.retain(|alias| alias.id != input.id);
    store.commit(vec![Change::update(entity, after)]).await?;
    Ok(None)
}

/// Vault's `handleAliasListCommon`: keys in alias-id order.
async fn list_aliases(
    store: Arc<IdentityStore>,
    _req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    let entities = store.read_state().sorted_entities();
    let mut aliases: Vec<&EntityAlias> = entities.iter().flat_map(|e| &e.aliases).collect();
    aliases.sort_by(|a, b| a.id.cmp(&b.id));
    let keys = aliases.iter().map(|alias| alias.id.clone()).collect();
    let info = aliases
        .iter()
        .map(|alias| (alias.id.clone(), alias_list_info(&store, alias)))
        .collect();
    Ok(list_response(keys, info))
}
