//! Entities, their aliases, and the rules Vault applies to their fields
//! (`helper/identity/types.proto`, `identity_store_util.go` `validateMetadata`,
//! `sdk/helper/custommetadata`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The only namespace warden has (Vault's `namespace.RootNamespaceID`).
pub const ROOT_NAMESPACE_ID: &str = "root";

/// A client of warden as the identity store knows it: one entity per person or workload,
/// with one alias per auth mount it logs in through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    /// A UUID.
    pub id: String,
    /// Unique (case-insensitively); `entity_<8 hex>` unless the operator chose one.
    pub name: String,
    /// Operator-set metadata.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Policies granted to every token of the entity (lower-cased, sorted, unique).
    #[serde(default)]
    pub policies: Vec<String>,
    /// A disabled entity's tokens are refused (but not revoked), and it cannot log in.
    #[serde(default)]
    pub disabled: bool,
    /// The entity's aliases, at most one per mount accessor.
    #[serde(default)]
    pub aliases: Vec<EntityAlias>,
    /// When the entity was created.
    #[serde(with = "rfc3339")]
    pub creation_time: OffsetDateTime,
    /// When the entity last changed.
    #[serde(with = "rfc3339")]
    pub last_update_time: OffsetDateTime,
    /// Always [`ROOT_NAMESPACE_ID`].
    pub namespace_id: String,
    /// Vault's storage-packer bucket; warden stores one key per entity and leaves it empty.
    #[serde(default)]
    pub bucket_key: String,
    /// Entities merged into this one (merging is not implemented yet, so always empty).
    #[serde(default)]
    pub merged_entity_ids: Vec<String>,
}

impl Entity {
    /// Whether the entity's tokens and logins are refused.
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// The entity's alias on the mount with this accessor.
    pub fn alias_for_mount(&self, mount_accessor: &str) -> Option<&EntityAlias> {
        self.aliases
            .iter()
            .find(|alias| alias.mount_accessor == mount_accessor)
    }
}

/// The name under which one auth mount knows an entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityAlias {
    /// A UUID.
    pub id: String,
    /// The entity the alias belongs to.
    pub canonical_id: String,
    /// The auth mount's accessor.
    pub mount_accessor: String,
    /// The auth mount's type when the alias was created.
    #[serde(default)]
    pub mount_type: String,
    /// The auth mount's path when the alias was created.
    #[serde(default)]
    pub mount_path: String,
    /// The name the auth method gave (a service account UID, a JWT `sub`…); unique per
    /// mount accessor, case-insensitively.
    pub name: String,
    /// Set by the auth method at every login (usable in policy templates).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Set by the operator through `identity/entity-alias`.
    #[serde(default)]
    pub custom_metadata: BTreeMap<String, String>,
    /// When the alias was created.
    #[serde(with = "rfc3339")]
    pub creation_time: OffsetDateTime,
    /// When the alias last changed.
    #[serde(with = "rfc3339")]
    pub last_update_time: OffsetDateTime,
    /// Whether the alias belongs to a local (non-replicated) mount.
    #[serde(default)]
    pub local: bool,
    /// Entities this alias was moved from by merges (always empty for now).
    #[serde(default)]
    pub merged_from_canonical_ids: Vec<String>,
    /// Always [`ROOT_NAMESPACE_ID`].
    pub namespace_id: String,
}

/// What the router knows about an auth mount, by accessor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MountRef {
    /// The mount's type (`kubernetes`, `jwt`).
    pub mount_type: String,
    /// The mount's path with its trailing slash and `auth/` prefix (`auth/kubernetes/`).
    pub mount_path: String,
    /// Whether the mount is local.
    pub local: bool,
}

/// Looks up a mount by accessor (Vault's `router.ValidateMountByAccessor`); `None` when no
/// mount has the accessor.
#[derive(Clone)]
pub struct MountResolver(Arc<ResolveFn>);

type ResolveFn = dyn Fn(&str) -> Option<MountRef> + Send + Sync;

impl MountResolver {
    /// A resolver from a function of the accessor.
    pub fn new(resolve: impl Fn(&str) -> Option<MountRef> + Send + Sync + 'static) -> Self {
        Self(Arc::new(resolve))
    }

    /// The mount with this accessor.
    pub fn resolve(&self, accessor: &str) -> Option<MountRef> {
        (self.0)(accessor)
    }
}

impl fmt::Debug for MountResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MountResolver")
    }
}

/// Go's `time.RFC3339Nano` in UTC: fractional seconds without trailing zeros, none at all
/// when zero (`2017-07-25T20:29:22.614756844Z`).
pub fn format_time(time: OffsetDateTime) -> String {
    let utc = time.to_offset(time::UtcOffset::UTC);
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    );
    let nanos = utc.nanosecond();
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Stored times are RFC 3339 strings.
mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    pub(super) fn serialize<S: Serializer>(
        value: &OffsetDateTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_time(*value))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        OffsetDateTime::parse(&text, &Rfc3339).map_err(serde::de::Error::custom)
    }
}

const META_MAX_KEY_PAIRS: usize = 64;
const META_KEY_MAX_LENGTH: usize = 128;
const META_VALUE_MAX_LENGTH: usize = 512;
const META_KEY_RESERVED_PREFIX: &str = "vault-";

/// Vault's `validateMetadata` for entity and alias metadata; the error is the text after
/// `invalid entity metadata: ` / `invalid alias metadata: `.
pub(crate) fn validate_metadata(meta: &BTreeMap<String, String>) -> Result<(), String> {
    if meta.len() > META_MAX_KEY_PAIRS {
        return Err(format!(
            "metadata cannot contain more than {META_MAX_KEY_PAIRS} key/value pairs"
        ));
    }
    for (key, value) in meta {
        let problem = if key.is_empty() {
            Some("key cannot be blank".to_owned())
        } else if !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=/+_-".contains(&b))
        {
            Some("key contains invalid characters".to_owned())
        } else if key.len() > META_KEY_MAX_LENGTH {
            Some(format!(
                "key is too long (limit: {META_KEY_MAX_LENGTH} characters)"
            ))
        } else if key.starts_with(META_KEY_RESERVED_PREFIX) {
            Some(format!(
                "key prefix {META_KEY_RESERVED_PREFIX:?} is reserved for internal use"
            ))
        } else if value.len() > META_VALUE_MAX_LENGTH {
            Some(format!(
                "value is too long (limit: {META_VALUE_MAX_LENGTH} characters)"
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(format!(
                "failed to load metadata pair ({key:?}, {value:?}): {problem}"
            ));
        }
    }
    Ok(())
}

/// Vault's `custommetadata.Validate`, every problem in go-multierror's format.
pub(crate) fn validate_custom_metadata(meta: &BTreeMap<String, String>) -> Result<(), String> {
    const PREFIX: &str = "custom_metadata validation failed";
    let mut errors = Vec::new();
    if meta.len() > META_MAX_KEY_PAIRS {
        errors.push(format!(
            "{PREFIX}: payload must contain at most {META_MAX_KEY_PAIRS} keys, provided {}",
            meta.len()
        ));
    } else {
        for (key, value) in meta {
            if key.is_empty() || key.len() > META_KEY_MAX_LENGTH {
                errors.push(format!(
                    "{PREFIX}: length of key {key:?} is {} but must be 0 < len(key) <= {META_KEY_MAX_LENGTH}",
                    key.len()
                ));
            }
            if value.is_empty() || value.len() > META_VALUE_MAX_LENGTH {
                errors.push(format!(
                    "{PREFIX}: length of value for key {key:?} is {} but must be 0 < len(value) <= {META_VALUE_MAX_LENGTH}",
                    value.len()
                ));
            }
            if !printable(key) {
                errors.push(format!(
                    "{PREFIX}: key {key:?} ({key}) contains unprintable characters"
                ));
            }
            if !printable(value) {
                errors.push(format!(
                    "{PREFIX}: value for key {key:?} contains unprintable characters"
                ));
            }
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(format!("1 error occurred:\n\t* {}\n\n", errors[0])),
        n => Err(format!(
            "{n} errors occurred:\n\t* {}\n\n",
            errors.join("\n\t* ")
        )),
    }
}

/// Go's `unicode.IsPrint` for every rune, approximately: no control characters.
fn printable(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

/// Vault's `strutil.RemoveDuplicates(items, true)`: trimmed, lower-cased, empty ones
/// dropped, sorted, unique.
pub(crate) fn sanitize_policies(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = items
        .iter()
        .map(|item| item.trim().to_lowercase())
        .filter(|item| !item.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}
