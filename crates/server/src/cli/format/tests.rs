use serde_json::json;

use super::*;
use crate::api_client::SecretAuth;

const SECOND: i64 = 1_000_000_000;

#[test]
fn durations_print_as_go_and_the_cli_do() {
    assert_eq!(go_duration(0), "0s");
    assert_eq!(go_duration(3600 * SECOND), "1h0m0s");
    assert_eq!(go_duration(90 * SECOND + SECOND / 2), "1m30.5s");
    assert_eq!(go_duration(1_500), "1.5µs");
    assert_eq!(go_duration(-SECOND), "-1s");
    assert_eq!(human_duration(768 * 3600 * SECOND), "768h");
    assert_eq!(human_duration(5400 * SECOND), "1h30m");
    assert_eq!(human_duration(3601 * SECOND), "1h1s");
    assert_eq!(human_duration(60 * SECOND), "1m");
    assert_eq!(human_duration(0), "0s");
    assert_eq!(human_duration_value(&json!(2764800)), json!("768h"));
    assert_eq!(human_duration_value(&json!("0s")), json!("0s"));
    assert!(looks_like_duration("token_explicit_max_ttl"));
    assert!(!looks_like_duration("ttl_x"));
}

#[test]
fn values_print_as_go_percent_v() {
    assert_eq!(go_value(&json!(null)), "<nil>");
    assert_eq!(go_value(&json!(["a", 1, true])), "[a 1 true]");
    assert_eq!(
        go_value(&json!({"b": {"c": "d"}, "a": []})),
        "map[a:[] b:map[c:d]]"
    );
    assert_eq!(
        go_quote_list(Some(&vec!["app".into(), "default".into()])),
        r#"["app" "default"]"#
    );
    assert_eq!(go_quote_list(None), "[]");
}

#[test]
fn wrapping_matches_vaults_login_message() {
    let text = "Success! You are now authenticated. The token information displayed below is \
                already stored in the token helper. You do NOT need to run \"vault login\" \
                again. Future Vault requests will automatically use this token.";
    assert_eq!(
        wrap_at_length(text),
        "Success! You are now authenticated. The token information displayed below\n\
         is already stored in the token helper. You do NOT need to run \"vault login\"\n\
         again. Future Vault requests will automatically use this token."
    );
}

#[test]
fn secret_tables_look_like_vaults() {
    let secret = Secret {
        lease_duration: 2764800,
        data: json!({"foo": "bar", "empty": "", "ttl": 60})
            .as_object()
            .cloned(),
        ..Secret::default()
    };
    assert_eq!(
        secret_table(&secret).unwrap(),
        "Key                 Value\n\
         ---                 -----\n\
         refresh_interval    768h\n\
         empty               n/a\n\
         foo                 bar\n\
         ttl                 1m"
    );
    let auth = Secret {
        auth: Some(SecretAuth {
            client_token: "hvs.x".into(),
            accessor: "acc".into(),
            token_policies: Some(vec!["root".into()]),
            policies: Some(vec!["root".into()]),
            ..SecretAuth::default()
        }),
        ..Secret::default()
    };
    assert_eq!(
        secret_table(&auth).unwrap(),
        "Key                  Value\n\
         ---                  -----\n\
         token                hvs.x\n\
         token_accessor       acc\n\
         token_duration       ∞\n\
         token_renewable      false\n\
         token_policies       [\"root\"]\n\
         identity_policies    []\n\
         policies             [\"root\"]"
    );
    assert_eq!(secret_table(&Secret::default()), None);
}

#[test]
fn lists_and_headers() {
    assert_eq!(
        list_table(&[json!("b"), json!("a/")]).unwrap().unwrap(),
        "Keys\n----\na/\nb"
    );
    assert_eq!(
        pad_equal_signs("Secret Path", "secret/data/creds".len()),
        "== Secret Path =="
    );
    assert_eq!(
        pad_equal_signs("Secret Path", "secret/data/foo".len()),
        "= Secret Path ="
    );
    assert_eq!(pad_equal_signs("Secret Path", 3), "== Secret Path ==");
    let metadata = json!({"created_time": 1, "custom_metadata": null, "deletion_time": "",
        "destroyed": false, "version": 1});
    assert_eq!(
        header_for_map("Metadata", metadata.as_object().unwrap()),
        "======= Metadata ======="
    );
}

#[test]
fn json_is_indented_and_escaped_as_go_does() {
    assert_eq!(
        go_json(&json!({"a": [1, {"b": "<x&y>"}], "e": {}, "l": []})),
        "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"\\u003cx\\u0026y\\u003e\"\n    }\n  ],\n  \"e\": {},\n  \"l\": []\n}"
    );
}

#[test]
fn warnings_are_wrapped_and_padded() {
    let secret = Secret {
        warnings: Some(vec!["short one".into()]),
        ..Secret::default()
    };
    assert_eq!(
        warnings_text(&secret).unwrap(),
        "WARNING! The following warnings were returned from Vault:\n\n  * short one\n\n"
    );
}

#[test]
fn go_time_strings() {
    assert_eq!(
        go_time_string("2024-05-01T10:00:00.120Z"),
        "2024-05-01 10:00:00.12 +0000 UTC"
    );
}
