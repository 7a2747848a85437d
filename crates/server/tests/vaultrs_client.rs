//! A third-party client against warden: the `vaultrs` crate (which deserializes Vault's
//! responses strictly) logs in with kubernetes and jwt against the test kit's Kubernetes
//! stand-in, reads KV v2, and looks up, renews and revokes tokens, all over plain HTTP against
//! an in-process dev server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use std::collections::HashMap;
use std::fmt::Debug;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vaultrs::api::auth::kubernetes::requests::CreateKubernetesRoleRequest;
use vaultrs::api::auth::oidc::requests::{SetConfigurationRequest, SetRoleRequest};
use vaultrs::api::token::requests::CreateTokenRequest;
use vaultrs::client::{Client, VaultClient, VaultClientSettingsBuilder};
use vaultrs::error::ClientError;
use vaultrs::sys::ServerStatus;
use vaultrs::{auth, kv2, sys, token};
use warden_testkit::TestServer;
use warden_testkit::kube::{KubeStandIn, TokenRequest};

/// A vaultrs client for `server`, sending `token` (empty for none).
fn client(server: &TestServer, token: &str) -> VaultClient {
    let settings = VaultClientSettingsBuilder::default()
        .address(server.url())
        .token(token)
        .verify(false)
        .timeout(Some(Duration::from_secs(30)))
        .build()
        .unwrap();
    VaultClient::new(settings).unwrap()
}

fn root(server: &TestServer) -> VaultClient {
    client(server, server.root_token.as_deref().unwrap())
}

/// Unwraps a vaultrs result, showing the whole error chain (a deserialization failure names
/// the field) on failure.
#[track_caller]
fn ok<T>(result: Result<T, ClientError>, what: &str) -> T {
    result.unwrap_or_else(|err| panic!("vaultrs {what} failed: {err:?}"))
}

/// The status and messages of an API error; panics on success or any other error.
#[track_caller]
fn api_error<T: Debug>(result: Result<T, ClientError>) -> (u16, Vec<String>) {
    match result {
        Err(ClientError::APIError { code, errors }) => (code, errors),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// A cluster with a reviewer allowed TokenReviews and an `app` service account in `apps`.
async fn cluster() -> (KubeStandIn, String) {
    KubeStandIn::with_reviewer().await.unwrap()
}

const APP_POLICY: &str = r#"
path "secret/data/app/*" {
  capabilities = ["read"]
}
"#;

#[derive(Debug, Deserialize, Serialize, PartialEq)]
struct DbSecret {
    username: String,
    password: String,
}

#[tokio::test]
async fn kubernetes_login_then_kv2_read_through_the_policy() {
    let (kube, reviewer) = cluster().await;
    let server = TestServer::dev().await.unwrap();
    let admin = root(&server);

    ok(
        sys::auth::enable(&admin, "kubernetes", "kubernetes", None).await,
        "sys/auth enable",
    );
    // vaultrs's config request has no `token_reviewer_jwt`: set it over plain HTTP.
    let config = server
        .request(
            "POST",
            "auth/kubernetes/config",
            Some(json!({
                "kubernetes_host": kube.url(),
                "kubernetes_ca_cert": kube.ca_pem(),
                "token_reviewer_jwt": reviewer,
            })),
        )
        .await;
    assert_eq!(config.status, 204, "{}", config.text);
    let read_config = ok(
        auth::kubernetes::read_config(&admin, "kubernetes").await,
        "kubernetes read_config",
    );
    assert_eq!(read_config.kubernetes_host, kube.url());
    assert_eq!(
        read_config.kubernetes_ca_cert.as_deref(),
        Some(kube.ca_pem())
    );
    assert!(read_config.disable_iss_validation);

    ok(
        sys::policy::set(&admin, "app", APP_POLICY).await,
        "policy set",
    );
    assert_eq!(
        ok(sys::policy::read(&admin, "app").await, "policy read").rules,
        APP_POLICY
    );
    ok(
        auth::kubernetes::role::create(
            &admin,
            "kubernetes",
            "app",
            Some(
                &mut CreateKubernetesRoleRequest::builder()
                    .bound_service_account_names(vec!["app".to_owned()])
                    .bound_service_account_namespaces(vec!["apps".to_owned()])
                    .audience("vault")
                    .token_policies(vec!["app".to_owned()])
                    .token_ttl("1h"),
            ),
        )
        .await,
        "kubernetes role create",
    );
    let role = ok(
        auth::kubernetes::role::read(&admin, "kubernetes", "app").await,
        "kubernetes role read",
    );
    assert_eq!(role.bound_service_account_names, ["app"]);
    assert_eq!(role.token_policies, ["app"]);
    assert_eq!(role.token_ttl, 3600);
    assert_eq!(role.token_type, "default");
    assert_eq!(
        ok(
            auth::kubernetes::role::list(&admin, "kubernetes").await,
            "kubernetes role list"
        )
        .keys,
        ["app"]
    );

    let secret = DbSecret {
        username: "app".to_owned(),
        password: "s3cr3t".to_owned(),
    };
    let written = ok(
        kv2::set(&admin, "secret", "app/db", &secret).await,
        "kv2 set",
    );
    assert_eq!(written.version, 1);
    assert!(!written.destroyed);
    ok(
        kv2::set(&admin, "secret", "other/db", &secret).await,
        "kv2 set",
    );

    // The pod logs in with vaultrs (no token on the client).
    let jwt = kube
        .mint(&TokenRequest::new("apps", "app").audience("vault"))
        .unwrap();
    let anonymous = client(&server, "");
    let auth = ok(
        auth::kubernetes::login(&anonymous, "kubernetes", "app", &jwt).await,
        "kubernetes login",
    );
    assert!(auth.client_token.starts_with("hvs."), "{auth:?}");
    assert!(!auth.accessor.is_empty());
    assert_eq!(auth.policies, ["app", "default"]);
    assert_eq!(auth.token_policies, ["app", "default"]);
    assert_eq!(auth.lease_duration, 3600);
    assert!(auth.renewable);
    assert!(auth.orphan);
    assert_eq!(auth.token_type, "service");
    assert!(!auth.entity_id.is_empty());
    let metadata = auth.metadata.clone().unwrap();
    assert_eq!(metadata["role"], "app");
    assert_eq!(metadata["service_account_name"], "app");
    assert_eq!(metadata["service_account_namespace"], "apps");
    assert_eq!(
        metadata["service_account_uid"],
        kube.service_account_uid("apps", "app").unwrap()
    );

    // The token reads what the policy allows, and nothing else.
    let mut pod = client(&server, "");
    pod.set_token(&auth.client_token);
    let read: DbSecret = ok(kv2::read(&pod, "secret", "app/db").await, "kv2 read");
    assert_eq!(read, secret);
    let read: HashMap<String, String> =
        ok(kv2::read(&pod, "secret", "app/db").await, "kv2 read as map");
    assert_eq!(read["password"], "s3cr3t");
    // Vault's multierror text for an ACL denial.
    let (code, errors) = api_error(kv2::read::<DbSecret>(&pod, "secret", "other/db").await);
    assert_eq!(
        (code, errors),
        (
            403,
            vec!["1 error occurred:\n\t* permission denied\n\n".to_owned()]
        )
    );
    let (code, _) = api_error(kv2::set(&pod, "secret", "app/db", &secret).await);
    assert_eq!(code, 403, "the policy grants read only");
    let missing = kv2::read::<DbSecret>(&pod, "secret", "app/missing").await;
    assert_eq!(api_error(missing).0, 404);

    // The login token through vaultrs's token calls.
    let me = ok(pod.lookup().await, "lookup-self");
    assert_eq!(me.display_name, "kubernetes-apps-app");
    assert_eq!(me.path, "auth/kubernetes/login");
    assert_eq!(me.accessor, auth.accessor);
    assert_eq!(me.entity_id, auth.entity_id);
    assert_eq!(me.policies, ["app", "default"]);
    assert!(me.orphan);
    let renewed = ok(pod.renew(None).await, "renew-self");
    assert_eq!(renewed.lease_duration, 3600);
    assert_eq!(renewed.client_token, auth.client_token);

    // A token for a service account the role does not bind is refused.
    kube.create_service_account("apps", "intruder").unwrap();
    let intruder = kube
        .mint(&TokenRequest::new("apps", "intruder").audience("vault"))
        .unwrap();
    let (code, errors) =
        api_error(auth::kubernetes::login(&anonymous, "kubernetes", "app", &intruder).await);
    assert_eq!(
        (code, errors),
        (403, vec!["service account name not authorized".to_owned()])
    );
}

#[tokio::test]
async fn jwt_login_with_the_clusters_pem_keys() {
    let (kube, _) = cluster().await;
    let server = TestServer::dev().await.unwrap();
    let admin = root(&server);
    ok(
        sys::auth::enable(&admin, "jwt", "jwt", None).await,
        "sys/auth enable jwt",
    );
    ok(
        auth::oidc::config::set(
            &admin,
            "jwt",
            Some(&mut SetConfigurationRequest::builder().jwt_validation_pubkeys(kube.pem_keys())),
        )
        .await,
        "jwt config set",
    );
    let config = ok(
        auth::oidc::config::read(&admin, "jwt").await,
        "jwt config read",
    );
    // Vault trims each entry of a comma-string slice: the PEM's final newline goes.
    let trimmed: Vec<String> = kube
        .pem_keys()
        .iter()
        .map(|k| k.trim().to_owned())
        .collect();
    assert_eq!(config.jwt_validation_pubkeys, Some(trimmed));

    ok(
        sys::policy::set(&admin, "app", APP_POLICY).await,
        "policy set",
    );
    let subject = "system:serviceaccount:apps:app";
    ok(
        auth::oidc::role::set(
            &admin,
            "jwt",
            "app",
            "sub",
            Vec::new(),
            Some(
                &mut SetRoleRequest::builder()
                    .role_type("jwt")
                    .bound_audiences(vec!["vault".to_owned()])
                    .bound_subject(subject)
                    .token_policies(vec!["app".to_owned()])
                    .token_ttl("30m"),
            ),
        )
        .await,
        "jwt role set",
    );
    let role = ok(
        auth::oidc::role::read(&admin, "jwt", "app").await,
        "jwt role read",
    );
    assert_eq!(role.role_type, "jwt");
    assert_eq!(role.user_claim, "sub");
    assert_eq!(role.bound_subject, subject);
    assert_eq!(role.bound_audiences, Some(vec!["vault".to_owned()]));
    assert_eq!(role.token_policies, ["app"]);
    assert_eq!(role.token_ttl, 1800);
    assert_eq!(
        ok(auth::oidc::role::list(&admin, "jwt").await, "jwt role list").keys,
        ["app"]
    );

    ok(
        kv2::set(&admin, "secret", "app/config", &json!({"color": "green"})).await,
        "kv2 set",
    );
    let jwt = kube
        .mint(&TokenRequest::new("apps", "app").audience("vault"))
        .unwrap();
    let anonymous = client(&server, "");
    let auth = ok(
        auth::oidc::login(&anonymous, "jwt", &jwt, Some("app".to_owned())).await,
        "jwt login",
    );
    assert!(auth.client_token.starts_with("hvs."), "{auth:?}");
    assert_eq!(auth.policies, ["app", "default"]);
    assert_eq!(auth.token_policies, ["app", "default"]);
    assert_eq!(auth.lease_duration, 1800);
    assert!(auth.orphan);
    assert_eq!(auth.token_type, "service");
    assert!(!auth.entity_id.is_empty());
    assert_eq!(auth.metadata.as_ref().unwrap()["role"], "app");

    let mut pod = client(&server, "");
    pod.set_token(&auth.client_token);
    let read: HashMap<String, String> =
        ok(kv2::read(&pod, "secret", "app/config").await, "kv2 read");
    assert_eq!(read["color"], "green");
    let me = ok(pod.lookup().await, "lookup-self");
    assert_eq!(me.path, "auth/jwt/login");
    assert_eq!(me.meta.unwrap()["role"], "app");

    // The wrong audience is refused with Vault's message.
    let other = kube
        .mint(&TokenRequest::new("apps", "app").audience("other"))
        .unwrap();
    let (code, errors) =
        api_error(auth::oidc::login(&anonymous, "jwt", &other, Some("app".to_owned())).await);
    assert_eq!(code, 400);
    assert_eq!(
        errors,
        [
            "error validating token: invalid audience (aud) claim: audience claim does not match any expected audience"
        ]
    );
}

#[tokio::test]
async fn token_lookup_renew_and_revoke() {
    let server = TestServer::dev().await.unwrap();
    let admin = root(&server);
    ok(
        sys::policy::set(&admin, "app", APP_POLICY).await,
        "policy set",
    );

    let created = ok(
        token::new(
            &admin,
            Some(
                &mut CreateTokenRequest::builder()
                    .policies(vec!["app".to_owned()])
                    .ttl("1h")
                    .display_name("vaultrs")
                    .meta(HashMap::from([("owner".to_owned(), "tests".to_owned())])),
            ),
        )
        .await,
        "token create",
    );
    assert!(created.client_token.starts_with("hvs."), "{created:?}");
    assert_eq!(created.policies, ["app", "default"]);
    assert_eq!(created.token_policies, ["app", "default"]);
    assert_eq!(created.lease_duration, 3600);
    assert!(created.renewable);
    assert!(!created.orphan, "a child of the root token");
    assert_eq!(created.token_type, "service");
    assert_eq!(created.entity_id, "");
    assert_eq!(created.metadata.as_ref().unwrap()["owner"], "tests");

    let mut user = client(&server, "");
    user.set_token(&created.client_token);
    let me = ok(token::lookup_self(&user).await, "lookup-self");
    assert_eq!(me.id, created.client_token);
    assert_eq!(me.accessor, created.accessor);
    assert_eq!(me.display_name, "token-vaultrs");
    assert_eq!(me.path, "auth/token/create");
    assert_eq!(me.policies, ["app", "default"]);
    assert_eq!(me.creation_ttl, 3600);
    assert!(me.ttl > 3500 && me.ttl <= 3600, "{me:?}");
    assert_eq!(me.num_uses, 0);
    assert_eq!(me.explicit_max_ttl, 0);
    assert!(!me.orphan);
    assert_eq!(me.renewable, Some(true));
    assert!(
        me.expire_time.is_some() && me.issue_time.is_some(),
        "{me:?}"
    );
    assert_eq!(me.meta.as_ref().unwrap()["owner"], "tests");

    // The same token looked up and renewed by another client.
    let looked_up = ok(
        token::lookup(&admin, &created.client_token).await,
        "token lookup",
    );
    assert_eq!(looked_up.accessor, created.accessor);
    assert_eq!(looked_up.display_name, "token-vaultrs");
    let by_accessor = ok(
        token::lookup_accessor(&admin, &created.accessor).await,
        "token lookup-accessor",
    );
    assert_eq!(by_accessor.display_name, "token-vaultrs");
    assert_eq!(by_accessor.id, "", "lookup by accessor hides the id");

    let renewed = ok(
        token::renew_self(&user, Some("2h")).await,
        "renew-self with an increment",
    );
    assert_eq!(renewed.client_token, created.client_token);
    assert_eq!(renewed.accessor, created.accessor);
    assert_eq!(renewed.lease_duration, 7200);
    assert_eq!(renewed.policies, ["app", "default"]);
    let renewed = ok(
        token::renew(&admin, &created.client_token, Some("30m")).await,
        "renew",
    );
    assert_eq!(renewed.lease_duration, 1800);
    let me = ok(user.lookup().await, "lookup-self");
    assert!(me.ttl <= 1800, "{me:?}");

    // revoke-self: the token is refused afterwards.
    ok(token::revoke_self(&user).await, "revoke-self");
    let (code, errors) = api_error(token::lookup_self(&user).await);
    assert_eq!(
        (code, errors),
        (
            403,
            vec!["2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n".to_owned()]
        )
    );
    let (code, errors) = api_error(token::lookup(&admin, &created.client_token).await);
    assert_eq!((code, errors), (403, vec!["bad token".to_owned()]));
    let (code, _) = api_error(token::renew_self(&user, None).await);
    assert_eq!(code, 403);

    // revoke by another client, and revoke by accessor.
    let second = ok(token::new(&admin, None).await, "token create");
    let mut holder = client(&server, "");
    holder.set_token(&second.client_token);
    ok(holder.lookup().await, "lookup-self");
    ok(token::revoke(&admin, &second.client_token).await, "revoke");
    assert_eq!(api_error(holder.lookup().await).0, 403);
    let third = ok(token::new(&admin, None).await, "token create");
    holder.set_token(&third.client_token);
    ok(holder.lookup().await, "lookup-self");
    ok(
        token::revoke_accessor(&admin, &third.accessor).await,
        "revoke-accessor",
    );
    assert_eq!(api_error(holder.lookup().await).0, 403);

    // An orphan token.
    let orphan = ok(token::new_orphan(&admin, None).await, "token create-orphan");
    assert!(orphan.orphan);
    let looked_up = ok(
        token::lookup(&admin, &orphan.client_token).await,
        "token lookup",
    );
    assert!(looked_up.orphan);
    assert_eq!(looked_up.path, "auth/token/create-orphan");
}

#[tokio::test]
async fn sys_health_status_mounts_and_seal_lifecycle() {
    let mut server = TestServer::dev().await.unwrap();
    let admin = root(&server);
    let health = ok(sys::health(&admin).await, "sys/health");
    assert!(health.initialized);
    assert!(!health.sealed);
    assert!(!health.standby);
    assert!(!health.performance_standby);
    assert!(health.server_time_utc > 0);
    assert!(!health.version.is_empty());
    assert!(matches!(
        ok(admin.status().await, "status"),
        ServerStatus::OK
    ));
    // Health needs no token.
    ok(
        sys::health(&client(&server, "")).await,
        "sys/health without a token",
    );

    let mounts = ok(sys::mount::list(&admin).await, "sys/mounts");
    assert_eq!(mounts["secret/"].mount_type, "kv");
    assert_eq!(mounts["secret/"].options.as_ref().unwrap()["version"], "2");
    assert!(mounts.contains_key("sys/"), "{:?}", mounts.keys());
    let secret = ok(
        sys::mount::get_configuration_of_a_secret_engine(&admin, "secret").await,
        "sys/mounts/secret",
    );
    assert_eq!(secret.mount_type, "kv");
    let auths = ok(sys::auth::list(&admin).await, "sys/auth");
    assert_eq!(auths["token/"].mount_type, "token");
    let policies = ok(sys::policy::list(&admin).await, "sys/policies");
    assert!(
        policies.policies.contains(&"root".to_owned()),
        "{policies:?}"
    );

    // `reset` is refused while unsealed, as in Vault.
    let (code, errors) = api_error(sys::unseal(&admin, None, Some(true), None).await);
    assert_eq!((code, errors), (400, vec!["vault is unsealed".to_owned()]));

    // Seal: health turns 503 and vaultrs reports SEALED; unseal with the key brings it back.
    ok(sys::seal(&admin).await, "sys/seal");
    assert!(matches!(
        ok(admin.status().await, "status when sealed"),
        ServerStatus::SEALED
    ));
    let (code, errors) = api_error(sys::unseal(&admin, None, None, None).await);
    assert_eq!(code, 400);
    assert_eq!(
        errors,
        ["'key' must be specified in request body as JSON, or 'reset' set to true"]
    );
    // Reading the unseal progress: `reset` while sealed answers with the seal status.
    let status = ok(
        sys::unseal(&admin, None, Some(true), None).await,
        "sys/unseal reset",
    );
    assert!(status.sealed);
    assert_eq!(
        (status.threshold, status.n_shares, status.progress),
        (1, 1, 0)
    );
    let key = hex(server.unseal_key.as_deref().unwrap());
    let status = ok(
        sys::unseal(&admin, Some(key), None, None).await,
        "sys/unseal",
    );
    assert!(!status.sealed);
    assert!(matches!(
        ok(admin.status().await, "status"),
        ServerStatus::OK
    ));
    ok(admin.lookup().await, "lookup-self after unseal");
    server.stop().await;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn kv2_versions_metadata_config_and_wrapping() {
    use vaultrs::api::ResponseWrapper;
    use vaultrs::api::kv2::requests::{
        ReadSecretRequest, SetConfigurationRequest, SetSecretMetadataRequest,
        SetSecretRequestOptions,
    };

    let server = TestServer::dev().await.unwrap();
    let admin = root(&server);
    ok(
        kv2::config::set(
            &admin,
            "secret",
            Some(&mut SetConfigurationRequest::builder().max_versions(5_u64)),
        )
        .await,
        "kv2 config set",
    );
    let config = ok(kv2::config::read(&admin, "secret").await, "kv2 config read");
    assert_eq!(config.max_versions, 5);
    assert!(!config.cas_required);
    assert_eq!(config.delete_version_after, "0s");

    for n in 1..=3 {
        let meta = ok(
            kv2::set(&admin, "secret", "app/db", &json!({"n": n.to_string()})).await,
            "kv2 set",
        );
        assert_eq!(meta.version, n);
    }
    let (code, _) = api_error(
        kv2::set_with_options(
            &admin,
            "secret",
            "app/db",
            &json!({"n": "x"}),
            SetSecretRequestOptions { cas: 1 },
        )
        .await,
    );
    assert_eq!(code, 400, "check-and-set against an old version");
    let v2: HashMap<String, String> = ok(
        kv2::read_version(&admin, "secret", "app/db", 2).await,
        "kv2 read version",
    );
    assert_eq!(v2["n"], "2");
    assert_eq!(
        ok(kv2::list(&admin, "secret", "app").await, "kv2 list"),
        ["db"]
    );

    ok(
        kv2::set_metadata(
            &admin,
            "secret",
            "app/db",
            Some(
                &mut SetSecretMetadataRequest::builder()
                    .custom_metadata(HashMap::from([("owner".to_owned(), "tests".to_owned())])),
            ),
        )
        .await,
        "kv2 metadata set",
    );
    ok(
        kv2::delete_latest(&admin, "secret", "app/db").await,
        "kv2 delete",
    );
    ok(
        kv2::destroy_versions(&admin, "secret", "app/db", vec![1]).await,
        "kv2 destroy",
    );
    let metadata = ok(
        kv2::read_metadata(&admin, "secret", "app/db").await,
        "kv2 metadata read",
    );
    assert_eq!(metadata.current_version, 3);
    assert_eq!(metadata.max_versions, 0);
    assert_eq!(metadata.custom_metadata.unwrap()["owner"], "tests");
    assert!(metadata.versions["1"].destroyed);
    assert_ne!(metadata.versions["3"].deletion_time, "");
    assert_eq!(metadata.versions["2"].deletion_time, "");
    // A deleted version: Vault answers 404 with the metadata and no `errors` list.
    // (vaultrs then reports the transport-level error, as it does against Vault.)
    match kv2::read::<Value>(&admin, "secret", "app/db").await {
        Err(err @ ClientError::RestClientError { .. }) => {
            let shown = format!("{err:?}");
            assert!(shown.contains("ServerResponseError { code: 404"), "{shown}");
            assert!(shown.contains("deletion_time"), "{shown}");
        }
        other => panic!("expected a bare 404, got {other:?}"),
    }
    let raw = server.request("GET", "secret/data/app/db", None).await;
    assert_eq!(raw.status, 404);
    assert!(raw.body.get("errors").is_none(), "{}", raw.text);
    assert_ne!(raw.body["data"]["metadata"]["deletion_time"], "");
    ok(
        kv2::undelete_versions(&admin, "secret", "app/db", vec![3]).await,
        "kv2 undelete",
    );
    let v3: HashMap<String, String> = ok(kv2::read(&admin, "secret", "app/db").await, "kv2 read");
    assert_eq!(v3["n"], "3");

    // Response wrapping of a KV read: look the wrapping token up, then unwrap it once.
    let endpoint = ReadSecretRequest::builder()
        .mount("secret")
        .path("app/db")
        .build()
        .unwrap();
    let wrapped = ok(endpoint.wrap(&admin).await, "wrapped kv2 read");
    assert_eq!(wrapped.info.ttl, 600);
    assert_eq!(wrapped.info.creation_path, "secret/data/app/db");
    let info = ok(wrapped.lookup(&admin).await, "sys/wrapping/lookup");
    assert_eq!(info.creation_ttl, 600);
    assert_eq!(info.creation_path, "secret/data/app/db");
    let unwrapped = ok(wrapped.unwrap(&admin).await, "sys/wrapping/unwrap");
    assert_eq!(unwrapped.data["n"], "3");
    assert_eq!(unwrapped.metadata.version, 3);
    assert!(
        wrapped.unwrap(&admin).await.is_err(),
        "a wrapping token unwraps once"
    );
}

#[tokio::test]
async fn token_roles_and_accessor_calls() {
    let server = TestServer::dev().await.unwrap();
    let admin = root(&server);
    ok(
        token::role::set(
            &admin,
            "ci",
            Some(
                &mut vaultrs::api::token::requests::SetTokenRoleRequest::builder()
                    .allowed_policies(vec!["app".to_owned()])
                    .orphan(true)
                    .token_period("1h"),
            ),
        )
        .await,
        "token role set",
    );
    let role = ok(token::role::read(&admin, "ci").await, "token role read");
    assert_eq!(role.name, "ci");
    assert_eq!(role.allowed_policies, ["app"]);
    assert!(role.orphan);
    assert_eq!(role.token_period, 3600);
    assert_eq!(role.token_type, "default-service");
    assert_eq!(
        ok(token::role::list(&admin).await, "token role list").keys,
        ["ci"]
    );
    let created = ok(token::new_role(&admin, "ci", None).await, "token create/ci");
    assert!(created.orphan);
    assert_eq!(created.lease_duration, 3600);
    let renewed = ok(
        token::renew_accessor(&admin, &created.accessor, None).await,
        "renew-accessor",
    );
    assert_eq!(renewed.lease_duration, 3600);
    let me = ok(token::lookup(&admin, &created.client_token).await, "lookup");
    assert_eq!(me.role.as_deref(), Some("ci"));
    assert_eq!(me.path, "auth/token/create/ci");
    ok(
        token::revoke_orphan(&admin, &created.client_token).await,
        "revoke-orphan",
    );
    ok(token::role::delete(&admin, "ci").await, "token role delete");
}
