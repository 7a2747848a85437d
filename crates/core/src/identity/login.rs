//! The login side of the identity store (Vault's `CreateOrFetchEntity`).

use std::sync::Arc;

use warden_logical::Alias;

use super::types::{Entity, EntityAlias, MountRef, ROOT_NAMESPACE_ID, validate_metadata};
use super::write::{Change, new_entity, new_id, now};
use super::{IdentityStore, core_error};
use crate::CoreError;

/// What memory says about a login's alias.
enum Found {
    /// The alias exists with the same metadata.
    Current(Box<Entity>),
    /// The alias exists but the auth method reports different metadata.
    Stale,
    /// No entity has the alias.
    Missing,
}

impl IdentityStore {
    /// The entity for a login's alias, created (with the alias) when none has it; the
    /// alias's metadata is replaced when the auth method reports new values. The caller
    /// must refuse the login when the entity [is disabled](Entity::is_disabled).
    ///
    /// `alias.mount_accessor` and `alias.mount_type` must be the login mount's (the core
    /// fills them in). Errors: `missing name in alias`, `invalid mount accessor "…"`,
    /// `mount accessor "…" is not a mount of type "…"`, `invalid alias metadata: …`, or
    /// a storage failure; all are internal errors (500), as in Vault.
    pub async fn entity_for_login(&self, alias: &Alias) -> Result<Entity, CoreError> {
        self.create_or_fetch_entity(alias)
            .await
            .map(|(entity, _)| entity)
    }

    /// [`Self::entity_for_login`], also telling whether the entity was created by this call
    /// (Vault's `auth.EntityCreated`, shown in audit entries).
    pub async fn create_or_fetch_entity(&self, alias: &Alias) -> Result<(Entity, bool), CoreError> {
        if alias.name.is_empty() {
            return Err(CoreError::internal("missing name in alias"));
        }
        let mount = self.resolve_mount(&alias.mount_accessor).ok_or_else(|| {
            CoreError::Internal(format!("invalid mount accessor {:?}", alias.mount_accessor))
        })?;
        if !alias.mount_type.is_empty() && mount.mount_type != alias.mount_type {
            return Err(CoreError::Internal(format!(
                "mount accessor {:?} is not a mount of type {:?}",
                alias.mount_accessor, alias.mount_type
            )));
        }
        validate_metadata(&alias.metadata)
            .map_err(|err| CoreError::Internal(format!("invalid alias metadata: {err}")))?;
        loop {
            match self.find_login_alias(alias) {
                Found::Current(entity) => return Ok((*entity, false)),
                Found::Stale => {
                    if let Some(entity) = self.refresh_alias_metadata(alias).await? {
                        return Ok((entity, false));
                    }
                    // The alias was deleted meanwhile: create it.
                }
                Found::Missing => {}
            }
            let _creating = self
                .alias_lock(&alias.mount_accessor, &alias.name)
                .lock()
                .await;
            match self.find_login_alias(alias) {
                Found::Current(entity) => return Ok((*entity, false)),
                // Refreshing takes the write lock, which is never taken while holding
                // an alias lock: start over without it.
                Found::Stale => continue,
                Found::Missing => {}
            }
            let entity = self.create_for_login(alias, &mount).await?;
            return Ok((entity, true));
        }
    }

    fn find_login_alias(&self, alias: &Alias) -> Found {
        let state = self.read_state();
        let Some((alias_id, entity)) = state.by_factors(&alias.mount_accessor, &alias.name) else {
            return Found::Missing;
        };
        let current = entity
            .aliases
            .iter()
            .find(|a| a.id == alias_id)
            .is_some_and(|a| a.metadata == alias.metadata);
        if current {
            Found::Current(Box::new(Entity::clone(entity)))
        } else {
            Found::Stale
        }
    }

    /// Replaces the alias's metadata under the write lock; `None` if the alias is gone.
    async fn refresh_alias_metadata(&self, alias: &Alias) -> Result<Option<Entity>, CoreError> {
        let _write = self.write_lock.lock().await;
        let found = self
            .read_state()
            .by_factors(&alias.mount_accessor, &alias.name)
            .map(|(alias_id, entity)| (alias_id.to_owned(), Arc::clone(entity)));
        let Some((alias_id, before)) = found else {
            return Ok(None);
        };
        let mut after = Entity::clone(&before);
        let Some(stored) = after.aliases.iter_mut().find(|a| a.id == alias_id) else {
            return Ok(None);
        };
        if stored.metadata == alias.metadata {
            return Ok(Some(after));
        }
        stored.metadata = alias.metadata.clone();
        stored.last_update_time = now();
        self.commit(vec![Change::update(before, after.clone())])
            .await
            .map_err(core_error)?;
        Ok(Some(after))
    }

    /// Creates the entity and alias of a first login; the caller holds the alias's lock.
    async fn create_for_login(&self, alias: &Alias, mount: &MountRef) -> Result<Entity, CoreError> {
        let name = self.reserve_generated_name();
        let mut entity = new_entity(name.clone());
        entity.aliases.push(EntityAlias {
            id: new_id(),
            canonical_id: entity.id.clone(),
            mount_accessor: alias.mount_accessor.clone(),
            mount_type: mount.mount_type.clone(),
            mount_path: mount.mount_path.clone(),
            name: alias.name.clone(),
            metadata: alias.metadata.clone(),
            custom_metadata: Default::default(),
            creation_time: entity.creation_time,
            last_update_time: entity.creation_time,
            local: mount.local,
            merged_from_canonical_ids: Vec::new(),
            namespace_id: ROOT_NAMESPACE_ID.to_owned(),
        });
        tracing::debug!(
            entity_id = entity.id,
            mount_accessor = alias.mount_accessor,
            "creating a new entity"
        );
        let result = self.commit(vec![Change::create(entity.clone())]).await;
        self.release_name(&name);
        result.map_err(core_error)?;
        Ok(entity)
    }
}
