//! Pre-minted pools of distinct JWTs, and the login bodies that carry them. Minting runs on
//! every core before a measured window, never inside it.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::kube::SigningKey;

/// The audience of the JWT method's role (vault-benchmark's `jwt_auth` value).
pub(crate) const JWT_AUDIENCE: &str = "https://vault.plugin.auth.jwt.test";
/// The issuer of the bench's JWTs.
pub(crate) const JWT_ISSUER: &str = "https://warden-bench.invalid";
/// The user claim (vault-benchmark's): one user, so one identity alias for every login.
pub(crate) const USER_CLAIM: &str = "https://vault/user";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// vault-benchmark's `jwt_auth` claims, plus `exp`/`iat` and a distinct `sub` and `jti`
/// per token (the user claim stays the same, as when one workload logs in repeatedly).
pub(crate) fn jwt_claims(index: usize) -> Value {
    let now = now();
    json!({
        "iss": JWT_ISSUER,
        "sub": format!("bench-{index}"),
        "aud": [JWT_AUDIENCE],
        "nbf": now - 5,
        "iat": now - 5,
        "exp": now + 3600,
        "jti": uuid::Uuid::new_v4().to_string(),
        USER_CLAIM: "bench-user",
        "https://vault/groups": ["bench"],
    })
}

/// Signs `count` tokens made by `claims(i)` with `key`, on every core. Returns the
/// login bodies `{"role": role, "jwt": token}`, serialized once.
pub(crate) fn mint_login_bodies(
    key: &SigningKey,
    count: usize,
    role: &str,
    claims: &(dyn Fn(usize) -> Value + Sync),
) -> anyhow::Result<Vec<Bytes>> {
    login_bodies(mint(key, count, claims)?, role)
}

/// Login bodies `{"role": role, "jwt": token}` for `tokens`, serialized once.
pub(crate) fn login_bodies(tokens: Vec<String>, role: &str) -> anyhow::Result<Vec<Bytes>> {
    tokens
        .into_iter()
        .map(|jwt| {
            Ok(Bytes::from(serde_json::to_vec(
                &json!({"role": role, "jwt": jwt}),
            )?))
        })
        .collect()
}

/// TokenReview request bodies for `tokens`, as warden's kubernetes method sends them.
pub(crate) fn tokenreview_bodies(
    tokens: Vec<String>,
    audience: &str,
) -> anyhow::Result<Vec<Bytes>> {
    tokens
        .into_iter()
        .map(|token| {
            let body = json!({
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenReview",
                "spec": {"token": token, "audiences": [audience]},
            });
            Ok(Bytes::from(serde_json::to_vec(&body)?))
        })
        .collect()
}

/// Signs `count` claim sets in parallel (one thread per core, named `bench-mint`).
pub(crate) fn mint(
    key: &SigningKey,
    count: usize,
    claims: &(dyn Fn(usize) -> Value + Sync),
) -> anyhow::Result<Vec<String>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(count.max(1));
    let chunk = count.div_ceil(threads);
    let mut out = Vec::with_capacity(count);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let range = (t * chunk)..((t + 1) * chunk).min(count);
                std::thread::Builder::new()
                    .name("bench-mint".into())
                    .spawn_scoped(scope, move || {
                        range
                            .map(|i| key.sign(&claims(i)))
                            .collect::<anyhow::Result<Vec<String>>>()
                    })
            })
            .collect();
        for handle in handles {
            let tokens = handle
                .context("spawn minting thread")?
                .join()
                .map_err(|_| anyhow::anyhow!("minting thread panicked"))??;
            out.extend(tokens);
        }
        anyhow::Ok(())
    })?;
    Ok(out)
}

/// How many tokens a phase needs so that no measured request reuses one: the warm-up's
/// rate over the measured window, with a margin, within `[min, max]`.
pub(crate) fn pool_size(warmup_rate: f64, measure_secs: f64, min: usize, max: usize) -> usize {
    let wanted = (warmup_rate * measure_secs * 1.3).ceil();
    let wanted = if wanted.is_finite() && wanted > 0.0 {
        wanted as usize
    } else {
        min
    };
    wanted.clamp(min, max.max(min))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::Alg;

    #[test]
    fn pool_size_covers_the_window_within_bounds() {
        assert_eq!(pool_size(1000.0, 5.0, 100, 100_000), 6500);
        assert_eq!(pool_size(1e9, 5.0, 100, 100_000), 100_000);
        assert_eq!(pool_size(f64::NAN, 5.0, 100, 100_000), 100);
    }

    #[test]
    fn minted_tokens_are_distinct() -> anyhow::Result<()> {
        let key = SigningKey::generate(Alg::Es256)?;
        let bodies = mint_login_bodies(&key, 5, "r", &jwt_claims)?;
        let mut unique = bodies.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 5);
        assert!(
            bodies
                .iter()
                .all(|b| b.starts_with(b"{\"role\":\"r\",\"jwt\":\"eyJ"))
        );
        Ok(())
    }
}
