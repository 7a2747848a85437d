//! Typed handlers: the coerced request data becomes the handler's `Deserialize` struct.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{BoxFuture, LogicalError, Map, Request, Response};

/// The names of the fields a request actually carried (body or query keys, and the path's
/// named captures), before schema defaults were filled in: Vault's `GetOk`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provided(pub(crate) BTreeSet<String>);

impl Provided {
    /// Whether the client sent `field` (or the pattern captured it).
    pub fn contains(&self, field: &str) -> bool {
        self.0.contains(field)
    }

    /// The names, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// Built by the dispatcher from the coerced data; implemented for every `Deserialize` type and
/// for [`Input`].
pub trait FromInput: Sized + Send + 'static {
    /// Builds the handler input.
    fn from_input(data: Map, provided: Provided) -> Result<Self, LogicalError>;
}

impl<T: DeserializeOwned + Send + 'static> FromInput for T {
    fn from_input(data: Map, _provided: Provided) -> Result<Self, LogicalError> {
        deserialize(data)
    }
}

/// A handler input that also knows which fields were sent, for the update-only-what-was-sent
/// pattern (`if v, ok := d.GetOk("ttl"); ok {…} else if create {…}`). Dereferences to `T`.
#[derive(Debug, Clone)]
pub struct Input<T> {
    value: T,
    provided: Provided,
}

impl<T> Input<T> {
    /// Whether the client sent `field` (or the pattern captured it); `false` when the value
    /// comes from the schema default.
    pub fn provided(&self, field: &str) -> bool {
        self.provided.contains(field)
    }

    /// The typed value.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// The typed value and the names of the fields that were sent.
    pub fn into_parts(self) -> (T, Provided) {
        (self.value, self.provided)
    }
}

impl<T> Deref for Input<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: DeserializeOwned + Send + 'static> FromInput for Input<T> {
    fn from_input(data: Map, provided: Provided) -> Result<Self, LogicalError> {
        Ok(Self {
            value: deserialize(data)?,
            provided,
        })
    }
}

/// The input of a handler that reads no fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct NoInput {}

fn deserialize<T: DeserializeOwned>(data: Map) -> Result<T, LogicalError> {
    serde_json::from_value(Value::Object(data)).map_err(|err| {
        let message = err.to_string();
        match message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'))
        {
            Some(field) => LogicalError::User(format!(
                "missing required field {}",
                super::go::quote(field)
            )),
            None => LogicalError::User(format!("Field validation failed: {message}")),
        }
    })
}

type HandlerFn = dyn Fn(Request, Map, Provided) -> BoxFuture<'static, Result<Option<Response>, LogicalError>>
    + Send
    + Sync;

type ExistenceFn =
    dyn Fn(Request, Map, Provided) -> BoxFuture<'static, Result<bool, LogicalError>> + Send + Sync;

/// A type-erased operation handler; build one with [`handler`] or [`Handler::from_fn`].
#[derive(Clone)]
pub struct Handler(Arc<HandlerFn>);

impl Handler {
    /// A handler from a function of the request and the typed input, without backend state.
    pub fn from_fn<I, F, Fut>(f: F) -> Self
    where
        I: FromInput,
        F: Fn(Request, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<Response>, LogicalError>> + Send + 'static,
    {
        Self(Arc::new(move |req, data, provided| {
            match I::from_input(data, provided) {
                Ok(input) => Box::pin(f(req, input)),
                Err(err) => Box::pin(std::future::ready(Err(err))),
            }
        }))
    }

    pub(crate) fn call(
        &self,
        req: Request,
        data: Map,
        provided: Provided,
    ) -> BoxFuture<'static, Result<Option<Response>, LogicalError>> {
        (self.0)(req, data, provided)
    }
}

impl fmt::Debug for Handler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Handler")
    }
}

/// A handler that is a method of the backend state:
/// `async fn write_role(self: Arc<Self>, req: Request, input: WriteRole) -> Result<Option<Response>, LogicalError>`,
/// registered as `handler(&state, RoleBackend::write_role)`.
pub fn handler<S, I, F, Fut>(state: &Arc<S>, f: F) -> Handler
where
    S: Send + Sync + 'static,
    I: FromInput,
    F: Fn(Arc<S>, Request, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<Response>, LogicalError>> + Send + 'static,
{
    let state = Arc::clone(state);
    Handler::from_fn(move |req, input| f(Arc::clone(&state), req, input))
}

/// A type-erased existence check; build one with [`existence`] or [`ExistenceCheck::from_fn`].
#[derive(Clone)]
pub struct ExistenceCheck(Arc<ExistenceFn>);

impl ExistenceCheck {
    /// An existence check from a function of the request and the typed input.
    pub fn from_fn<I, F, Fut>(f: F) -> Self
    where
        I: FromInput,
        F: Fn(Request, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<bool, LogicalError>> + Send + 'static,
    {
        Self(Arc::new(move |req, data, provided| {
            match I::from_input(data, provided) {
                Ok(input) => Box::pin(f(req, input)),
                Err(err) => Box::pin(std::future::ready(Err(err))),
            }
        }))
    }

    pub(crate) fn call(
        &self,
        req: Request,
        data: Map,
        provided: Provided,
    ) -> BoxFuture<'static, Result<bool, LogicalError>> {
        (self.0)(req, data, provided)
    }
}

impl fmt::Debug for ExistenceCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExistenceCheck")
    }
}

/// An existence check that is a method of the backend state:
/// `async fn role_exists(self: Arc<Self>, req: Request, input: RoleName) -> Result<bool, LogicalError>`.
pub fn existence<S, I, F, Fut>(state: &Arc<S>, f: F) -> ExistenceCheck
where
    S: Send + Sync + 'static,
    I: FromInput,
    F: Fn(Arc<S>, Request, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<bool, LogicalError>> + Send + 'static,
{
    let state = Arc::clone(state);
    ExistenceCheck::from_fn(move |req, input| f(Arc::clone(&state), req, input))
}
