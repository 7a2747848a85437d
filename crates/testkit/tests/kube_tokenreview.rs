//! TokenReview against the Kubernetes API stand-in: every case recorded in
//! `reference/kubernetes-api-responses.md` (TR A–L), byte for byte where the reference is.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use std::time::Duration;

use serde_json::{Value, json};
use warden_testkit::kube::{Alg, KubeOptions, KubeStandIn, SigningKey, TokenRequest};

const API_AUD: &str = "https://kubernetes.default.svc.cluster.local";
const NS: &str = "vault-test";

struct Env {
    kube: KubeStandIn,
    client: reqwest::Client,
    reviewer: String,
    app_uid: String,
}

async fn env() -> Env {
    let kube = KubeStandIn::start(KubeOptions::default()).await.unwrap();
    kube.create_namespace(NS, &[]).unwrap();
    kube.create_service_account(NS, "reviewer").unwrap();
    kube.grant_auth_delegator(NS, "reviewer").unwrap();
    kube.create_service_account(NS, "noreviewer").unwrap();
    let app_uid = kube.create_service_account(NS, "app").unwrap();
    let reviewer = kube.mint(&TokenRequest::new(NS, "reviewer")).unwrap();
    let ca = reqwest::Certificate::from_pem(kube.ca_pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([ca])
        .user_agent("client/v0.0.0")
        .build()
        .unwrap();
    Env {
        kube,
        client,
        reviewer,
        app_uid,
    }
}

struct Answer {
    status: u16,
    content_type: String,
    text: String,
    body: Value,
}

impl Answer {
    /// The `status` object exactly as sent.
    fn status_text(&self) -> String {
        self.body["status"].to_string()
    }
}

impl Env {
    fn app(&self) -> TokenRequest {
        TokenRequest::new(NS, "app")
    }

    fn mint(&self, request: TokenRequest) -> String {
        self.kube.mint(&request).unwrap()
    }

    async fn post(&self, bearer: Option<&str>, body: &str) -> Answer {
        let url = format!(
            "{}/apis/authentication.k8s.io/v1/tokenreviews",
            self.kube.url()
        );
        let mut request = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .body(body.to_owned());
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            content_type,
            text,
            body,
        }
    }

    /// A TokenReview as Vault sends it (no apiVersion/kind), reviewed by `reviewer`.
    async fn review(&self, token: &str, audiences: Option<&[&str]>) -> Answer {
        let mut spec = json!({"token": token});
        if let Some(audiences) = audiences {
            spec["audiences"] = json!(audiences);
        }
        let answer = self
            .post(Some(&self.reviewer), &json!({"spec": spec}).to_string())
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        assert_eq!(answer.content_type, "application/json");
        answer
    }

    fn ok_status(&self, name: &str, uid: &str, audiences: &[&str]) -> String {
        json!({
            "authenticated": true,
            "user": {
                "username": format!("system:serviceaccount:{NS}:{name}"),
                "uid": uid,
                "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{NS}"), "system:authenticated"],
            },
            "audiences": audiences,
        })
        .to_string()
    }

    fn app_ok(&self, audiences: &[&str]) -> String {
        self.ok_status("app", &self.app_uid, audiences)
    }
}

fn failed(error: &str) -> String {
    json!({"user": {}, "error": error}).to_string()
}

#[tokio::test]
async fn a_valid_tokens_and_audience_intersection() {
    let env = env().await;
    let default = env.mint(env.app());
    let vault = env.mint(env.app().audience("vault"));
    let vault_other = env.mint(env.app().audience("vault").audience("other"));

    // A1: spec.audiences omitted.
    let a1 = env.review(&default, None).await;
    assert_eq!(a1.status_text(), env.app_ok(&[API_AUD]));
    assert!(
        a1.text
            .contains(&format!(r#""spec":{{"token":"{default}"}}"#))
    );
    // A1b: empty list sent, echo omits it.
    let a1b = env.review(&default, Some(&[])).await;
    assert_eq!(a1b.status_text(), env.app_ok(&[API_AUD]));
    assert!(
        a1b.text
            .contains(&format!(r#""spec":{{"token":"{default}"}}"#))
    );
    assert!(a1b.text.contains(r#""fieldsV1":{"f:spec":{"f:token":{}}}"#));
    // A3, A4, A5.
    let a3 = env.review(&vault_other, Some(&["vault"])).await;
    assert_eq!(a3.status_text(), env.app_ok(&["vault"]));
    let a4 = env.review(&vault, Some(&["nope", "vault"])).await;
    assert_eq!(a4.status_text(), env.app_ok(&["vault"]));
    let a5 = env.review(&default, Some(&[API_AUD])).await;
    assert_eq!(a5.status_text(), env.app_ok(&[API_AUD]));
}

#[tokio::test]
async fn a2_full_body_is_verbatim() {
    let env = env().await;
    let token = env.mint(env.app().audience("vault"));
    let answer = env.review(&token, Some(&["vault"])).await;
    let time = answer.body["metadata"]["managedFields"][0]["time"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(time.len(), 20, "RFC 3339 seconds: {time}");
    assert!(time.ends_with('Z'));
    let expected = format!(
        concat!(
            r#"{{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{{"creationTimestamp":null,"managedFields":[{{"manager":"client","operation":"Update","apiVersion":"authentication.k8s.io/v1","time":"{time}","fieldsType":"FieldsV1","fieldsV1":{{"f:spec":{{"f:audiences":{{}},"f:token":{{}}}}}}}}]}},"#,
            r#""spec":{{"token":"{token}","audiences":["vault"]}},"status":{{"authenticated":true,"user":{{"username":"system:serviceaccount:vault-test:app","uid":"{uid}","groups":["system:serviceaccounts","system:serviceaccounts:vault-test","system:authenticated"]}},"audiences":["vault"]}}}}"#
        ),
        time = time,
        token = token,
        uid = env.app_uid
    );
    assert_eq!(answer.text, expected);
}

#[tokio::test]
async fn b_wrong_audience() {
    let env = env().await;
    let vault = env.mint(env.app().audience("vault"));
    let default = env.mint(env.app());
    let b1 = env.review(&vault, None).await;
    assert_eq!(
        b1.status_text(),
        r#"{"user":{},"error":"[invalid bearer token, token audiences [\"vault\"] is invalid for the target audiences [\"https://kubernetes.default.svc.cluster.local\"]]"}"#
    );
    let b2 = env.review(&default, Some(&["vault"])).await;
    assert_eq!(
        b2.status_text(),
        r#"{"user":{},"error":"[invalid bearer token, token audiences [\"https://kubernetes.default.svc.cluster.local\"] is invalid for the target audiences [\"vault\"]]"}"#
    );
    let b3 = env.review(&vault, Some(&["other-aud"])).await;
    assert_eq!(
        b3.status_text(),
        r#"{"user":{},"error":"[invalid bearer token, token audiences [\"vault\"] is invalid for the target audiences [\"other-aud\"]]"}"#
    );
    // Several audiences print Go-style, space separated.
    let two = env.mint(env.app().audience("a").audience("b"));
    let answer = env.review(&two, Some(&["c", "d"])).await;
    assert_eq!(
        answer.body["status"]["error"],
        r#"[invalid bearer token, token audiences ["a" "b"] is invalid for the target audiences ["c" "d"]]"#
    );
}

#[tokio::test]
async fn c_garbage_bad_signature_expired() {
    let env = env().await;
    let invalid = failed("invalid bearer token");
    // C1, C1b
    assert_eq!(
        env.review("this-is-not-a-jwt", None).await.status_text(),
        invalid
    );
    assert_eq!(
        env.review("this-is-not-a-jwt", Some(&["vault"]))
            .await
            .status_text(),
        invalid
    );
    // C2: JWT-shaped, no iss.
    let c2 = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
    assert_eq!(env.review(c2, None).await.status_text(), invalid);
    // A JWT whose issuer is not the cluster's.
    let mut claims = env.kube.claims_for(&env.app()).unwrap();
    claims["iss"] = json!("https://elsewhere.example");
    let foreign_iss = env.kube.sign_claims(&claims, Alg::Rs256).unwrap();
    assert_eq!(env.review(&foreign_iss, None).await.status_text(), invalid);

    // C3: corrupted signature; and a token signed by a key the cluster does not have.
    let crypto = failed("[invalid bearer token, square/go-jose: error in cryptographic primitive]");
    let token = env.mint(env.app());
    let (input, signature) = token.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let corrupted = format!("{input}.{flipped}{}", &signature[1..]);
    assert_eq!(env.review(&corrupted, None).await.status_text(), crypto);
    let stranger = SigningKey::generate(Alg::Rs256).unwrap();
    let claims = env.kube.claims_for(&env.app()).unwrap();
    let wrong_key = stranger.sign(&claims).unwrap();
    assert_eq!(env.review(&wrong_key, None).await.status_text(), crypto);
    // alg confusion: an RS256 header over an ES256 signature.
    let ec = SigningKey::generate(Alg::Es256).unwrap();
    let kid = env.kube.signing_key(Alg::Rs256).unwrap().kid().to_owned();
    let confused = ec
        .sign_with_header(&json!({"alg": "RS256", "kid": kid}), &claims)
        .unwrap();
    assert_eq!(env.review(&confused, None).await.status_text(), crypto);

    // C4, C5: real claims re-signed with the real key, exp = now - 1h.
    let expired = failed("[invalid bearer token, service account token has expired]");
    let now = env.kube.now();
    let mut claims = env.kube.claims_for(&env.app()).unwrap();
    claims["iat"] = json!(now - 7200);
    claims["nbf"] = json!(now - 7200);
    claims["exp"] = json!(now - 3600);
    let c4 = env.kube.sign_claims(&claims, Alg::Rs256).unwrap();
    assert_eq!(env.review(&c4, None).await.status_text(), expired);
    let mut claims = env.kube.claims_for(&env.app().audience("vault")).unwrap();
    claims["exp"] = json!(now - 3600);
    let c5 = env.kube.sign_claims(&claims, Alg::Rs256).unwrap();
    assert_eq!(
        env.review(&c5, Some(&["vault"])).await.status_text(),
        expired
    );
}

#[tokio::test]
async fn d_deleted_and_recreated_service_account() {
    let env = env().await;
    let old_uid = env.kube.create_service_account(NS, "doomed").unwrap();
    let vault = env.mint(TokenRequest::new(NS, "doomed").audience("vault"));
    let default = env.mint(TokenRequest::new(NS, "doomed"));
    // D0
    let d0 = env.review(&vault, Some(&["vault"])).await;
    assert_eq!(
        d0.status_text(),
        env.ok_status("doomed", &old_uid, &["vault"])
    );
    // D1, D2
    env.kube.delete_service_account(NS, "doomed").unwrap();
    let not_found = failed(r#"[invalid bearer token, serviceaccounts "doomed" not found]"#);
    assert_eq!(
        env.review(&vault, Some(&["vault"])).await.status_text(),
        not_found
    );
    assert_eq!(env.review(&default, None).await.status_text(), not_found);
    // D3
    env.kube.create_service_account(NS, "doomed").unwrap();
    let new_uid = env.kube.service_account_uid(NS, "doomed").unwrap();
    assert_ne!(new_uid, old_uid);
    assert_eq!(
        env.review(&vault, Some(&["vault"])).await.status_text(),
        failed(&format!(
            "[invalid bearer token, service account UID ({new_uid}) does not match claim ({old_uid})]"
        ))
    );
    let renewed = env.kube.recreate_service_account(NS, "doomed").unwrap();
    assert_ne!(renewed, new_uid);
}

#[tokio::test]
async fn e_reviewer_authentication_and_authorization() {
    let env = env().await;
    let forbidden = |user: &str| {
        format!(
            r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":"tokenreviews.authentication.k8s.io is forbidden: User \"{user}\" cannot create resource \"tokenreviews\" in API group \"authentication.k8s.io\" at the cluster scope","reason":"Forbidden","details":{{"group":"authentication.k8s.io","kind":"tokenreviews"}},"code":403}}"#
        )
    };
    let unauthorized = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#;
    let app = env.mint(env.app());
    let body = json!({"spec": {"token": app}}).to_string();

    // E1
    let noreviewer = env.mint(TokenRequest::new(NS, "noreviewer"));
    let e1 = env.post(Some(&noreviewer), &body).await;
    assert_eq!(
        (e1.status, e1.content_type.as_str()),
        (403, "application/json")
    );
    assert_eq!(
        e1.text,
        forbidden("system:serviceaccount:vault-test:noreviewer")
    );
    // E2: the app's own token as bearer.
    let e2 = env.post(Some(&app), &body).await;
    assert_eq!(
        (e2.status, e2.text),
        (403, forbidden("system:serviceaccount:vault-test:app"))
    );
    // E3: anonymous.
    let e3 = env.post(None, &body).await;
    assert_eq!((e3.status, e3.text), (403, forbidden("system:anonymous")));
    // E4: garbage bearer.
    let e4 = env.post(Some("garbage"), &body).await;
    assert_eq!((e4.status, e4.text.as_str()), (401, unauthorized));
    // E5: bearer with aud=[vault].
    let vault = env.mint(TokenRequest::new(NS, "reviewer").audience("vault"));
    let e5 = env.post(Some(&vault), &body).await;
    assert_eq!((e5.status, e5.text.as_str()), (401, unauthorized));
    // An expired reviewer token and a deleted reviewer are rejected the same way.
    env.kube.advance_clock(Duration::from_secs(3600 + 61));
    let expired = env.post(Some(&env.reviewer), &body).await;
    assert_eq!(expired.status, 401);
    env.kube.set_clock_offset(0);
    assert_eq!(env.post(Some(&env.reviewer), &body).await.status, 201);

    // E6, E7
    let bad_request = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"token is required for TokenReview in authentication","reason":"BadRequest","code":400}"#;
    let e6 = env.post(Some(&env.reviewer), r#"{"foo":"bar"}"#).await;
    assert_eq!((e6.status, e6.text.as_str()), (400, bad_request));
    let e7 = env
        .post(Some(&env.reviewer), r#"{"spec":{"token":""}}"#)
        .await;
    assert_eq!((e7.status, e7.text.as_str()), (400, bad_request));
    let not_json = env.post(Some(&env.reviewer), "{").await;
    assert_eq!(not_json.status, 400);
    assert_eq!(not_json.body["reason"], "BadRequest");
    // apiVersion/kind are optional (Vault does not send them) but accepted.
    let typed = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": app}});
    assert_eq!(
        env.post(Some(&env.reviewer), &typed.to_string())
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn f_bound_tokens() {
    let env = env().await;
    let pod_uid = env.kube.create_pod(NS, "app-pod", "app").unwrap();
    env.kube.create_secret(NS, "app-secret").unwrap();
    let pod_token = env.mint(env.app().audience("vault").bound_pod("app-pod"));
    let secret_token = env.mint(env.app().audience("vault").bound_secret("app-secret"));
    // F1
    let f1 = env.review(&pod_token, Some(&["vault"])).await;
    let expected = format!(
        r#"{{"authenticated":true,"user":{{"username":"system:serviceaccount:vault-test:app","uid":"{}","groups":["system:serviceaccounts","system:serviceaccounts:vault-test","system:authenticated"],"extra":{{"authentication.kubernetes.io/pod-name":["app-pod"],"authentication.kubernetes.io/pod-uid":["{pod_uid}"]}}}},"audiences":["vault"]}}"#,
        env.app_uid
    );
    assert_eq!(f1.status_text(), expected);
    // F2
    let f2 = env.review(&secret_token, Some(&["vault"])).await;
    assert_eq!(f2.status_text(), env.app_ok(&["vault"]));
    // F3, F4
    let invalidated = failed("[invalid bearer token, service account token has been invalidated]");
    env.kube.delete_pod(NS, "app-pod").unwrap();
    assert_eq!(
        env.review(&pod_token, Some(&["vault"])).await.status_text(),
        invalidated
    );
    env.kube.delete_secret(NS, "app-secret").unwrap();
    assert_eq!(
        env.review(&secret_token, Some(&["vault"]))
            .await
            .status_text(),
        invalidated
    );
    // A pod re-created under the same name has a new UID.
    let new_uid = env.kube.create_pod(NS, "app-pod", "app").unwrap();
    assert_eq!(
        env.review(&pod_token, Some(&["vault"])).await.status_text(),
        failed(&format!(
            "[invalid bearer token, pod UID ({new_uid}) does not match claim ({pod_uid})]"
        ))
    );
    // Binding to a pod of another service account is refused, like the TokenRequest API.
    env.kube.create_pod(NS, "other-pod", "noreviewer").unwrap();
    assert!(env.kube.mint(&env.app().bound_pod("other-pod")).is_err());
    assert!(env.kube.mint(&env.app().bound_pod("missing")).is_err());
}

#[tokio::test]
async fn l_legacy_secret_tokens() {
    let env = env().await;
    let legacy_uid = env.kube.create_service_account(NS, "legacy").unwrap();
    let legacy = env.kube.create_legacy_token(NS, "legacy").unwrap();
    assert!(legacy.secret_name.starts_with("legacy-token-"));
    assert_eq!(legacy.secret_name.len(), "legacy-token-".len() + 5);
    // L1, L2, L3
    let l1 = env.review(&legacy.token, None).await;
    assert_eq!(
        l1.status_text(),
        env.ok_status("legacy", &legacy_uid, &[API_AUD])
    );
    let l2 = env.review(&legacy.token, Some(&["vault"])).await;
    assert_eq!(
        l2.status_text(),
        r#"{"user":{},"error":"[invalid bearer token, token audiences [\"https://kubernetes.default.svc.cluster.local\"] is invalid for the target audiences [\"vault\"]]"}"#
    );
    let l3 = env.review(&legacy.token, Some(&["vault", API_AUD])).await;
    assert_eq!(
        l3.status_text(),
        env.ok_status("legacy", &legacy_uid, &[API_AUD])
    );
    // L4: the reviewer's legacy token as the bearer.
    let reviewer_legacy = env.kube.create_legacy_token(NS, "reviewer").unwrap();
    let app = env.mint(env.app().audience("vault"));
    let body = json!({"spec": {"token": app, "audiences": ["vault"]}}).to_string();
    let l4 = env.post(Some(&reviewer_legacy.token), &body).await;
    assert_eq!(l4.status, 201);
    assert_eq!(l4.status_text(), env.app_ok(&["vault"]));
    // L5
    env.kube.delete_secret(NS, &legacy.secret_name).unwrap();
    assert_eq!(
        env.review(&legacy.token, None).await.status_text(),
        failed("[invalid bearer token, Token has been invalidated]")
    );
    // Legacy tokens carry no exp: the clock does not matter.
    env.kube
        .advance_clock(Duration::from_secs(10 * 365 * 24 * 3600));
    let body = json!({"spec": {"token": app}}).to_string();
    assert_eq!(
        env.post(Some(&reviewer_legacy.token), &body).await.status,
        201
    );
}

#[tokio::test]
async fn g_sixty_second_leeway() {
    let env = env().await;
    let token = env.mint(env.app().duration(Duration::from_secs(600)));
    let exp = env.kube.now() + 600;
    for (after_exp, ok) in [(42, true), (60, true), (61, false), (75, false)] {
        env.kube.set_clock_offset(0);
        let offset = exp + after_exp - env.kube.now();
        env.kube.set_clock_offset(offset);
        // The reviewer itself must still be valid at that time.
        let reviewer = env.mint(TokenRequest::new(NS, "reviewer"));
        let body = json!({"spec": {"token": token}}).to_string();
        let answer = env.post(Some(&reviewer), &body).await;
        assert_eq!(answer.status, 201);
        if ok {
            assert_eq!(
                answer.status_text(),
                env.app_ok(&[API_AUD]),
                "{after_exp}s after exp"
            );
        } else {
            assert_eq!(
                answer.status_text(),
                failed("[invalid bearer token, service account token has expired]"),
                "{after_exp}s after exp"
            );
        }
    }
    // nbf in the future beyond the leeway.
    env.kube.set_clock_offset(0);
    let mut claims = env.kube.claims_for(&env.app()).unwrap();
    claims["nbf"] = json!(env.kube.now() + 120);
    let early = env.kube.sign_claims(&claims, Alg::Rs256).unwrap();
    assert_eq!(
        env.review(&early, None).await.status_text(),
        failed("[invalid bearer token, service account token is not valid yet]")
    );
}
