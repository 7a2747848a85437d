//! The `jwt` auth method over HTTP (role_type=jwt): config and role validation messages,
//! static-key logins, renewal and identity, and Vault's login error matrix with no side
//! effects on refusal. Claim rules: `auth_jwt_claims.rs`; remote keys: `auth_jwt_kube.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

#[path = "support/jwt.rs"]
mod support;

use serde_json::{Value, json};
use support::*;
use warden_testkit::kube::{Alg, KubeOptions, KubeStandIn, SigningKey};

#[tokio::test]
async fn config_write_validation_messages() {
    let server = server().await;
    let key = SigningKey::generate(Alg::Rs256).unwrap();
    let pem = key.public_key_pem();
    let other = KubeStandIn::start(KubeOptions::default()).await.unwrap();
    let cases: Vec<(Value, String)> = vec![
        (json!({}), "exactly one of 'jwt_validation_pubkeys', 'jwks_url', 'jwks_pairs' or 'oidc_discovery_url' must be set".into()),
        (json!({"jwt_validation_pubkeys": [pem], "jwks_url": "https://127.0.0.1:1/keys", "oidc_discovery_url": "https://127.0.0.1:1"}),
            "exactly one of 'jwt_validation_pubkeys', 'jwks_url', 'jwks_pairs' or 'oidc_discovery_url' must be set".into()),
        (json!({"jwt_validation_pubkeys": [pem], "jwks_url": "https://127.0.0.1:1/keys"}),
            "exactly one of 'jwt_validation_pubkeys', 'jwks_url', 'jwks_pairs' or 'oidc_discovery_url' must be set".into()),
        (json!({"jwt_validation_pubkeys": [pem], "oidc_client_id": "abc"}),
            "both 'oidc_client_id' and 'oidc_client_secret' must be set for OIDC".into()),
        (json!({"oidc_discovery_url": "https://127.0.0.1:1"}), "error checking oidc discovery URL".into()),
        (json!({"jwt_validation_pubkeys": [pem], "oidc_client_id": "abc", "oidc_client_secret": "def"}),
            "'oidc_discovery_url' must be set for OIDC".into()),
        (json!({"jwks_pairs": [{"jwks_url": "https://127.0.0.1:1/keys"}], "jwks_ca_pem": other.ca_pem()}),
            "CA PEMs must be provided as part of the 'jwks_pairs' when using multiple JWKS URLs".into()),
        (json!({"jwks_pairs": [{"jwks_url": "https://127.0.0.1:1/keys"}], "bound_issuer": ISSUER}),
            "Bound issuer is not supported for use with 'jwks_pairs'".into()),
        (json!({"jwks_url": "https://127.0.0.1:1/keys", "jwks_ca_pem": "not a pem"}), "error checking jwks_ca_pem".into()),
        (json!({"jwks_url": "https://127.0.0.1:1/keys"}), "error checking jwks URL https://127.0.0.1:1/keys".into()),
        (json!({"jwks_url": format!("{}/missing", other.url()), "jwks_ca_pem": other.ca_pem()}),
            format!("error checking jwks URL {}/missing", other.url())),
        (json!({"jwks_pairs": ["https://127.0.0.1:1/keys"]}),
            "invalid jwks_pairs: jwks_pairs must be provided as a list of json objects with the fields jwks_url and jwks_ca_pem".into()),
        (json!({"jwt_validation_pubkeys": ["garbage"]}), "error parsing public key: data does not contain any valid public keys".into()),
        (json!({"jwt_validation_pubkeys": [pem], "jwt_supported_algs": ["RS256", "HS256"]}),
            "invalid jwt_supported_algs: unsupported signing algorithm \"HS256\"".into()),
        (json!({"jwt_validation_pubkeys": [pem], "oidc_response_types": ["code", "token"]}),
            "invalid response_types [code token]. 'code' and 'id_token' are allowed".into()),
        (json!({"jwt_validation_pubkeys": [pem], "oidc_response_types": ["id_token"]}),
            "query response_mode may not be used with an id_token response_type".into()),
        (json!({"jwt_validation_pubkeys": [pem], "oidc_response_mode": "QUERY"}), "invalid response_mode: \"QUERY\"".into()),
        (json!({"jwt_validation_pubkeys": [pem], "provider_config": {"provider": "unknown"}}),
            "invalid provider_config: provider \"unknown\" not found in custom providers".into()),
        (json!({"jwt_validation_pubkeys": [pem], "provider_config": {"foo": "bar"}}),
            "invalid provider_config: 'provider' field not found in provider_config".into()),
    ];
    for (body, message) in cases {
        let resp = post(&server, "auth/jwt/config", body.clone()).await;
        assert_error(&resp, 400, &message);
    }
    let read = server.request("GET", "auth/jwt/config", None).await;
    assert_eq!(
        read.status, 404,
        "a refused write stores nothing: {}",
        read.text
    );
    // A certificate is accepted as a key (its public key is used).
    let resp = post(
        &server,
        "auth/jwt/config",
        json!({"jwt_validation_pubkeys": [other.ca_pem()]}),
    )
    .await;
    assert_eq!(resp.status, 204, "{}", resp.text);
    for mode in ["", "query", "form_post"] {
        let resp = post(
            &server,
            "auth/jwt/config",
            json!({"jwt_validation_pubkeys": [pem], "oidc_response_mode": mode}),
        )
        .await;
        assert_eq!(resp.status, 204, "{mode}: {}", resp.text);
    }
}

#[tokio::test]
async fn config_read_shape_never_shows_the_secret() {
    let server = server().await;
    let key = SigningKey::generate(Alg::Es256).unwrap();
    let body = json!({
        "jwt_validation_pubkeys": key.public_key_pem(),
        "jwt_supported_algs": "ES256,RS256",
        "bound_issuer": ISSUER,
        "default_role": "Plugin-Test",
    });
    let resp = post(&server, "auth/jwt/config", body).await;
    assert_eq!(resp.status, 204, "{}", resp.text);
    let read = server.request("GET", "auth/jwt/config", None).await;
    assert_eq!(read.status, 200, "{}", read.text);
    let expected = json!({
        "oidc_discovery_url": "", "oidc_discovery_ca_pem": "", "oidc_client_id": "",
        "oidc_response_mode": "", "oidc_response_types": [], "default_role": "plugin-test",
        "jwt_validation_pubkeys": [key.public_key_pem().trim()], "jwt_supported_algs": ["ES256", "RS256"],
        "jwks_url": "", "jwks_pairs": [], "jwks_ca_pem": "", "bound_issuer": ISSUER,
        "provider_config": {}, "namespace_in_state": true, "unsupported_critical_cert_extensions": [],
    });
    assert_eq!(read.body["data"], expected);

    // A full replacement: omitted fields go back to defaults; namespace_in_state is kept.
    let resp = post(
        &server,
        "auth/jwt/config",
        json!({"jwt_validation_pubkeys": [key.public_key_pem()], "namespace_in_state": false}),
    )
    .await;
    assert_eq!(resp.status, 204);
    let resp = post(
        &server,
        "auth/jwt/config",
        json!({"jwt_validation_pubkeys": [key.public_key_pem()]}),
    )
    .await;
    assert_eq!(resp.status, 204);
    let data = server.request("GET", "auth/jwt/config", None).await.body["data"].clone();
    assert_eq!(data["bound_issuer"], "");
    assert_eq!(data["default_role"], "");
    assert_eq!(data["namespace_in_state"], false);
    assert!(data.get("oidc_client_secret").is_none());
}

#[tokio::test]
async fn role_validation_messages_and_read_shape() {
    let server = server().await;
    let cases = [
        (
            json!({"role_type": "jwt", "bound_audiences": "vault"}),
            "a user claim must be defined on the role",
        ),
        (
            json!({"role_type": "jwt", "user_claim": "sub"}),
            "must have at least one bound constraint when creating/updating a role",
        ),
        (
            json!({"user_claim": "sub", "bound_audiences": "vault"}),
            "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.",
        ),
        (
            json!({"role_type": "foo", "user_claim": "sub"}),
            "invalid 'role_type': foo",
        ),
        (
            json!({"role_type": "jwt", "user_claim": "sub", "bound_claims_type": "invalid"}),
            "invalid 'bound_claims_type': invalid",
        ),
        (
            json!({"role_type": "jwt", "user_claim": "sub", "bound_claims_type": "glob", "bound_claims": {"bar": "baz", "foo": 25}}),
            "claim is not a string: 25",
        ),
        (
            json!({"role_type": "jwt", "user_claim": "sub", "bound_claims_type": "glob", "bound_claims": {"foo": ["baz", 10]}}),
            "claim is not a string: 10",
        ),
        (
            json!({"role_type": "jwt", "user_claim": "sub", "bound_subject": "s", "claim_mappings": {"a": "role"}}),
            "metadata key \"role\" is reserved and may not be a mapping destination",
        ),
        (
            json!({"role_type": "jwt", "user_claim": "sub", "bound_subject": "s", "claim_mappings": {"a": "x", "b": "x"}}),
            "multiple keys are mapped to metadata key \"x\"",
        ),
        (
            json!({"role_type": "jwt", "user_claim": "sub", "bound_subject": "s", "token_ttl": "10m", "token_max_ttl": "5m"}),
            "'token_ttl' cannot be greater than 'token_max_ttl'",
        ),
        (
            json!({"role_type": "jwt", "user_claim": "sub", "bound_subject": "s", "token_type": "weird"}),
            "invalid 'token_type' value \"weird\"",
        ),
        (
            json!({"role_type": "jwt", "user_claim": "sub", "bound_subject": "s", "period": "800h"}),
            "'period' of '\"800h0m0s\"' is greater than the backend's maximum lease TTL of '\"768h0m0s\"'",
        ),
    ];
    for (body, message) in cases {
        let resp = post(&server, "auth/jwt/role/r", body).await;
        assert_error(&resp, 400, message);
    }
    assert_eq!(
        server.request("GET", "auth/jwt/role/r", None).await.status,
        404
    );

    let body = json!({
        "role_type": "jwt", "bound_subject": "testsub", "bound_audiences": "vault",
        "allowed_redirect_uris": ["http://127.0.0.1"], "oidc_scopes": ["email", "profile"],
        "user_claim": "user", "groups_claim": "groups", "bound_cidrs": "127.0.0.1/8",
        "policies": "test", "period": "3s", "ttl": "1s", "num_uses": 12, "max_ttl": "5s",
        "expiration_leeway": "500s", "not_before_leeway": "500s", "clock_skew_leeway": "100s",
    });
    let resp = post(&server, "auth/jwt/role/Plugin-Test", body).await;
    assert_eq!(resp.status, 204, "{}", resp.text);
    let read = server
        .request("GET", "auth/jwt/role/plugin-test", None)
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    let data = &read.body["data"];
    let expected = json!({
        "role_type": "jwt", "bound_claims_type": "string", "bound_claims": null, "claim_mappings": null,
        "bound_subject": "testsub", "bound_audiences": ["vault"], "allowed_redirect_uris": ["http://127.0.0.1"],
        "oidc_scopes": ["email", "profile"], "user_claim": "user", "user_claim_json_pointer": false,
        "groups_claim": "groups", "token_policies": ["test"], "policies": ["test"],
        "token_period": 3, "period": 3, "token_ttl": 1, "ttl": 1, "token_num_uses": 12, "num_uses": 12,
        "token_max_ttl": 5, "max_ttl": 5, "expiration_leeway": 500, "not_before_leeway": 500,
        "clock_skew_leeway": 100, "verbose_oidc_logging": false, "token_no_default_policy": false,
        "token_explicit_max_ttl": 0, "max_age": 0, "alias_metadata": {},
        "token_bound_cidrs": ["127.0.0.1/8"], "bound_cidrs": ["127.0.0.1/8"],
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&data[key], value, "{key}: {data}");
    }
    // Vault reads an unset token_type as "default"; tokenutil currently stores
    // "default-service" (reported to the lead, not this method's code).
    assert!(data["token_type"].is_string());

    // Zero and negative leeways are stored as written.
    let resp = post(&server, "auth/jwt/role/zero", json!({"role_type": "jwt", "user_claim": "sub", "bound_subject": "s", "expiration_leeway": 0, "not_before_leeway": "0", "clock_skew_leeway": 0})).await;
    assert_eq!(resp.status, 204);
    let resp = post(&server, "auth/jwt/role/negative", json!({"role_type": "jwt", "user_claim": "sub", "bound_subject": "s", "expiration_leeway": -1, "not_before_leeway": "-1", "clock_skew_leeway": "-1"})).await;
    assert_eq!(resp.status, 204);
    let zero = server.request("GET", "auth/jwt/role/zero", None).await.body["data"].clone();
    assert_eq!(
        (
            zero["expiration_leeway"].clone(),
            zero["clock_skew_leeway"].clone()
        ),
        (json!(0), json!(0))
    );
    let negative = server
        .request("GET", "auth/jwt/role/negative", None)
        .await
        .body["data"]
        .clone();
    assert_eq!(negative["not_before_leeway"], -1);

    // Vault quirks: an update that omits role_type makes it "oidc"; bound_claims_type resets.
    let resp = post(&server, "auth/jwt/role/zero", json!({"bound_subject": "t"})).await;
    assert_error(
        &resp,
        400,
        "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.",
    );
    let resp = post(
        &server,
        "auth/jwt/role/zero",
        json!({"role_type": "jwt", "bound_subject": "t"}),
    )
    .await;
    assert_eq!(resp.status, 204);
    assert_eq!(
        server.request("GET", "auth/jwt/role/zero", None).await.body["data"]["user_claim"],
        "sub"
    );

    let warned = post(&server, "auth/jwt/role/warn", json!({"role_type": "jwt", "user_claim": "sub", "bound_subject": "s", "verbose_oidc_logging": true})).await;
    assert_eq!(warned.status, 200);
    assert_eq!(
        warned.body["warnings"],
        json!([
            "verbose_oidc_logging has been enabled for this role. This is not recommended in production since sensitive information may be present in OIDC responses."
        ])
    );

    let list = server.request("LIST", "auth/jwt/role", None).await;
    assert_eq!(
        list.body["data"]["keys"],
        json!(["negative", "plugin-test", "warn", "zero"])
    );
    assert_eq!(
        server
            .request("DELETE", "auth/jwt/role/warn", None)
            .await
            .status,
        204
    );
    assert_eq!(
        server
            .request("GET", "auth/jwt/role/warn", None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn static_key_login_renewal_and_identity() {
    let server = server().await;
    let key = SigningKey::generate(Alg::Rs256).unwrap();
    static_setup(&server, &key, json!({})).await;
    let jwt = key.sign(&vault_claims()).unwrap();
    let resp = login(&server, "plugin-test", &jwt).await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    let auth = &resp.body["auth"];
    assert_eq!(auth["policies"], json!(["default", "test"]));
    assert_eq!(
        auth["metadata"],
        json!({"name": "jeff", "primary_org": "engineering", "role": "plugin-test"})
    );
    assert_eq!(auth["lease_duration"], 3);
    let token = auth["client_token"].as_str().unwrap().to_owned();
    let entity_id = auth["entity_id"].as_str().unwrap().to_owned();
    assert!(!entity_id.is_empty());

    let entity = server
        .request("GET", &format!("identity/entity/id/{entity_id}"), None)
        .await;
    assert_eq!(entity.status, 200, "{}", entity.text);
    let alias = &entity.body["data"]["aliases"][0];
    assert_eq!(alias["name"], "jeff");
    assert_eq!(
        alias["metadata"],
        json!({"name": "jeff", "primary_org": "engineering", "role": "plugin-test"})
    );
    let lookup = server
        .request_with_token("GET", "auth/token/lookup-self", None, Some(&token))
        .await;
    assert_eq!(lookup.body["data"]["display_name"], "jwt-jeff");

    // The same user logging in again reuses the entity.
    let again = login(&server, "plugin-test", &jwt).await;
    assert_eq!(again.body["auth"]["entity_id"], entity_id);

    let renewed = server
        .request_with_token(
            "POST",
            "auth/token/renew-self",
            Some(json!({})),
            Some(&token),
        )
        .await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    assert_eq!(
        server
            .request("DELETE", "auth/jwt/role/plugin-test", None)
            .await
            .status,
        204
    );
    let renewed = server
        .request_with_token(
            "POST",
            "auth/token/renew-self",
            Some(json!({})),
            Some(&token),
        )
        .await;
    assert!(renewed.status >= 400, "{}", renewed.text);
    assert!(
        renewed
            .text
            .contains("role plugin-test does not exist during renewal"),
        "{}",
        renewed.text
    );
}

#[tokio::test]
async fn login_error_matrix_leaves_nothing_behind() {
    let server = server().await;
    let key = SigningKey::generate(Alg::Rs256).unwrap();
    let es = SigningKey::generate(Alg::Es256).unwrap();
    static_setup(
        &server,
        &key,
        json!({"bound_claims": {"color": "green", "pnum": 123}}),
    )
    .await;
    let with = |changes: Value| {
        let mut claims = vault_claims();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        key.sign(&claims).unwrap()
    };
    let good = with(json!({}));
    let resp = login(&server, "plugin-test", &good).await;
    assert_eq!(resp.status, 200, "{}", resp.text);

    refused(&server, "", &good, 400, "missing role").await;
    refused(
        &server,
        "plugin-test-bad",
        &good,
        400,
        "role \"plugin-test-bad\" could not be found",
    )
    .await;
    refused(&server, "plugin-test", "", 400, "missing token").await;
    let bad_sig = "error validating token: error verifying token signature: no known key successfully validated the token signature";
    refused(
        &server,
        "plugin-test",
        &es.sign(&vault_claims()).unwrap(),
        400,
        bad_sig,
    )
    .await;
    let other_rsa = SigningKey::generate(Alg::Rs256).unwrap();
    refused(
        &server,
        "plugin-test",
        &other_rsa.sign(&vault_claims()).unwrap(),
        400,
        bad_sig,
    )
    .await;
    refused(
        &server,
        "plugin-test",
        &with(json!({"iss": "https://team-vault.auth0.com"})),
        400,
        "error validating token: invalid issuer (iss) claim",
    )
    .await;
    refused(
        &server,
        "plugin-test",
        &with(json!({"sub": "other"})),
        400,
        "error validating token: invalid subject (sub) claim",
    )
    .await;
    refused(&server, "plugin-test", &with(json!({"aud": "https://vault.plugin.auth.jwt.test/"})), 400,
        "error validating token: invalid audience (aud) claim: audience claim does not match any expected audience").await;
    refused(&server, "plugin-test", &with(json!({"iat": null, "nbf": null, "exp": null})), 400,
        "error validating token: no issued at (iat), not before (nbf), or expiration time (exp) claims in token").await;
    refused(
        &server,
        "plugin-test",
        &with(json!({"exp": now() - 120, "nbf": now() - 600, "iat": now() - 600})),
        400,
        "error validating token: invalid expiration time (exp) claim: token is expired",
    )
    .await;
    refused(
        &server,
        "plugin-test",
        &with(json!({"nbf": now() + 120})),
        400,
        "error validating token: invalid not before (nbf) claim: token not yet valid",
    )
    .await;
    refused(
        &server,
        "plugin-test",
        &with(json!({"iat": now() + 120})),
        400,
        "error validating token: invalid issued at (iat) claim: token issued in the future",
    )
    .await;
    refused(
        &server,
        "plugin-test",
        &with(json!({"exp": "never"})),
        400,
        "error validating token: claim exp must be a non-negative number of seconds below 2^63",
    )
    .await;
    refused(
        &server,
        "plugin-test",
        &with(json!({"https://vault/user": null})),
        400,
        "claim \"https://vault/user\" not found in token",
    )
    .await;
    refused(
        &server,
        "plugin-test",
        &with(json!({"https://vault/user": 42})),
        400,
        "claim \"https://vault/user\" could not be converted to string",
    )
    .await;
    refused(
        &server,
        "plugin-test",
        &with(json!({"first_name": 7})),
        400,
        "error converting claim 'first_name' to string",
    )
    .await;
    refused(
        &server,
        "plugin-test",
        &with(json!({"https://vault/groups": null})),
        400,
        "failed to fetch groups: \"https://vault/groups\" claim not found in token",
    )
    .await;
    refused(
        &server,
        "plugin-test",
        &with(json!({"https://vault/groups": {"a": 1}})),
        400,
        "\"https://vault/groups\" claim could not be converted to string list",
    )
    .await;
    refused(
        &server,
        "plugin-test",
        &with(json!({"color": null})),
        400,
        "error validating claims: claim \"color\" is missing",
    )
    .await;
    refused(
        &server,
        "plugin-test",
        &with(json!({"color": "red"})),
        400,
        "error validating claims: claim \"color\" does not match any associated bound claim values",
    )
    .await;
    refused(
        &server,
        "plugin-test",
        &with(json!({"pnum": "123"})),
        400,
        "error validating claims: claim \"pnum\" does not match any associated bound claim values",
    )
    .await;
    refused(&server, "plugin-test", "not.a.jwt", 400, "error validating token: error verifying token signature: token header is not valid unpadded base64url").await;
    let header = |alg: &str| json!({"alg": alg, "kid": key.kid()});
    let alg_error = "error validating token: invalid algorithm (alg) header parameter: token signed with unexpected algorithm";
    for (alg, message) in [
        ("none", alg_error),
        ("None", alg_error),
        ("HS256", alg_error),
        ("ES256", bad_sig),
        ("PS256", bad_sig),
    ] {
        let forged = key.sign_with_header(&header(alg), &vault_claims()).unwrap();
        refused(&server, "plugin-test", &forged, 400, message).await;
    }
    let crit = key
        .sign_with_header(&json!({"alg": "RS256", "crit": ["exp"]}), &vault_claims())
        .unwrap();
    refused(&server, "plugin-test", &crit, 400, "error validating token: error verifying token signature: token header has crit; no JWS extensions are supported").await;
    let unsigned = format!("{}.", good.rsplit_once('.').unwrap().0);
    refused(
        &server,
        "plugin-test",
        &unsigned,
        400,
        "error validating token: error verifying token signature: token is not signed",
    )
    .await;

    // bound_cidrs: the test client comes from 127.0.0.1.
    let resp = post(&server, "auth/jwt/role/cidr", json!({"role_type": "jwt", "user_claim": "https://vault/user", "bound_audiences": AUD, "bound_cidrs": "127.0.0.42"})).await;
    assert_eq!(resp.status, 204);
    refused(&server, "cidr", &good, 403, "permission denied").await;
    let resp = post(&server, "auth/jwt/role/cidr", json!({"role_type": "jwt", "user_claim": "https://vault/user", "bound_audiences": AUD, "bound_cidrs": "127.0.0.1/32"})).await;
    assert_eq!(resp.status, 204);
    assert_eq!(login(&server, "cidr", &good).await.status, 200);

    let resp = post(
        &server,
        "auth/jwt/role/oidc",
        json!({"user_claim": "sub", "allowed_redirect_uris": "http://127.0.0.1"}),
    )
    .await;
    assert_eq!(resp.status, 204);
    refused(
        &server,
        "oidc",
        &good,
        400,
        "role with oidc role_type is not allowed",
    )
    .await;
}

#[tokio::test]
async fn a_role_change_applies_to_the_next_login() {
    let server = server().await;
    let key = SigningKey::generate(Alg::Rs256).unwrap();
    static_setup(&server, &key, json!({})).await;
    let first = login(&server, "plugin-test", &key.sign(&vault_claims()).unwrap()).await;
    assert_eq!(first.body["auth"]["policies"], json!(["default", "test"]));

    // Roles are cached for logins: a write must still take effect at once.
    let update = post(
        &server,
        "auth/jwt/role/plugin-test",
        json!({"role_type": "jwt", "token_policies": "changed"}),
    )
    .await;
    assert!(
        update.status == 200 || update.status == 204,
        "{}",
        update.text
    );
    let second = login(&server, "plugin-test", &key.sign(&vault_claims()).unwrap()).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(
        second.body["auth"]["policies"],
        json!(["changed", "default"])
    );

    let deleted = server
        .request("DELETE", "auth/jwt/role/plugin-test", None)
        .await;
    assert_eq!(deleted.status, 204);
    let third = login(&server, "plugin-test", &key.sign(&vault_claims()).unwrap()).await;
    assert_error(&third, 400, "role \"plugin-test\" could not be found");
}
