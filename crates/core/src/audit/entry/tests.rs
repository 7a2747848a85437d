use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use warden_logical::{Auth, Connection, LeaseOptions, Secret, TokenEntry, TokenType, WrapInfo};

use super::*;
use crate::audit::file::{encode_line, go_escape};
use crate::mount::MountEntry;

const TIME: &str = "2026-11-22T10:46:40.123456789Z";

fn object(value: Value) -> Map {
    match value {
        Value::Object(map) => map,
        _ => panic!("not an object"),
    }
}

fn salt() -> Salt {
    Salt::new("5c3d2a64-0000-4000-8000-000000000001")
}

fn format() -> FormatOptions {
    FormatOptions {
        hmac_accessor: true,
        ..FormatOptions::default()
    }
}

/// A root-token KV write from 10.1.2.3:51234.
fn kv_write() -> AuditInput {
    let mut req = Request::new(
        Operation::Update,
        "secret/data/app",
        object(json!({"data": {"password": "s3cret", "port": 5432}, "options": {"cas": 0}})),
    );
    req.id = "7f0c0000-0000-4000-8000-000000000000".into();
    req.client_token = Some(SecretString::new("hvs.root"));
    req.connection = Some(Connection {
        remote_addr: IpAddr::from([10, 1, 2, 3]),
        remote_port: 51234,
    });
    let mut input = AuditInput::new(&req);
    let mut mount = MountEntry::new(MountTable::Secrets, "secret/", "kv");
    mount.accessor = "kv_1a2b3c4d".into();
    input.set_mount(&mount);
    input.set_token(&TokenEntry {
        token_type: TokenType::Service,
        id: SecretString::new("hvs.root"),
        accessor: "acc-root".into(),
        policies: vec!["root".into()],
        display_name: "root".into(),
        creation_time: 1_795_000_000,
        ..TokenEntry::default()
    });
    input
}

fn text(line: &[u8]) -> String {
    String::from_utf8(line.to_vec()).unwrap()
}

#[test]
fn request_entry_matches_vaults_schema_and_order() {
    let salt = salt();
    let h = |s: &str| salt.hmac(s);
    let line = request_line("file/", &kv_write(), "", TIME, &format(), &salt).unwrap();
    let expected = format!(
        concat!(
            r#"{{"time":"{time}","type":"request","#,
            r#""auth":{{"client_token":"{token}","accessor":"{accessor}","display_name":"root","#,
            r#""policies":["root"],"token_policies":["root"],"policy_results":{{"allowed":true}},"#,
            r#""token_type":"service","token_issue_time":"2026-11-18T11:06:40Z"}},"#,
            r#""request":{{"id":"7f0c0000-0000-4000-8000-000000000000","operation":"update","#,
            r#""mount_point":"secret/","mount_type":"kv","mount_accessor":"kv_1a2b3c4d","#,
            r#""mount_running_version":"{version}","mount_class":"secret","#,
            r#""client_token":"{token}","client_token_accessor":"{accessor}","#,
            r#""namespace":{{"id":"root"}},"path":"secret/data/app","#,
            r#""data":{{"data":{{"password":"{password}","port":5432}},"options":{{"cas":0}}}},"#,
            r#""remote_address":"10.1.2.3","remote_port":51234}}}}"#,
            "\n"
        ),
        time = TIME,
        token = h("hvs.root"),
        accessor = h("acc-root"),
        password = h("s3cret"),
        version = running_version(),
    );
    assert_eq!(text(&line), expected);
}

#[test]
fn login_response_hashes_tokens_but_not_metadata() {
    let salt = salt();
    let h = |s: &str| salt.hmac(s);
    let mut req = Request::new(
        Operation::Update,
        "auth/kubernetes/login",
        object(json!({"jwt": "eyJhbGciOi.payload.sig", "role": "app"})),
    );
    req.id = "id-1".into();
    let mut input = AuditInput::new(&req);
    let mut mount = MountEntry::new(MountTable::Auth, "kubernetes/", "kubernetes");
    mount.accessor = "auth_kubernetes_1a2b3c4d".into();
    input.set_mount(&mount);
    let auth = Auth {
        client_token: Some(SecretString::new("hvs.minted")),
        accessor: "acc-minted".into(),
        display_name: "kubernetes-default-app".into(),
        policies: vec!["app".into(), "default".into()],
        token_policies: vec!["app".into(), "default".into()],
        metadata: [("service_account_name".to_owned(), "app".to_owned())].into(),
        entity_id: "ent-1".into(),
        token_type: TokenType::Service,
        lease: LeaseOptions {
            ttl: Duration::from_secs(3600),
            issue_time: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000)),
            ..LeaseOptions::default()
        },
        ..Auth::default()
    };
    let resp = Response {
        auth: Some(auth),
        ..Response::default()
    };
    let outcome = Outcome {
        response: Some(&resp),
        ..Outcome::default()
    };
    let line = text(&response_line("file/", &input, &outcome, TIME, &format(), &salt).unwrap());
    assert!(
        !line.contains("eyJhbGciOi")
            && !line.contains("hvs.minted")
            && !line.contains("acc-minted")
    );
    let entry: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        entry["auth"],
        json!({"policy_results": {"allowed": true}, "token_type": "default"})
    );
    assert_eq!(
        entry["request"]["data"],
        json!({"jwt": h("eyJhbGciOi.payload.sig"), "role": h("app")})
    );
    assert_eq!(entry["request"]["mount_class"], "auth");
    assert_eq!(
        entry["response"],
        json!({
            "auth": {
                "client_token": h("hvs.minted"),
                "accessor": h("acc-minted"),
                "display_name": "kubernetes-default-app",
                "policies": ["app", "default"],
                "token_policies": ["app", "default"],
                "metadata": {"service_account_name": "app"},
                "entity_id": "ent-1",
                "token_type": "service",
                "token_ttl": 3600,
                "token_issue_time": "2026-11-18T11:06:40Z",
            },
            "mount_point": "auth/kubernetes/",
            "mount_type": "kubernetes",
            "mount_accessor": "auth_kubernetes_1a2b3c4d",
            "mount_running_plugin_version": running_version(),
            "mount_class": "auth",
        })
    );
    let keys: Vec<&str> = entry
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["time", "type", "auth", "request", "response"]);
}

#[test]
fn log_raw_and_hmac_accessor_false() {
    let salt = salt();
    let raw = FormatOptions {
        raw: true,
        ..format()
    };
    let line = text(&request_line("file/", &kv_write(), "", TIME, &raw, &salt).unwrap());
    assert!(line.contains(r#""client_token":"hvs.root""#) && line.contains("s3cret"));
    assert!(!line.contains("hmac-sha256"));
    let clear_accessor = FormatOptions::default();
    let line = text(&request_line("file/", &kv_write(), "", TIME, &clear_accessor, &salt).unwrap());
    assert!(line.contains(r#""accessor":"acc-root""#));
    assert!(line.contains(r#""client_token_accessor":"acc-root""#));
    assert!(!line.contains("hvs.root") && !line.contains("s3cret"));
}

#[test]
fn non_hmac_keys_come_from_the_mount() {
    let salt = salt();
    let mut input = kv_write();
    input.non_hmac_request_keys = vec!["password".into()];
    let line = text(&request_line("file/", &input, "", TIME, &format(), &salt).unwrap());
    assert!(line.contains(r#""password":"s3cret""#));
}

#[test]
fn errors_wrap_info_secrets_and_list_elision() {
    let salt = salt();
    let h = |s: &str| salt.hmac(s);
    let input = kv_write();
    let outcome = Outcome {
        response: None,
        error: "1 error occurred:\n\t* invalid request\n\n".into(),
        error_data: Some("bad <input> s3cret".into()),
    };
    let line = text(&response_line("file/", &input, &outcome, TIME, &format(), &salt).unwrap());
    let entry: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(entry["error"], "1 error occurred:\n\t* invalid request\n\n");
    assert_eq!(
        entry["response"]["data"],
        json!({"error": h("bad <input> s3cret")})
    );
    assert!(!line.contains("s3cret"));

    let resp = Response {
        wrap_info: Some(WrapInfo {
            token: SecretString::new("hvs.wrap"),
            accessor: "acc-wrap".into(),
            ttl: Duration::from_secs(60),
            creation_time: "2026-11-22T10:46:40Z".into(),
            creation_path: "secret/data/app".into(),
            wrapped_accessor: String::new(),
        }),
        secret: Some(Secret {
            lease_id: "secret/creds/abc".into(),
            ..Secret::default()
        }),
        warnings: vec!["careful".into()],
        ..Response::default()
    };
    let outcome = Outcome {
        response: Some(&resp),
        ..Outcome::default()
    };
    let line = text(&response_line("file/", &input, &outcome, TIME, &format(), &salt).unwrap());
    let entry: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        entry["response"]["wrap_info"],
        json!({"ttl": 60, "token": h("hvs.wrap"), "accessor": h("acc-wrap"),
               "creation_time": "2026-11-22T10:46:40Z", "creation_path": "secret/data/app"})
    );
    assert_eq!(
        entry["response"]["secret"],
        json!({"lease_id": "secret/creds/abc"})
    );
    assert_eq!(entry["response"]["warnings"], json!(["careful"]));

    let mut list = kv_write();
    list.operation = Operation::List;
    let resp = Response::with_data(object(json!({"keys": ["a", "b"], "key_info": {"a": {}}})));
    let outcome = Outcome {
        response: Some(&resp),
        ..Outcome::default()
    };
    let elide = FormatOptions {
        elide_list_responses: true,
        ..format()
    };
    let line = text(&response_line("file/", &list, &outcome, TIME, &elide, &salt).unwrap());
    let entry: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(entry["response"]["data"], json!({"key_info": 1, "keys": 2}));
}

#[test]
fn denied_and_probe_entries() {
    let salt = salt();
    let mut input = kv_write();
    input.allowed = Some(false);
    let line = text(
        &request_line(
            "file/",
            &input,
            "1 error occurred:\n\t* permission denied\n\n",
            TIME,
            &format(),
            &salt,
        )
        .unwrap(),
    );
    assert!(line.contains(r#""policy_results":{"allowed":false}"#));
    assert!(line.ends_with("\"error\":\"1 error occurred:\\n\\t* permission denied\\n\\n\"}\n"));

    let probe = AuditInput::probe();
    let prefixed = FormatOptions {
        prefix: "AUDIT: ".into(),
        ..format()
    };
    let line = text(&request_line("file/", &probe, "", TIME, &prefixed, &salt).unwrap());
    let expected = format!(
        concat!(
            r#"AUDIT: {{"time":"{}","type":"request","auth":{{"token_type":"default"}},"#,
            r#""request":{{"id":"{}","operation":"update","namespace":{{"id":"root"}},"path":"sys/audit/test"}}}}"#,
            "\n"
        ),
        TIME, probe.id
    );
    assert_eq!(line, expected);
}

#[test]
fn go_escaping_and_time_formats() {
    let mut out = Vec::new();
    go_escape("{\"a\":\"<&>\u{2028}\u{2029}é\"}".as_bytes(), &mut out);
    assert_eq!(text(&out), r#"{"a":"\u003c\u0026\u003e\u2028\u2029é"}"#);
    assert_eq!(rfc3339_seconds(0), "1970-01-01T00:00:00Z");
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(1_500_000_000_120_000_000).unwrap();
    assert_eq!(format_time(at, true), "2017-07-14T02:40:00.12Z");
    let whole = time::OffsetDateTime::from_unix_timestamp(1_500_000_000).unwrap();
    assert_eq!(format_time(whole, true), "2017-07-14T02:40:00Z");
    assert!(super::super::hash::is_rfc3339(&rfc3339_nano_now()));
}

#[test]
fn lines_escape_like_go_wherever_the_byte_falls() {
    let prefixed = FormatOptions {
        prefix: "audit: ".into(),
        ..format()
    };
    // Escapable bytes before, inside and after a whole 64-byte chunk, and a 0xE2 lead byte
    // (the euro sign) that Go leaves alone.
    let long = "x".repeat(70);
    let entry = json!({"a": format!("{long}<{long}&"), "b": "€>", "c": "\u{2028}"});
    let line = encode_line(&entry, &prefixed).unwrap();
    let expected = format!(
        "audit: {{\"a\":\"{long}\\u003c{long}\\u0026\",\"b\":\"€\\u003e\",\"c\":\"\\u2028\"}}\n"
    );
    assert_eq!(text(&line), expected);
    // Nothing to escape: the serialized JSON is the line as it is.
    let plain = encode_line(&json!({"a": long}), &format()).unwrap();
    assert_eq!(text(&plain), format!("{{\"a\":\"{long}\"}}\n"));
}

#[test]
fn the_response_entry_reuses_the_request_entrys_blocks_per_device() {
    let salt = salt();
    let other_salt = Salt::new("5c3d2a64-0000-4000-8000-000000000002");
    let mut data = Map::new();
    data.insert("value".into(), json!("shown"));
    let resp = Response::with_data(data);
    let outcome = Outcome {
        response: Some(&resp),
        ..Outcome::default()
    };
    let fresh = response_line("file/", &kv_write(), &outcome, TIME, &format(), &salt).unwrap();

    let input = kv_write();
    request_line("file/", &input, "", TIME, &format(), &salt).unwrap();
    request_line("other/", &input, "", TIME, &format(), &other_salt).unwrap();
    let reused = response_line("file/", &input, &outcome, TIME, &format(), &salt).unwrap();
    assert_eq!(text(&reused), text(&fresh));
    // Each device keeps its own HMACs: another device's blocks are never borrowed.
    let other = response_line("other/", &input, &outcome, TIME, &format(), &other_salt).unwrap();
    let token_hmac = other_salt.hmac("hvs.root");
    assert!(text(&other).contains(&token_hmac), "{}", text(&other));
    assert!(!text(&other).contains(&salt.hmac("hvs.root")));
}
