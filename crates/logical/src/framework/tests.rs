//! Dispatch tests against a small in-test backend.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::*;
use crate::{BackendKind, LogicalBackend, LogicalError, Map, Operation, Request, Response};

#[derive(Debug, Default)]
struct Roles;

#[derive(Debug, Deserialize, Serialize)]
struct WriteRole {
    name: String,
    ttl: u64,
    policies: Option<Vec<String>>,
    enabled: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct RoleName {
    name: String,
}

#[derive(Debug, Deserialize)]
struct Login {
    role: String,
}

#[derive(Debug, Deserialize)]
struct KvWrite {
    path: String,
    #[serde(flatten)]
    rest: Map,
}

fn data(value: Value) -> Map {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn echo(value: Value) -> Result<Option<Response>, LogicalError> {
    Ok(Some(Response::with_data(data(value))))
}

impl Roles {
    async fn write_role(
        self: Arc<Self>,
        req: Request,
        input: Input<WriteRole>,
    ) -> Result<Option<Response>, LogicalError> {
        let provided: Vec<&str> = ["name", "ttl", "policies", "enabled"]
            .into_iter()
            .filter(|f| input.provided(f))
            .collect();
        echo(json!({"op": req.operation.as_str(), "input": &*input, "provided": provided}))
    }

    async fn read_role(
        self: Arc<Self>,
        _req: Request,
        _input: RoleName,
    ) -> Result<Option<Response>, LogicalError> {
        Ok(None)
    }

    async fn role_exists(
        self: Arc<Self>,
        _req: Request,
        input: RoleName,
    ) -> Result<bool, LogicalError> {
        Ok(input.name == "existing")
    }
}

fn role_path(state: &Arc<Roles>) -> Path {
    Path::new(format!("role/{}", generic_name_regex("name")))
        .field(Field::new("name", FieldType::String).description("Name of the role."))
        .field(
            Field::new("ttl", FieldType::DurationSecond)
                .description("TTL of tokens.")
                .default(json!("1h")),
        )
        .field(Field::new("policies", FieldType::CommaStringSlice).description("Policies."))
        .field(Field::new("enabled", FieldType::Bool))
        .existence_check(existence(state, Roles::role_exists))
        .operation(Operation::Create, handler(state, Roles::write_role))
        .operation(Operation::Update, handler(state, Roles::write_role))
        .operation(Operation::Read, handler(state, Roles::read_role))
        .help("Manage roles.", "Roles bind things.")
}

fn named(label: &'static str) -> Handler {
    Handler::from_fn(move |req: Request, input: Map| async move {
        echo(json!({"served_by": label, "path": req.path, "input": input}))
    })
}

fn backend() -> FrameworkBackend {
    let state = Arc::new(Roles);
    FrameworkBackend::builder(BackendKind::Credential)
        .help("A test backend.")
        .root_paths(["config"])
        .unauthenticated_paths(["login"])
        .path(role_path(&state))
        .path(Path::new("first/(?P<x>.+)").operation(Operation::Read, named("wildcard")))
        .path(Path::new("first/special").operation(Operation::Read, named("special")))
        .path(
            Path::new(format!("opt{}", optional_param_regex("name")))
                .operation(Operation::Read, named("opt")),
        )
        .path(
            Path::new(format!("kv/{}", match_all_regex("path")))
                .field(Field::new("path", FieldType::String))
                .takes_arbitrary_data()
                .operation(
                    Operation::Update,
                    Handler::from_fn(|_req: Request, input: KvWrite| async move {
                        echo(json!({"path": input.path, "rest": input.rest}))
                    }),
                ),
        )
        .path(
            Path::new("login")
                .field(Field::new("role", FieldType::String))
                .operation(
                    Operation::Update,
                    Handler::from_fn(|_req: Request, input: Login| async move {
                        echo(json!({"role": input.role}))
                    }),
                ),
        )
        .build()
        .expect("test backend builds")
}

async fn call(op: Operation, path: &str, body: Value) -> Result<Option<Response>, LogicalError> {
    backend()
        .handle_request(Request::new(op, path, data(body)))
        .await
}

async fn ok_data(op: Operation, path: &str, body: Value) -> (Value, Vec<String>) {
    let response = call(op, path, body)
        .await
        .expect("request succeeds")
        .expect("a response");
    (
        Value::Object(response.data.unwrap_or_default()),
        response.warnings,
    )
}

#[tokio::test]
async fn captures_and_coercion_reach_the_typed_struct() {
    let body = json!({"ttl": "1h30m", "policies": "a, b", "enabled": "t"});
    let (data, warnings) = ok_data(Operation::Update, "role/my-role.1", body).await;
    assert_eq!(
        data["input"],
        json!({"name": "my-role.1", "ttl": 5400, "policies": ["a", "b"], "enabled": true})
    );
    assert_eq!(
        data["provided"],
        json!(["name", "ttl", "policies", "enabled"])
    );
    assert!(warnings.is_empty());
}

#[tokio::test]
async fn defaults_fill_absent_fields_and_presence_is_known() {
    let (data, _) = ok_data(Operation::Create, "role/x", json!({})).await;
    assert_eq!(data["op"], "create");
    assert_eq!(
        data["input"],
        json!({"name": "x", "ttl": 3600, "policies": null, "enabled": null})
    );
    assert_eq!(data["provided"], json!(["name"]));
    // A null duration is "not sent" in Vault: the default applies.
    let (data, _) = ok_data(Operation::Update, "role/x", json!({"ttl": null})).await;
    assert_eq!(data["input"]["ttl"], 3600);
    assert_eq!(data["provided"], json!(["name"]));
}

#[tokio::test]
async fn unknown_fields_warn_sorted_like_vault() {
    let (_, warnings) = ok_data(
        Operation::Update,
        "role/x",
        json!({"zeta": 1, "alpha": 2, "ttl": 5}),
    )
    .await;
    assert_eq!(
        warnings,
        ["Endpoint ignored these unrecognized parameters: [alpha zeta]"]
    );
}

#[tokio::test]
async fn no_warning_without_a_response() {
    let response = call(Operation::Read, "role/x", json!({"junk": 1})).await;
    assert!(matches!(response, Ok(None)));
}

#[tokio::test]
async fn arbitrary_data_paths_do_not_warn_and_see_every_key() {
    let (data, warnings) =
        ok_data(Operation::Update, "kv/a/b", json!({"foo": "bar", "n": 1})).await;
    assert_eq!(data, json!({"path": "a/b", "rest": {"foo": "bar", "n": 1}}));
    assert!(warnings.is_empty());
}

#[tokio::test]
async fn captures_override_the_body_with_a_warning() {
    let (data, warnings) = ok_data(Operation::Update, "role/x", json!({"name": "other"})).await;
    assert_eq!(data["input"]["name"], "x");
    assert_eq!(
        warnings,
        [
            "Endpoint replaced the value of these parameters with the values captured from the endpoint's path: [name]"
        ]
    );
}

#[tokio::test]
async fn a_bad_value_is_vaults_400() {
    let err = call(Operation::Update, "role/x", json!({"ttl": "abc"}))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        LogicalError::User(
            r#"Field validation failed: error converting input abc for field "ttl": time: invalid duration "abc""#
                .to_owned()
        )
    );
    let err = call(Operation::Update, "role/x", json!({"enabled": "maybe"}))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Field validation failed: error converting input maybe for field "enabled": cannot parse '' as bool: strconv.ParseBool: parsing "maybe": invalid syntax"#
    );
}

#[tokio::test]
async fn a_missing_non_option_field_is_reported() {
    let err = call(Operation::Update, "login", json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        LogicalError::User(r#"missing required field "role""#.to_owned())
    );
    let (data, _) = ok_data(Operation::Update, "login", json!({"role": "r"})).await;
    assert_eq!(data, json!({"role": "r"}));
}

#[tokio::test]
async fn unsupported_path_and_operation() {
    assert_eq!(
        call(Operation::Read, "nope", json!({})).await.unwrap_err(),
        LogicalError::UnsupportedPath
    );
    // Go's \w is ASCII: a non-ASCII name does not match the generic name pattern.
    assert_eq!(
        call(Operation::Read, "role/rôle", json!({}))
            .await
            .unwrap_err(),
        LogicalError::UnsupportedPath
    );
    assert_eq!(
        call(Operation::Read, "role/-x", json!({}))
            .await
            .unwrap_err(),
        LogicalError::UnsupportedPath
    );
    assert_eq!(
        call(Operation::Delete, "role/x", json!({}))
            .await
            .unwrap_err(),
        LogicalError::UnsupportedOperation
    );
}

#[tokio::test]
async fn first_matching_path_wins_and_optional_captures_are_empty() {
    let (data, _) = ok_data(Operation::Read, "first/special", json!({})).await;
    assert_eq!(data["served_by"], "wildcard");
    assert_eq!(data["input"], json!({"x": "special"}));
    let (data, _) = ok_data(Operation::Read, "opt", json!({})).await;
    assert_eq!(data["input"], json!({"name": ""}));
    let (data, _) = ok_data(Operation::Read, "opt/a/b", json!({})).await;
    assert_eq!(data["input"], json!({"name": "a/b"}));
}

#[tokio::test]
async fn path_help_is_vaults_template() {
    let (data, _) = ok_data(Operation::Help, "role/x", json!({})).await;
    let expected = "Request:        role/x
Matching Route: ^role/(?P<name>\\w(([\\w-.]+)?\\w)?)$

Manage roles.

## PARAMETERS

    enabled (bool)

        <no description>

    name (string)

        Name of the role.

    policies (slice)

        Policies.

    ttl (duration (sec))

        TTL of tokens.
        Default: 1h

## DESCRIPTION

Roles bind things.";
    assert_eq!(data["help"], expected);
    assert_eq!(data["see_also"], Value::Null);
    let (data, _) = ok_data(Operation::Help, "first/x", json!({})).await;
    assert_eq!(
        data["help"],
        "Request:        first/x\nMatching Route: ^first/(?P<x>.+)$\n\n<no synopsis>\n\n\n## DESCRIPTION\n\n<no description>"
    );
}

#[tokio::test]
async fn root_help_lists_paths_sorted() {
    let (data, _) = ok_data(Operation::Help, "", json!({})).await;
    let help = data["help"].as_str().expect("help text");
    assert!(help.starts_with(
        "## DESCRIPTION\n\nA test backend.\n\n## PATHS\n\nThe following paths are supported by this backend. To view help for\n"
    ));
    assert!(help.contains("you may or may not be able to access certain paths.\n\n    ^first/(?P<x>.+)$\n\n\n    ^first/special$"));
    assert!(help.ends_with("    ^role/(?P<name>\\w(([\\w-.]+)?\\w)?)$\n        Manage roles."));
}

#[tokio::test]
async fn existence_check_only_for_writes_on_checked_paths() {
    let backend = backend();
    let check =
        |op, path: &str, body| backend.existence_check_owned(Request::new(op, path, data(body)));
    assert_eq!(
        check(Operation::Update, "role/existing", json!({})).await,
        Ok(Some(true))
    );
    assert_eq!(
        check(Operation::Create, "role/new", json!({})).await,
        Ok(Some(false))
    );
    assert_eq!(
        check(Operation::Read, "role/existing", json!({})).await,
        Ok(None)
    );
    assert_eq!(check(Operation::Update, "login", json!({})).await, Ok(None));
    assert_eq!(check(Operation::Update, "nope", json!({})).await, Ok(None));
    assert_eq!(
        check(Operation::Update, "role/x", json!({"ttl": "abc"})).await,
        Err(LogicalError::User(
            r#"error converting input abc for field "ttl": time: invalid duration "abc""#
                .to_owned()
        ))
    );
}

impl FrameworkBackend {
    async fn existence_check_owned(&self, req: Request) -> Result<Option<bool>, LogicalError> {
        self.existence_check(&req).await
    }
}

#[tokio::test]
async fn renew_without_a_handler_is_refused_like_vault() {
    let mut req = Request::new(Operation::Renew, "login", Map::new());
    req.auth = Some(crate::Auth::default());
    let err = backend().handle_request(req).await.unwrap_err();
    assert_eq!(
        err,
        LogicalError::User("this auth type doesn't support renew".to_owned())
    );
}

#[test]
fn special_paths_and_kind() {
    let backend = backend();
    assert_eq!(backend.kind(), BackendKind::Credential);
    assert_eq!(backend.special_paths().root, ["config"]);
    assert_eq!(backend.special_paths().unauthenticated, ["login"]);
    assert_eq!(
        backend.route("role/x").map(Path::pattern),
        Some(r"^role/(?P<name>\w(([\w-.]+)?\w)?)$")
    );
}

#[test]
fn build_errors() {
    let build = |path: Path| {
        FrameworkBackend::builder(BackendKind::Secret)
            .path(path)
            .build()
            .unwrap_err()
    };
    assert_eq!(build(Path::new("")), BuildError::BlankPattern);
    assert_eq!(
        build(Path::new("x").operation(Operation::Create, named("x"))).to_string(),
        "Pattern x defines a CreateOperation but no ExistenceCheck"
    );
    assert!(matches!(
        build(Path::new("(unclosed")),
        BuildError::InvalidPattern { .. }
    ));
    assert_eq!(
        build(
            Path::new("x")
                .field(Field::new("ttl", FieldType::DurationSecond).default(json!("soon")))
        ),
        BuildError::InvalidDefault {
            pattern: "^x$".to_owned(),
            field: "ttl".to_owned(),
            message:
                r#"error converting input soon for field "ttl": time: invalid duration "soon""#
                    .to_owned(),
        }
    );
    assert!(matches!(
        build(
            Path::new("x")
                .field(Field::new("a", FieldType::Int))
                .field(Field::new("a", FieldType::Bool))
        ),
        BuildError::DuplicateField { .. }
    ));
}

#[test]
fn go_regex_translation() {
    use super::path::translate_go_regex;
    assert_eq!(
        translate_go_regex(r"\w(([\w-.]+)?\w)?"),
        r"[0-9A-Za-z_](([0-9A-Za-z_\-.]+)?[0-9A-Za-z_])?"
    );
    assert_eq!(
        translate_go_regex(r"[a-z\d]+\s\b"),
        r"[a-z0-9]+[\t\n\f\r ](?-u:\b)"
    );
    assert_eq!(translate_go_regex(r"[[:alpha:]&~[]"), r"[[:alpha:]\&\~\[]");
    assert_eq!(translate_go_regex(r"[^\W]"), r"[^[^0-9A-Za-z_]]");
}

#[test]
fn seconds_helper_reads_coerced_durations() {
    #[derive(Deserialize)]
    struct Ttl {
        #[serde(with = "seconds")]
        ttl: std::time::Duration,
        #[serde(default, with = "seconds::option")]
        max_ttl: Option<std::time::Duration>,
    }
    let ttl: Ttl = serde_json::from_value(json!({"ttl": 90})).expect("decodes");
    assert_eq!(ttl.ttl, std::time::Duration::from_secs(90));
    assert_eq!(ttl.max_ttl, None);
}
