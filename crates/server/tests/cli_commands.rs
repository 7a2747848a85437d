//! The Vault-compatible client commands of the `warden` binary, run as a separate process
//! against an in-process server: output text, exit codes and error format.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use warden_testkit::TestServer;

const WARDEN: &str = env!("CARGO_BIN_EXE_warden");

/// One run of the binary.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    fn code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

/// The value of `key` in a `Key`/`Value` table.
fn row<'a>(table: &'a str, key: &str) -> Option<&'a str> {
    table.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim())
    })
}

/// The CLI environment: server address, token, and a HOME for the token helper.
struct Cli {
    addr: String,
    token: Option<String>,
    home: tempfile::TempDir,
}

impl Cli {
    fn new(server: &TestServer) -> Self {
        Self {
            addr: server.url(),
            token: server.root_token.clone(),
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(WARDEN);
        command
            .args(args)
            .env_clear()
            .env("HOME", self.home.path())
            .env("VAULT_ADDR", &self.addr);
        if let Some(token) = &self.token {
            command.env("VAULT_TOKEN", token);
        }
        command
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_stdin(args, "")
    }

    fn run_stdin(&self, args: &[&str], stdin: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_seal_and_unseal_on_a_dev_server() {
    let server = TestServer::dev().await.unwrap();
    let cli = Cli::new(&server);
    let out = cli.run(&["status"]).ok();
    assert!(out.stdout.starts_with("Key             Value\n---             -----\nSeal Type       shamir\nInitialized     true\nSealed          false\nTotal Shares    1\nThreshold       1\n"), "{}", out.stdout);
    assert!(
        out.stdout.ends_with("HA Enabled      false\n"),
        "{}",
        out.stdout
    );
    let out = cli.run(&["status", "-format=json"]).ok();
    let status = out.json();
    assert_eq!(status["sealed"], json!(false));
    assert_eq!(status["ha_enabled"], json!(false));
    assert_eq!(cli.run(&["status", "-field=sealed"]).ok().stdout, "false");

    assert_eq!(
        cli.run(&["operator", "seal"]).ok().stdout,
        "Success! Vault is sealed.\n"
    );
    let out = cli.run(&["status"]).code(2);
    assert!(
        out.stdout.contains("Sealed             true\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("Unseal Progress    0/1\nUnseal Nonce       n/a\n"),
        "{}",
        out.stdout
    );

    let key = hex::encode(server.unseal_key.as_ref().unwrap());
    let out = cli.run(&["operator", "unseal", &key]).ok();
    assert!(
        out.stdout.contains("Sealed          false\n"),
        "{}",
        out.stdout
    );
    cli.run(&["status"]).ok();
    // The key can also come from stdin.
    cli.run(&["operator", "seal"]).ok();
    cli.run_stdin(&["operator", "unseal"], &format!("{key}\n"))
        .ok();
    cli.run(&["status"]).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_init_and_unseal_a_new_server() {
    let config = TestServer::config_with_storage("storage \"inmem\" {}").unwrap();
    let server = TestServer::start(config).await.unwrap();
    let mut cli = Cli::new(&server);
    cli.token = None;
    let out = cli.run(&["operator", "init", "-status"]).code(2);
    assert_eq!(out.stdout, "Vault is not initialized\n");
    let out = cli
        .run(&["operator", "init", "-key-shares=3", "-key-threshold", "2"])
        .ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("Unseal Key 1: "), "{}", out.stdout);
    assert!(lines[2].starts_with("Unseal Key 3: "));
    assert_eq!(lines[3], "");
    assert!(lines[4].starts_with("Initial Root Token: hvs."));
    assert!(
        out.stdout.contains(
            "\nVault initialized with 3 key shares and a key threshold of 2. Please securely\n\
         distribute the key shares printed above."
        ),
        "{}",
        out.stdout
    );
    let keys: Vec<String> = lines[..3]
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().to_owned())
        .collect();
    let root = lines[4].rsplit(' ').next().unwrap().to_owned();

    assert_eq!(
        cli.run(&["operator", "init", "-status"]).ok().stdout,
        "Vault is initialized\n"
    );
    let out = cli.run(&["operator", "init"]).code(2);
    assert_eq!(
        out.stderr,
        format!(
            "Error initializing: Error making API request.\n\nURL: PUT {}/v1/sys/init\nCode: 400. \
             Errors:\n\n* Vault is already initialized\n",
            server.url()
        )
    );

    let out = cli.run(&["status"]).code(2);
    assert!(
        out.stdout
            .contains("Total Shares       3\nThreshold          2\nUnseal Progress    0/2\n"),
        "{}",
        out.stdout
    );
    let out = cli.run(&["operator", "unseal", &keys[0]]).ok();
    assert!(
        out.stdout.contains("Unseal Progress    1/2\n"),
        "{}",
        out.stdout
    );
    let out = cli.run(&["operator", "unseal", "-reset"]).ok();
    assert!(
        out.stdout.contains("Unseal Progress    0/2\n"),
        "{}",
        out.stdout
    );
    cli.run(&["operator", "unseal", &keys[2]]).ok();
    let out = cli
        .run(&["operator", "unseal", "-format=json", &keys[1]])
        .ok();
    assert_eq!(out.json()["sealed"], json!(false));
    cli.run(&["status"]).ok();
    cli.token = Some(root);
    cli.run(&["operator", "seal"]).ok();
    cli.run(&["status"]).code(2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_write_list_delete_on_kv_v1() {
    let server = TestServer::dev().await.unwrap();
    let cli = Cli::new(&server);
    let out = cli
        .run(&[
            "secrets",
            "enable",
            "-path=kv1",
            "-description=plain kv",
            "kv",
        ])
        .ok();
    assert_eq!(
        out.stdout,
        "Success! Enabled the kv secrets engine at: kv1/\n"
    );
    let out = cli.run(&["secrets", "list"]).ok();
    assert!(out.stdout.starts_with("Path          Type         Accessor              Description\n----          ----         --------              -----------\n"), "{}", out.stdout);
    assert!(
        out.stdout.contains("\nkv1/          kv           kv_"),
        "{}",
        out.stdout
    );

    let file = cli.home.path().join("ca.crt");
    std::fs::write(&file, "-----BEGIN CERTIFICATE-----\nx\n").unwrap();
    let at_file = format!("cert=@{}", file.display());
    let out = cli
        .run(&[
            "write", "kv1/foo", "a=b", "p=x", "p=y", &at_file, "lit=\\@z", "empty=",
        ])
        .ok();
    assert_eq!(out.stdout, "Success! Data written to: kv1/foo\n");
    let out = cli.run(&["read", "kv1/foo"]).ok();
    assert_eq!(
        out.stdout,
        "Key                 Value\n---                 -----\nrefresh_interval    768h\na                   b\n\
         cert                -----BEGIN CERTIFICATE-----\nx\nempty               n/a\nlit                 @z\n\
         p                   [x y]\n"
    );
    // -field prints the raw value without a newline when stdout is not a terminal; the
    // single-dash spelling with a separate value works too.
    assert_eq!(cli.run(&["read", "-field=a", "kv1/foo"]).ok().stdout, "b");
    assert_eq!(
        cli.run(&["read", "-field", "cert", "kv1/foo"]).ok().stdout,
        "-----BEGIN CERTIFICATE-----\nx\n"
    );
    let out = cli.run(&["read", "-field=nope", "kv1/foo"]).code(1);
    assert_eq!(out.stderr, "Field \"nope\" not present in secret\n");
    let out = cli.run(&["read", "-format=json", "kv1/foo"]).ok();
    let body = out.json();
    assert_eq!(body["data"]["p"], json!(["x", "y"]));
    assert_eq!(body["lease_duration"], json!(2764800));
    assert!(
        out.stdout.starts_with("{\n  \"request_id\": \""),
        "{}",
        out.stdout
    );
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        &keys[..6],
        [
            "request_id",
            "lease_id",
            "lease_duration",
            "renewable",
            "data",
            "warnings"
        ]
    );

    // Stdin: one value, or a whole JSON object.
    cli.run_stdin(&["write", "kv1/bar", "v=-"], "from stdin")
        .ok();
    assert_eq!(
        cli.run(&["read", "-field=v", "kv1/bar"]).ok().stdout,
        "from stdin"
    );
    cli.run_stdin(
        &["write", "kv1/baz", "-"],
        r#"{"n": 5, "nested": {"k": true}}"#,
    )
    .ok();
    assert_eq!(
        cli.run(&["read", "-field=nested", "kv1/baz"]).ok().stdout,
        "map[k:true]"
    );
    let out = cli
        .run(&["read", "-format=json", "-field=n", "kv1/baz"])
        .ok();
    assert_eq!(out.stdout, "5");

    let out = cli.run(&["list", "kv1"]).ok();
    assert_eq!(out.stdout, "Keys\n----\nbar\nbaz\nfoo\n");
    assert_eq!(
        cli.run(&["list", "-format=json", "kv1/"]).ok().json(),
        json!(["bar", "baz", "foo"])
    );
    let out = cli.run(&["delete", "kv1/foo"]).ok();
    assert_eq!(
        out.stdout,
        "Success! Data deleted (if it existed) at: kv1/foo\n"
    );
    let out = cli.run(&["read", "kv1/foo"]).code(2);
    assert_eq!(out.stderr, "No value found at kv1/foo\n");
    let out = cli.run(&["list", "kv1/nothing"]).code(2);
    assert_eq!(out.stderr, "No value found at kv1/nothing\n");

    // KV commands on a v1 mount use the plain paths.
    let out = cli.run(&["kv", "put", "kv1/app", "k=v"]).ok();
    assert_eq!(out.stdout, "Success! Data written to: kv1/app\n");
    let out = cli.run(&["kv", "get", "kv1/app"]).ok();
    assert_eq!(
        out.stdout,
        "== Data ==\nKey    Value\n---    -----\nk      v\n"
    );
    let out = cli
        .run(&["kv", "undelete", "-versions=1", "kv1/app"])
        .code(1);
    assert_eq!(out.stderr, "Undelete not supported on KV Version 1\n");

    let out = cli.run(&["write", "kv1/x"]).code(1);
    assert_eq!(out.stderr, "Must supply data or use -force\n");
    let out = cli.run(&["secrets", "disable", "kv1"]).ok();
    assert_eq!(
        out.stdout,
        "Success! Disabled the secrets engine (if it existed) at: kv1/\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_v2_commands() {
    let server = TestServer::dev().await.unwrap();
    let cli = Cli::new(&server);
    let out = cli
        .run(&["secrets", "enable", "-path=kv2", "-version=2", "kv"])
        .ok();
    assert_eq!(
        out.stdout,
        "Success! Enabled the kv secrets engine at: kv2/\n"
    );
    for mount in ["secret", "kv2"] {
        let out = cli
            .run(&["kv", "put", &format!("{mount}/app"), "password=s3cr3t"])
            .ok();
        let path = format!("{mount}/data/app");
        let header = if mount == "secret" {
            "= Secret Path ="
        } else {
            "== Secret Path =="
        };
        assert!(
            out.stdout.starts_with(&format!(
                "{header}\n{path}\n\n======= Metadata =======\nKey                Value\n---                -----\ncreated_time       "
            )),
            "{}",
            out.stdout
        );
        assert!(out.stdout.ends_with("custom_metadata    <nil>\ndeletion_time      n/a\ndestroyed          false\nversion            1\n"), "{}", out.stdout);
        assert_eq!(
            cli.run(&["kv", "get", "-field=password", &format!("{mount}/app")])
                .ok()
                .stdout,
            "s3cr3t"
        );
    }
    let out = cli.run(&["kv", "get", "secret/app"]).ok();
    assert!(
        out.stdout.ends_with(
            "\n\n====== Data ======\nKey         Value\n---         -----\npassword    s3cr3t\n"
        ),
        "{}",
        out.stdout
    );
    let out = cli
        .run(&["kv", "get", "-mount=secret", "-format=json", "app"])
        .ok();
    assert_eq!(out.json()["data"]["data"], json!({"password": "s3cr3t"}));

    cli.run(&["kv", "put", "-cas=1", "secret/app", "password=two"])
        .ok();
    let out = cli
        .run(&["kv", "put", "-cas=1", "secret/app", "password=three"])
        .code(2);
    assert!(out.stderr.starts_with(&format!(
        "Error writing data to secret/data/app: Error making API request.\n\nURL: PUT {}/v1/secret/data/app\nCode: 400. Errors:\n\n* check-and-set parameter did not match the current version",
        server.url()
    )), "{}", out.stderr);
    let out = cli.run(&["kv", "patch", "secret/app", "extra=1"]).ok();
    assert!(
        out.stdout.contains("version            3\n"),
        "{}",
        out.stdout
    );
    let out = cli.run(&["kv", "get", "-format=json", "secret/app"]).ok();
    assert_eq!(
        out.json()["data"]["data"],
        json!({"extra": "1", "password": "two"})
    );
    assert_eq!(
        cli.run(&["kv", "get", "-version=1", "-field=password", "secret/app"])
            .ok()
            .stdout,
        "s3cr3t"
    );

    cli.run(&["kv", "put", "secret/dir/leaf", "a=b"]).ok();
    assert_eq!(
        cli.run(&["kv", "list", "secret"]).ok().stdout,
        "Keys\n----\napp\ndir/\n"
    );
    assert_eq!(
        cli.run(&["kv", "list", "-mount=secret", "dir"]).ok().stdout,
        "Keys\n----\nleaf\n"
    );

    let out = cli.run(&["kv", "delete", "secret/app"]).ok();
    assert_eq!(
        out.stdout,
        "Success! Data deleted (if it existed) at: secret/data/app\n"
    );
    // A deleted version shows its metadata only, and exits 0.
    let out = cli.run(&["kv", "get", "secret/app"]).ok();
    assert!(!out.stdout.contains("Data ="), "{}", out.stdout);
    assert!(
        !out.stdout.contains("deletion_time      n/a"),
        "{}",
        out.stdout
    );
    let out = cli
        .run(&["kv", "undelete", "-versions=3", "secret/app"])
        .ok();
    assert_eq!(
        out.stdout,
        "Success! Data written to: secret/undelete/app\n"
    );
    cli.run(&["kv", "delete", "-versions=1,2", "secret/app"])
        .ok();
    let out = cli
        .run(&["kv", "destroy", "-versions=1", "secret/app"])
        .ok();
    assert_eq!(out.stdout, "Success! Data written to: secret/destroy/app\n");
    let out = cli.run(&["kv", "destroy", "secret/app"]).code(1);
    assert_eq!(
        out.stderr,
        "No versions provided, use the \"-versions\" flag to specify the version to destroy.\n"
    );

    let out = cli.run(&["kv", "metadata", "get", "secret/app"]).ok();
    assert!(out.stdout.starts_with("== Metadata Path ==\nsecret/metadata/app\n\n========== Metadata ==========\nKey                     Value\n"), "{}", out.stdout);
    assert!(
        out.stdout.contains("current_version         3\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("\n\n====== Version 1 ======\nKey              Value\n---              -----\ncreated_time     "), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("destroyed        true\n\n====== Version 2 ======"),
        "{}",
        out.stdout
    );

    let out = cli.run(&["kv", "get", "secret/missing"]).code(2);
    assert_eq!(out.stderr, "No value found at secret/data/missing\n");
    let out = cli.run(&["kv", "put", "secret/x"]).code(1);
    assert_eq!(out.stderr, "Must supply data\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_and_tokens() {
    let server = TestServer::dev().await.unwrap();
    let cli = Cli::new(&server);
    let file = cli.home.path().join("app.hcl");
    let rules = "path \"secret/data/app\" {\n  capabilities = [\"read\"]\n}\n";
    std::fs::write(&file, rules).unwrap();
    let out = cli
        .run(&["policy", "write", "App", file.to_str().unwrap()])
        .ok();
    assert_eq!(out.stdout, "Success! Uploaded policy: app\n");
    assert_eq!(
        out.stderr,
        "Policy name was converted from \"App\" to \"app\"\n"
    );
    cli.run_stdin(
        &["policy", "write", "other", "-"],
        "path \"x/*\" { capabilities = [\"list\"] }",
    )
    .ok();
    assert_eq!(
        cli.run(&["policy", "list"]).ok().stdout,
        "app\ndefault\nother\nroot\n"
    );
    assert_eq!(cli.run(&["policy", "read", "app"]).ok().stdout, rules);
    assert_eq!(
        cli.run(&["policy", "read", "-format=json", "app"])
            .ok()
            .json(),
        json!({"policy": rules})
    );
    let out = cli.run(&["policy", "read", "nope"]).code(2);
    assert_eq!(out.stderr, "No policy named: nope\n");
    assert_eq!(
        cli.run(&["policy", "delete", "other"]).ok().stdout,
        "Success! Deleted policy: other\n"
    );
    let out = cli
        .run(&["policy", "write", "x", "/nonexistent.hcl"])
        .code(2);
    assert_eq!(
        out.stderr,
        "Error opening policy file: open /nonexistent.hcl: no such file or directory\n"
    );

    let out = cli
        .run(&[
            "token",
            "create",
            "-policy=app",
            "-ttl=1h",
            "-display-name=ci",
            "-metadata=team=a",
        ])
        .ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "Key                  Value");
    assert_eq!(lines[1], "---                  -----");
    assert!(
        lines[2].starts_with("token                hvs."),
        "{}",
        out.stdout
    );
    assert_eq!(lines[4], "token_duration       1h");
    assert_eq!(lines[5], "token_renewable      true");
    assert_eq!(lines[6], "token_policies       [\"app\" \"default\"]");
    assert_eq!(lines[7], "identity_policies    []");
    assert_eq!(lines[8], "policies             [\"app\" \"default\"]");
    assert_eq!(lines[9], "token_meta_team      a");
    let token = cli
        .run(&["token", "create", "-policy=app", "-ttl=1h", "-field=token"])
        .ok()
        .stdout;
    let out = cli.run(&["token", "lookup", &token]).ok();
    assert!(
        out.stdout.contains("\ncreation_ttl        1h\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\nexplicit_max_ttl    0s\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\npolicies            [app default]\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\nmeta                <nil>\n"),
        "{}",
        out.stdout
    );
    let accessor = cli
        .run(&["token", "lookup", "-field=accessor", &token])
        .ok()
        .stdout;
    let out = cli
        .run(&["token", "lookup", "-accessor", "-format=json", &accessor])
        .ok();
    assert_eq!(out.json()["data"]["accessor"], json!(accessor));
    assert_eq!(
        cli.run(&["token", "capabilities", &token, "secret/data/app"])
            .ok()
            .stdout,
        "read\n"
    );
    assert_eq!(
        cli.run(&["token", "capabilities", "secret/data/app"])
            .ok()
            .stdout,
        "root\n"
    );
    let out = cli.run(&["token", "renew", "-increment=30m", &token]).ok();
    assert!(
        out.stdout.contains("\ntoken_duration       30m\n"),
        "{}",
        out.stdout
    );

    let mut as_token = Cli::new(&server);
    as_token.token = Some(token.clone());
    assert_eq!(
        as_token
            .run(&["token", "capabilities", "secret/data/app"])
            .ok()
            .stdout,
        "read\n"
    );
    let out = as_token.run(&["read", "sys/mounts"]).code(2);
    assert_eq!(
        out.stderr,
        format!(
            "Error reading sys/mounts: Error making API request.\n\nURL: GET {}/v1/sys/mounts\n\
             Code: 403. Errors:\n\n* 1 error occurred:\n\t* permission denied\n\n\n",
            server.url()
        )
    );
    let out = as_token.run(&["token", "lookup", "-format=json"]).ok();
    assert_eq!(out.json()["data"]["id"], json!(token));
    as_token.run(&["token", "renew"]).ok();

    assert_eq!(
        cli.run(&["token", "revoke", &token]).ok().stdout,
        "Success! Revoked token (if it existed)\n"
    );
    let out = as_token.run(&["token", "lookup"]).code(2);
    assert!(out.stderr.contains("Code: 403."), "{}", out.stderr);
    let child = cli.run(&["token", "create", "-field=token"]).ok().stdout;
    as_token.token = Some(child);
    as_token.run(&["token", "revoke", "-self"]).ok();
    as_token.run(&["token", "lookup"]).code(2);
    let out = cli.run(&["token", "revoke"]).code(1);
    assert_eq!(
        out.stderr,
        "Not enough arguments (expected 1 or -self, got 0)\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_stores_the_token_in_the_token_helper() {
    let server = TestServer::dev().await.unwrap();
    let mut cli = Cli::new(&server);
    let root = cli.token.take().unwrap();
    let out = cli.run(&["login", &root]).ok();
    assert_eq!(
        out.stdout,
        format!(
            "Success! You are now authenticated. The token information displayed below\n\
             is already stored in the token helper. You do NOT need to run \"warden login\"\n\
             again. Future Vault requests will automatically use this token.\n\n\
             Key                  Value\n---                  -----\ntoken                {root}\n\
             token_accessor       {}\ntoken_duration       ∞\ntoken_renewable      false\n\
             token_policies       [\"root\"]\nidentity_policies    []\npolicies             [\"root\"]\n",
            out.stdout
                .lines()
                .nth(7)
                .unwrap()
                .rsplit(' ')
                .next()
                .unwrap()
        )
    );
    let stored = std::fs::read_to_string(cli.home.path().join(".vault-token")).unwrap();
    assert_eq!(stored, root);
    // Later commands find the token through the helper.
    cli.run(&["kv", "put", "secret/a", "b=c"]).ok();

    let token = cli
        .run(&["token", "create", "-field=token", "-policy=default"])
        .ok()
        .stdout;
    let out = cli
        .run_stdin(
            &["login", "-no-store", "-field=token", "-"],
            &format!("{token}\n"),
        )
        .ok();
    assert_eq!(out.stdout, token);
    assert!(
        out.stderr
            .starts_with("The token was not stored in token helper."),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(cli.home.path().join(".vault-token")).unwrap(),
        root
    );
    let out = cli.run(&["login", "-token-only", &token]).ok();
    assert_eq!(out.stdout, token);

    let out = cli.run(&["login", "not-a-token"]).code(2);
    assert!(out.stderr.starts_with(&format!(
        "Error authenticating: error looking up token: Error making API request.\n\nURL: GET {}/v1/auth/token/lookup-self\nCode: 403.",
        server.url()
    )), "{}", out.stderr);
    let out = cli
        .run(&["login", "-method=userpass", "username=x"])
        .code(1);
    assert_eq!(
        out.stderr,
        "Unknown auth method: userpass. Use \"warden auth list\" to see the complete list\n\
         of auth methods. Additionally, some auth methods are only available via the\nHTTP API.\n"
    );
    let out = cli.run(&["login", "-method=kubernetes", "jwt=x"]).code(2);
    assert_eq!(
        out.stderr,
        "Error authenticating: 'role' must be supplied\n"
    );
    let out = cli
        .run(&["login", "-method=jwt", "-path=nowhere", "role=r", "jwt=x"])
        .code(2);
    assert!(out.stderr.starts_with(&format!(
        "Error authenticating: Error making API request.\n\nURL: PUT {}/v1/auth/nowhere/login\n",
        server.url()
    )), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_methods_and_audit_devices() {
    let server = TestServer::dev().await.unwrap();
    let cli = Cli::new(&server);
    let out = cli.run(&["auth", "list"]).ok();
    assert!(out.stdout.starts_with("Path      Type     Accessor               Description                Version\n----      ----     --------               -----------                -------\ntoken/    token    auth_token_"), "{}", out.stdout);
    assert!(
        out.stdout.ends_with("    token based credentials    n/a\n"),
        "{}",
        out.stdout
    );
    let out = cli.run(&["auth", "list", "-format=json"]).ok();
    assert_eq!(out.json()["token/"]["type"], json!("token"));
    let out = cli
        .run(&["auth", "enable", "-path=x", "no-such-method"])
        .code(2);
    assert!(out.stderr.starts_with(&format!(
        "Error enabling no-such-method auth: Error making API request.\n\nURL: POST {}/v1/sys/auth/x\nCode: 400. Errors:\n\n* ",
        server.url()
    )), "{}", out.stderr);
    let out = cli.run(&["auth", "disable", "nothing"]).ok();
    assert_eq!(
        out.stdout,
        "Success! Disabled the auth method (if it existed) at: nothing/\n"
    );
    let out = cli
        .run(&[
            "auth",
            "tune",
            "-default-lease-ttl=1h",
            "-description=tokens",
            "token",
        ])
        .ok();
    assert_eq!(out.stdout, "Success! Tuned the auth method at: token/\n");
    let out = cli.run(&["auth", "list", "-detailed"]).ok();
    assert!(
        out.stdout.contains("token/    token     auth_token_"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("    3600           system     default-service    replicated"),
        "{}",
        out.stdout
    );
    let out = cli
        .run(&["secrets", "tune", "-max-lease-ttl=2h", "secret"])
        .ok();
    assert_eq!(
        out.stdout,
        "Success! Tuned the secrets engine at: secret/\n"
    );

    // Audit devices: the table when the server has them, else the API's error.
    let log = cli.home.path().join("audit.log");
    let file_path = format!("file_path={}", log.display());
    let out = cli.run(&["audit", "enable", "-path=a1", "file", &file_path]);
    if out.code == 0 {
        assert_eq!(
            out.stdout,
            "Success! Enabled the file audit device at: a1/\n"
        );
        let out = cli.run(&["audit", "list"]).ok();
        assert!(
            out.stdout.starts_with(
                "Path    Type    Description\n----    ----    -----------\na1/     file    n/a\n"
            ),
            "{}",
            out.stdout
        );
        let out = cli.run(&["audit", "list", "-detailed"]).ok();
        assert!(
            out.stdout.contains(&format!("replicated     {file_path}")),
            "{}",
            out.stdout
        );
        let out = cli.run(&["audit", "disable", "a1"]).ok();
        assert_eq!(
            out.stdout,
            "Success! Disabled audit device (if it was enabled) at: a1/\n"
        );
        let out = cli.run(&["audit", "list"]).code(2);
        assert_eq!(out.stdout, "No audit devices are enabled.\n");
    } else {
        let out = out.code(2);
        assert!(
            out.stderr.starts_with(&format!(
                "Error enabling audit device: Error making API request.\n\nURL: PUT {}/v1/sys/audit/a1\n",
                server.url()
            )),
            "{}",
            out.stderr
        );
    }
    let out = cli.run(&["audit", "enable"]).code(1);
    assert_eq!(
        out.stderr,
        "Error enabling audit device: audit type missing. Valid types include 'file', 'socket' and 'syslog'.\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_and_transport_errors() {
    let server = TestServer::dev().await.unwrap();
    let cli = Cli::new(&server);
    assert_eq!(
        cli.run(&["read"]).code(1).stderr,
        "Not enough arguments (expected 1, got 0)\n"
    );
    assert_eq!(
        cli.run(&["list", "a", "b"]).code(1).stderr,
        "Too many arguments (expected 1, got 2)\n"
    );
    assert_eq!(
        cli.run(&["read", "-nope", "x"]).code(1).stderr,
        "flag provided but not defined: -nope\n"
    );
    assert_eq!(
        cli.run(&["read", "-format=xml", "x"]).code(1).stderr,
        "Invalid output format: xml\n"
    );
    assert_eq!(
        cli.run(&["write", "-format=raw", "x", "a=b"])
            .code(1)
            .stderr,
        "This command does not support the -format=raw option.\n"
    );
    let out = cli.run(&["write", "secret/x", "novalue"]).code(1);
    assert_eq!(
        out.stderr,
        "Failed to parse K=V data: invalid key/value pair \"novalue\": format must be key=value\n"
    );
    // Flags after the positional argument are not flags, as in Vault.
    let out = cli.run(&["kv", "get", "secret/x", "-field=a"]).code(1);
    assert_eq!(
        out.stderr,
        "Command flags must be provided before positional arguments. The following arguments \
         will not be parsed as flags: [--field=a]\nToo many arguments (expected 1, got 2)\n"
    );
    let out = cli.run(&["read", "-format=raw", "sys/mounts"]).ok();
    assert!(out.stdout.starts_with("{\""), "{}", out.stdout);
    cli.run(&["operator"]).code(1);

    let mut gone = Cli::new(&server);
    gone.addr = "http://127.0.0.1:1".into();
    let out = gone.run(&["read", "secret/x"]).code(2);
    assert_eq!(
        out.stderr,
        "Error reading secret/x: Get \"http://127.0.0.1:1/v1/secret/x\": dial tcp 127.0.0.1:1: connect: connection refused\n"
    );
    assert_eq!(gone.run(&["status"]).code, 1);
    let mut no_addr = Cli::new(&server);
    no_addr.addr = "not a url".into();
    no_addr.run(&["status"]).code(1);
}

/// The issue's seed commands, verbatim with `warden`, against the Kubernetes stand-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_commands_against_the_kubernetes_stand_in() {
    use warden_testkit::kube::{KubeOptions, KubeStandIn, TokenRequest};
    let kube = KubeStandIn::start(KubeOptions::default()).await.unwrap();
    kube.create_namespace("warden", &[]).unwrap();
    kube.create_service_account("warden", "reviewer").unwrap();
    kube.grant_auth_delegator("warden", "reviewer").unwrap();
    kube.create_service_account("default", "myapp").unwrap();
    kube.create_service_account("default", "default").unwrap();
    let reviewer = kube.mint(&TokenRequest::new("warden", "reviewer")).unwrap();
    let server = TestServer::dev().await.unwrap();
    let cli = Cli::new(&server);
    let ca = cli.home.path().join("ca.crt");
    std::fs::write(&ca, kube.ca_pem()).unwrap();
    let token_file = cli.home.path().join("token");
    let jwt = kube.mint(&TokenRequest::new("default", "myapp")).unwrap();
    std::fs::write(&token_file, &jwt).unwrap();

    let out = cli.run(&["auth", "enable", "kubernetes"]).ok();
    assert_eq!(
        out.stdout,
        "Success! Enabled kubernetes auth method at: kubernetes/\n"
    );
    let out = cli
        .run(&[
            "write",
            "auth/kubernetes/config",
            &format!("token_reviewer_jwt={reviewer}"),
            &format!("kubernetes_host={}", kube.url()),
            &format!("kubernetes_ca_cert=@{}", ca.display()),
        ])
        .ok();
    assert_eq!(
        out.stdout,
        "Success! Data written to: auth/kubernetes/config\n"
    );
    let out = cli
        .run(&[
            "read",
            "-field",
            "disable_iss_validation",
            "auth/kubernetes/config",
        ])
        .ok();
    assert_eq!(out.stdout, "true");
    cli.run(&[
        "write",
        "auth/kubernetes/role/demo",
        "bound_service_account_names=myapp",
        "bound_service_account_namespaces=default",
        "policies=default",
        "ttl=1h",
    ])
    .ok();
    let out = cli
        .run(&[
            "write",
            "auth/kubernetes/login",
            "role=demo",
            &format!("jwt={jwt}"),
        ])
        .ok();
    assert_eq!(
        row(&out.stdout, "token_duration"),
        Some("1h"),
        "{}",
        out.stdout
    );
    assert_eq!(row(&out.stdout, "token_policies"), Some("[\"default\"]"));
    assert_eq!(
        row(&out.stdout, "token_meta_service_account_name"),
        Some("myapp")
    );

    cli.run(&["auth", "enable", "jwt"]).ok();
    let keys = kube.pem_keys();
    let out = cli
        .run(&[
            "write",
            "auth/jwt/config",
            &format!("jwt_validation_pubkeys={}", keys.join(",")),
        ])
        .ok();
    assert_eq!(out.stdout, "Success! Data written to: auth/jwt/config\n");
    cli.run(&[
        "write",
        "auth/jwt/role/my-role",
        "role_type=jwt",
        "bound_audiences=vault",
        "user_claim=sub",
        "bound_subject=system:serviceaccount:default:default",
        "policies=default",
        "ttl=1h",
    ])
    .ok();
    let jwt_token = cli.home.path().join("jwt-token");
    let minted = kube
        .mint(&TokenRequest::new("default", "default").audience("vault"))
        .unwrap();
    std::fs::write(&jwt_token, minted).unwrap();
    let out = cli
        .run(&[
            "write",
            "auth/jwt/login",
            "role=my-role",
            &format!("jwt=@{}", jwt_token.display()),
        ])
        .ok();
    assert!(
        row(&out.stdout, "token").unwrap().starts_with("hvs."),
        "{}",
        out.stdout
    );

    let mut anonymous = Cli::new(&server);
    anonymous.token = None;
    let out = anonymous
        .run(&[
            "login",
            "-method=kubernetes",
            "role=demo",
            &format!("jwt=@{}", token_file.display()),
        ])
        .ok();
    assert!(
        out.stdout
            .starts_with("Success! You are now authenticated."),
        "{}",
        out.stdout
    );
    let stored = std::fs::read_to_string(anonymous.home.path().join(".vault-token")).unwrap();
    assert!(stored.starts_with("hvs."), "{stored}");

    cli.run(&["kv", "put", "secret/app", "password=s3cr3t"])
        .ok();
    let out = cli
        .run(&["kv", "get", "-field=password", "secret/app"])
        .ok();
    assert_eq!(out.stdout, "s3cr3t");
}
