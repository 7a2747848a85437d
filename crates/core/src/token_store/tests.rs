//! Storage names: creation order in new ids, and records written before it still served.

use warden_logical::{SecretString, StorageOp, StorageView};

use super::*;

const HOUR_NANOS: UnixNanos = 3_600 * 1_000_000_000;

async fn store() -> TokenStore {
    TokenStore::open(crate::barrier::unsealed_in_memory().await)
        .await
        .unwrap()
}

fn hour_token() -> NewToken {
    NewToken {
        policies: vec!["default".into()],
        path: "auth/token/create".into(),
        ttl: 3_600,
        renewable: true,
        ..NewToken::default()
    }
}

#[tokio::test]
async fn new_tokens_and_accessors_are_named_in_creation_order() {
    let store = store().await;
    let mut minted = Vec::new();
    for _ in 0..5 {
        minted.push(store.create(hour_token()).await.unwrap());
    }
    for record in &minted {
        let id = record.entry.id.expose();
        assert!(id.starts_with("hvs.") && id.len() == 4 + 24 + 11, "{id}");
        assert_eq!(record.entry.accessor.len(), 24 + 11);
        assert!(store.salt_id(id).starts_with(&format!("h{}", &id[28..])));
        assert!(store.lookup(id).await.unwrap().is_some());
        let by_accessor = store.lookup_accessor(&record.entry.accessor).await.unwrap();
        assert_eq!(by_accessor.unwrap().entry.id.expose(), id);
    }
    let names = |pick: fn(&TokenRecord) -> &str| -> Vec<String> {
        minted.iter().map(|r| store.salt_id(pick(r))).collect()
    };
    for names in [names(|r| r.entry.id.expose()), names(|r| &r.entry.accessor)] {
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "storage names are not in creation order");
    }
    // The expiry index sorts the same way within its minute.
    let lease = |r: &TokenRecord| r.lease.as_ref().unwrap().expire_time;
    let first = expiry_key(
        lease(&minted[0]),
        &store.salt_id(minted[0].entry.id.expose()),
    );
    let last = expiry_key(
        lease(&minted[4]),
        &store.salt_id(minted[4].entry.id.expose()),
    );
    if lease(&minted[0]) / NANOS_PER_MINUTE == lease(&minted[4]) / NANOS_PER_MINUTE {
        assert!(first < last, "{first} !< {last}");
    }
}

#[tokio::test]
async fn a_token_stored_before_creation_order_is_found_and_swept() {
    let store = store().await;
    // The shape of a token minted by an earlier version: 24 random characters, plain hash,
    // expiry index without the nanosecond.
    let id = format!("hvs.{}", crate::random::random_base62(24));
    let accessor = crate::random::random_base62(24);
    let created = store.create(hour_token()).await.unwrap();
    let mut record = created.clone();
    record.entry.id = SecretString::new(id.clone());
    record.entry.accessor = accessor.clone();
    let salted = store.salt_id(&id);
    assert_eq!(salted.len(), 1 + 64, "an earlier id keeps the plain hash");
    // Due half a minute into its bucket, so a sweep early in that minute finds it not yet due.
    let lease = record.lease.as_mut().unwrap();
    let bucket_start = lease.expire_time / NANOS_PER_MINUTE * NANOS_PER_MINUTE;
    lease.expire_time = bucket_start + NANOS_PER_MINUTE / 2;
    let expire = lease.expire_time;
    let earlier_index = format!("expire/time/{:012}/{salted}", expire / NANOS_PER_MINUTE);
    store
        .commit(vec![
            record_put(&salted, &record).unwrap(),
            StorageOp::Put(
                StorageEntry::json(
                    format!("token/accessor/{}", store.salt_id(&accessor)),
                    &AccessorEntry {
                        token_id: SecretString::new(id.clone()),
                        accessor_id: accessor.clone(),
                        namespace_id: "root".into(),
                    },
                )
                .unwrap(),
            ),
            index_put(&earlier_index, &record).unwrap(),
        ])
        .await
        .unwrap();
    assert!(store.lookup(&id).await.unwrap().is_some());
    assert!(store.lookup_accessor(&accessor).await.unwrap().is_some());

    // Sweeps only read buckets that have begun: before then the entry stays as it is.
    assert_eq!(store.sweep_expired(now_nanos()).await.unwrap(), 0);
    assert!(store.view.get(&earlier_index).await.unwrap().is_some());
    // A sweep in its minute, before it is due, moves the entry to the current layout.
    let early = bucket_start;
    assert_eq!(store.sweep_expired(early).await.unwrap(), 0);
    assert!(store.view.get(&earlier_index).await.unwrap().is_none());
    assert!(
        store
            .view
            .get(&expiry_key(expire, &salted))
            .await
            .unwrap()
            .is_some()
    );
    // Once due, it is revoked like any other.
    let revoked = store.sweep_expired(expire + HOUR_NANOS).await.unwrap();
    assert_eq!(revoked, 2, "the earlier token and the one minted alongside");
    assert!(store.lookup(&id).await.unwrap().is_none());
    assert!(
        store
            .lookup(created.entry.id.expose())
            .await
            .unwrap()
            .is_none()
    );
}
