//! Store tests: logins, persistence, concurrency, storage layout.

use std::collections::BTreeMap;
use std::sync::Arc;

use warden_logical::{Alias, StorageView};

use super::*;
use crate::barrier::Barrier;

pub(super) const K8S: &str = "auth_kubernetes_1a2b3c4d";
pub(super) const JWT: &str = "auth_jwt_5e6f7a8b";
pub(super) const LOCAL: &str = "auth_userpass_00000001";

pub(super) fn resolver() -> MountResolver {
    MountResolver::new(|accessor| {
        let (mount_type, mount_path, local) = match accessor {
            K8S => ("kubernetes", "auth/kubernetes/", false),
            JWT => ("jwt", "auth/jwt/", false),
            LOCAL => ("userpass", "auth/userpass/", true),
            _ => return None,
        };
        Some(MountRef {
            mount_type: mount_type.into(),
            mount_path: mount_path.into(),
            local,
        })
    })
}

pub(super) async fn store_over(barrier: &Arc<Barrier>) -> Arc<IdentityStore> {
    let store = Arc::new(IdentityStore::new(BarrierView::new(
        Arc::clone(barrier),
        "sys/identity/",
    )));
    store.set_mount_resolver(resolver());
    store.setup().await.unwrap();
    store
}

pub(super) async fn new_store() -> (Arc<IdentityStore>, Arc<Barrier>) {
    let barrier = crate::barrier::unsealed_in_memory().await;
    (store_over(&barrier).await, barrier)
}

pub(super) fn login_alias(accessor: &str, name: &str, meta: &[(&str, &str)]) -> Alias {
    Alias {
        name: name.into(),
        mount_type: match accessor {
            K8S => "kubernetes",
            JWT => "jwt",
            _ => "userpass",
        }
        .into(),
        mount_accessor: accessor.into(),
        metadata: meta
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn sa_meta() -> Vec<(&'static str, &'static str)> {
    vec![
        ("service_account_name", "app"),
        ("service_account_namespace", "default"),
    ]
}

#[tokio::test]
async fn first_login_creates_an_entity_and_later_logins_find_it() {
    let (store, _) = new_store().await;
    let alias = login_alias(K8S, "uid-1", &sa_meta());
    let (entity, created) = store.create_or_fetch_entity(&alias).await.unwrap();
    assert!(created);
    assert!(entity.name.starts_with("entity_"), "{}", entity.name);
    assert_eq!(entity.name.len(), "entity_".len() + 8);
    assert!(
        entity.name["entity_".len()..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
    );
    assert_eq!(entity.namespace_id, "root");
    assert!(!entity.disabled);
    assert_eq!(entity.aliases.len(), 1);
    let stored = &entity.aliases[0];
    assert_eq!(stored.canonical_id, entity.id);
    assert_eq!(stored.mount_type, "kubernetes");
    assert_eq!(stored.mount_path, "auth/kubernetes/");
    assert_eq!(stored.name, "uid-1");
    assert_eq!(stored.metadata["service_account_name"], "app");
    assert_eq!(entity.creation_time, stored.creation_time);

    let (again, created) = store.create_or_fetch_entity(&alias).await.unwrap();
    assert!(!created);
    assert_eq!(again, entity);
    assert_eq!(store.entity_for_login(&alias).await.unwrap().id, entity.id);
    assert_eq!(
        store.entity(&entity.id).await.unwrap(),
        Some(entity.clone())
    );
    assert_eq!(
        store
            .entity_by_name(&entity.name.to_uppercase())
            .await
            .unwrap()
            .map(|e| e.id),
        Some(entity.id.clone())
    );
    assert_eq!(
        store
            .entity_by_alias(K8S, "uid-1")
            .await
            .unwrap()
            .map(|e| e.id),
        Some(entity.id.clone())
    );
    assert_eq!(store.entity_count(), 1);

    // Another mount, or another name, is another entity.
    let other = store
        .entity_for_login(&login_alias(JWT, "uid-1", &[]))
        .await
        .unwrap();
    assert_ne!(other.id, entity.id);
    assert_eq!(store.entity_count(), 2);
}

#[tokio::test]
async fn alias_names_are_case_insensitive() {
    let (store, _) = new_store().await;
    let first = store
        .entity_for_login(&login_alias(JWT, "Alice", &[]))
        .await
        .unwrap();
    let second = store
        .entity_for_login(&login_alias(JWT, "alice", &[]))
        .await
        .unwrap();
    assert_eq!(first.id, second.id);
    assert_eq!(second.aliases[0].name, "Alice");
}

#[tokio::test]
async fn login_replaces_changed_alias_metadata_and_persists_it() {
    let (store, barrier) = new_store().await;
    let entity = store
        .entity_for_login(&login_alias(K8S, "uid-1", &sa_meta()))
        .await
        .unwrap();
    let changed = login_alias(K8S, "uid-1", &[("service_account_name", "renamed")]);
    let (updated, created) = store.create_or_fetch_entity(&changed).await.unwrap();
    assert!(!created);
    assert_eq!(updated.id, entity.id);
    assert_eq!(updated.aliases[0].id, entity.aliases[0].id);
    assert_eq!(
        updated.aliases[0].metadata,
        BTreeMap::from([("service_account_name".to_owned(), "renamed".to_owned())])
    );
    assert!(updated.aliases[0].last_update_time >= entity.aliases[0].last_update_time);
    assert_eq!(updated.last_update_time, entity.last_update_time);

    let reopened = store_over(&barrier).await;
    assert_eq!(reopened.entity(&entity.id).await.unwrap(), Some(updated));
}

#[tokio::test]
async fn a_new_store_over_the_same_barrier_finds_everything() {
    let (store, barrier) = new_store().await;
    let a = store
        .entity_for_login(&login_alias(K8S, "uid-a", &sa_meta()))
        .await
        .unwrap();
    let b = store
        .entity_for_login(&login_alias(JWT, "sub-b", &[]))
        .await
        .unwrap();

    let reopened = store_over(&barrier).await;
    assert_eq!(reopened.entity_count(), 2);
    assert_eq!(reopened.entity(&a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(
        reopened.entity_by_name(&b.name).await.unwrap(),
        Some(b.clone())
    );
    let (found, created) = reopened
        .create_or_fetch_entity(&login_alias(K8S, "uid-a", &sa_meta()))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(found, a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_logins_of_one_alias_make_one_entity() {
    let (store, _) = new_store().await;
    for round in 0..20 {
        let start = Arc::new(tokio::sync::Barrier::new(16));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let store = Arc::clone(&store);
            let start = Arc::clone(&start);
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                let alias = login_alias(K8S, &format!("same-uid-{round}"), &sa_meta());
                store.create_or_fetch_entity(&alias).await.unwrap()
            }));
        }
        let mut ids = Vec::new();
        let mut created = 0;
        for task in tasks {
            let (entity, was_created) = task.await.unwrap();
            ids.push(entity.id);
            created += usize::from(was_created);
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 1, "round {round}: {ids:?}");
        assert_eq!(created, 1);
    }
    assert_eq!(store.entity_count(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_logins_of_different_aliases_make_one_entity_each() {
    let (store, barrier) = new_store().await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            // Every alias logs in twice, concurrently.
            let alias = login_alias(K8S, &format!("uid-{}", i % 20), &[]);
            store.entity_for_login(&alias).await.unwrap().id
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
    assert_eq!(store.entity_count(), 20);
    assert_eq!(store_over(&barrier).await.entity_count(), 20);
}

#[tokio::test]
async fn login_errors_are_internal_with_vault_messages() {
    let (store, _) = new_store().await;
    let err = store
        .entity_for_login(&login_alias(K8S, "", &[]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CoreError::Internal(m) if m == "missing name in alias"),
        "{err:?}"
    );

    let err = store
        .entity_for_login(&login_alias("auth_nope_1", "x", &[]))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), r#"invalid mount accessor "auth_nope_1""#);

    let mut wrong_type = login_alias(K8S, "x", &[]);
    wrong_type.mount_type = "jwt".into();
    let err = store.entity_for_login(&wrong_type).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"mount accessor "auth_kubernetes_1a2b3c4d" is not a mount of type "jwt""#
    );

    let err = store
        .entity_for_login(&login_alias(K8S, "x", &[("bad key", "v")]))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid alias metadata: failed to load metadata pair ("bad key", "v"): key contains invalid characters"#
    );

    // Without a resolver every accessor is unknown.
    let bare = IdentityStore::new(BarrierView::new(
        crate::barrier::unsealed_in_memory().await,
        "sys/identity/",
    ));
    let err = bare
        .entity_for_login(&login_alias(K8S, "x", &[]))
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("invalid mount accessor"));
    assert_eq!(store.entity_count(), 0);
}

#[tokio::test]
async fn policies_and_disabled_come_from_the_entity() {
    let (store, _) = new_store().await;
    let entity = store
        .entity_for_login(&login_alias(K8S, "uid-1", &[]))
        .await
        .unwrap();
    assert!(store.entity_policies(&entity.id).await.is_empty());
    assert!(!store.is_disabled(&entity.id).await);
    assert!(store.entity_policies("missing").await.is_empty());
    assert!(!store.is_disabled("missing").await);

    let mut after = entity.clone();
    after.policies = vec!["team-a".into(), "team-b".into()];
    after.disabled = true;
    let before = store.read_state().entity(&entity.id).cloned().unwrap();
    store
        .commit(vec![write::Change::update(before, after)])
        .await
        .unwrap();
    assert_eq!(
        store.entity_policies(&entity.id).await,
        ["team-a", "team-b"]
    );
    assert!(store.is_disabled(&entity.id).await);
    // A disabled entity is still returned to the login, which refuses it.
    let found = store
        .entity_for_login(&login_alias(K8S, "uid-1", &[]))
        .await
        .unwrap();
    assert!(found.is_disabled());
}

async fn keys_under(store: &IdentityStore, prefix: &str) -> Vec<String> {
    let storage: &dyn StorageView = &store.view;
    storage.list(prefix).await.unwrap()
}

#[tokio::test]
async fn storage_holds_the_entity_and_its_index_records() {
    let (store, _) = new_store().await;
    let entity = store
        .entity_for_login(&login_alias(K8S, "uid-1", &[]))
        .await
        .unwrap();
    assert_eq!(keys_under(&store, "entity/").await, vec![entity.id.clone()]);
    assert_eq!(keys_under(&store, "index/name/").await.len(), 1);
    assert_eq!(keys_under(&store, "index/alias/").await.len(), 1);
    assert_eq!(
        keys_under(&store, "index/alias-id/").await,
        [entity.aliases[0].id.clone()]
    );

    assert!(store.delete_entity(&entity.id).await.unwrap());
    assert!(!store.delete_entity(&entity.id).await.unwrap());
    for prefix in ["entity/", "index/name/", "index/alias/", "index/alias-id/"] {
        assert!(keys_under(&store, prefix).await.is_empty(), "{prefix}");
    }
    assert_eq!(store.entity_count(), 0);
    assert_eq!(store.entity_by_alias(K8S, "uid-1").await.unwrap(), None);
}

#[tokio::test]
async fn removing_a_mount_removes_its_aliases_only() {
    let (store, barrier) = new_store().await;
    let a = store
        .entity_for_login(&login_alias(K8S, "uid-a", &[]))
        .await
        .unwrap();
    let b = store
        .entity_for_login(&login_alias(JWT, "sub-b", &[]))
        .await
        .unwrap();
    assert_eq!(store.remove_aliases_for_mount(K8S).await.unwrap(), 1);
    assert_eq!(store.remove_aliases_for_mount(K8S).await.unwrap(), 0);

    let a_now = store.entity(&a.id).await.unwrap().unwrap();
    assert!(a_now.aliases.is_empty());
    assert_eq!(store.entity(&b.id).await.unwrap(), Some(b.clone()));
    assert_eq!(keys_under(&store, "index/alias/").await.len(), 1);
    assert_eq!(
        store_over(&barrier).await.entity(&a.id).await.unwrap(),
        Some(a_now)
    );

    // Logging in again through a mount with that accessor starts a new entity.
    let again = store
        .entity_for_login(&login_alias(K8S, "uid-a", &[]))
        .await
        .unwrap();
    assert_ne!(again.id, a.id);
}

#[test]
fn times_print_like_go_rfc3339_nano() {
    use time::macros::datetime;
    assert_eq!(
        format_time(datetime!(2017-07-25 20:29:22.614756844 UTC)),
        "2017-07-25T20:29:22.614756844Z"
    );
    assert_eq!(
        format_time(datetime!(2018-09-19 17:20:27.7 UTC)),
        "2018-09-19T17:20:27.7Z"
    );
    assert_eq!(
        format_time(datetime!(2018-09-19 17:20:27 +02:00)),
        "2018-09-19T15:20:27Z"
    );
}

#[test]
fn metadata_rules_match_vault() {
    let meta = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
    assert!(types::validate_metadata(&meta("a-b_c/d=e+f", "x")).is_ok());
    assert_eq!(
        types::validate_metadata(&meta("vault-x", "v")).unwrap_err(),
        r#"failed to load metadata pair ("vault-x", "v"): key prefix "vault-" is reserved for internal use"#
    );
    assert_eq!(
        types::validate_custom_metadata(&meta("k", "")).unwrap_err(),
        "1 error occurred:\n\t* custom_metadata validation failed: length of value for key \"k\" is 0 but must be 0 < len(value) <= 512\n\n"
    );
    assert_eq!(
        types::sanitize_policies(&[" B".into(), "a".into(), "b".into(), String::new()]),
        ["a", "b"]
    );
}
