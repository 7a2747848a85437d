//! Revoking tokens and sweeping expired ones.
//!
//! A revocation first marks every token of the tree as `revoking` (unusable at once), each
//! with an expiry-index entry due now, then deletes leaves first. A crash in the middle
//! leaves marked tokens that the next sweep finishes, so no child outlives its parent.

use warden_logical::{StorageOp, StorageView};

use super::record::{TokenLease, TokenRecord, UnixNanos, now_nanos};
use super::{NANOS_PER_MINUTE, TokenStore, expiry_entry_token, expiry_key, index_put, record_put};
use crate::CoreError;

impl TokenStore {
    /// Revokes a token and all its descendants. An unknown token is not an error.
    pub async fn revoke_tree(&self, id: &str) -> Result<(), CoreError> {
        if self.load(id).await?.is_none() {
            return Ok(());
        }
        self.revoke_salted_tree(&self.salt_id(id)).await
    }

    /// Revokes one token and makes its children orphans.
    pub async fn revoke_orphan(&self, id: &str) -> Result<(), CoreError> {
        let salted = self.salt_id(id);
        if self.load_salted(&salted).await?.is_none() {
            return Ok(());
        }
        self.mark_revoking(&salted).await?;
        let folder = format!("token/parent/{salted}/");
        for child in self.view().list(&folder).await? {
            let _guard = self.lock(&child).await;
            if let Some(mut record) = self.load_salted(&child).await? {
                record.entry.parent = warden_logical::SecretString::new("");
                let ops = vec![
                    record_put(&child, &record)?,
                    StorageOp::Delete(format!("{folder}{child}")),
                ];
                self.commit(ops).await?;
            }
        }
        self.delete_records(&salted).await
    }

    /// Revokes the tree rooted at a salted id.
    pub(crate) async fn revoke_salted_tree(&self, salted: &str) -> Result<(), CoreError> {
        let mut order = Vec::new();
        let mut pending = vec![salted.to_owned()];
        while let Some(current) = pending.pop() {
            self.mark_revoking(&current).await?;
            let children = self
                .view()
                .list(&format!("token/parent/{current}/"))
                .await?;
            pending.extend(children.into_iter().filter(|child| !child.ends_with('/')));
            order.push(current);
        }
        for current in order.iter().rev() {
            self.delete_records(current).await?;
        }
        Ok(())
    }

    /// Marks a token unusable and schedules it in the expiry index for now (a token without
    /// a lease gets one that ends now, so the index always names it).
    async fn mark_revoking(&self, salted: &str) -> Result<(), CoreError> {
        let _guard = self.lock(salted).await;
        let Some(mut record) = self.load_salted(salted).await? else {
            return Ok(());
        };
        if record.revoking && record.lease.is_some() {
            return Ok(());
        }
        let now = now_nanos();
        let old = record
            .lease
            .as_ref()
            .map(|lease| expiry_key(lease.expire_time, salted));
        record.revoking = true;
        let lease = record.lease.get_or_insert(TokenLease {
            issue_time: now,
            expire_time: now,
            last_renewal: None,
            renewable: false,
            backend_ttl: 0,
            backend_max_ttl: 0,
        });
        lease.expire_time = lease.expire_time.min(now);
        let due = expiry_key(lease.expire_time, salted);
        let mut ops = vec![record_put(salted, &record)?, index_put(&due, &record)?];
        if let Some(old) = old.filter(|old| *old != due) {
            ops.push(StorageOp::Delete(old));
        }
        self.commit(ops).await?;
        Ok(())
    }

    /// Deletes a token's record, accessor, parent link, index entries and cubbyhole.
    async fn delete_records(&self, salted: &str) -> Result<(), CoreError> {
        let _guard = self.lock(salted).await;
        let Some(record) = self.load_salted(salted).await? else {
            return Ok(());
        };
        if !record.entry.cubbyhole_id.is_empty() {
            let cubbyhole = self
                .view()
                .sub_view(&format!("cubbyhole/{}/", record.entry.cubbyhole_id));
            cubbyhole.clear().await?;
        }
        let mut ops = vec![
            StorageOp::Delete(format!("token/id/{salted}")),
            StorageOp::Delete(format!(
                "token/accessor/{}",
                self.salt_id(&record.entry.accessor)
            )),
        ];
        if !record.entry.parent.is_empty() {
            let parent = self.salt_id(record.entry.parent.expose());
            ops.push(StorageOp::Delete(format!("token/parent/{parent}/{salted}")));
        }
        if let Some(lease) = &record.lease {
            ops.push(StorageOp::Delete(expiry_key(lease.expire_time, salted)));
        }
        self.commit(ops).await?;
        tracing::debug!(accessor = %record.entry.accessor, "token revoked");
        Ok(())
    }

    /// Revokes every token whose lease ended by `now`, reading the expiry index in time
    /// order; stale index entries (renewed or already revoked tokens) are dropped. Returns
    /// how many tokens were revoked.
    pub async fn sweep_expired(&self, now: UnixNanos) -> Result<usize, CoreError> {
        let now_minute = now.max(0) / NANOS_PER_MINUTE;
        let mut revoked = 0;
        for bucket in self.view().list("expire/time/").await? {
            let Some(minute) = bucket.strip_suffix('/').and_then(|b| b.parse::<i64>().ok()) else {
                continue;
            };
            if minute > now_minute {
                break;
            }
            let folder = format!("expire/time/{bucket}");
            for name in self.view().list(&folder).await? {
                let index_key = format!("{folder}{name}");
                let (salted, earlier_layout) = expiry_entry_token(&name);
                match self.load_salted(salted).await? {
                    Some(record) if due(&record, now) => {
                        self.revoke_salted_tree(salted).await?;
                        revoked += 1;
                    }
                    Some(record) if current_index(&record, salted) == Some(index_key.clone()) => {
                        // Due later this minute: the next sweep takes it.
                    }
                    Some(record) if earlier_layout => {
                        // Written before the nanosecond was in the key: moved, not lost.
                        let mut ops = vec![StorageOp::Delete(index_key)];
                        if let Some(current) = current_index(&record, salted) {
                            ops.push(index_put(&current, &record)?);
                        }
                        self.commit(ops).await?;
                    }
                    _ => self.view().delete(&index_key).await?,
                }
            }
        }
        Ok(revoked)
    }
}

fn due(record: &TokenRecord, now: UnixNanos) -> bool {
    record.revoking || record.expired_at(now)
}

fn current_index(record: &TokenRecord, salted: &str) -> Option<String> {
    record
        .lease
        .as_ref()
        .map(|lease| expiry_key(lease.expire_time, salted))
}

/// What a tidy run cleaned up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TidyReport {
    /// Accessor entries whose token no longer exists.
    pub dangling_accessors: usize,
    /// Children whose parent no longer exists, made orphans.
    pub orphaned_children: usize,
    /// Expired tokens revoked.
    pub expired: usize,
}

impl TokenStore {
    /// Removes index entries that point at nothing and revokes expired tokens (Vault's
    /// `auth/token/tidy`).
    pub async fn tidy(&self) -> Result<TidyReport, CoreError> {
        let mut report = TidyReport::default();
        for salted_accessor in self.view().list("token/accessor/").await? {
            let key = format!("token/accessor/{salted_accessor}");
            let index: Option<super::AccessorEntry> = self.view_dyn().get_json(&key).await?;
            let dangling = match index {
                Some(index) => self.load(index.token_id.expose()).await?.is_none(),
                None => true,
            };
            if dangling {
                self.view().delete(&key).await?;
                report.dangling_accessors += 1;
            }
        }
        for parent in self.view().list("token/parent/").await? {
            let parent = parent.trim_end_matches('/');
            if self.load_salted(parent).await?.is_some() {
                continue;
            }
            let folder = format!("token/parent/{parent}/");
            for child in self.view().list(&folder).await? {
                let _guard = self.lock(&child).await;
                let mut ops = vec![StorageOp::Delete(format!("{folder}{child}"))];
                if let Some(mut record) = self.load_salted(&child).await? {
                    record.entry.parent = warden_logical::SecretString::new("");
                    ops.push(record_put(&child, &record)?);
                    report.orphaned_children += 1;
                }
                self.commit(ops).await?;
            }
        }
        report.expired = self.sweep_expired(now_nanos()).await?;
        Ok(report)
    }

    fn view_dyn(&self) -> &dyn StorageView {
        self.view()
    }
}
