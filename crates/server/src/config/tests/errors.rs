//! Configuration error paths: every message, with the setting it names.

use super::*;

#[test]
fn tls_errors() {
    let cases = [
        (
            "  tls_min_version = \"ssl3\"",
            "listener[0].tls_min_version",
            "listener \"tcp\": 'tls_min_version' value \"ssl3\" not supported, please specify one of [tls10,tls11,tls12,tls13]",
        ),
        (
            "  tls_min_version = \"tls13\"\n  tls_max_version = \"tls12\"",
            "listener[0].tls_max_version",
            "listener \"tcp\": 'tls_max_version' must be greater than or equal to 'tls_min_version'",
        ),
        (
            "  tls_max_version = \"tls11\"",
            "listener[0].tls_max_version",
            "listener \"tcp\": 'tls_max_version' value \"tls11\" is not supported by warden, which speaks TLS 1.2 and 1.3 only",
        ),
        (
            "  tls_require_and_verify_client_cert = true\n  tls_disable_client_certs = true",
            "listener[0].tls_disable_client_certs",
            "listener \"tcp\": 'tls_disable_client_certs' and 'tls_require_and_verify_client_cert' are mutually exclusive",
        ),
        (
            "  tls_require_and_verify_client_cert = \"true\"",
            "listener[0].tls_client_ca_file",
            "listener \"tcp\": tls_require_and_verify_client_cert requires tls_client_ca_file (warden verifies client certificates only against an explicit CA)",
        ),
    ];
    for (body, want_key, want) in cases {
        let (key, message) = invalid_of(&tls_listener(body));
        assert_eq!((key.as_str(), message.as_str()), (want_key, want));
    }
    let (key, message) =
        invalid_of("storage \"inmem\" {}\nlistener \"tcp\" {\n  tls_cert_file = \"/c.pem\"\n}\n");
    assert_eq!(
        (key.as_str(), message.as_str()),
        (
            "listener[0].tls_key_file",
            "listener \"tcp\": 'tls_key_file' must be set"
        )
    );
}

#[test]
fn storage_errors() {
    let l = "listener \"tcp\" {\n  tls_disable = true\n}\n";
    let cases = [
        (
            String::new(),
            "storage",
            "A storage backend must be specified",
        ),
        (
            "storage \"inmem\" {}\nstorage \"file\" {\n  path = \"/x\"\n}\n".to_owned(),
            "storage",
            "only one \"storage\" block is permitted",
        ),
        (
            "backend \"inmem\" {}\nbackend \"inmem\" {}\n".to_owned(),
            "backend",
            "only one \"backend\" block is permitted",
        ),
        (
            "storage \"s3\" {}\n".to_owned(),
            "storage",
            "Unknown storage type s3 (warden supports: inmem, file, embedded, raft)",
        ),
        (
            "storage \"file\" {}\n".to_owned(),
            "storage.file.path",
            "'path' must be set in storage \"file\"",
        ),
        (
            "storage \"embedded\" {\n  path = \"\"\n}\n".to_owned(),
            "storage.embedded.path",
            "'path' must be set in storage \"embedded\"",
        ),
        (
            "storage \"raft\" {\n  node_id = \"a\"\n}\n".to_owned(),
            "storage.raft.path",
            "'path' must be set in storage \"raft\"",
        ),
        (
            "storage \"file\" {\n  path = [\"a\"]\n}\n".to_owned(),
            "storage.file.path",
            "invalid value for \"path\" in storage \"file\": expected a string, got a list",
        ),
        (
            "storage = \"inmem\"\n".to_owned(),
            "storage",
            "\"storage\" must be a block (an object), not a string",
        ),
    ];
    for (storage, want_key, want) in cases {
        let (key, message) = invalid_of(&format!("{storage}{l}"));
        assert_eq!(
            (key.as_str(), message.as_str()),
            (want_key, want),
            "{storage}"
        );
    }
    // Storage type is case-insensitive; "storage" wins over "backend", with a warning.
    let c = hcl(&format!(
        "storage \"InMem\" {{}}\nbackend \"file\" {{}}\n{l}"
    ));
    assert_eq!(c.storage.storage_type, "inmem");
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
}

#[test]
fn top_level_errors() {
    let cases = [
        (
            "default_lease_ttl = \"abc\"",
            "default_lease_ttl",
            "invalid value for \"default_lease_ttl\": invalid duration \"abc\"",
        ),
        (
            "max_lease_ttl = \"5y\"",
            "max_lease_ttl",
            "invalid value for \"max_lease_ttl\": unknown unit \"y\" in duration \"5y\"",
        ),
        (
            "default_lease_ttl = \"2h\"\nmax_lease_ttl = \"1h\"",
            "default_lease_ttl",
            "cannot have DefaultLeaseTTL larger than MaxLeaseTTL (default_lease_ttl is 7200s, max_lease_ttl is 3600s)",
        ),
        // Vault: an unset default is 768h, which is then above a lower max.
        (
            "max_lease_ttl = \"1h\"",
            "default_lease_ttl",
            "cannot have DefaultLeaseTTL larger than MaxLeaseTTL (default_lease_ttl is 2764800s, max_lease_ttl is 3600s)",
        ),
        (
            "log_level = \"loud\"",
            "log_level",
            "unknown log level: loud",
        ),
        (
            "log_format = \"text\"",
            "log_format",
            "unknown log format: text",
        ),
        (
            "ui = \"yes\"",
            "ui",
            "invalid value for \"ui\": cannot parse \"yes\" as a bool",
        ),
        (
            "api_addr = \"127.0.0.1:8200\"",
            "api_addr",
            "api_addr \"127.0.0.1:8200\" must include a scheme (ex. 'http')",
        ),
        (
            "cluster_name = [1]",
            "cluster_name",
            "invalid value for \"cluster_name\": expected a string, got a list",
        ),
    ];
    for (extra, want_key, want) in cases {
        let (key, message) = invalid_of(&with_plain(extra));
        assert_eq!(
            (key.as_str(), message.as_str()),
            (want_key, want),
            "{extra}"
        );
    }
}

#[test]
fn listener_errors() {
    let cases = [
        ("", "listener", "at least one listener must be specified"),
        (
            "listener \"unix\" {\n  address = \"/run/w.sock\"\n}",
            "listener[0].type",
            "listener type \"unix\" is not supported by warden (supported: tcp)",
        ),
        (
            "listener \"udp\" {}",
            "listener[0].type",
            "unsupported listener type \"udp\"",
        ),
        (
            "listener \"tcp\" {\n  address = \"localhost\"\n  tls_disable = 1\n}",
            "listener[0].address",
            "invalid value for \"address\" in listener \"tcp\": \"localhost\" must be host:port",
        ),
        (
            "listener \"tcp\" {\n  address = \"{{ GetPrivateIP }}:8200\"\n  tls_disable = 1\n}",
            "listener[0].address",
            "invalid value for \"address\" in listener \"tcp\": \"{{ GetPrivateIP }}:8200\": go-sockaddr templates are not supported",
        ),
        (
            "listener \"tcp\" {\n  max_request_duration = \"-1s\"\n  tls_disable = 1\n}",
            "listener[0].max_request_duration",
            "invalid value for \"max_request_duration\" in listener \"tcp\": duration \"-1s\" cannot be negative",
        ),
        (
            "listener \"tcp\" {\n  max_request_size = \"big\"\n  tls_disable = 1\n}",
            "listener[0].max_request_size",
            "invalid value for \"max_request_size\" in listener \"tcp\": cannot parse \"big\" as an integer",
        ),
    ];
    for (listener, want_key, want) in cases {
        let (key, message) = invalid_of(&format!("storage \"inmem\" {{}}\n{listener}\n"));
        assert_eq!(
            (key.as_str(), message.as_str()),
            (want_key, want),
            "{listener}"
        );
    }
    // With several listeners, messages say which one.
    let (key, message) = invalid_of(&format!(
        "{PLAIN}listener \"tcp\" {{\n  address = \"x:y\"\n}}\n"
    ));
    assert_eq!(key, "listener[1].address");
    assert!(message.contains("listener \"tcp\" (#2)"), "{message}");
}

#[test]
fn syntax_errors_name_the_file_and_line() {
    let err = Config::parse_named(
        "storage \"inmem\" {}\nlistener \"tcp\" {\n  tls_disable = = 1\n}\n",
        Format::Hcl,
        "/etc/warden.hcl",
    )
    .unwrap_err();
    let ConfigError::Syntax { line, ref file, .. } = err else {
        panic!("{err}")
    };
    assert_eq!((file.as_str(), line), ("/etc/warden.hcl", Some(3)));
    let text = err.to_string();
    assert!(
        text.starts_with(
            "error loading configuration from /etc/warden.hcl: syntax error at line 3"
        ),
        "{text}"
    );

    let err = Config::parse_str(
        "{\n  \"storage\": {\"inmem\": {}},\n  \"listener\": [\n}",
        Format::Json,
    )
    .unwrap_err();
    let ConfigError::Syntax { line, .. } = err else {
        panic!("{err}")
    };
    assert_eq!(line, Some(4));
    let err = Config::parse_str("[1]", Format::Json).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("the configuration must be a JSON object"),
        "{err}"
    );
    // HCL2 expressions are not evaluated.
    let err = hcl_err(&with_plain("cluster_name = upper(\"x\")"));
    assert!(
        err.to_string()
            .contains("configuration values must be literals"),
        "{err}"
    );
}
