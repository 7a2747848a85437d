//! The `jwt` auth method's claim rules over HTTP: bound audiences (CVE-2024-5798), leeways,
//! supported algorithms, bound claims with globs and JSON pointers, nested groups, the
//! default role.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

#[path = "support/jwt.rs"]
mod support;

use serde_json::{Value, json};
use support::*;
use warden_testkit::kube::{Alg, SigningKey};

/// CVE-2024-5798 and Vault's `TestLoginBoundAudiences`.
#[tokio::test]
async fn bound_audiences_matrix() {
    let server = server().await;
    let key = SigningKey::generate(Alg::Es256).unwrap();
    static_setup(
        &server,
        &key,
        json!({"bound_audiences": null, "bound_subject": "subject", "groups_claim": null}),
    )
    .await;
    let resp = post(&server, "auth/jwt/role/bound", json!({"role_type": "jwt", "bound_subject": "subject", "user_claim": "https://vault/user", "bound_audiences": [AUD, "another_audience"]})).await;
    assert_eq!(resp.status, 204);
    let token = |aud: Value| {
        let mut claims =
            json!({"sub": "subject", "iss": ISSUER, "nbf": now() - 5, "https://vault/user": "u"});
        if !aud.is_null() {
            claims["aud"] = aud;
        }
        key.sign(&claims).unwrap()
    };
    let unbound = "audience claim found in JWT but no audiences bound to the role";
    let mismatch = "error validating token: invalid audience (aud) claim: audience claim does not match any expected audience";
    refused(&server, "plugin-test", &token(json!(AUD)), 400, unbound).await;
    refused(&server, "plugin-test", &token(json!([AUD])), 400, unbound).await;
    refused(
        &server,
        "plugin-test",
        &token(json!(["a", "b"])),
        400,
        unbound,
    )
    .await;
    assert_eq!(
        login(&server, "plugin-test", &token(Value::Null))
            .await
            .status,
        200
    );
    assert_eq!(
        login(&server, "plugin-test", &token(json!([])))
            .await
            .status,
        200
    );
    assert_eq!(
        login(&server, "plugin-test", &token(json!("")))
            .await
            .status,
        200
    );
    assert_eq!(
        login(&server, "bound", &token(json!([AUD]))).await.status,
        200
    );
    assert_eq!(
        login(&server, "bound", &token(json!(AUD))).await.status,
        200
    );
    assert_eq!(
        login(&server, "bound", &token(json!(["x", "another_audience"])))
            .await
            .status,
        200
    );
    refused(
        &server,
        "bound",
        &token(json!("https://vault.plugin.auth.jwt.test/")),
        400,
        mismatch,
    )
    .await;
    refused(&server, "bound", &token(Value::Null), 400, mismatch).await;
}

/// A few of Vault's `TestLogin_Leeways` cases end to end (the full list is a unit test).
#[tokio::test]
async fn leeways_over_http() {
    let server = server().await;
    let key = SigningKey::generate(Alg::Rs256).unwrap();
    // (clock_skew, expiration, not_before, claims, valid)
    let cases = [
        (0, 0, 0, json!({"iat": now() - 195}), true),
        (0, 0, 0, json!({"iat": now() - 225}), false),
        (10, 0, 0, json!({"nbf": now() - 145}), true),
        (-1, 0, 0, json!({"nbf": now() - 160}), false),
        (10, -1, 0, json!({"iat": now() - 5}), true),
        (10, -1, 0, json!({"iat": now() - 20}), false),
        (-1, 0, 5, json!({"exp": now() + 2}), true),
        (-1, 0, 5, json!({"exp": now() + 10}), false),
        (0, 0, 0, json!({"exp": now() + 200}), true),
        (0, 0, 0, json!({"exp": now() + 230}), false),
    ];
    for (i, (skew, exp_leeway, nbf_leeway, times, valid)) in cases.into_iter().enumerate() {
        static_setup(&server, &key, json!({"clock_skew_leeway": skew, "expiration_leeway": exp_leeway, "not_before_leeway": nbf_leeway})).await;
        let mut claims = json!({"iss": ISSUER, "sub": SUB, "aud": AUD, "https://vault/user": "u", "https://vault/groups": []});
        for (k, v) in times.as_object().unwrap() {
            claims[k] = v.clone();
        }
        let resp = login(&server, "plugin-test", &key.sign(&claims).unwrap()).await;
        assert_eq!(resp.status == 200, valid, "case {i}: {}", resp.text);
    }
}

/// Vault's `TestLogin_JWTSupportedAlgs`, with an ES256 key.
#[tokio::test]
async fn supported_algs() {
    let key = SigningKey::generate(Alg::Es256).unwrap();
    let cases = [
        (json!([]), true),
        (json!(["ES256"]), true),
        (json!(["RS256", "ES256", "EdDSA"]), true),
        (json!(["RS256"]), false),
        (json!(["RS256", "ES512", "EdDSA"]), false),
    ];
    for (algs, ok) in cases {
        let server = server().await;
        let resp = post(
            &server,
            "auth/jwt/config",
            json!({"jwt_validation_pubkeys": [key.public_key_pem()], "jwt_supported_algs": algs}),
        )
        .await;
        assert_eq!(resp.status, 204, "{}", resp.text);
        let resp = post(
            &server,
            "auth/jwt/role/plugin-test",
            json!({"role_type": "jwt", "bound_audiences": [AUD], "user_claim": "email"}),
        )
        .await;
        assert_eq!(resp.status, 204);
        let jwt = key.sign(&json!({"sub": SUB, "iss": ISSUER, "nbf": now() - 5, "aud": [AUD], "email": "vault@hashicorp.com"})).unwrap();
        let resp = login(&server, "plugin-test", &jwt).await;
        if ok {
            assert_eq!(resp.status, 200, "{algs}: {}", resp.text);
        } else {
            assert_error(
                &resp,
                400,
                "error validating token: invalid algorithm (alg) header parameter: token signed with unexpected algorithm",
            );
        }
    }
}

#[tokio::test]
async fn bound_claims_globs_pointers_and_nested_groups() {
    let server = server().await;
    let key = SigningKey::generate(Alg::Rs256).unwrap();
    static_setup(
        &server,
        &key,
        json!({
            "bound_claims_type": "glob",
            "bound_claims": {"/org/primary": "eng*", "email": ["*@example.com", "admin@*"]},
            "groups_claim": "/nested/https:~1~1vault~1groups",
            "user_claim": "/org/login",
            "user_claim_json_pointer": true,
        }),
    )
    .await;
    let mut claims = vault_claims();
    claims["org"] = json!({"primary": "engineering", "login": "jeff@org"});
    claims["email"] = json!("jeff@example.com");
    claims["nested"] = json!({"https://vault/groups": ["g1", "g2"]});
    let resp = login(&server, "plugin-test", &key.sign(&claims).unwrap()).await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    let entity_id = resp.body["auth"]["entity_id"].as_str().unwrap().to_owned();
    let entity = server
        .request("GET", &format!("identity/entity/id/{entity_id}"), None)
        .await;
    assert_eq!(entity.body["data"]["aliases"][0]["name"], "jeff@org");

    claims["email"] = json!("jeff@example.org");
    refused(
        &server,
        "plugin-test",
        &key.sign(&claims).unwrap(),
        400,
        "error validating claims: claim \"email\" does not match any associated bound claim values",
    )
    .await;
}

#[tokio::test]
async fn default_role_and_missing_config() {
    let server = server().await;
    let resp = login(&server, "x", "a.b.c").await;
    assert_error(&resp, 400, "could not load configuration");
    let key = SigningKey::generate(Alg::Rs256).unwrap();
    static_setup(&server, &key, json!({})).await;
    let resp = post(&server, "auth/jwt/config", json!({"jwt_validation_pubkeys": [key.public_key_pem()], "bound_issuer": ISSUER, "default_role": "plugin-test"})).await;
    assert_eq!(resp.status, 204);
    let resp = server
        .request_with_token(
            "POST",
            "auth/jwt/login",
            Some(json!({"jwt": key.sign(&vault_claims()).unwrap()})),
            None,
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["auth"]["metadata"]["role"], "plugin-test");
}
