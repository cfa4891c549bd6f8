//! Runs the real, prebuilt Lambda binaries the way Lambda does, for tests:
//! `cargo lambda watch --only-lambda-apis` serves the Lambda runtime API on a
//! loopback port, each binary polls it under its own function name, and
//! `cargo lambda invoke --data-file` sends it an event.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);

pub struct LambdaEmulator {
    port: u16,
    manifest: PathBuf,
    children: Vec<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// The status code of a request the runtime API refuses (so nothing queues).
fn probe(port: u16) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .write_all(
            b"GET /.rt/2020-08-15/logs HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )
        .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

fn cargo_lambda() -> Command {
    let mut command = Command::new("cargo-lambda");
    command.arg("lambda");
    command
}

impl LambdaEmulator {
    /// Starts the runtime API for the bin targets of `manifest`.
    ///
    /// # Panics
    /// If cargo-lambda is not on PATH (`scripts/test.sh` installs it) or the
    /// emulator does not come up.
    pub fn start(manifest: &Path) -> Self {
        let port = free_port();
        let watch = cargo_lambda()
            .args(["watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &port.to_string()])
            .arg("--manifest-path")
            .arg(manifest)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cargo-lambda is not on PATH: run the tests with scripts/test.sh, which installs it");
        let emulator = LambdaEmulator {
            port,
            manifest: manifest.to_path_buf(),
            children: vec![watch],
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while probe(port) != Some(405) {
            assert!(
                Instant::now() < deadline,
                "cargo lambda watch did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        emulator
    }

    /// Starts a function binary polling for events addressed to `name`.
    pub fn function(&mut self, name: &str, binary: &Path, env: &[(&str, &str)]) {
        let child = Command::new(binary)
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{}/.rt/{name}", self.port),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .envs(env.iter().copied())
            .current_dir(self.manifest.parent().unwrap_or(Path::new(".")))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the function binary");
        self.children.push(child);
    }

    /// Invokes `name` with the event in `data_file`; returns its response.
    pub fn invoke(&self, name: &str, data_file: &Path) -> Result<Value, String> {
        let mut child = cargo_lambda()
            .args([
                "invoke",
                name,
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
            ])
            .arg(self.port.to_string())
            .arg("--data-file")
            .arg(data_file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + INVOKE_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err(format!("invoking {name} timed out"));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut out = String::new();
        let mut err = String::new();
        child.stdout.take().map(|mut s| s.read_to_string(&mut out));
        child.stderr.take().map(|mut s| s.read_to_string(&mut err));
        if !status.success() {
            return Err(format!("invoke {name} failed: {err}"));
        }
        serde_json::from_str(out.trim()).map_err(|e| format!("{e}: {out}"))
    }
}

impl Drop for LambdaEmulator {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The JSON body of an HTTP function's response, and its status code.
pub fn http_response(response: &Value) -> (u64, Value) {
    let status = response["statusCode"].as_u64().unwrap_or_default();
    let body = response["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, body)
}

/// A fresh table on DynamoDB Local (`DYNAMODB_ENDPOINT`, set by
/// `scripts/test.sh`), and a store over it.
#[cfg(feature = "aws")]
pub async fn fresh_table() -> crate::store::DynamoStore {
    let endpoint = std::env::var("DYNAMODB_ENDPOINT")
        .expect("DYNAMODB_ENDPOINT is not set: run the tests with scripts/test.sh, which starts DynamoDB Local");
    let config = crate::aws::emulator_config(&endpoint).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = format!("orders-{}", uuid::Uuid::new_v4().simple());
    crate::store::DynamoStore::create_table(&client, &table)
        .await
        .expect("create table");
    crate::store::DynamoStore::new(client, table, crate::store::conformance::catalog())
}
