//! Auth-method mounts through the core, with a small auth method registered by the test:
//! enable, list, tune, unauthenticated login paths, persistence, disable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use std::sync::Arc;

use serde_json::{Value, json};
use warden_core::{Core, CoreBuilder, CoreError};
use warden_logical::framework::{FrameworkBackend, NoInput, Path, handler};
use warden_logical::{
    BackendConfig, BackendKind, Factory, LogicalBackend, LogicalError, Map, Operation, Request,
    Response, SecretString,
};
use warden_storage::memory::MemoryBackend;

#[derive(Debug)]
struct Echo {
    mount: String,
}

async fn hello(
    state: Arc<Echo>,
    req: Request,
    _input: NoInput,
) -> Result<Option<Response>, LogicalError> {
    let mut data = Map::new();
    data.insert("mount".into(), json!(state.mount));
    data.insert("accessor".into(), json!(req.mount_accessor));
    data.insert("unauthenticated".into(), json!(req.unauthenticated));
    Ok(Some(Response::with_data(data)))
}

fn echo_factory() -> Factory {
    Arc::new(|config: BackendConfig| {
        Box::pin(async move {
            let state = Arc::new(Echo {
                mount: config.mount.path.clone(),
            });
            let backend = FrameworkBackend::builder(BackendKind::Credential)
                .unauthenticated_paths(["hello"])
                .path(Path::new("hello").operation(Operation::Read, handler(&state, hello)))
                .path(Path::new("private").operation(Operation::Read, handler(&state, hello)))
                .build()?;
            Ok(Arc::new(backend) as Arc<dyn LogicalBackend>)
        })
    })
}

async fn call(
    core: &Core,
    op: Operation,
    path: &str,
    data: Value,
    token: Option<&str>,
) -> Result<Option<Response>, CoreError> {
    let data = match data {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let mut req = Request::new(op, path, data);
    req.client_token = token.map(SecretString::new);
    core.handle_request(req)
        .await
        .map(|handled| handled.response)
}

#[tokio::test]
async fn auth_methods_enable_list_tune_and_serve_unauthenticated_paths() {
    let core = CoreBuilder::new(Arc::new(MemoryBackend::new()))
        .auth_method("echo", echo_factory())
        .build();
    let init = core.initialize(1, 1).await.unwrap();
    core.unseal(init.keys[0].expose()).await.unwrap();
    let root = Some(init.root_token.expose());

    let enabled = call(
        &core,
        Operation::Update,
        "sys/auth/echo",
        json!({ "type": "echo" }),
        root,
    )
    .await;
    assert!(enabled.unwrap().is_none());
    let listed = call(&core, Operation::Read, "sys/auth", json!({}), root)
        .await
        .unwrap()
        .unwrap();
    let data = listed.data.unwrap();
    let entry = &data["echo/"];
    assert_eq!(entry["type"], "echo");
    let accessor = entry["accessor"].as_str().unwrap().to_owned();
    assert!(accessor.starts_with("auth_echo_"), "{accessor}");
    assert_eq!(accessor.len(), "auth_echo_".len() + 8);
    assert_eq!(entry["config"]["token_type"], "default-service");

    // The unauthenticated path needs no token and sees its mount; other paths need one.
    let hello = call(&core, Operation::Read, "auth/echo/hello", json!({}), None).await;
    let hello = hello.unwrap().unwrap().data.unwrap();
    assert_eq!(hello["mount"], "auth/echo/");
    assert_eq!(hello["accessor"], accessor);
    assert_eq!(hello["unauthenticated"], true);
    let private = call(&core, Operation::Read, "auth/echo/private", json!({}), None).await;
    assert!(
        matches!(private, Err(CoreError::InvalidToken)),
        "{private:?}"
    );
    assert!(
        call(&core, Operation::Read, "auth/echo/private", json!({}), root)
            .await
            .is_ok()
    );

    // Tuning the token type works on auth mounts, with Vault's messages.
    let tune = json!({ "token_type": "batch" });
    call(&core, Operation::Update, "sys/auth/echo/tune", tune, root)
        .await
        .unwrap();
    let tuned = call(
        &core,
        Operation::Read,
        "sys/auth/echo/tune",
        json!({}),
        root,
    )
    .await;
    assert_eq!(tuned.unwrap().unwrap().data.unwrap()["token_type"], "batch");
    let bad = json!({ "token_type": "weird" });
    let bad = call(&core, Operation::Update, "sys/auth/echo/tune", bad, root).await;
    assert!(
        matches!(&bad, Err(CoreError::Backend { error: LogicalError::User(m), .. }) if m == "invalid value for 'token_type'"),
        "{bad:?}"
    );

    let again = call(
        &core,
        Operation::Update,
        "sys/auth/echo",
        json!({ "type": "echo" }),
        root,
    )
    .await;
    assert!(
        matches!(
            again,
            Err(CoreError::Backend {
                error: LogicalError::Coded { status: 409, .. },
                ..
            })
        ),
        "{again:?}"
    );
    let token = call(
        &core,
        Operation::Update,
        "sys/auth/t2",
        json!({ "type": "token" }),
        root,
    )
    .await;
    assert!(token.is_err());
}

#[tokio::test]
async fn auth_table_survives_restart_and_disable_removes_the_route() {
    let physical = Arc::new(MemoryBackend::new());
    let core = CoreBuilder::new(physical.clone())
        .auth_method("echo", echo_factory())
        .build();
    let init = core.initialize(1, 1).await.unwrap();
    let key = init.keys[0].expose().to_vec();
    let root = init.root_token.expose().to_owned();
    core.unseal(&key).await.unwrap();
    let enable = json!({ "type": "echo" });
    call(
        &core,
        Operation::Update,
        "sys/auth/team/echo",
        enable,
        Some(&root),
    )
    .await
    .unwrap();
    core.seal_now().await;
    assert!(matches!(
        call(&core, Operation::Read, "sys/auth", json!({}), Some(&root)).await,
        Err(CoreError::Sealed)
    ));

    // A new core over the same storage: the mount comes back at unseal.
    let core = CoreBuilder::new(physical.clone())
        .auth_method("echo", echo_factory())
        .build();
    core.unseal(&key).await.unwrap();
    let hello = call(
        &core,
        Operation::Read,
        "auth/team/echo/hello",
        json!({}),
        None,
    )
    .await;
    assert_eq!(
        hello.unwrap().unwrap().data.unwrap()["mount"],
        "auth/team/echo/"
    );
    call(
        &core,
        Operation::Delete,
        "sys/auth/team/echo",
        json!({}),
        Some(&root),
    )
    .await
    .unwrap();
    let gone = call(
        &core,
        Operation::Read,
        "auth/team/echo/hello",
        json!({}),
        None,
    )
    .await;
    assert!(gone.is_err());

    // A core that lacks the factory refuses to unseal over a table naming its type.
    let enable = json!({ "type": "echo" });
    call(
        &core,
        Operation::Update,
        "sys/auth/echo",
        enable,
        Some(&root),
    )
    .await
    .unwrap();
    core.seal_now().await;
    let without = CoreBuilder::new(physical).build();
    assert!(without.unseal(&key).await.is_err());
    assert!(without.is_sealed());
}
