//! Routing: the longest mount prefix of a logical path decides which backend serves it.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use warden_logical::{LogicalBackend, SpecialPaths};

use crate::mount::MountEntry;

/// A mounted backend with its entry and its compiled special paths.
#[derive(Debug)]
pub struct Route {
    /// The mount entry as stored in the mount table.
    pub entry: MountEntry,
    /// The backend serving the mount.
    pub backend: Arc<dyn LogicalBackend>,
    root_paths: PathMatcher,
    unauthenticated_paths: PathMatcher,
}

impl Route {
    /// Builds a route, compiling the backend's special paths once.
    pub fn new(entry: MountEntry, backend: Arc<dyn LogicalBackend>) -> Self {
        let SpecialPaths {
            root,
            unauthenticated,
        } = backend.special_paths();
        Self {
            entry,
            backend,
            root_paths: PathMatcher::new(&root),
            unauthenticated_paths: PathMatcher::new(&unauthenticated),
        }
    }

    /// Whether `relative` (the path inside the mount) needs sudo.
    pub fn requires_sudo(&self, relative: &str) -> bool {
        self.root_paths.matches(relative)
    }

    /// Whether `relative` may be called without a token.
    pub fn is_unauthenticated(&self, relative: &str) -> bool {
        self.unauthenticated_paths.matches(relative)
    }
}

/// The live routing table. Reads clone an `Arc` out under a short lock; the lock is never
/// held across an `.await`.
#[derive(Debug, Default)]
pub struct Router {
    routes: RwLock<BTreeMap<String, Arc<Route>>>,
}

impl Router {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the route of a mount.
    pub fn insert(&self, route: Route) {
        let path = route.entry.route_path();
        self.write().insert(path, Arc::new(route));
    }

    /// Removes the route of the mount at `route_path` and returns it.
    pub fn remove(&self, route_path: &str) -> Option<Arc<Route>> {
        self.write().remove(route_path)
    }

    /// The route whose mount path is the longest prefix of `path` (ending at a `/`), with
    /// the path relative to the mount.
    pub fn matching(&self, path: &str) -> Option<(Arc<Route>, String)> {
        let routes = self.routes.read().unwrap_or_else(PoisonError::into_inner);
        let mut candidates: Vec<usize> = path.match_indices('/').map(|(i, _)| i + 1).collect();
        candidates.reverse();
        for end in candidates {
            if let Some(route) = routes.get(&path[..end]) {
                return Some((Arc::clone(route), path[end..].to_owned()));
            }
        }
        None
    }

    /// The route mounted exactly at `route_path`.
    pub fn get(&self, route_path: &str) -> Option<Arc<Route>> {
        self.routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(route_path)
            .cloned()
    }

    /// Every route, ordered by path.
    pub fn all(&self) -> Vec<Arc<Route>> {
        self.routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<Route>>> {
        self.routes.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Matches Vault's special-path patterns: an exact path, a prefix ending in `*`, or a
/// pattern whose `+` segments match any single segment.
#[derive(Debug, Default, Clone)]
pub struct PathMatcher {
    exact: Vec<String>,
    prefixes: Vec<String>,
    segmented: Vec<(Vec<String>, bool)>,
}

impl PathMatcher {
    /// Compiles a list of patterns.
    pub fn new(patterns: &[String]) -> Self {
        let mut matcher = Self::default();
        for pattern in patterns {
            let pattern = pattern.trim_start_matches('/');
            let (body, is_prefix) = match pattern.strip_suffix('*') {
                Some(body) => (body, true),
                None => (pattern, false),
            };
            if body.split('/').any(|segment| segment == "+") {
                let segments = body.split('/').map(str::to_owned).collect();
                matcher.segmented.push((segments, is_prefix));
            } else if is_prefix {
                matcher.prefixes.push(body.to_owned());
            } else {
                matcher.exact.push(body.to_owned());
            }
        }
        matcher
    }

    /// Whether `path` matches any pattern.
    pub fn matches(&self, path: &str) -> bool {
        self.exact.iter().any(|exact| exact == path)
            || self
                .prefixes
                .iter()
                .any(|prefix| path.starts_with(prefix.as_str()))
            || self
                .segmented
                .iter()
                .any(|(segments, is_prefix)| segments_match(segments, *is_prefix, path))
    }
}

fn segments_match(pattern: &[String], is_prefix: bool, path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() < pattern.len() || (!is_prefix && parts.len() != pattern.len()) {
        return false;
    }
    let last = pattern.len().saturating_sub(1);
    pattern
        .iter()
        .zip(&parts)
        .enumerate()
        .all(|(index, (want, got))| {
            if want == "+" {
                return !got.is_empty();
            }
            if is_prefix && index == last {
                return got.starts_with(want.as_str());
            }
            want == got
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(patterns: &[&str]) -> PathMatcher {
        PathMatcher::new(&patterns.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn exact_prefix_and_segment_patterns() {
        let m = matcher(&["login", "auth/*", "role/+/secret-id", "oidc/+/x*"]);
        assert!(m.matches("login"));
        assert!(!m.matches("login/extra"));
        assert!(m.matches("auth/kubernetes/"));
        assert!(m.matches("auth/"));
        assert!(!m.matches("aut"));
        assert!(m.matches("role/web/secret-id"));
        assert!(!m.matches("role//secret-id"));
        assert!(!m.matches("role/web/secret-id/more"));
        assert!(m.matches("oidc/a/xyz"));
        assert!(!m.matches("oidc/a/y"));
    }
}
