//! Identity templating of policy paths (Vault's `sdk/helper/identitytpl`, ACL mode).
//!
//! A path such as `secret/data/{{identity.entity.aliases.auth_kubernetes_1234.metadata.service_account_namespace}}/*`
//! is rendered per request with the caller's entity. A path whose template cannot be resolved
//! (no entity, unknown alias, missing metadata key, empty value) is dropped from the policy.
//!
//! **No widening.** A substituted value containing `*` or `+` is refused (current Vault refuses
//! them too: `globs and wildcards are not allowed in template result`), and so is a value
//! containing `/`. Vault allows `/` unless `DenySlashInTemplatedPaths` is configured (OpenBao
//! refuses it unless the policy sets `allow_slashes_in_identity_templates`); warden always
//! refuses it, so a metadata value like `a/b` cannot reach paths under another namespace. In
//! each case the path is dropped, never widened.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use warden_logical::framework::parse_duration_second;

/// What a templated policy is rendered with: the caller's entity, its aliases and groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateContext {
    /// `{{identity.entity.id}}`.
    pub entity_id: String,
    /// `{{identity.entity.name}}`.
    pub entity_name: String,
    /// `{{identity.entity.metadata.<key>}}`.
    pub entity_metadata: BTreeMap<String, String>,
    /// `{{identity.entity.aliases.<mount accessor>.…}}`.
    pub aliases: Vec<AliasContext>,
    /// `{{identity.groups.ids.<id>.…}}` and `{{identity.groups.names.<name>.…}}`.
    pub groups: Vec<GroupContext>,
}

/// One alias of the entity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AliasContext {
    /// The accessor of the auth mount the alias belongs to.
    pub mount_accessor: String,
    /// `….id`.
    pub id: String,
    /// `….name`.
    pub name: String,
    /// `….metadata.<key>`.
    pub metadata: BTreeMap<String, String>,
    /// `….custom_metadata.<key>`.
    pub custom_metadata: BTreeMap<String, String>,
}

/// One group the entity belongs to (directly or by inheritance).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupContext {
    /// The group id.
    pub id: String,
    /// The group name.
    pub name: String,
    /// The group metadata.
    pub metadata: BTreeMap<String, String>,
}

const UNBALANCED: &str = "unbalanced templating characters";
const NOT_FOUND: &str = "no value could be found for one of the template directives";
const NO_ENTITY: &str = "string contains entity template directives but no entity was provided";
const NO_GROUPS: &str = "string contains groups template directives but no groups were provided";
const WILDCARD: &str = "globs and wildcards are not allowed in template result";
const SLASH: &str = "templated policy paths cannot contain '/'";

/// Whether `text` holds template directives; an error for unbalanced `{{`/`}}`.
pub(crate) fn has_templating(text: &str) -> Result<bool, String> {
    let pieces: Vec<&str> = text.split("{{").collect();
    if pieces[0].contains("}}") {
        return Err(UNBALANCED.to_owned());
    }
    for piece in &pieces[1..] {
        if piece.split("}}").count() != 2 {
            return Err(UNBALANCED.to_owned());
        }
    }
    Ok(pieces.len() > 1)
}

/// Renders every directive of `text`; an error means the path must be dropped.
pub(crate) fn render(text: &str, ctx: Option<&TemplateContext>) -> Result<String, String> {
    let mut pieces = text.split("{{");
    let first = pieces.next().unwrap_or_default();
    if first.contains("}}") {
        return Err(UNBALANCED.to_owned());
    }
    let mut out = first.to_owned();
    for piece in pieces {
        let parts: Vec<&str> = piece.split("}}").collect();
        let [directive, rest] = parts[..] else {
            return Err(UNBALANCED.to_owned());
        };
        let value = directive_value(directive.trim(), ctx)?;
        if value.contains(['*', '+']) {
            return Err(WILDCARD.to_owned());
        }
        if value.contains('/') {
            return Err(SLASH.to_owned());
        }
        out.push_str(&value);
        out.push_str(rest);
    }
    Ok(out)
}

fn non_empty(value: &str) -> Result<String, String> {
    if value.is_empty() {
        Err(NOT_FOUND.to_owned())
    } else {
        Ok(value.to_owned())
    }
}

fn from_map(map: &BTreeMap<String, String>, key: &str) -> Result<String, String> {
    map.get(key).cloned().ok_or_else(|| NOT_FOUND.to_owned())
}

fn directive_value(input: &str, ctx: Option<&TemplateContext>) -> Result<String, String> {
    if let Some(rest) = input.strip_prefix("identity.entity.") {
        let ctx = ctx.ok_or_else(|| NO_ENTITY.to_owned())?;
        return entity_value(rest, ctx);
    }
    if let Some(rest) = input.strip_prefix("identity.groups.") {
        let ctx = ctx
            .filter(|ctx| !ctx.groups.is_empty())
            .ok_or_else(|| NO_GROUPS.to_owned())?;
        return group_value(rest, ctx);
    }
    if let Some(rest) = input.strip_prefix("time.") {
        return time_value(rest);
    }
    Err(NOT_FOUND.to_owned())
}

fn entity_value(selector: &str, ctx: &TemplateContext) -> Result<String, String> {
    match selector {
        "id" => non_empty(&ctx.entity_id),
        "name" => non_empty(&ctx.entity_name),
        _ => {
            if let Some(key) = selector.strip_prefix("metadata.") {
                return from_map(&ctx.entity_metadata, key);
            }
            let Some(rest) = selector.strip_prefix("aliases.") else {
                // `metadata`, `groups.names`, `groups.ids` are not strings in ACL mode.
                return Err(NOT_FOUND.to_owned());
            };
            let Some((accessor, field)) = rest.split_once('.') else {
                return Err("invalid alias selector".to_owned());
            };
            let alias = ctx
                .aliases
                .iter()
                .find(|alias| alias.mount_accessor == accessor)
                .ok_or_else(|| "alias not found".to_owned())?;
            match field {
                "id" => non_empty(&alias.id),
                "name" => non_empty(&alias.name),
                _ => {
                    if let Some(key) = field.strip_prefix("metadata.") {
                        from_map(&alias.metadata, key)
                    } else if let Some(key) = field.strip_prefix("custom_metadata.") {
                        from_map(&alias.custom_metadata, key)
                    } else {
                        Err(NOT_FOUND.to_owned())
                    }
                }
            }
        }
    }
}

fn group_value(selector: &str, ctx: &TemplateContext) -> Result<String, String> {
    let Some((kind, rest)) = selector.split_once('.') else {
        return Err("invalid groups selector".to_owned());
    };
    let by_id = match kind {
        "ids" => true,
        "names" => false,
        _ => return Err("invalid groups selector".to_owned()),
    };
    let Some((wanted, field)) = rest.split_once('.') else {
        return Err("invalid groups accessor".to_owned());
    };
    let group = ctx
        .groups
        .iter()
        .find(|g| {
            if by_id {
                g.id == wanted
            } else {
                g.name == wanted
            }
        })
        .ok_or_else(|| format!("entity is not a member of group {wanted:?}"))?;
    match field {
        "id" => Ok(group.id.clone()),
        "name" => non_empty(&group.name),
        _ => match field.strip_prefix("metadata.") {
            Some(key) => from_map(&group.metadata, key),
            None => Err(NOT_FOUND.to_owned()),
        },
    }
}

fn time_value(selector: &str) -> Result<String, String> {
    let parts: Vec<&str> = selector.splitn(3, '.').collect();
    if parts[0] != "now" {
        return Err(format!("invalid time selector {:?}", parts[0]));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    match parts[..] {
        [_] => Ok(now.to_string()),
        [_, _] => Err("missing time operand".to_owned()),
        [_, op, amount] => {
            let seconds = parse_duration_second(&serde_json::Value::String(amount.to_owned()))
                .map_err(|err| format!("invalid duration: {err}"))?
                .unwrap_or_default();
            match op {
                "plus" => Ok((now + seconds).to_string()),
                "minus" => Ok((now - seconds).to_string()),
                _ => Err(format!("invalid time operator {op:?}")),
            }
        }
        _ => Err(NOT_FOUND.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> TemplateContext {
        TemplateContext {
            entity_id: "e-1".into(),
            entity_name: "app".into(),
            entity_metadata: BTreeMap::from([("team".into(), "blue".into())]),
            aliases: vec![AliasContext {
                mount_accessor: "auth_kubernetes_1".into(),
                id: "a-1".into(),
                name: "sa-uid".into(),
                metadata: BTreeMap::from([
                    ("service_account_namespace".into(), "prod".into()),
                    ("bad".into(), "x*".into()),
                    ("slash".into(), "a/b".into()),
                    ("plus".into(), "+".into()),
                ]),
                custom_metadata: BTreeMap::new(),
            }],
            groups: vec![GroupContext {
                id: "g-1".into(),
                name: "ops".into(),
                metadata: BTreeMap::new(),
            }],
        }
    }

    #[test]
    fn renders_entity_alias_and_group_values() {
        let c = ctx();
        assert_eq!(
            render("a/{{identity.entity.id}}", Some(&c)).unwrap(),
            "a/e-1"
        );
        assert_eq!(
            render("{{ identity.entity.name }}/x", Some(&c)).unwrap(),
            "app/x"
        );
        assert_eq!(
            render("{{identity.entity.metadata.team}}", Some(&c)).unwrap(),
            "blue"
        );
        let ns = "{{identity.entity.aliases.auth_kubernetes_1.metadata.service_account_namespace}}";
        assert_eq!(render(ns, Some(&c)).unwrap(), "prod");
        let alias = "{{identity.entity.aliases.auth_kubernetes_1.name}}";
        assert_eq!(render(alias, Some(&c)).unwrap(), "sa-uid");
        assert_eq!(
            render("{{identity.groups.names.ops.id}}", Some(&c)).unwrap(),
            "g-1"
        );
        assert_eq!(render("plain", None).unwrap(), "plain");
    }

    #[test]
    fn unresolvable_or_widening_values_fail() {
        let c = ctx();
        let fails = [
            "{{identity.entity.metadata.nope}}",
            "{{identity.entity.aliases.other.name}}",
            "{{identity.entity.aliases.auth_kubernetes_1.metadata.bad}}",
            "{{identity.entity.aliases.auth_kubernetes_1.metadata.slash}}",
            "{{identity.entity.aliases.auth_kubernetes_1.metadata.plus}}",
            "{{identity.entity.metadata}}",
            "{{identity.groups.names.dev.id}}",
            "{{unknown}}",
        ];
        for text in fails {
            assert!(render(text, Some(&c)).is_err(), "{text}");
        }
        assert_eq!(
            render("{{identity.entity.id}}", None).unwrap_err(),
            NO_ENTITY
        );
        assert_eq!(render("a}}", Some(&c)).unwrap_err(), UNBALANCED);
    }

    #[test]
    fn validity_check() {
        assert!(has_templating("a/{{identity.entity.id}}").unwrap());
        assert!(!has_templating("a/b").unwrap());
        assert_eq!(has_templating("a/{{x").unwrap_err(), UNBALANCED);
        assert_eq!(has_templating("a}}").unwrap_err(), UNBALANCED);
        assert!(time_value("now").is_ok());
        assert!(time_value("now.plus.1h").is_ok());
        assert!(time_value("now.plus").is_err());
    }
}
