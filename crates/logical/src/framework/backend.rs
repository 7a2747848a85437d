//! The dispatcher (Vault's `framework.Backend`): routing, field coercion, help, warnings.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::field::conversion_error;
use super::handler::{Handler, Provided};
use super::help;
use super::path::Path;
use crate::{
    BackendKind, BoxFuture, LogicalBackend, LogicalError, Map, Operation, Request, Response,
    SpecialPaths,
};

/// A mistake in a backend's path table, found when it is built (Vault panics at first use).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A path has an empty pattern.
    #[error("Routing pattern cannot be blank")]
    BlankPattern,
    /// A path serves `Create` but cannot tell create from update.
    #[error("Pattern {pattern} defines a CreateOperation but no ExistenceCheck")]
    CreateWithoutExistenceCheck {
        /// The path's pattern.
        pattern: String,
    },
    /// A field is declared twice on one path.
    #[error("Pattern {pattern} declares field {field:?} twice")]
    DuplicateField {
        /// The path's pattern.
        pattern: String,
        /// The field.
        field: String,
    },
    /// A field's default does not coerce to its type.
    #[error("Pattern {pattern}: invalid default for field {field:?}: {message}")]
    InvalidDefault {
        /// The path's pattern.
        pattern: String,
        /// The field.
        field: String,
        /// Why the default does not coerce.
        message: String,
    },
    /// A pattern is not a valid regular expression.
    #[error("Pattern {pattern} does not compile: {message}")]
    InvalidPattern {
        /// The path's pattern.
        pattern: String,
        /// The compiler's message.
        message: String,
    },
}

impl From<BuildError> for LogicalError {
    fn from(err: BuildError) -> Self {
        Self::internal(err)
    }
}

type InitializeFn = dyn Fn() -> BoxFuture<'static, Result<(), LogicalError>> + Send + Sync;
type CleanupFn = dyn Fn() -> BoxFuture<'static, ()> + Send + Sync;
type InvalidateFn = dyn Fn(&str) + Send + Sync;

/// A backend made of a path table (Vault's `framework.Backend`); implements
/// [`LogicalBackend`].
pub struct FrameworkBackend {
    kind: BackendKind,
    help: String,
    special_paths: SpecialPaths,
    paths: Vec<Path>,
    initialize: Option<Arc<InitializeFn>>,
    cleanup: Option<Arc<CleanupFn>>,
    invalidate: Option<Arc<InvalidateFn>>,
    auth_renew: Option<Handler>,
}

/// Builds a [`FrameworkBackend`]; see [`FrameworkBackend::builder`].
#[must_use]
pub struct FrameworkBackendBuilder {
    backend: FrameworkBackend,
}

impl FrameworkBackend {
    /// Starts a backend of the given kind.
    pub fn builder(kind: BackendKind) -> FrameworkBackendBuilder {
        FrameworkBackendBuilder {
            backend: Self {
                kind,
                help: String::new(),
                special_paths: SpecialPaths::default(),
                paths: Vec::new(),
                initialize: None,
                cleanup: None,
                invalidate: None,
                auth_renew: None,
            },
        }
    }

    /// The path table, in routing order.
    pub fn paths(&self) -> &[Path] {
        &self.paths
    }

    /// The first path whose pattern matches, as Vault's `Backend.Route`.
    pub fn route(&self, path: &str) -> Option<&Path> {
        self.route_with_captures(path).map(|(p, _)| p)
    }

    fn route_with_captures(&self, path: &str) -> Option<(&Path, BTreeMap<String, String>)> {
        self.paths
            .iter()
            .find_map(|p| p.captures(path).map(|captures| (p, captures)))
    }

    async fn handle_revoke_renew(&self, req: Request) -> Result<Option<Response>, LogicalError> {
        if req.operation == Operation::Renew && req.auth.is_some() {
            return match &self.auth_renew {
                Some(handler) => handler.call(req, Map::new(), Provided::default()).await,
                None => Err(LogicalError::user("this auth type doesn't support renew")),
            };
        }
        Err(LogicalError::internal("request has no secret"))
    }
}

impl FrameworkBackendBuilder {
    /// The text of `?help=1` on the mount's root.
    pub fn help(mut self, text: impl Into<String>) -> Self {
        self.backend.help = text.into();
        self
    }

    /// Paths that need `sudo` (Vault's `PathsSpecial.Root`).
    pub fn root_paths<I: IntoIterator<Item = S>, S: Into<String>>(mut self, paths: I) -> Self {
        self.backend
            .special_paths
            .root
            .extend(paths.into_iter().map(Into::into));
        self
    }

    /// Paths that need no token (Vault's `PathsSpecial.Unauthenticated`), e.g. `login`.
    pub fn unauthenticated_paths<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        paths: I,
    ) -> Self {
        self.backend
            .special_paths
            .unauthenticated
            .extend(paths.into_iter().map(Into::into));
        self
    }

    /// Appends a path; the first matching path in table order serves a request.
    pub fn path(mut self, path: Path) -> Self {
        self.backend.paths.push(path);
        self
    }

    /// Appends several paths (Vault's `PathAppend`).
    pub fn paths(mut self, paths: impl IntoIterator<Item = Path>) -> Self {
        self.backend.paths.extend(paths);
        self
    }

    /// Runs `f(state)` from [`LogicalBackend::initialize`].
    pub fn initialize<S, F, Fut>(mut self, state: &Arc<S>, f: F) -> Self
    where
        S: Send + Sync + 'static,
        F: Fn(Arc<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), LogicalError>> + Send + 'static,
    {
        let state = Arc::clone(state);
        self.backend.initialize = Some(Arc::new(move || Box::pin(f(Arc::clone(&state)))));
        self
    }

    /// Runs `f(state)` from [`LogicalBackend::cleanup`].
    pub fn cleanup<S, F, Fut>(mut self, state: &Arc<S>, f: F) -> Self
    where
        S: Send + Sync + 'static,
        F: Fn(Arc<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let state = Arc::clone(state);
        self.backend.cleanup = Some(Arc::new(move || Box::pin(f(Arc::clone(&state)))));
        self
    }

    /// Runs `f(state, key)` from [`LogicalBackend::invalidate`].
    pub fn invalidate<S, F>(mut self, state: &Arc<S>, f: F) -> Self
    where
        S: Send + Sync + 'static,
        F: Fn(&S, &str) + Send + Sync + 'static,
    {
        let state = Arc::clone(state);
        self.backend.invalidate = Some(Arc::new(move |key| f(&state, key)));
        self
    }

    /// Serves token renewals of an auth method (Vault's `AuthRenew`); the handler's input is
    /// built from no fields. Without one, renewals answer `this auth type doesn't support
    /// renew`.
    pub fn auth_renew(mut self, handler: Handler) -> Self {
        self.backend.auth_renew = Some(handler);
        self
    }

    /// Anchors and compiles every pattern and coerces every default.
    pub fn build(mut self) -> Result<FrameworkBackend, BuildError> {
        for path in &mut self.backend.paths {
            path.prepare()?;
        }
        Ok(self.backend)
    }
}

/// The request's fields as a handler sees them.
struct Coerced {
    data: Map,
    provided: Provided,
    ignored: Vec<String>,
    replaced: Vec<String>,
}

/// Builds the handler data: the request's keys (schema fields coerced, other keys as sent),
/// overridden by the captures, then schema defaults for absent fields. The error is Vault's
/// `error converting input …` message.
fn coerce_fields(
    path: &Path,
    data: &Map,
    captures: BTreeMap<String, String>,
) -> Result<Coerced, String> {
    let ignored: Vec<String> = if path.takes_arbitrary_data {
        Vec::new()
    } else {
        let mut keys: Vec<String> = data
            .keys()
            .filter(|k| !path.fields.contains_key(*k))
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    let replaced: Vec<String> = captures
        .keys()
        .filter(|k| data.get(*k).is_some_and(|v| !v.is_null()))
        .cloned()
        .collect();
    let mut raw: BTreeMap<String, Value> =
        data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    raw.extend(captures.into_iter().map(|(k, v)| (k, Value::String(v))));

    let mut out = Map::new();
    let mut provided = BTreeSet::new();
    for (key, value) in raw {
        let coerced = match path.fields.get(&key) {
            None => Some(value),
            Some(field) => field
                .field_type
                .coerce(&value)
                .map_err(|reason| conversion_error(&key, &value, &reason))?,
        };
        if let Some(coerced) = coerced {
            provided.insert(key.clone());
            out.insert(key, coerced);
        }
    }
    for (name, field) in &path.fields {
        if let (false, Some(default)) = (out.contains_key(name), &field.coerced_default) {
            out.insert(name.clone(), default.clone());
        }
    }
    Ok(Coerced {
        data: out,
        provided: Provided(provided),
        ignored,
        replaced,
    })
}

#[async_trait]
impl LogicalBackend for FrameworkBackend {
    async fn handle_request(&self, req: Request) -> Result<Option<Response>, LogicalError> {
        match req.operation {
            Operation::Renew | Operation::Revoke => return self.handle_revoke_renew(req).await,
            Operation::Rollback => return Ok(None),
            _ => {}
        }
        if req.path.is_empty() && req.operation == Operation::Help {
            return Ok(Some(help::help_response(help::root_help(
                &self.help,
                &self.paths,
            ))));
        }
        let (path, captures) = self
            .route_with_captures(&req.path)
            .ok_or(LogicalError::UnsupportedPath)?;
        let Some(handler) = path.operations.get(&req.operation) else {
            if req.operation == Operation::Help {
                return Ok(Some(help::help_response(help::path_help(path, &req.path))));
            }
            return Err(LogicalError::UnsupportedOperation);
        };
        let coerced = coerce_fields(path, &req.data, captures)
            .map_err(|err| LogicalError::User(format!("Field validation failed: {err}")))?;
        let Coerced {
            data,
            provided,
            ignored,
            replaced,
        } = coerced;
        let help_request = req.operation == Operation::Help;
        let mut response = handler.call(req, data, provided).await?;
        if let (Some(response), false) = (response.as_mut(), help_request) {
            if !ignored.is_empty() {
                response.add_warning(help::ignored_warning(&ignored));
            }
            if !replaced.is_empty() {
                response.add_warning(help::replaced_warning(&replaced));
            }
        }
        Ok(response)
    }

    async fn existence_check(&self, req: &Request) -> Result<Option<bool>, LogicalError> {
        if !matches!(req.operation, Operation::Create | Operation::Update) {
            return Ok(None);
        }
        let Some((path, captures)) = self.route_with_captures(&req.path) else {
            return Ok(None);
        };
        let Some(check) = &path.existence_check else {
            return Ok(None);
        };
        let Coerced { data, provided, .. } =
            coerce_fields(path, &req.data, captures).map_err(LogicalError::User)?;
        check.call(req.clone(), data, provided).await.map(Some)
    }

    fn special_paths(&self) -> SpecialPaths {
        self.special_paths.clone()
    }

    fn kind(&self) -> BackendKind {
        self.kind
    }

    async fn initialize(&self) -> Result<(), LogicalError> {
        match &self.initialize {
            Some(f) => f().await,
            None => Ok(()),
        }
    }

    async fn cleanup(&self) {
        if let Some(f) = &self.cleanup {
            f().await;
        }
    }

    fn invalidate(&self, key: &str) {
        if let Some(f) = &self.invalidate {
            f(key);
        }
    }
}

impl fmt::Debug for FrameworkBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameworkBackend")
            .field("kind", &self.kind)
            .field("special_paths", &self.special_paths)
            .field("paths", &self.paths)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for FrameworkBackendBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameworkBackendBuilder")
            .field("backend", &self.backend)
            .finish()
    }
}
