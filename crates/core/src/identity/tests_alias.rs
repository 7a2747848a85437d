//! Backend tests of `entity-alias…`.

use serde_json::{Value, json};
use warden_logical::Operation;

use super::tests_backend::{keys, mount};
use super::tests_store::{JWT, K8S, LOCAL, login_alias, store_over};

#[tokio::test]
async fn alias_create_and_read() {
    let (m, barrier) = mount().await;
    let no_factors = "'id' or 'mount_accessor' and 'name' must be provided";
    assert_eq!(
        m.user_error(Operation::Update, "entity-alias", json!({"name": "x"}))
            .await,
        no_factors
    );
    assert_eq!(
        m.user_error(
            Operation::Update,
            "entity-alias",
            json!({"name": "x", "mount_accessor": "auth_x_1"})
        )
        .await,
        r#"invalid mount accessor "auth_x_1""#
    );
    assert_eq!(
        m.user_error(
            Operation::Update,
            "entity-alias",
            json!({"name": "x", "mount_accessor": JWT, "canonical_id": "nope"})
        )
        .await,
        "invalid canonical ID"
    );

    let entity = m.create_entity(json!({"name": "svc"})).await;
    let resp = m
        .ok(
            Operation::Update,
            "entity-alias",
            json!({"name": "bob", "mount_accessor": JWT, "canonical_id": entity,
                   "custom_metadata": {"email": "bob@example.com"}}),
        )
        .await
        .unwrap();
    assert_eq!(keys(&resp), ["canonical_id", "id"]);
    assert_eq!(resp["canonical_id"], json!(entity));
    let alias_id = resp["id"].as_str().unwrap().to_owned();
    assert_eq!(
        m.user_error(
            Operation::Update,
            "entity-alias",
            json!({"name": "bob2", "mount_accessor": JWT, "entity_id": entity})
        )
        .await,
        "Alias already exists for requested entity and mount accessor"
    );

    let read = m
        .ok(
            Operation::Read,
            &format!("entity-alias/id/{alias_id}"),
            json!({}),
        )
        .await
        .unwrap();
    assert_eq!(
        keys(&read),
        [
            "canonical_id",
            "creation_time",
            "custom_metadata",
            "id",
            "last_update_time",
            "local",
            "merged_from_canonical_ids",
            "metadata",
            "mount_accessor",
            "mount_path",
            "mount_type",
            "name",
            "namespace_id",
        ]
    );
    assert_eq!(read["custom_metadata"], json!({"email": "bob@example.com"}));
    assert_eq!(read["metadata"], Value::Null);
    assert_eq!(read["mount_path"], "auth/jwt/");
    assert_eq!(read["mount_type"], "jwt");
    assert_eq!(read["local"], false);
    assert!(
        m.ok(Operation::Read, "entity-alias/id/nope", json!({}))
            .await
            .is_none()
    );

    // The entity read shows the alias.
    let entity_read = m
        .ok(Operation::Read, &format!("entity/id/{entity}"), json!({}))
        .await
        .unwrap();
    let shown = &entity_read["aliases"][0];
    assert_eq!(shown["id"], json!(alias_id));
    assert_eq!(shown["mount_type"], "jwt");
    assert!(shown.get("namespace_id").is_none());

    // Without canonical_id a new entity is made; a login through the alias finds it.
    let resp = m
        .ok(
            Operation::Update,
            "entity-alias",
            json!({"name": "carol", "mount_accessor": LOCAL}),
        )
        .await
        .unwrap();
    let carol = resp["canonical_id"].as_str().unwrap().to_owned();
    assert_ne!(carol, entity);
    let login = m
        .store
        .entity_for_login(&login_alias(LOCAL, "carol", &[]))
        .await
        .unwrap();
    assert_eq!(login.id, carol);
    assert!(login.aliases[0].local);
    assert_eq!(
        store_over(&barrier).await.entity(&carol).await.unwrap(),
        Some(login)
    );

    // Writing the same factors again with nothing new is a no-op.
    assert!(
        m.ok(
            Operation::Update,
            "entity-alias",
            json!({"name": "carol", "mount_accessor": LOCAL})
        )
        .await
        .is_none()
    );
}

#[tokio::test]
async fn alias_update_move_and_delete() {
    let (m, _) = mount().await;
    let first = m.create_entity(json!({})).await;
    let second = m.create_entity(json!({})).await;
    let create = |name: &str, accessor: &str, entity: &str| json!({"name": name, "mount_accessor": accessor, "canonical_id": entity});
    let resp = m
        .ok(Operation::Update, "entity-alias", create("a", JWT, &first))
        .await
        .unwrap();
    let alias = resp["id"].as_str().unwrap().to_owned();
    m.ok(Operation::Update, "entity-alias", create("k", K8S, &first))
        .await;
    m.ok(Operation::Update, "entity-alias", create("b", JWT, &second))
        .await;
    let path = format!("entity-alias/id/{alias}");

    assert_eq!(
        m.user_error(
            Operation::Update,
            "entity-alias/id/nope",
            json!({"name": "z"})
        )
        .await,
        "invalid alias ID provided"
    );
    assert!(m.ok(Operation::Update, &path, json!({})).await.is_none());
    assert_eq!(
        m.user_error(Operation::Update, &path, json!({"name": "b"}))
            .await,
        "alias with combination of mount accessor and name already exists"
    );
    assert_eq!(
        m.user_error(Operation::Update, &path, json!({"mount_accessor": K8S}))
            .await,
        "Alias cannot be updated as the entity already has an alias for the given 'mount_accessor' "
    );
    assert_eq!(
        m.user_error(Operation::Update, &path, json!({"canonical_id": second}))
            .await,
        "Alias cannot be updated as the given entity already has an alias for this mount "
    );
    assert_eq!(
        m.user_error(Operation::Update, &path, json!({"canonical_id": "nope"}))
            .await,
        "given 'canonical_id' is not associated with an entity"
    );

    let resp = m
        .ok(
            Operation::Update,
            &path,
            json!({"name": "renamed", "custom_metadata": "team=x"}),
        )
        .await
        .unwrap();
    assert_eq!(resp, json!({"canonical_id": first, "id": alias}));
    let read = m.ok(Operation::Read, &path, json!({})).await.unwrap();
    assert_eq!(read["name"], "renamed");
    assert_eq!(read["custom_metadata"], json!({"team": "x"}));
    assert!(m.store.entity_by_alias(JWT, "a").await.unwrap().is_none());

    // Move it to a third entity.
    let third = m.create_entity(json!({})).await;
    let resp = m
        .ok(Operation::Update, &path, json!({"canonical_id": third}))
        .await
        .unwrap();
    assert_eq!(resp, json!({"canonical_id": third, "id": alias}));
    let moved = m
        .store
        .entity_by_alias(JWT, "renamed")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.id, third);
    assert_eq!(moved.aliases[0].canonical_id, third);
    assert_eq!(
        m.store.entity(&first).await.unwrap().unwrap().aliases.len(),
        1
    );

    // Delete it; the entity stays.
    assert!(m.ok(Operation::Delete, &path, json!({})).await.is_none());
    assert!(m.ok(Operation::Read, &path, json!({})).await.is_none());
    assert!(
        m.store
            .entity(&third)
            .await
            .unwrap()
            .unwrap()
            .aliases
            .is_empty()
    );
    assert!(m.ok(Operation::Delete, &path, json!({})).await.is_none());
}

#[tokio::test]
async fn alias_list() {
    let (m, _) = mount().await;
    assert_eq!(
        m.ok(Operation::List, "entity-alias/id/", json!({})).await,
        Some(json!({}))
    );
    let entity = m
        .store
        .entity_for_login(&login_alias(
            K8S,
            "uid-1",
            &[("service_account_name", "app")],
        ))
        .await
        .unwrap();
    let alias = &entity.aliases[0];
    let list = m
        .ok(Operation::List, "entity-alias/id", json!({}))
        .await
        .unwrap();
    assert_eq!(
        list,
        json!({
            "keys": [alias.id],
            "key_info": {alias.id.clone(): {
                "canonical_id": entity.id,
                "custom_metadata": null,
                "local": false,
                "metadata": {"service_account_name": "app"},
                "mount_accessor": K8S,
                "mount_path": "auth/kubernetes/",
                "mount_type": "kubernetes",
                "name": "uid-1",
            }},
        })
    );
}
