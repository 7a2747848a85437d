//! Configuration tests: HCL/JSON equivalence, defaults, real-world configs (hvac's test harness,
//! Vault's docs, the Vault Docker image) and unknown-key warnings; the error paths are in
//! `tests/errors.rs`.

mod errors;

use std::path::PathBuf;
use std::time::Duration;

use super::*;

fn hcl(text: &str) -> Config {
    Config::parse_str(text, Format::Hcl).unwrap_or_else(|e| panic!("{e}"))
}

fn json(text: &str) -> Config {
    Config::parse_str(text, Format::Json).unwrap_or_else(|e| panic!("{e}"))
}

fn hcl_err(text: &str) -> ConfigError {
    match Config::parse_str(text, Format::Hcl) {
        Ok(c) => panic!("expected an error, got {c:?}"),
        Err(e) => e,
    }
}

/// The message of an `Invalid` error, and its key.
fn invalid_of(text: &str) -> (String, String) {
    match hcl_err(text) {
        ConfigError::Invalid { key, message, file } => {
            assert_eq!(file, "<config>");
            (key, message)
        }
        other => panic!("expected Invalid, got {other}"),
    }
}

const PLAIN: &str = "storage \"inmem\" {}\nlistener \"tcp\" {\n  tls_disable = true\n}\n";

fn with_plain(extra: &str) -> String {
    format!("{PLAIN}{extra}\n")
}

fn tls_listener(body: &str) -> String {
    format!(
        "storage \"inmem\" {{}}\nlistener \"tcp\" {{\n  tls_cert_file = \"/c.pem\"\n  \
         tls_key_file = \"/k.pem\"\n{body}\n}}\n"
    )
}

#[test]
fn hcl_and_json_give_the_same_config() {
    let from_hcl = hcl(r#"
        storage "file" {
          path = "/var/lib/warden"
        }
        listener "tcp" {
          address            = "0.0.0.0:8200"
          tls_cert_file      = "/etc/warden/cert.pem"
          tls_key_file       = "/etc/warden/key.pem"
          tls_client_ca_file = "/etc/warden/ca.pem"
          tls_min_version    = "tls13"
          max_request_size   = 1048576
          max_request_duration = "30s"
        }
        listener "tcp" {
          address     = "127.0.0.1:8300"
          tls_disable = "true"
        }
        api_addr          = "https://warden.example:8200"
        cluster_name      = "prod"
        default_lease_ttl = "1h"
        max_lease_ttl     = "24h"
        log_level         = "Debug"
        log_format        = "json"
        disable_mlock     = true
        pid_file          = "/run/warden.pid"
    "#);
    let json_text = r#"{
        "storage": {"file": {"path": "/var/lib/warden"}},
        "listener": [
          {"tcp": {
            "address": "0.0.0.0:8200",
            "tls_cert_file": "/etc/warden/cert.pem",
            "tls_key_file": "/etc/warden/key.pem",
            "tls_client_ca_file": "/etc/warden/ca.pem",
            "tls_min_version": "tls13",
            "max_request_size": 1048576,
            "max_request_duration": "30s"
          }},
          {"tcp": {"address": "127.0.0.1:8300", "tls_disable": true}}
        ],
        "api_addr": "https://warden.example:8200",
        "cluster_name": "prod",
        "default_lease_ttl": 3600,
        "max_lease_ttl": "24h",
        "log_level": "debug",
        "log_format": "JSON",
        "disable_mlock": "true",
        "pid_file": "/run/warden.pid"
    }"#;
    assert_eq!(from_hcl, json(json_text));
    // The other JSON spelling of several listeners: one type key holding a list.
    let grouped = json_text.replace(
        r#""listener": [
          {"tcp": {"#,
        r#""listener": {"tcp": [{"#,
    );
    let grouped = grouped.replace(
        r#"}},
          {"tcp": {"address": "127.0.0.1:8300", "tls_disable": true}}
        ],"#,
        r#"}, {"address": "127.0.0.1:8300", "tls_disable": true}]},"#,
    );
    assert_eq!(from_hcl, json(&grouped));

    let c = from_hcl;
    assert_eq!(
        c.storage.kind,
        StorageKind::Embedded {
            path: PathBuf::from("/var/lib/warden")
        }
    );
    assert_eq!(c.listeners.len(), 2);
    let tls = c.listeners[0].tls.as_ref().unwrap();
    assert_eq!(tls.client_auth, ClientAuth::Optional);
    assert_eq!(tls.min_version, TlsVersion::Tls13);
    assert_eq!(tls.max_version, TlsVersion::Tls13);
    assert_eq!(c.listeners[0].max_request_size, Some(1_048_576));
    assert_eq!(c.listeners[0].max_request_duration, Duration::from_secs(30));
    assert!(c.listeners[1].tls.is_none());
    assert_eq!(c.default_lease_ttl, Duration::from_secs(3600));
    assert_eq!(c.max_lease_ttl, Duration::from_secs(86_400));
    assert_eq!(c.log_level, LogLevel::Debug);
    assert_eq!(c.log_format, LogFormat::Json);
    assert_eq!(c.pid_file, Some(PathBuf::from("/run/warden.pid")));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn defaults_are_vaults() {
    let c = hcl(
        "storage \"inmem\" {}\nlistener \"tcp\" {\n  tls_cert_file = \"c\"\n  tls_key_file = \"k\"\n}\n",
    );
    assert_eq!(
        c.storage,
        StorageConfig {
            storage_type: "inmem".into(),
            kind: StorageKind::Memory
        }
    );
    let l = &c.listeners[0];
    assert_eq!(l.address, "127.0.0.1:8200");
    assert_eq!(l.max_request_size, Some(33_554_432));
    assert_eq!(l.max_request_duration, Duration::from_secs(90));
    assert_eq!(l.http_read_header_timeout, Duration::from_secs(10));
    assert_eq!(l.http_read_timeout, Duration::from_secs(30));
    assert_eq!(l.http_write_timeout, None);
    assert_eq!(l.http_idle_timeout, Duration::from_secs(300));
    assert!(!l.require_request_header);
    let tls = l.tls.as_ref().unwrap();
    assert_eq!(tls.cert_file, PathBuf::from("c"));
    assert_eq!(tls.key_file, PathBuf::from("k"));
    assert_eq!(tls.client_ca_file, None);
    assert_eq!(tls.client_auth, ClientAuth::None);
    assert_eq!(
        (tls.min_version, tls.max_version),
        (TlsVersion::Tls12, TlsVersion::Tls13)
    );
    assert_eq!(c.default_lease_ttl, Duration::from_secs(768 * 3600));
    assert_eq!(c.max_lease_ttl, Duration::from_secs(768 * 3600));
    assert_eq!(c.log_level, LogLevel::Info);
    assert_eq!(c.log_format, LogFormat::Standard);
    assert!(!c.disable_mlock && !c.ui && !c.disable_cache);
    assert_eq!(
        (c.api_addr, c.cluster_addr, c.cluster_name),
        (None, None, None)
    );
    assert!(c.warnings.is_empty());
    assert_eq!(ListenerConfig::plain("127.0.0.1:8200"), {
        let mut plain = l.clone();
        plain.tls = None;
        plain
    });
}

#[test]
fn hvac_vault_tls_hcl() {
    // hvac tests/config_files/vault-tls.hcl (hvac 2.x).
    let c = hcl(r#"backend "inmem" {
}

listener "tcp" {
  tls_cert_file = "/tests/config_files/server-cert.pem"
  tls_key_file  = "/tests/config_files/server-key.pem"
  tls_min_version = "tls10"
  address = "0.0.0.0:8200"
}

disable_mlock = true

default_lease_ttl = "768h"
max_lease_ttl = "768h"
"#);
    assert_eq!(c.storage.kind, StorageKind::Memory);
    let l = &c.listeners[0];
    assert_eq!(l.address, "0.0.0.0:8200");
    let tls = l.tls.as_ref().unwrap();
    assert_eq!(
        tls.cert_file,
        PathBuf::from("/tests/config_files/server-cert.pem")
    );
    assert_eq!(tls.min_version, TlsVersion::Tls12);
    assert!(c.disable_mlock);
    assert_eq!(c.default_lease_ttl, Duration::from_secs(768 * 3600));
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(
        c.warnings[0].contains("tls_min_version \"tls10\""),
        "{:?}",
        c.warnings
    );
}

#[test]
fn hvac_doctest_and_older_tls_configs() {
    // hvac tests/config_files/vault-doctest.hcl, and vault-tls.hcl before tls_min_version.
    for path in ["../tests/config_files", "tests/config_files"] {
        let c = hcl(&format!(
            "backend \"inmem\" {{\n}}\n\nlistener \"tcp\" {{\n  tls_cert_file = \
             \"{path}/server-cert.pem\"\n  tls_key_file  = \"{path}/server-key.pem\"\n}}\n\n\
             disable_mlock = true\n\ndefault_lease_ttl = \"768h\"\nmax_lease_ttl = \"768h\"\n"
        ));
        assert_eq!(c.listeners[0].address, DEFAULT_ADDRESS);
        let tls = c.listeners[0].tls.as_ref().unwrap();
        assert_eq!(
            tls.key_file,
            PathBuf::from(format!("{path}/server-key.pem"))
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }
}

#[test]
fn hvac_ha_configs_need_consul_which_warden_lacks() {
    // hvac tests/config_files/vault-ha-node2.hcl: consul storage (HA mode, needs a consul agent).
    let node2 = r#"listener "tcp" {
  address = "127.0.0.1:8199"
  cluster_address = "127.0.0.1:8201"
  tls_cert_file = "tests/config_files/server-cert.pem"
  tls_key_file  = "tests/config_files/server-key.pem"
}

disable_mlock = true

default_lease_ttl = "768h"
max_lease_ttl = "768h"

storage "consul" {
  address = "127.0.0.1:8500"
  path    = "vault"
}
"#;
    let (key, message) = invalid_of(node2);
    assert_eq!(key, "storage");
    assert_eq!(
        message,
        "Unknown storage type consul (warden supports: inmem, file, embedded, raft)"
    );
    // With the storage swapped for one warden has, the rest of the file is accepted.
    let c = hcl(&node2.replace("storage \"consul\"", "storage \"file\""));
    assert_eq!(
        c.listeners[0].cluster_address.as_deref(),
        Some("127.0.0.1:8201")
    );
    assert!(
        c.warnings
            .iter()
            .any(|w| w == "unknown key \"address\" in storage \"file\"")
    );

    // An older vault-ha-node1.hcl had its storage commented out.
    let (_, message) = invalid_of(
        "listener \"tcp\" {\n  // address = \"127.0.0.1:8200\"\n  tls_cert_file = \"c\"\n  \
         tls_key_file  = \"k\"\n}\n\ndisable_mlock = true\n\n// storage \"consul\" {\n//   \
         address = \"127.0.0.1:8500\"\n// }\n",
    );
    assert_eq!(message, "A storage backend must be specified");
}

#[test]
fn vault_docs_example_with_raft() {
    // website/content/docs/configuration/index.mdx
    let c = hcl(r#"
ui            = true
cluster_addr  = "https://127.0.0.1:8201"
api_addr      = "https://127.0.0.1:8200"
disable_mlock = true

storage "raft" {
  path = "/path/to/raft/data"
  node_id = "raft_node_id"
}

listener "tcp" {
  address       = "127.0.0.1:8200"
  tls_cert_file = "/path/to/full-chain.pem"
  tls_key_file  = "/path/to/private-key.pem"
}

telemetry {
  statsite_address = "127.0.0.1:8125"
  disable_hostname = true
}
"#);
    assert_eq!(c.storage.storage_type, "raft");
    assert_eq!(
        c.storage.kind,
        StorageKind::Embedded {
            path: "/path/to/raft/data".into()
        }
    );
    assert_eq!(c.api_addr.as_deref(), Some("https://127.0.0.1:8200"));
    assert_eq!(c.cluster_addr.as_deref(), Some("https://127.0.0.1:8201"));
    assert!(c.ui);
    let w = c.warnings.join("\n");
    assert!(
        w.contains("storage \"raft\" runs as warden's single-node embedded store"),
        "{w}"
    );
    assert!(
        w.contains("telemetry.statsite_address is not supported by warden and is ignored"),
        "{w}"
    );
    assert!(w.contains("warden serves no web UI"), "{w}");
}

#[test]
fn raft_tutorial_keys_are_warned_not_fatal() {
    let c = hcl(r#"
storage "raft" {
  path    = "./vault/data"
  node_id = "node1"
  retry_join {
    leader_api_addr = "http://127.0.0.2:8200"
  }
}
listener "tcp" {
  address     = "127.0.0.1:8200"
  tls_disable = "true"
}
api_addr = "http://127.0.0.1:8200"
cluster_addr = "https://127.0.0.1:8201"
"#);
    assert_eq!(
        c.storage.kind,
        StorageKind::Embedded {
            path: "./vault/data".into()
        }
    );
    assert!(
        c.warnings
            .iter()
            .any(|w| w.starts_with("\"retry_join\" in storage \"raft\" is ignored"))
    );
}

#[test]
fn vault_docker_image_json_config() {
    // The VAULT_LOCAL_CONFIG example of the Vault Docker image.
    let c = json(
        r#"{"storage": {"file": {"path": "/vault/file"}}, "listener": [{"tcp": { "address": "0.0.0.0:8200", "tls_disable": true}}], "default_lease_ttl": "168h", "max_lease_ttl": "720h", "ui": true}"#,
    );
    assert_eq!(
        c.storage.kind,
        StorageKind::Embedded {
            path: "/vault/file".into()
        }
    );
    assert_eq!(c.listeners[0].address, "0.0.0.0:8200");
    assert!(c.listeners[0].tls.is_none());
    assert_eq!(c.default_lease_ttl, Duration::from_secs(168 * 3600));
    assert_eq!(c.max_lease_ttl, Duration::from_secs(720 * 3600));
    // The single-object listener spelling gives the same.
    let single = json(
        r#"{"storage": {"file": {"path": "/vault/file"}}, "listener": {"tcp": { "address": "0.0.0.0:8200", "tls_disable": true}}, "default_lease_ttl": "168h", "max_lease_ttl": "720h", "ui": true}"#,
    );
    assert_eq!(c, single);
}

#[test]
fn hcl1_brace_on_the_next_line() {
    let c = hcl(
        "storage \"file\"   # data\n{\n  path = \"/d\"\n}\n\nlistener \"tcp\"\n\n{\n  tls_disable = 1\n}\n",
    );
    assert_eq!(c.storage.kind, StorageKind::Embedded { path: "/d".into() });
    assert!(c.listeners[0].tls.is_none());
    // Line numbers survive the rewrite.
    match hcl_err("storage \"inmem\"\n{\n}\nlistener \"tcp\"\n{\n  tls_disable = \n}\n") {
        ConfigError::Syntax { line, .. } => assert_eq!(line, Some(6)),
        other => panic!("{other}"),
    }
    // A heredoc holding a lone brace is left alone.
    let c = hcl(&with_plain("cluster_name = <<EOT\nx\n{\nEOT\n"));
    assert_eq!(c.cluster_name.as_deref(), Some("x\n{\n"));
}

#[test]
fn unlabelled_listener_with_type_key() {
    let c = hcl("storage \"inmem\" {}\nlistener {\n  type = \"tcp\"\n  tls_disable = true\n}\n");
    assert_eq!(c.listeners[0].address, DEFAULT_ADDRESS);
    let c =
        json(r#"{"storage": {"inmem": {}}, "listener": [{"type": "tcp", "tls_disable": "1"}]}"#);
    assert!(c.listeners[0].tls.is_none());
}

#[test]
fn tls_disable_spellings() {
    for value in ["true", "\"true\"", "1", "\"1\"", "\"t\"", "\"TRUE\""] {
        let c = hcl(&format!(
            "storage \"inmem\" {{}}\nlistener \"tcp\" {{\n  tls_disable = {value}\n}}\n"
        ));
        assert!(c.listeners[0].tls.is_none(), "{value}");
    }
    for value in ["false", "\"false\"", "0", "\"0\"", "\"\""] {
        let (key, message) = invalid_of(&format!(
            "storage \"inmem\" {{}}\nlistener \"tcp\" {{\n  tls_disable = {value}\n}}\n"
        ));
        assert_eq!(key, "listener[0].tls_cert_file", "{value}");
        assert_eq!(message, "listener \"tcp\": 'tls_cert_file' must be set");
    }
    let (key, message) =
        invalid_of("storage \"inmem\" {}\nlistener \"tcp\" {\n  tls_disable = \"maybe\"\n}\n");
    assert_eq!(key, "listener[0].tls_disable");
    assert_eq!(
        message,
        "invalid value for \"tls_disable\" in listener \"tcp\": cannot parse \"maybe\" as a bool"
    );
}

#[test]
fn request_limits_and_timeouts() {
    let c = hcl(&format!(
        "{PLAIN}listener \"tcp\" {{\n  address = \":8201\"\n  tls_disable = true\n  \
         max_request_size = -1\n  http_read_header_timeout = 5\n  http_write_timeout = \"1m\"\n  \
         http_idle_timeout = \"0\"\n  require_request_header = true\n}}\n\
         default_max_request_duration = \"2m\"\n"
    ));
    let (a, b) = (&c.listeners[0], &c.listeners[1]);
    assert_eq!(a.max_request_duration, Duration::from_secs(120));
    assert_eq!(a.max_request_size, Some(DEFAULT_MAX_REQUEST_SIZE));
    assert_eq!(b.address, "0.0.0.0:8201");
    assert_eq!(b.max_request_size, None);
    assert_eq!(b.http_read_header_timeout, Duration::from_secs(5));
    assert_eq!(b.http_write_timeout, Some(Duration::from_secs(60)));
    assert_eq!(b.http_idle_timeout, Duration::from_secs(300));
    assert!(b.require_request_header);
}

#[test]
fn client_certificate_modes() {
    let tls = |body: &str| hcl(&tls_listener(body)).listeners[0].tls.clone().unwrap();
    let t = tls("  tls_client_ca_file = \"/ca.pem\"\n  tls_require_and_verify_client_cert = true");
    assert_eq!(t.client_auth, ClientAuth::Required);
    assert_eq!(t.client_ca_file, Some(PathBuf::from("/ca.pem")));
    assert_eq!(
        tls("  tls_client_ca_file = \"/ca.pem\"").client_auth,
        ClientAuth::Optional
    );
    let off = hcl(&tls_listener(
        "  tls_client_ca_file = \"/ca.pem\"\n  tls_disable_client_certs = true",
    ));
    let t = off.listeners[0].tls.as_ref().unwrap();
    assert_eq!(
        (t.client_auth, t.client_ca_file.clone()),
        (ClientAuth::None, None)
    );
    assert_eq!(off.warnings.len(), 1);
}

#[test]
fn unknown_and_unsupported_keys_are_warnings() {
    let c = hcl(r#"
storage "inmem" {
  foo = 1
  redirect_addr = "http://x"
}
listener "tcp" {
  tls_disable = true
  bar = "x"
  x_forwarded_for_authorized_addrs = "10.0.0.0/8"
  tls_cert_file = "ignored.pem"
}
baz = true
seal "awskms" {
  region = "us-east-1"
}
cache_size = 1000
plugin_directory = "/plugins"
"#);
    assert_eq!(
        c.warnings,
        vec![
            "unknown key \"foo\" in storage \"inmem\"",
            "plugin_directory is set, but warden runs no external plugins; it has no effect",
            "listener \"tcp\": tls_disable is set, so tls_cert_file is ignored",
            "unknown key \"bar\" in listener \"tcp\"",
            "\"x_forwarded_for_authorized_addrs\" in listener \"tcp\" is not supported by warden and is ignored",
            "unknown key \"baz\"",
            "\"seal\" is not supported: warden seals with Shamir unseal keys; the seal stanza is ignored",
            "\"cache_size\" is not supported by warden and is ignored",
        ]
    );
    assert_eq!(c.plugin_directory, Some(PathBuf::from("/plugins")));
}

#[test]
fn load_picks_the_format_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    let hcl_path = dir.path().join("warden.hcl");
    std::fs::write(&hcl_path, PLAIN).unwrap();
    let json_path = dir.path().join("warden.JSON");
    std::fs::write(
        &json_path,
        r#"{"storage": {"inmem": {}}, "listener": {"tcp": {"tls_disable": true}}}"#,
    )
    .unwrap();
    assert_eq!(
        Config::load(&hcl_path).unwrap(),
        Config::load(&json_path).unwrap()
    );
    assert_eq!(Format::from_path(&json_path), Format::Json);
    assert_eq!(Format::from_path(&hcl_path), Format::Hcl);
    assert_eq!(Format::from_path(Path::new("config")), Format::Hcl);

    // JSON in a file named .hcl is read as JSON, as Vault's HCL1 parser does.
    let json_in_hcl = dir.path().join("local.hcl");
    std::fs::copy(&json_path, &json_in_hcl).unwrap();
    assert_eq!(
        Config::load(&json_in_hcl).unwrap(),
        Config::load(&hcl_path).unwrap()
    );

    let missing = dir.path().join("missing.hcl");
    let err = Config::load(&missing).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(err.to_string().contains("missing.hcl"), "{err}");

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{").unwrap();
    let err = Config::load(&bad).unwrap_err();
    assert!(err.to_string().contains("bad.json"), "{err}");
    assert_eq!(ConfigError::EXIT_CODE, 64);
    let flag_error = ConfigError::Invalid {
        file: String::new(),
        key: "log_level".into(),
        message: "unknown log level: loud".into(),
    };
    assert_eq!(
        flag_error.to_string(),
        "error loading configuration: unknown log level: loud"
    );
    assert_eq!(flag_error.key(), Some("log_level"));
    assert_eq!(err.key(), None);
}

#[test]
fn dev_config() {
    let c = Config::dev("127.0.0.1:8200");
    assert_eq!(c.storage.kind, StorageKind::Memory);
    assert!(c.listeners[0].tls.is_none());
    assert_eq!(c.default_lease_ttl, DEFAULT_LEASE_TTL);
}

#[test]
fn log_level_names() {
    for (name, level) in [
        ("trace", LogLevel::Trace),
        ("DEBUG", LogLevel::Debug),
        ("notice", LogLevel::Info),
        (" info ", LogLevel::Info),
        ("warning", LogLevel::Warn),
        ("err", LogLevel::Error),
        ("error", LogLevel::Error),
    ] {
        assert_eq!(LogLevel::parse(name), Ok(level), "{name}");
    }
    assert_eq!(LogLevel::Warn.as_str(), "warn");
}
