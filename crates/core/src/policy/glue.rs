//! Where the core meets the policy store: the ACL of a token, with its entity's policies and
//! the templating context of `{{identity.…}}` paths.

use warden_logical::TokenEntry;

use super::{Acl, AliasContext, TemplateContext};
use crate::CoreError;
use crate::identity::Entity;
use crate::lifecycle::Core;

/// The templating context of an entity.
pub(crate) fn template_context(entity: &Entity) -> TemplateContext {
    TemplateContext {
        entity_id: entity.id.clone(),
        entity_name: entity.name.clone(),
        entity_metadata: entity.metadata.clone(),
        aliases: entity
            .aliases
            .iter()
            .map(|alias| AliasContext {
                mount_accessor: alias.mount_accessor.clone(),
                id: alias.id.clone(),
                name: alias.name.clone(),
                metadata: alias.metadata.clone(),
                custom_metadata: alias.custom_metadata.clone(),
            })
            .collect(),
        groups: Vec::new(),
    }
}

impl Core {
    /// The ACL of `token`: its own policies plus its entity's (unless the token opted out),
    /// templated paths rendered for the entity. Policies that do not exist are skipped, as
    /// in Vault. A token whose entity is disabled, or whose entity is gone, gets
    /// `permission denied`, as Vault's `CheckToken` does.
    pub(crate) async fn acl_for_token(&self, token: &TokenEntry) -> Result<Acl, CoreError> {
        let active = self.require_active()?;
        if token.entity_id.is_empty() {
            return active.policy_store.acl(&token.policies, None).await;
        }
        let Some(entity) = active.identity.entity(&token.entity_id).await? else {
            tracing::warn!("permission denied as the entity on the token is invalid");
            return Err(CoreError::PermissionDenied);
        };
        if entity.disabled {
            tracing::warn!("permission denied as the entity on the token is disabled");
            return Err(CoreError::PermissionDenied);
        }
        let mut names = token.policies.clone();
        if !token.no_identity_policies {
            names.extend(entity.policies.iter().cloned());
        }
        let ctx = template_context(&entity);
        active.policy_store.acl(&names, Some(&ctx)).await
    }
}
