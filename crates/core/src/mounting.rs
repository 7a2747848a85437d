//! Enabling, disabling and tuning mounts, and rebuilding the router at unseal.
//!
//! Order of a change, so nothing is half-done: build and initialize the backend, persist the
//! new table, then route to it. A failed persist tears the new backend down again; a
//! disable removes the route first, persists, and only then deletes the mount's storage.

use std::sync::{Arc, Weak};
use std::time::Duration;

use warden_logical::{BackendConfig, LogicalBackend, LogicalError, MountInfo, SystemView};

use crate::cubbyhole::{self, CUBBYHOLE_PREFIX};
use crate::lifecycle::{Active, Core};
use crate::mount::{self, MountConfig, MountEntry, MountTable, sanitize_path};
use crate::router::Route;
use crate::view::BarrierView;
use crate::{CoreError, identity, sys, token_backend};

/// Secrets-engine paths nobody may mount at or under.
const PROTECTED_SECRET_PATHS: [&str; 5] = ["audit/", "auth/", "sys/", "cubbyhole/", "identity/"];
/// Types that exist once and are mounted by the core itself.
const SINGLETON_TYPES: [&str; 4] = ["cubbyhole", "system", "token", "identity"];

/// What a backend sees of its mount's settings, read live so that tuning takes effect
/// without a remount.
#[derive(Debug)]
struct MountSystemView {
    core: Weak<Core>,
    route_path: String,
}

impl MountSystemView {
    /// The mount's default and maximum lease TTLs, read at the time of the call.
    fn ttls(&self) -> (Duration, Duration) {
        let Some(core) = self.core.upgrade() else {
            return (Duration::ZERO, Duration::ZERO);
        };
        match core
            .active_state()
            .and_then(|active| active.router.get(&self.route_path))
        {
            Some(route) => core.mount_ttls(&route.entry.config),
            None => core.mount_ttls(&MountConfig::default()),
        }
    }
}

impl SystemView for MountSystemView {
    fn default_lease_ttl(&self) -> Duration {
        self.ttls().0
    }

    fn max_lease_ttl(&self) -> Duration {
        self.ttls().1
    }
}

impl Core {
    /// The default and maximum lease TTL in force for a mount: its tuned values, else the
    /// system's, the default never above the maximum.
    pub(crate) fn mount_ttls(&self, config: &MountConfig) -> (Duration, Duration) {
        let max = match config.max_lease_ttl {
            0 => self.config.max_lease_ttl,
            secs => Duration::from_secs(secs),
        };
        let default = match config.default_lease_ttl {
            0 => self.config.default_lease_ttl,
            secs => Duration::from_secs(secs),
        };
        (default.min(max), max)
    }

    /// Creates the backend for a mount entry.
    async fn build_backend(
        &self,
        active: &Active,
        entry: &MountEntry,
    ) -> Result<Arc<dyn LogicalBackend>, CoreError> {
        let view = BarrierView::new(Arc::clone(&self.barrier), entry.storage_prefix());
        match (entry.table, entry.mount_type.as_str()) {
            (MountTable::Secrets, "cubbyhole") => {
                let view = BarrierView::new(Arc::clone(&self.barrier), CUBBYHOLE_PREFIX);
                return cubbyhole::backend(view).map_err(CoreError::backend);
            }
            (MountTable::Secrets, "identity") => {
                return identity::backend(Arc::clone(&active.identity)).map_err(CoreError::backend);
            }
            (MountTable::Secrets, "system") => {
                return sys::backend(self.this.clone()).map_err(CoreError::backend);
            }
            (MountTable::Auth, "token") => {
                return token_backend::backend(self.this.clone()).map_err(CoreError::backend);
            }
            _ => {}
        }
        let factories = match entry.table {
            MountTable::Secrets => &self.factories.secrets,
            MountTable::Auth => &self.factories.credentials,
        };
        let Some(factory) = factories.get(&entry.mount_type) else {
            return Err(CoreError::User(format!(
                "plugin not found in the catalog: {}",
                entry.mount_type
            )));
        };
        let config = BackendConfig {
            storage: Arc::new(view),
            system: Arc::new(MountSystemView {
                core: self.this.clone(),
                route_path: entry.route_path(),
            }),
            options: entry.options.clone(),
            mount: MountInfo {
                path: entry.route_path(),
                mount_type: entry.mount_type.clone(),
                accessor: entry.accessor.clone(),
                uuid: entry.uuid.clone(),
            },
        };
        let backend = factory(config).await.map_err(CoreError::backend)?;
        backend.initialize().await.map_err(CoreError::backend)?;
        Ok(backend)
    }

    /// Looks mounts up by accessor for the identity store (aliases name their mount by
    /// accessor).
    pub(crate) fn mount_resolver(&self) -> identity::MountResolver {
        let core = self.this.clone();
        identity::MountResolver::new(move |accessor| {
            let active = core.upgrade()?.active_state()?;
            active
                .router
                .all()
                .into_iter()
                .find(|route| route.entry.accessor == accessor)
                .map(|route| identity::MountRef {
                    mount_type: route.entry.mount_type.clone(),
                    mount_path: route.entry.route_path(),
                    local: route.entry.local,
                })
        })
    }

    /// Every entry of a table, in path order.
    pub fn mount_entries(&self, table: MountTable) -> Result<Vec<MountEntry>, CoreError> {
        let active = self.require_active()?;
        Ok(active
            .router
            .all()
            .into_iter()
            .filter(|route| route.entry.table == table)
            .map(|route| route.entry.clone())
            .collect())
    }

    /// The entry of the mount that serves `path` (longest prefix), if any.
    pub fn mount_for_path(&self, path: &str) -> Result<Option<MountEntry>, CoreError> {
        let active = self.require_active()?;
        Ok(active
            .router
            .matching(path)
            .map(|(route, _)| route.entry.clone()))
    }

    /// Enables a secrets engine or auth method. `entry.path` is relative to its table.
    pub async fn enable_mount(&self, mut entry: MountEntry) -> Result<(), CoreError> {
        let active = self.require_active()?;
        entry.path = sanitize_path(&entry.path);
        if entry.path == "/" {
            return Err(CoreError::User("backend path must be specified".into()));
        }
        match entry.table {
            MountTable::Secrets => {
                if PROTECTED_SECRET_PATHS
                    .iter()
                    .any(|p| entry.path.starts_with(p))
                {
                    return Err(coded(403, format!("cannot mount {:?}", entry.path)));
                }
                if SINGLETON_TYPES.contains(&entry.mount_type.as_str()) {
                    return Err(coded(
                        403,
                        format!("mount type of {:?} is not mountable", entry.mount_type),
                    ));
                }
            }
            MountTable::Auth => {
                if entry.mount_type == "token" {
                    return Err(CoreError::User(
                        "token credential backend cannot be instantiated".into(),
                    ));
                }
            }
        }
        let _guard = active.mount_lock.lock().await;
        let route_path = entry.route_path();
        let mut entries = self.mount_entries(entry.table)?;
        if let Some(existing) = entries.iter().find(|existing| {
            existing.path.starts_with(&entry.path) || entry.path.starts_with(&existing.path)
        }) {
            return Err(coded(
                409,
                format!("path is already in use at {}", existing.path),
            ));
        }
        if let Some((conflict, _)) = active.router.matching(&route_path) {
            return Err(coded(
                409,
                format!("existing mount at {}", conflict.entry.route_path()),
            ));
        }
        let backend = self.build_backend(&active, &entry).await?;
        entries.push(entry.clone());
        if let Err(err) = mount::persist_table(&self.barrier, entry.table, &entries).await {
            backend.cleanup().await;
            return Err(err);
        }
        active.router.insert(Route::new(entry, backend));
        tracing::info!(path = %route_path, "successful mount");
        Ok(())
    }

    /// Disables the mount at `path` (relative to its table) and deletes its storage.
    /// Disabling a path where nothing is mounted succeeds, as in Vault.
    pub async fn disable_mount(&self, table: MountTable, path: &str) -> Result<(), CoreError> {
        let active = self.require_active()?;
        let path = sanitize_path(path);
        match table {
            MountTable::Secrets if PROTECTED_SECRET_PATHS.iter().any(|p| path.starts_with(p)) => {
                return Err(CoreError::User(format!("cannot unmount {path:?}")));
            }
            MountTable::Auth if path == "token/" => {
                return Err(CoreError::User(
                    "token credential backend cannot be disabled".into(),
                ));
            }
            _ => {}
        }
        let _guard = active.mount_lock.lock().await;
        let route_path = format!("{}{path}", table.route_prefix());
        let Some(route) = active.router.get(&route_path) else {
            return Ok(());
        };
        let remaining: Vec<MountEntry> = self
            .mount_entries(table)?
            .into_iter()
            .filter(|entry| entry.path != path)
            .collect();
        active.router.remove(&route_path);
        if let Err(err) = mount::persist_table(&self.barrier, table, &remaining).await {
            // Put the route back: the stored table still has the mount.
            active
                .router
                .insert(Route::new(route.entry.clone(), Arc::clone(&route.backend)));
            return Err(err);
        }
        route.backend.cleanup().await;
        let view = BarrierView::new(Arc::clone(&self.barrier), route.entry.storage_prefix());
        if let Err(err) = view.clear().await {
            tracing::warn!(path = %route_path, error = %err, "failed to clear storage of disabled mount");
        }
        tracing::info!(path = %route_path, "successfully unmounted");
        Ok(())
    }

    /// Replaces the settings of the mount at `route_path` with `change(entry)`.
    pub async fn tune_mount(
        &self,
        route_path: &str,
        change: impl FnOnce(&mut MountEntry) -> Result<(), CoreError>,
    ) -> Result<(), CoreError> {
        let active = self.require_active()?;
        let _guard = active.mount_lock.lock().await;
        let Some(route) = active.router.get(route_path) else {
            return Err(CoreError::User(format!("no mount at {route_path:?}")));
        };
        let mut entry = route.entry.clone();
        change(&mut entry)?;
        let mut entries = self.mount_entries(entry.table)?;
        for existing in &mut entries {
            if existing.path == entry.path {
                *existing = entry.clone();
            }
        }
        mount::persist_table(&self.barrier, entry.table, &entries).await?;
        active
            .router
            .insert(Route::new(entry, Arc::clone(&route.backend)));
        Ok(())
    }
}

fn coded(status: u16, message: String) -> CoreError {
    CoreError::backend(LogicalError::coded(status, message))
}

/// Loads both mount tables (writing the defaults on first unseal) and routes every mount.
pub(crate) async fn setup_mounts(core: &Core, active: &Active) -> Result<(), CoreError> {
    for table in [MountTable::Secrets, MountTable::Auth] {
        let stored = mount::load_table(&core.barrier, table).await?;
        let mut entries = stored.clone().unwrap_or_default();
        // Built-in mounts a table lacks (a new table, or one written by an older version)
        // are added and persisted before anything routes.
        for default in default_entries(table) {
            if !entries
                .iter()
                .any(|entry| entry.mount_type == default.mount_type)
            {
                entries.push(default);
            }
        }
        if stored.as_ref() != Some(&entries) {
            mount::persist_table(&core.barrier, table, &entries).await?;
        }
        for entry in entries {
            let backend = core.build_backend(active, &entry).await.map_err(|err| {
                CoreError::internal(format!(
                    "failed to set up mount {}: {err}",
                    entry.route_path()
                ))
            })?;
            active.router.insert(Route::new(entry, backend));
        }
    }
    Ok(())
}

fn default_entries(table: MountTable) -> Vec<MountEntry> {
    match table {
        MountTable::Secrets => {
            let mut cubbyhole = MountEntry::new(MountTable::Secrets, "cubbyhole/", "cubbyhole");
            cubbyhole.description = "per-token private secret storage".into();
            cubbyhole.local = true;
            let mut identity = MountEntry::new(MountTable::Secrets, "identity/", "identity");
            identity.description = "identity store".into();
            let mut sys = MountEntry::new(MountTable::Secrets, "sys/", "system");
            sys.description = "system endpoints used for control, policy and debugging".into();
            vec![cubbyhole, identity, sys]
        }
        MountTable::Auth => {
            let mut token = MountEntry::new(MountTable::Auth, "token/", "token");
            token.description = "token based credentials".into();
            vec![token]
        }
    }
}
