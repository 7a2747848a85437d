//! Backend tests: every path's response shapes and Vault's error messages.

use std::sync::Arc;

use serde_json::{Value, json};
use warden_logical::{LogicalBackend, LogicalError, Map, Operation, Request};

use super::tests_store::{K8S, login_alias, new_store};
use super::*;

pub(super) struct Mount {
    pub(super) store: Arc<IdentityStore>,
    pub(super) backend: Arc<dyn LogicalBackend>,
}

pub(super) async fn mount() -> (Mount, Arc<crate::barrier::Barrier>) {
    let (store, barrier) = new_store().await;
    let backend = backend(Arc::clone(&store)).unwrap();
    (Mount { store, backend }, barrier)
}

impl Mount {
    pub(super) async fn call(
        &self,
        op: Operation,
        path: &str,
        data: Value,
    ) -> Result<Option<Value>, LogicalError> {
        let data = match data {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let resp = self
            .backend
            .handle_request(Request::new(op, path, data))
            .await?;
        Ok(resp.map(|resp| {
            assert!(resp.warnings.is_empty(), "{:?}", resp.warnings);
            Value::Object(resp.data.unwrap_or_default())
        }))
    }

    pub(super) async fn ok(&self, op: Operation, path: &str, data: Value) -> Option<Value> {
        self.call(op, path, data).await.unwrap()
    }

    pub(super) async fn user_error(&self, op: Operation, path: &str, data: Value) -> String {
        match self.call(op, path, data).await {
            Err(LogicalError::User(message)) => message,
            other => panic!("expected a user error, got {other:?}"),
        }
    }

    pub(super) async fn create_entity(&self, data: Value) -> String {
        let resp = self.ok(Operation::Update, "entity", data).await.unwrap();
        resp["id"].as_str().unwrap().to_owned()
    }
}

pub(super) fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[tokio::test]
async fn entity_create_read_update_delete() {
    let (m, _) = mount().await;
    let resp = m
        .ok(
            Operation::Update,
            "entity",
            json!({"metadata": {"team": "a"}, "policies": "B, a,a"}),
        )
        .await
        .unwrap();
    assert_eq!(keys(&resp), ["aliases", "id", "name"]);
    assert_eq!(resp["aliases"], Value::Null);
    let id = resp["id"].as_str().unwrap().to_owned();
    let name = resp["name"].as_str().unwrap().to_owned();
    assert!(name.starts_with("entity_"));

    let read = m
        .ok(Operation::Read, &format!("entity/id/{id}"), json!({}))
        .await
        .unwrap();
    assert_eq!(
        keys(&read),
        [
            "aliases",
            "creation_time",
            "direct_group_ids",
            "disabled",
            "group_ids",
            "id",
            "inherited_group_ids",
            "last_update_time",
            "merged_entity_ids",
            "metadata",
            "name",
            "namespace_id",
            "policies",
        ]
    );
    assert_eq!(read["aliases"], json!([]));
    assert_eq!(read["direct_group_ids"], json!([]));
    assert_eq!(read["group_ids"], json!([]));
    assert_eq!(read["merged_entity_ids"], Value::Null);
    assert_eq!(read["metadata"], json!({"team": "a"}));
    assert_eq!(read["policies"], json!(["a", "b"]));
    assert_eq!(read["namespace_id"], "root");
    assert_eq!(read["disabled"], false);
    assert_eq!(read["creation_time"], read["last_update_time"]);
    assert!(read["creation_time"].as_str().unwrap().ends_with('Z'));

    // An update answers 204; fields not sent are kept.
    let path = format!("entity/id/{id}");
    let updated = m
        .ok(
            Operation::Update,
            &path,
            json!({"name": "svc", "disabled": true}),
        )
        .await;
    assert!(updated.is_none());
    let read = m.ok(Operation::Read, &path, json!({})).await.unwrap();
    assert_eq!(read["name"], "svc");
    assert_eq!(read["disabled"], true);
    assert_eq!(read["policies"], json!(["a", "b"]));
    assert!(m.store.is_disabled(&id).await);

    m.ok(Operation::Delete, &path, json!({})).await;
    assert!(m.ok(Operation::Read, &path, json!({})).await.is_none());
    // Deleting again is not an error.
    assert!(m.ok(Operation::Delete, &path, json!({})).await.is_none());
}

#[tokio::test]
async fn entity_write_errors() {
    let (m, _) = mount().await;
    m.create_entity(json!({"name": "taken"})).await;
    let other = m.create_entity(json!({})).await;
    assert_eq!(
        m.user_error(Operation::Update, "entity", json!({"id": "nope"}))
            .await,
        "entity not found from id"
    );
    assert_eq!(
        m.user_error(
            Operation::Update,
            &format!("entity/id/{other}"),
            json!({"name": "TAKEN"})
        )
        .await,
        "entity name is already in use"
    );
    assert_eq!(
        m.user_error(Operation::Update, "entity", json!({"policies": ["root"]}))
            .await,
        "policies cannot contain root"
    );
    match m
        .call(
            Operation::Update,
            "entity",
            json!({"metadata": {"vault-x": "1"}}),
        )
        .await
    {
        Err(LogicalError::Internal(message)) => assert!(
            message.starts_with("invalid entity metadata: failed to load metadata pair"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    // `entity` with the name of an existing entity updates it.
    assert!(
        m.ok(
            Operation::Update,
            "entity",
            json!({"name": "taken", "policies": "p"})
        )
        .await
        .is_none()
    );
    assert_eq!(m.store.entity_count(), 2);
}

#[tokio::test]
async fn entity_by_name() {
    let (m, _) = mount().await;
    let created = m
        .ok(
            Operation::Update,
            "entity/name/web-app",
            json!({"policies": "p1"}),
        )
        .await
        .unwrap();
    assert_eq!(created["name"], "web-app");
    assert_eq!(created["aliases"], Value::Null);
    assert!(
        m.ok(
            Operation::Update,
            "entity/name/web-app",
            json!({"metadata": "k=v"})
        )
        .await
        .is_none()
    );
    let read = m
        .ok(Operation::Read, "entity/name/WEB-APP", json!({}))
        .await
        .unwrap();
    assert_eq!(read["id"], created["id"]);
    assert_eq!(read["policies"], json!(["p1"]));
    assert_eq!(read["metadata"], json!({"k": "v"}));
    assert!(
        m.ok(Operation::Read, "entity/name/other", json!({}))
            .await
            .is_none()
    );
    m.ok(Operation::Delete, "entity/name/web-app", json!({}))
        .await;
    assert!(
        m.ok(Operation::Read, "entity/name/web-app", json!({}))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn entity_lists() {
    let (m, _) = mount().await;
    assert_eq!(
        m.ok(Operation::List, "entity/id/", json!({})).await,
        Some(json!({}))
    );
    let with_alias = m
        .store
        .entity_for_login(&login_alias(K8S, "uid-1", &[]))
        .await
        .unwrap();
    let plain = m.create_entity(json!({"name": "plain"})).await;

    let list = m
        .ok(Operation::List, "entity/id/", json!({}))
        .await
        .unwrap();
    let mut ids = vec![with_alias.id.clone(), plain.clone()];
    ids.sort();
    assert_eq!(list["keys"], json!(ids));
    assert_eq!(list["key_info"][&plain], json!({"name": "plain"}));
    assert_eq!(
        list["key_info"][&with_alias.id],
        json!({"name": with_alias.name, "aliases": [{
            "id": with_alias.aliases[0].id,
            "mount_accessor": K8S,
            "mount_path": "auth/kubernetes/",
            "mount_type": "kubernetes",
            "name": "uid-1",
        }]})
    );

    // Names, in id order, and no key_info (Vault keys it by id).
    let names = m
        .ok(Operation::List, "entity/name/", json!({}))
        .await
        .unwrap();
    let expected: Vec<&str> = ids
        .iter()
        .map(|id| {
            if *id == plain {
                "plain"
            } else {
                with_alias.name.as_str()
            }
        })
        .collect();
    assert_eq!(names, json!({"keys": expected}));
}

#[tokio::test]
async fn batch_delete() {
    let (m, _) = mount().await;
    assert_eq!(
        m.user_error(Operation::Update, "entity/batch-delete", json!({}))
            .await,
        "missing entity ids to delete"
    );
    let a = m.create_entity(json!({})).await;
    let b = m.create_entity(json!({})).await;
    let c = m.create_entity(json!({})).await;
    assert!(
        m.ok(
            Operation::Update,
            "entity/batch-delete",
            json!({"entity_ids": format!("{a},{b},missing")})
        )
        .await
        .is_none()
    );
    assert_eq!(m.store.entity_count(), 1);
    assert!(m.store.entity(&c).await.unwrap().is_some());
}

#[tokio::test]
async fn lookup_entity() {
    let (m, _) = mount().await;
    let entity = m
        .store
        .entity_for_login(&login_alias(K8S, "uid-1", &[]))
        .await
        .unwrap();
    let alias_id = entity.aliases[0].id.clone();
    for query in [
        json!({"id": entity.id}),
        json!({"name": entity.name}),
        json!({"alias_id": alias_id}),
        json!({"alias_name": "UID-1", "alias_mount_accessor": K8S}),
    ] {
        let found = m
            .ok(Operation::Update, "lookup/entity", query.clone())
            .await;
        assert_eq!(found.unwrap()["id"], json!(entity.id), "{query}");
    }
    assert!(
        m.ok(Operation::Update, "lookup/entity", json!({"id": "nope"}))
            .await
            .is_none()
    );
    assert!(
        m.ok(
            Operation::Update,
            "lookup/entity",
            json!({"alias_name": "x", "alias_mount_accessor": K8S})
        )
        .await
        .is_none()
    );

    let lookup_error = |data: Value| {
        let m = &m;
        async move { m.user_error(Operation::Update, "lookup/entity", data).await }
    };
    assert_eq!(
        lookup_error(json!({})).await,
        "query parameter not supplied"
    );
    assert_eq!(
        lookup_error(json!({"alias_name": "x"})).await,
        "both 'alias_name' and 'alias_mount_accessor' needs to be set"
    );
    let conflict = "query parameter conflict; please supply distinct set of query parameters";
    assert_eq!(
        lookup_error(json!({"id": "a", "name": "b"})).await,
        conflict
    );
    assert_eq!(
        lookup_error(json!({"id": "a", "alias_name": "b"})).await,
        conflict
    );
}

#[tokio::test]
async fn unknown_operations_and_paths() {
    let (m, _) = mount().await;
    assert!(matches!(
        m.call(Operation::Read, "entity", json!({})).await,
        Err(LogicalError::UnsupportedOperation)
    ));
    assert!(matches!(
        m.call(Operation::Read, "group/id/x", json!({})).await,
        Err(LogicalError::UnsupportedPath)
    ));
}
