//! Runs the real, prebuilt Lambda binaries the way Lambda does, for tests:
//! `cargo lambda watch --only-lambda-apis` serves the Lambda runtime API on a
//! loopback port, each binary polls it under its own function name, and
//! `cargo lambda invoke --data-file` sends it an event.
//!
//! With a function timeout ([`LambdaEmulator::with_timeout`]) an invocation
//! that runs longer fails as it would on AWS, and each invocation carries its
//! real deadline: `cargo lambda watch` stamps every invocation with a fixed
//! `Lambda-Runtime-Deadline-Ms` (600 000 ms after the epoch), so a relay
//! between the function and the emulator stamps "now + timeout" instead.

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
    timeout: Option<Duration>,
    children: Vec<Child>,
    relays: Vec<DeadlineRelay>,
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
        Self::launch(manifest, None)
    }

    /// Like [`start`](Self::start), for functions configured with `timeout`
    /// (whole seconds, as Lambda counts them): each invocation's context
    /// carries its deadline, and one that outlives it fails.
    ///
    /// # Panics
    /// As [`start`](Self::start).
    pub fn with_timeout(manifest: &Path, timeout: Duration) -> Self {
        Self::launch(manifest, Some(timeout))
    }

    fn launch(manifest: &Path, timeout: Option<Duration>) -> Self {
        let port = free_port();
        let mut watch = cargo_lambda();
        watch.args([
            "watch",
            "--only-lambda-apis",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
        ]);
        if let Some(timeout) = timeout {
            watch.args(["--timeout", &timeout.as_secs().to_string()]);
        }
        let watch = watch
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
            timeout,
            children: vec![watch],
            relays: Vec::new(),
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
        let port = match self.timeout {
            Some(timeout) => {
                let relay = DeadlineRelay::start(self.port, timeout);
                let port = relay.port;
                self.relays.push(relay);
                port
            }
            None => self.port,
        };
        let stdout = std::fs::File::create(self.stdout_path(name)).expect("a file for its stdout");
        let child = Command::new(binary)
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt/{name}"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .envs(env.iter().copied())
            .current_dir(self.manifest.parent().unwrap_or(Path::new(".")))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the function binary");
        self.children.push(child);
    }

    /// Where function `name` writes its standard output (its logs and its
    /// metric lines).
    fn stdout_path(&self, name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("lambda-{}-{name}.out", self.port))
    }

    /// What function `name` has written to its standard output so far.
    pub fn stdout(&self, name: &str) -> String {
        std::fs::read_to_string(self.stdout_path(name)).unwrap_or_default()
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
        // Functions first: one whose runtime API vanished under it panics.
        for child in self.children.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for relay in &mut self.relays {
            relay.stop();
        }
    }
}

/// Relays a function's runtime API calls to `cargo lambda watch`, stamping
/// each invocation it hands out with the deadline Lambda would give it.
/// Bodies are relayed whole: fine for tests, whose events and responses are
/// small.
struct DeadlineRelay {
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The runtime API's header with the invocation's deadline, in ms since the epoch.
const DEADLINE_HEADER: &str = "lambda-runtime-deadline-ms";

impl DeadlineRelay {
    fn start(upstream: u16, timeout: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let port = listener.local_addr().expect("a bound address").port();
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the relay");
            runtime.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                let client = reqwest::Client::new();
                let app = axum::Router::new()
                    .fallback(move |request| relay(client.clone(), upstream, timeout, request));
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        DeadlineRelay {
            port,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn relay(
    client: reqwest::Client,
    upstream: u16,
    timeout: Duration,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue, StatusCode};
    use axum::response::IntoResponse;

    // Both hops set their own framing.
    let hop_by_hop = [
        header::HOST,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
    ];
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut forward = client
        .request(
            parts.method.clone(),
            format!("http://127.0.0.1:{upstream}{path}"),
        )
        .body(body);
    for (name, value) in parts
        .headers
        .iter()
        .filter(|(n, _)| !hop_by_hop.contains(n))
    {
        forward = forward.header(name, value);
    }
    let answer = match forward.send().await {
        Ok(answer) => answer,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let status = answer.status();
    let mut headers = answer.headers().clone();
    for name in &hop_by_hop {
        headers.remove(name);
    }
    let Ok(body) = answer.bytes().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    // The clock starts when the function receives the event, as on AWS.
    if status == StatusCode::OK && parts.uri.path().ends_with("/runtime/invocation/next") {
        let deadline = std::time::SystemTime::now() + timeout;
        let millis = deadline
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        if let Ok(value) = HeaderValue::from_str(&millis.to_string()) {
            headers.insert(DEADLINE_HEADER, value);
        }
    }
    (status, headers, body).into_response()
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
    crate::store::DynamoStore::new(client, table, super::catalog())
}

/// A fresh KMS key on moto (`MOTO_ENDPOINT`, set by `scripts/test.sh`):
/// moto's endpoint, and the key's id.
#[cfg(feature = "aws")]
pub async fn moto_kms_key() -> (String, String) {
    let endpoint = std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is not set: run the tests with scripts/test.sh, which starts moto");
    let client = aws_sdk_kms::Client::new(&crate::aws::emulator_config(&endpoint).await);
    let made = client.create_key().send().await.expect("create a key");
    let key_id = made
        .key_metadata()
        .expect("its metadata")
        .key_id()
        .to_string();
    (endpoint, key_id)
}
