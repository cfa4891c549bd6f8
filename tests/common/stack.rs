//! The local stack as a child process: the one way black-box tests and
//! benchmarks start it.
//!
//! Every caller runs the real `order-tracking` binary on a free loopback port
//! (`--addr 127.0.0.1:0`) and learns the address from the first line the
//! binary prints, so tests run in parallel without choosing ports. A stack is
//! in memory unless given a data directory, and ignores the developer's own
//! `ORDER_TRACKING_*` settings, so what a test sees depends only on what it
//! asked for.
//!
//! Test crates get this through `tests/common`; a benchmark includes this
//! file alone (`#[path = "../tests/common/stack.rs"] mod stack;`), because
//! Cargo builds each bench and each test as its own crate and
//! `CARGO_BIN_EXE_order-tracking` is only known to those crates, not to the
//! library.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use order_core::auth::{JwtKeys, Role};
use serde_json::Value;

/// How to start a stack. `Launch::default().start()` is an in-memory stack
/// with the default tenant policy that sweeps every 60 s.
#[derive(Default)]
pub struct Launch {
    args: Vec<String>,
    envs: Vec<(String, String)>,
    data_dir: Option<PathBuf>,
    tenants: Option<Value>,
    keep_logs: bool,
}

impl Launch {
    /// Extra command-line arguments (`--sweep-every 0`, `--carrier-api …`).
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// One environment variable (`WEBHOOK_SECRETS`, `RUST_LOG`).
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.envs.push((name.to_string(), value.to_string()));
        self
    }

    /// Keeps the store in `dir` (an SQLite file) instead of in memory, so a
    /// second stack started on the same directory finds the first one's data.
    pub fn data_dir(mut self, dir: &Path) -> Self {
        self.data_dir = Some(dir.to_path_buf());
        self
    }

    /// The tenant policy file's contents.
    pub fn tenants(mut self, policy: Value) -> Self {
        self.tenants = Some(policy);
        self
    }

    /// Collects what the stack logs, for `Server::interrupt` to return.
    /// Otherwise the logs are discarded.
    pub fn keep_logs(mut self) -> Self {
        self.keep_logs = true;
        self
    }

    /// Starts the binary and waits until it listens.
    ///
    /// Panics if it exits first: a test cannot go on without its stack.
    pub fn start(self) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_order-tracking"));
        cmd.args(["--addr", "127.0.0.1:0"]);
        match &self.data_dir {
            Some(dir) => cmd.arg("--data-dir").arg(dir),
            None => cmd.arg("--memory"),
        };
        cmd.args(&self.args)
            .env_remove("ORDER_TRACKING_JWT_SECRET")
            .env_remove("ORDER_TRACKING_TENANTS")
            .env_remove("ORDER_TRACKING_LIFECYCLES")
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if self.keep_logs {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let tenants = self.tenants.map(|policy| {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("tenants.json");
            std::fs::write(&path, policy.to_string()).expect("write tenants file");
            cmd.arg("--tenants").arg(&path);
            dir
        });
        let mut child = cmd.spawn().expect("start the order-tracking binary");
        // Read from the start, on a thread, so a chatty stack never blocks on
        // a full pipe while the test is busy elsewhere.
        let logs = child.stderr.take().map(|mut stderr| {
            std::thread::spawn(move || {
                let mut logs = String::new();
                let _ = stderr.read_to_string(&mut logs);
                logs
            })
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut first = String::new();
        let read = stdout.read_line(&mut first);
        let base = match read {
            Ok(n) if n > 0 => first
                .trim()
                .strip_prefix("listening on ")
                .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))
                .to_string(),
            _ => {
                let _ = child.kill();
                panic!("the stack exited before announcing its address: {read:?}");
            }
        };
        // The same for stdout, past the address line.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        Server {
            child,
            base,
            http: reqwest::Client::new(),
            logs,
            _tenants: tenants,
        }
    }
}

/// A running stack; the process is killed when this is dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub http: reqwest::Client,
    logs: Option<JoinHandle<String>>,
    _tenants: Option<tempfile::TempDir>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The process id, for reading the stack's memory use.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends Ctrl-C (SIGINT) and waits up to 20 s for the stack to stop.
    /// Returns whether it exited successfully and, with `Launch::keep_logs`,
    /// everything it logged.
    pub fn interrupt(mut self) -> (bool, String) {
        let pid = self.child.id().to_string();
        // `kill -INT` rather than a signal crate: one subprocess in a test
        // does not justify a dependency.
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill -INT");
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("the stack's status") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the stack did not stop on Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let logs = self
            .logs
            .take()
            .map(|logs| logs.join().expect("the log reader"))
            .unwrap_or_default();
        (status.success(), logs)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bearer token the stack accepts (signed with its development secret).
pub fn token_for(tenant: &str, role: Role, subject: &str) -> String {
    JwtKeys::hs256(order_tracking::DEV_JWT_SECRET.as_bytes()).mint(
        tenant,
        role,
        subject,
        chrono::Duration::hours(1),
    )
}
