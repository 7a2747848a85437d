//! Explainable denials: when an auth method refuses a login, it tells the core *why* in a
//! typed [`Denial`] — which check failed, what was expected, what was seen and how to fix
//! it — while the client still gets Vault's terse answer.
//!
//! The core installs a [`DenialSink`] on every login request ([`Request::denials`]); a
//! handler calls [`Request::record_denial`] at the point of refusal. Outside a login (or
//! in unit tests) there is no sink and recording does nothing.
//!
//! A denial never carries a credential: `seen` holds claims of the presented token and the
//! TokenReview *status*, never the token, the reviewer JWT or a signature. The core's store
//! redacts anything that looks like a compact JWS as a second line of defence.

use std::fmt;

use serde_json::Value;

use crate::{Map, Request};

/// Why one login was refused, as the auth method saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Denial {
    /// A stable identifier of the failed check, e.g. `audience_mismatch`,
    /// `reviewer_lacks_auth_delegator`. Part of the operator API: never renamed.
    pub check: &'static str,
    /// What the client was told (Vault's message).
    pub message: String,
    /// What the configuration expected (role and config values).
    pub expected: Map,
    /// What was presented or answered: claims, TokenReview status. Never a token.
    pub seen: Map,
    /// What an operator can do about it.
    pub remedy: String,
    /// The role the login named, if any.
    pub role: String,
    /// The underlying error the operator log shows (e.g. the Kubernetes `Status` message).
    pub detail: String,
}

impl Denial {
    /// A denial of `check` with the message the client got.
    pub fn new(check: &'static str, message: impl Into<String>) -> Self {
        Self {
            check,
            message: message.into(),
            ..Self::default()
        }
    }

    /// Adds an expected value.
    #[must_use]
    pub fn expected(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.expected.insert(key.to_owned(), value.into());
        self
    }

    /// Adds a seen value.
    #[must_use]
    pub fn seen(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.seen.insert(key.to_owned(), value.into());
        self
    }

    /// Sets the remedy.
    #[must_use]
    pub fn remedy(mut self, remedy: impl Into<String>) -> Self {
        self.remedy = remedy.into();
        self
    }

    /// Sets the role.
    #[must_use]
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.role = role.into();
        self
    }

    /// Sets the underlying error text.
    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}

/// Where denials go: the core's bounded store, keyed by request id and mount.
pub trait DenialSink: Send + Sync + fmt::Debug {
    /// Records one denial of the request this sink was made for.
    fn record(&self, denial: Denial);
}

impl Request {
    /// Hands a denial to the core, when the core asked for one (login requests).
    pub fn record_denial(&self, denial: Denial) {
        if let Some(sink) = &self.denials {
            sink.record(denial);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::Operation;

    #[derive(Debug, Default)]
    struct Collect(Mutex<Vec<Denial>>);

    impl DenialSink for Collect {
        fn record(&self, denial: Denial) {
            self.0.lock().unwrap().push(denial);
        }
    }

    #[test]
    fn denials_reach_the_sink_only_when_one_is_installed() {
        let denial = Denial::new("audience_mismatch", "invalid audience")
            .expected("audience", "vault")
            .seen("aud", serde_json::json!(["other"]))
            .remedy("mint the token with audience vault")
            .role("app");
        let mut req = Request::new(Operation::Update, "login", Map::new());
        req.record_denial(denial.clone());
        let sink = Arc::new(Collect::default());
        req.denials = Some(sink.clone());
        req.record_denial(denial.clone());
        let recorded = sink.0.lock().unwrap();
        assert_eq!(recorded.as_slice(), [denial]);
        assert_eq!(recorded[0].expected["audience"], "vault");
    }
}
