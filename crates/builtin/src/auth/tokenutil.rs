//! The `token_*` role fields every auth method shares (Vault's `sdk/helper/tokenutil`), with
//! the deprecated aliases (`policies`, `ttl`, `max_ttl`, `period`, `num_uses`,
//! `bound_cidrs`) and their upgrade rule: a given `token_*` field wins; a deprecated value is
//! mirrored back on read only if the deprecated field itself was set.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use warden_logical::framework::{Field, FieldType, Input};
use warden_logical::{Auth, LogicalError, Map, TokenType};

/// The token parameters of a role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenParams {
    /// CIDRs tokens may be used from (and logins must come from).
    pub token_bound_cidrs: Vec<String>,
    /// Hard cap on a token's life, seconds.
    pub token_explicit_max_ttl: u64,
    /// Maximum TTL, seconds.
    pub token_max_ttl: u64,
    /// Do not add the `default` policy.
    pub token_no_default_policy: bool,
    /// Uses allowed; 0 is unlimited.
    pub token_num_uses: i64,
    /// Period of periodic tokens, seconds.
    pub token_period: u64,
    /// Policies of issued tokens.
    pub token_policies: Vec<String>,
    /// `default`, `default-service`, `default-batch`, `service` or `batch`.
    pub token_type: String,
    /// TTL, seconds.
    pub token_ttl: u64,
    /// Deprecated mirrors, kept only when the deprecated field was written.
    pub policies: Vec<String>,
    /// Deprecated mirror of `token_ttl`.
    pub ttl: u64,
    /// Deprecated mirror of `token_max_ttl`.
    pub max_ttl: u64,
    /// Deprecated mirror of `token_period`.
    pub period: u64,
    /// Deprecated mirror of `token_num_uses`.
    pub num_uses: i64,
    /// Deprecated mirror of `token_bound_cidrs`.
    pub bound_cidrs: Vec<String>,
}

/// The schema of the token fields and their deprecated aliases.
pub fn token_fields() -> Vec<Field> {
    let deprecated = |name: &str, new: &str, kind| {
        Field::new(name, kind)
            .description(format!(
                "Use {new:?} instead. If this and {new:?} are both specified, only {new:?} will be used."
            ))
            .deprecated()
    };
    vec![
        Field::new("token_bound_cidrs", FieldType::CommaStringSlice)
            .description("Comma separated string or JSON list of CIDR blocks."),
        Field::new("token_explicit_max_ttl", FieldType::DurationSecond),
        Field::new("token_max_ttl", FieldType::DurationSecond),
        Field::new("token_no_default_policy", FieldType::Bool),
        Field::new("token_period", FieldType::DurationSecond),
        Field::new("token_policies", FieldType::CommaStringSlice),
        Field::new("token_type", FieldType::String).default(json!("default-service")),
        Field::new("token_ttl", FieldType::DurationSecond),
        Field::new("token_num_uses", FieldType::Int),
        deprecated("policies", "token_policies", FieldType::CommaStringSlice),
        deprecated("ttl", "token_ttl", FieldType::DurationSecond),
        deprecated("max_ttl", "token_max_ttl", FieldType::DurationSecond),
        deprecated("period", "token_period", FieldType::DurationSecond),
        deprecated("num_uses", "token_num_uses", FieldType::Int),
        deprecated(
            "bound_cidrs",
            "token_bound_cidrs",
            FieldType::CommaStringSlice,
        ),
    ]
}

fn int(data: &Map, key: &str) -> i64 {
    data.get(key).and_then(Value::as_i64).unwrap_or(0)
}

fn non_negative(value: i64, message: &str) -> Result<u64, LogicalError> {
    u64::try_from(value).map_err(|_| LogicalError::user(message))
}

/// Policies as Vault's `policyutil.ParsePolicies`: trimmed, lower-cased, deduplicated, sorted.
fn parse_policies(values: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = values
        .into_iter()
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn validate_cidrs(cidrs: &[String]) -> Result<(), LogicalError> {
    for cidr in cidrs {
        let (addr, bits) = cidr.split_once('/').unwrap_or((cidr.as_str(), ""));
        let ip: Option<std::net::IpAddr> = addr.trim().parse().ok();
        let max = match ip {
            Some(std::net::IpAddr::V4(_)) => 32,
            Some(std::net::IpAddr::V6(_)) => 128,
            None => return Err(LogicalError::user(format!("invalid CIDR address: {cidr}"))),
        };
        if !bits.is_empty() && bits.parse::<u32>().map_or(true, |b| b > max) {
            return Err(LogicalError::user(format!("invalid CIDR address: {cidr}")));
        }
    }
    Ok(())
}

impl TokenParams {
    /// Applies the token fields a request sent, with Vault's checks and messages
    /// (`ParseTokenFields` plus the deprecated-field upgrade).
    pub fn parse(&mut self, input: &Input<Map>) -> Result<(), LogicalError> {
        let data: &Map = input;
        let sent = |key: &str| input.provided(key);
        // Deprecated fields first; a token_* field sent alongside wins below.
        if !sent("token_policies") && sent("policies") {
            self.policies = parse_policies(warden_logical::matching::string_list(data, "policies"));
            self.token_policies = self.policies.clone();
        } else if sent("token_policies") {
            self.token_policies = parse_policies(warden_logical::matching::string_list(
                data,
                "token_policies",
            ));
            self.policies = if sent("policies") {
                self.token_policies.clone()
            } else {
                Vec::new()
            };
        }
        let durations = [
            ("ttl", "token_ttl"),
            ("max_ttl", "token_max_ttl"),
            ("period", "token_period"),
        ];
        for (old, new) in durations {
            let value = if sent(new) {
                Some(int(data, new))
            } else if sent(old) {
                Some(int(data, old))
            } else {
                None
            };
            if let Some(value) = value {
                let message = format!("'{new}' cannot be negative");
                let value = non_negative(value, &message)?;
                let mirror = if sent(old) { value } else { 0 };
                match new {
                    "token_ttl" => (self.token_ttl, self.ttl) = (value, mirror),
                    "token_max_ttl" => (self.token_max_ttl, self.max_ttl) = (value, mirror),
                    _ => (self.token_period, self.period) = (value, mirror),
                }
            }
        }
        if sent("token_explicit_max_ttl") {
            self.token_explicit_max_ttl = non_negative(
                int(data, "token_explicit_max_ttl"),
                "'token_explicit_max_ttl' cannot be negative",
            )?;
        }
        if sent("token_no_default_policy") {
            self.token_no_default_policy = data
                .get("token_no_default_policy")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        }
        if sent("token_num_uses") || sent("num_uses") {
            let key = if sent("token_num_uses") {
                "token_num_uses"
            } else {
                "num_uses"
            };
            let uses = int(data, key);
            if uses < 0 {
                return Err(LogicalError::user("'token_num_uses' cannot be negative"));
            }
            self.token_num_uses = uses;
            self.num_uses = if sent("num_uses") { uses } else { 0 };
        }
        if sent("token_bound_cidrs") || sent("bound_cidrs") {
            let key = if sent("token_bound_cidrs") {
                "token_bound_cidrs"
            } else {
                "bound_cidrs"
            };
            let cidrs = warden_logical::matching::string_list(data, key);
            validate_cidrs(&cidrs)?;
            self.bound_cidrs = if sent("bound_cidrs") {
                cidrs.clone()
            } else {
                Vec::new()
            };
            self.token_bound_cidrs = cidrs;
        }
        if !sent("token_type") && self.token_type.is_empty() {
            // Vault's zero value: the mount's tuning decides.
            self.token_type = "default".into();
        }
        if sent("token_type") {
            let raw = data
                .get("token_type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            self.token_type = match raw {
                "" | "default" => "default".into(),
                "default-service" | "default-batch" | "service" | "batch" => raw.to_owned(),
                other => {
                    return Err(LogicalError::user(format!(
                        "invalid 'token_type' value {other:?}"
                    )));
                }
            };
        }
        if matches!(self.token_type.as_str(), "batch" | "default-batch") {
            if self.token_period > 0 {
                return Err(LogicalError::user(
                    "'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens",
                ));
            }
            if self.token_num_uses > 0 {
                return Err(LogicalError::user(
                    "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count",
                ));
            }
        }
        if self.token_max_ttl > 0 && self.token_ttl > self.token_max_ttl {
            return Err(LogicalError::user(
                "'token_ttl' cannot be greater than 'token_max_ttl'",
            ));
        }
        Ok(())
    }

    /// Adds the fields to a role read, as Vault's `PopulateTokenData` does, plus the
    /// deprecated mirrors that were set.
    pub fn populate_data(&self, data: &mut Map) {
        data.insert("token_bound_cidrs".into(), json!(self.token_bound_cidrs));
        data.insert(
            "token_explicit_max_ttl".into(),
            json!(self.token_explicit_max_ttl),
        );
        data.insert("token_max_ttl".into(), json!(self.token_max_ttl));
        data.insert(
            "token_no_default_policy".into(),
            json!(self.token_no_default_policy),
        );
        data.insert("token_period".into(), json!(self.token_period));
        data.insert("token_policies".into(), json!(self.token_policies));
        data.insert("token_type".into(), json!(self.token_type));
        data.insert("token_ttl".into(), json!(self.token_ttl));
        data.insert("token_num_uses".into(), json!(self.token_num_uses));
        if !self.policies.is_empty() {
            data.insert("policies".into(), json!(self.policies));
        }
        if self.ttl > 0 {
            data.insert("ttl".into(), json!(self.ttl));
        }
        if self.max_ttl > 0 {
            data.insert("max_ttl".into(), json!(self.max_ttl));
        }
        if self.period > 0 {
            data.insert("period".into(), json!(self.period));
        }
        if self.num_uses > 0 {
            data.insert("num_uses".into(), json!(self.num_uses));
        }
        if !self.bound_cidrs.is_empty() {
            data.insert("bound_cidrs".into(), json!(self.bound_cidrs));
        }
    }

    /// Fills a login's `Auth` from the role (Vault's `PopulateTokenAuth`).
    pub fn populate_auth(&self, auth: &mut Auth) {
        auth.bound_cidrs = self.token_bound_cidrs.clone();
        auth.explicit_max_ttl = Duration::from_secs(self.token_explicit_max_ttl);
        auth.lease.max_ttl = Duration::from_secs(self.token_max_ttl);
        auth.no_default_policy = self.token_no_default_policy;
        auth.period = Duration::from_secs(self.token_period);
        auth.policies = self.token_policies.clone();
        auth.lease.renewable = true;
        auth.token_type = TokenType::parse(&self.token_type).unwrap_or_default();
        auth.lease.ttl = Duration::from_secs(self.token_ttl);
        auth.num_uses = self.token_num_uses;
    }

    /// Whether `addr` may log in under `token_bound_cidrs` (no CIDRs: anyone).
    pub fn login_allowed_from(&self, addr: Option<std::net::IpAddr>) -> bool {
        if self.token_bound_cidrs.is_empty() {
            return true;
        }
        let Some(addr) = addr else {
            return false;
        };
        self.token_bound_cidrs
            .iter()
            .any(|cidr| warden_logical::matching::cidr_contains(cidr, addr))
    }
}
