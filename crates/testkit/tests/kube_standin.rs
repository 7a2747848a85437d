//! The Kubernetes API stand-in beyond TokenReview: OIDC discovery and JWKS (shapes, headers,
//! Accept handling, anonymous access), key rotation, namespace and service-account reads,
//! RBAC, counters, fault injection, TLS trust and shutdown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use warden_testkit::kube::{Alg, Endpoint, Fault, KubeOptions, KubeStandIn, TokenRequest};

const NS: &str = "vault-test";

async fn standin(options: KubeOptions) -> KubeStandIn {
    let kube = KubeStandIn::start(options).await.unwrap();
    kube.create_namespace(NS, &[("team", "a"), ("env", "test")])
        .unwrap();
    kube.create_service_account(NS, "reviewer").unwrap();
    kube.grant_auth_delegator(NS, "reviewer").unwrap();
    kube.create_service_account(NS, "app").unwrap();
    kube
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap()
    }

    fn header(&self, name: &str) -> &str {
        self.headers[name].to_str().unwrap()
    }
}

async fn get(kube: &KubeStandIn, path: &str, bearer: Option<&str>, accept: Option<&str>) -> Answer {
    let mut request = kube.client().unwrap().get(format!("{}{path}", kube.url()));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    if let Some(accept) = accept {
        request = request.header("Accept", accept);
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        text: response.text().await.unwrap(),
    }
}

fn header_of(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

fn claims_of(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn minted_claims_have_kubectl_shape() {
    let kube = standin(KubeOptions::default()).await;
    let uid = kube.service_account_uid(NS, "app").unwrap();
    let token = kube
        .mint(&TokenRequest::new(NS, "app").audience("vault"))
        .unwrap();
    let kid = kube.signing_key(Alg::Rs256).unwrap().kid().to_owned();
    assert_eq!(
        header_of(&token).to_string(),
        format!(r#"{{"alg":"RS256","kid":"{kid}"}}"#)
    );
    let claims: Value = serde_json::from_str(&claims_of(&token)).unwrap();
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(
        claims_of(&token),
        format!(
            r#"{{"aud":["vault"],"exp":{},"iat":{iat},"iss":"{}","kubernetes.io":{{"namespace":"vault-test","serviceaccount":{{"name":"app","uid":"{uid}"}}}},"nbf":{iat},"sub":"system:serviceaccount:vault-test:app"}}"#,
            iat + 3600,
            kube.url()
        )
    );
    let default = kube.mint(&TokenRequest::new(NS, "app")).unwrap();
    assert!(
        claims_of(&default)
            .starts_with(r#"{"aud":["https://kubernetes.default.svc.cluster.local"],"#)
    );

    let pod_uid = kube.create_pod(NS, "app-pod", "app").unwrap();
    let bound = kube
        .mint(
            &TokenRequest::new(NS, "app")
                .audience("vault")
                .bound_pod("app-pod"),
        )
        .unwrap();
    assert!(claims_of(&bound).contains(&format!(
        r#""kubernetes.io":{{"namespace":"vault-test","pod":{{"name":"app-pod","uid":"{pod_uid}"}},"serviceaccount":{{"name":"app","uid":"{uid}"}}}},"#
    )));

    kube.create_service_account(NS, "legacy").unwrap();
    let legacy_uid = kube.service_account_uid(NS, "legacy").unwrap();
    let legacy = kube.create_legacy_token(NS, "legacy").unwrap();
    assert_eq!(header_of(&legacy.token)["kid"], kid.as_str());
    assert_eq!(
        claims_of(&legacy.token),
        format!(
            r#"{{"iss":"kubernetes/serviceaccount","kubernetes.io/serviceaccount/namespace":"vault-test","kubernetes.io/serviceaccount/secret.name":"{}","kubernetes.io/serviceaccount/service-account.name":"legacy","kubernetes.io/serviceaccount/service-account.uid":"{legacy_uid}","sub":"system:serviceaccount:vault-test:legacy"}}"#,
            legacy.secret_name
        )
    );
    assert!(kube.mint(&TokenRequest::new(NS, "nobody")).is_err());
    assert!(
        kube.mint(&TokenRequest::new(NS, "app").alg(Alg::Es256))
            .is_err(),
        "no ES256 key yet"
    );
}

#[tokio::test]
async fn discovery_document_and_access() {
    let kube = standin(KubeOptions::default()).await;
    let url = kube.url().to_owned();
    let answer = get(&kube, "/.well-known/openid-configuration", None, None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), "application/json");
    assert_eq!(answer.header("cache-control"), "public, max-age=3600");
    assert_eq!(
        answer.text,
        format!(
            r#"{{"issuer":"{url}","jwks_uri":"{url}/openid/v1/jwks","response_types_supported":["id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256"]}}"#
        )
    );
    assert_eq!(
        answer.header("content-length"),
        answer.text.len().to_string()
    );

    // Before the oidc-reviewer binding: anonymous is forbidden, service accounts are not.
    kube.set_anonymous_discovery(false);
    for path in ["/.well-known/openid-configuration", "/openid/v1/jwks"] {
        let answer = get(&kube, path, None, None).await;
        assert_eq!(answer.status, 403);
        assert_eq!(answer.header("content-type"), "application/json");
        assert_eq!(
            answer.text,
            format!(
                r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":"forbidden: User \"system:anonymous\" cannot get path \"{path}\"","reason":"Forbidden","details":{{}},"code":403}}"#
            )
        );
    }
    let sa = kube.mint(&TokenRequest::new(NS, "app")).unwrap();
    assert_eq!(
        get(&kube, "/.well-known/openid-configuration", Some(&sa), None)
            .await
            .status,
        200
    );
    assert_eq!(
        get(&kube, "/openid/v1/jwks", Some(&sa), None).await.status,
        200
    );
    // A bearer that does not authenticate is 401 everywhere.
    let garbage = get(
        &kube,
        "/.well-known/openid-configuration",
        Some("garbage"),
        None,
    )
    .await;
    assert_eq!(garbage.status, 401);
    kube.set_anonymous_discovery(true);
    assert_eq!(
        get(&kube, "/.well-known/openid-configuration", None, None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn custom_issuer_and_audiences() {
    let options = KubeOptions {
        issuer: Some("https://issuer.example/cluster".to_owned()),
        api_audiences: vec![
            "api".to_owned(),
            "https://issuer.example/cluster".to_owned(),
        ],
        ..KubeOptions::default()
    };
    let kube = standin(options).await;
    assert_eq!(kube.issuer(), "https://issuer.example/cluster");
    assert_eq!(
        kube.api_audiences(),
        ["api", "https://issuer.example/cluster"]
    );
    let discovery = get(&kube, "/.well-known/openid-configuration", None, None)
        .await
        .json();
    assert_eq!(discovery["issuer"], "https://issuer.example/cluster");
    assert_eq!(
        discovery["jwks_uri"],
        "https://issuer.example/cluster/openid/v1/jwks"
    );
    let token = kube.mint(&TokenRequest::new(NS, "app")).unwrap();
    let claims: Value = serde_json::from_str(&claims_of(&token)).unwrap();
    assert_eq!(claims["iss"], "https://issuer.example/cluster");
    assert_eq!(
        claims["aud"],
        json!(["api", "https://issuer.example/cluster"])
    );
}

#[tokio::test]
async fn jwks_accept_handling() {
    let kube = standin(KubeOptions::default()).await;
    let not_acceptable = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"406: Not Acceptable","reason":"NotAcceptable","details":{},"code":406}"#;
    let refused = get(&kube, "/openid/v1/jwks", None, Some("application/json")).await;
    assert_eq!(
        (refused.status, refused.text.as_str()),
        (406, not_acceptable)
    );
    assert_eq!(refused.header("content-type"), "application/json");
    let key = kube.signing_key(Alg::Rs256).unwrap();
    let expected = json!({"keys": [key.public_jwk()]}).to_string();
    for accept in [
        None,
        Some("application/jwk-set+json"),
        Some("*/*"),
        Some("application/json, */*;q=0.8"),
    ] {
        let answer = get(&kube, "/openid/v1/jwks", None, accept).await;
        assert_eq!(answer.status, 200, "{accept:?}");
        assert_eq!(answer.header("content-type"), "application/jwk-set+json");
        assert_eq!(answer.header("cache-control"), "public, max-age=3600");
        assert_eq!(answer.text, expected);
    }
    let jwk = &json!({"keys": [key.public_jwk()]})["keys"][0];
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["alg"], "RS256");
    assert_eq!(jwk["e"], "AQAB");
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(jwk["n"].as_str().unwrap())
            .unwrap()
            .len(),
        256
    );
    // Discovery produces application/json only.
    let discovery = get(
        &kube,
        "/.well-known/openid-configuration",
        None,
        Some("application/jwk-set+json"),
    )
    .await;
    assert_eq!(discovery.status, 406);
}

async fn review_error(kube: &KubeStandIn, token: &str) -> Value {
    let reviewer = kube.mint(&TokenRequest::new(NS, "reviewer")).unwrap();
    let response = kube
        .client()
        .unwrap()
        .post(format!(
            "{}/apis/authentication.k8s.io/v1/tokenreviews",
            kube.url()
        ))
        .bearer_auth(reviewer)
        .json(&json!({"spec": {"token": token}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    body["status"]["error"].clone()
}

#[tokio::test]
async fn key_rotation_keeps_old_kid_until_retired() {
    let kube = standin(KubeOptions::default()).await;
    let old_kid = kube.signing_key(Alg::Rs256).unwrap().kid().to_owned();
    let old_token = kube.mint(&TokenRequest::new(NS, "app")).unwrap();
    let new_kid = kube.add_key(Alg::Rs256).unwrap();
    let es_kid = kube.add_key(Alg::Es256).unwrap();
    let new_token = kube.mint(&TokenRequest::new(NS, "app")).unwrap();
    let es_token = kube
        .mint(&TokenRequest::new(NS, "app").alg(Alg::Es256))
        .unwrap();
    assert_eq!(header_of(&new_token)["kid"], new_kid.as_str());
    assert_eq!(
        header_of(&es_token).to_string(),
        format!(r#"{{"alg":"ES256","kid":"{es_kid}"}}"#)
    );

    let jwks = get(&kube, "/openid/v1/jwks", None, None).await.json();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [old_kid.as_str(), new_kid.as_str(), es_kid.as_str()]);
    let ec = &jwks["keys"][2];
    let fields: Vec<&String> = ec.as_object().unwrap().keys().collect();
    assert_eq!(fields, ["use", "kty", "kid", "crv", "alg", "x", "y"]);
    assert_eq!(ec["crv"], "P-256");
    let discovery = get(&kube, "/.well-known/openid-configuration", None, None)
        .await
        .json();
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["ES256", "RS256"])
    );
    assert_eq!(kube.pem_keys().len(), 3);

    for token in [&old_token, &new_token, &es_token] {
        assert_eq!(review_error(&kube, token).await, Value::Null);
    }
    kube.retire_key(&old_kid).unwrap();
    assert_eq!(
        review_error(&kube, &old_token).await,
        "[invalid bearer token, square/go-jose: error in cryptographic primitive]"
    );
    assert_eq!(review_error(&kube, &new_token).await, Value::Null);
    // A retired key can still sign forged tokens.
    let claims = kube.claims_for(&TokenRequest::new(NS, "app")).unwrap();
    let forged = kube.key(&old_kid).unwrap().sign(&claims).unwrap();
    assert!(
        review_error(&kube, &forged)
            .await
            .as_str()
            .unwrap()
            .contains("cryptographic primitive")
    );
    let jwks = get(&kube, "/openid/v1/jwks", None, None).await.json();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    assert!(kube.retire_key(&old_kid).is_err());
}

#[tokio::test]
async fn namespace_and_service_account_reads() {
    let kube = standin(KubeOptions::default()).await;
    kube.create_service_account(NS, "nsreader").unwrap();
    kube.grant_cluster_role(NS, "nsreader", "system:controller:namespace-controller")
        .unwrap();
    kube.grant_cluster_role(NS, "reviewer", "view").unwrap();
    kube.annotate_service_account(NS, "app", "vault.hashicorp.com/alias-metadata-team", "a")
        .unwrap();
    assert!(kube.grant_cluster_role(NS, "app", "no-such-role").is_err());
    let reader = kube.mint(&TokenRequest::new(NS, "nsreader")).unwrap();
    let reviewer = kube.mint(&TokenRequest::new(NS, "reviewer")).unwrap();
    let app = kube.mint(&TokenRequest::new(NS, "app")).unwrap();

    let ns = get(&kube, "/api/v1/namespaces/vault-test", Some(&reader), None).await;
    assert_eq!(ns.status, 200);
    let body = ns.json();
    assert_eq!(body["kind"], "Namespace");
    assert_eq!(body["apiVersion"], "v1");
    assert_eq!(body["metadata"]["name"], NS);
    assert_eq!(
        body["metadata"]["labels"].to_string(),
        r#"{"env":"test","kubernetes.io/metadata.name":"vault-test","team":"a"}"#
    );
    assert_eq!(body["status"]["phase"], "Active");
    let missing = get(&kube, "/api/v1/namespaces/nope", Some(&reader), None).await;
    assert_eq!(
        (missing.status, missing.text.as_str()),
        (
            404,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"namespaces \"nope\" not found","reason":"NotFound","details":{"name":"nope","kind":"namespaces"},"code":404}"#
        )
    );
    let denied = get(&kube, "/api/v1/namespaces/vault-test", Some(&app), None).await;
    assert_eq!(
        (denied.status, denied.text.as_str()),
        (
            403,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"namespaces \"vault-test\" is forbidden: User \"system:serviceaccount:vault-test:app\" cannot get resource \"namespaces\" in API group \"\" in the namespace \"vault-test\"","reason":"Forbidden","details":{"name":"vault-test","kind":"namespaces"},"code":403}"#
        )
    );
    assert_eq!(
        get(&kube, "/api/v1/namespaces/vault-test", None, None)
            .await
            .status,
        403
    );
    assert_eq!(
        get(&kube, "/api/v1/namespaces/vault-test", Some("x"), None)
            .await
            .status,
        401
    );

    let sa = get(
        &kube,
        "/api/v1/namespaces/vault-test/serviceaccounts/app",
        Some(&reviewer),
        None,
    )
    .await;
    assert_eq!(sa.status, 200);
    let body = sa.json();
    assert_eq!(body["kind"], "ServiceAccount");
    assert_eq!(
        body["metadata"]["uid"],
        kube.service_account_uid(NS, "app").unwrap().as_str()
    );
    assert_eq!(
        body["metadata"]["annotations"],
        json!({"vault.hashicorp.com/alias-metadata-team": "a"})
    );
    let denied = get(
        &kube,
        "/api/v1/namespaces/vault-test/serviceaccounts/app",
        Some(&reader),
        None,
    )
    .await;
    assert_eq!(denied.status, 403);
    assert!(
        denied
            .text
            .contains(r#"serviceaccounts \"app\" is forbidden"#)
    );
    let missing = get(
        &kube,
        "/api/v1/namespaces/vault-test/serviceaccounts/gone",
        Some(&reviewer),
        None,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(
        missing
            .text
            .contains(r#""message":"serviceaccounts \"gone\" not found""#)
    );
}

#[tokio::test]
async fn counters_and_faults() {
    let kube = standin(KubeOptions::default()).await;
    let reviewer = kube.mint(&TokenRequest::new(NS, "reviewer")).unwrap();
    let app = kube.mint(&TokenRequest::new(NS, "app")).unwrap();
    let client = kube.client().unwrap();
    let url = format!("{}/apis/authentication.k8s.io/v1/tokenreviews", kube.url());
    let body = json!({"spec": {"token": app}});
    let send = |timeout: Duration| {
        client
            .post(&url)
            .bearer_auth(&reviewer)
            .json(&body)
            .timeout(timeout)
            .send()
    };
    let long = Duration::from_secs(10);
    assert_eq!(send(long).await.unwrap().status(), 201);
    assert_eq!(kube.tokenreview_count(), 1);

    kube.set_fault_times(Endpoint::TokenReview, Fault::Status(500), 1);
    let failed = send(long).await.unwrap();
    assert_eq!(failed.status(), 500);
    let failed: Value = failed.json().await.unwrap();
    assert_eq!(failed["reason"], "InternalError");
    assert_eq!(
        send(long).await.unwrap().status(),
        201,
        "one-shot fault is used up"
    );

    kube.set_fault(Endpoint::TokenReview, Fault::Close);
    assert!(send(long).await.is_err());
    assert!(send(long).await.is_err());
    kube.set_fault(Endpoint::TokenReview, Fault::Delay(Duration::from_secs(30)));
    let started = std::time::Instant::now();
    let timed_out = send(Duration::from_millis(300)).await.unwrap_err();
    assert!(timed_out.is_timeout(), "{timed_out}");
    assert!(started.elapsed() < Duration::from_secs(5));
    kube.set_fault(
        Endpoint::TokenReview,
        Fault::Delay(Duration::from_millis(200)),
    );
    let started = std::time::Instant::now();
    assert_eq!(send(long).await.unwrap().status(), 201);
    assert!(started.elapsed() >= Duration::from_millis(200));
    kube.clear_faults();
    assert_eq!(send(long).await.unwrap().status(), 201);
    assert_eq!(kube.tokenreview_count(), 8);

    // Faults are per endpoint; other endpoints count separately.
    kube.set_fault(Endpoint::Jwks, Fault::Status(503));
    assert_eq!(get(&kube, "/openid/v1/jwks", None, None).await.status, 503);
    assert_eq!(
        get(&kube, "/.well-known/openid-configuration", None, None)
            .await
            .status,
        200
    );
    assert_eq!(
        get(&kube, "/api/v1/namespaces/vault-test", None, None)
            .await
            .status,
        403
    );
    assert_eq!(get(&kube, "/nope", None, None).await.status, 404);
    assert_eq!(kube.count(Endpoint::Jwks), 1);
    assert_eq!(kube.count(Endpoint::Discovery), 1);
    assert_eq!(kube.count(Endpoint::Namespace), 1);
    assert_eq!(kube.count(Endpoint::ServiceAccount), 0);
    assert_eq!(kube.count(Endpoint::Other), 1);
    assert_eq!(kube.tokenreview_count(), 8);
}

#[tokio::test]
async fn tls_trust_and_shutdown() {
    let kube = standin(KubeOptions::default()).await;
    assert!(kube.url().starts_with("https://127.0.0.1:"));
    assert_eq!(
        std::fs::read_to_string(kube.ca_file()).unwrap(),
        kube.ca_pem()
    );
    let path = format!("{}/openid/v1/jwks", kube.url());
    // Trusting the CA from the file works, over HTTP/2 as well.
    let ca = reqwest::Certificate::from_pem(&std::fs::read(kube.ca_file()).unwrap()).unwrap();
    let trusting = reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap();
    let response = trusting.get(&path).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    // A client trusting another CA fails the handshake.
    let other = KubeStandIn::start(KubeOptions::default()).await.unwrap();
    let foreign = reqwest::Certificate::from_pem(other.ca_pem().as_bytes()).unwrap();
    let distrusting = reqwest::Client::builder()
        .tls_certs_only([foreign])
        .build()
        .unwrap();
    let err = distrusting.get(&path).send().await.unwrap_err();
    assert!(err.is_connect(), "{err}");
    assert_eq!(
        kube.count(Endpoint::Jwks),
        1,
        "the failed handshake never reached HTTP"
    );

    let url = kube.url().to_owned();
    kube.shutdown().await;
    assert!(
        trusting
            .get(format!("{url}/openid/v1/jwks"))
            .send()
            .await
            .is_err()
    );
    other.shutdown().await;
}
