//! A small HTTP proxy on loopback that stands between an AWS SDK client and
//! an emulator and breaks chosen requests the ways a network and a service
//! break them: the response lost after the request was carried out, the
//! response held back past the client's timeout, or a throttling error
//! answered in the service's place.
//!
//! Only requests whose `X-Amz-Target` ends with the operation the proxy
//! was given are faulted, one fault per request from a queue; everything
//! else passes untouched. Each request goes upstream on its own connection
//! and each answer closes the client's, so no fault leaks into a pooled
//! connection.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What happens to the next matching request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Carried out upstream; the answer is thrown away and the connection
    /// closed, as when a response is lost on the way back.
    DropResponse,
    /// Carried out upstream; the answer is held for this long first.
    Delay(Duration),
    /// Never sent upstream; answered `400 ThrottlingException`.
    Throttle,
}

#[derive(Default)]
struct Script {
    faults: VecDeque<Fault>,
    /// Matching requests seen, faulted or not.
    seen: usize,
}

/// The running proxy; dropping it leaves the listener task to end with the
/// test's runtime.
pub struct FaultProxy {
    pub endpoint: String,
    operation: String,
    script: Arc<Mutex<Script>>,
}

impl FaultProxy {
    /// Listens on a free loopback port in front of `upstream` (`http://host:port`),
    /// faulting requests for `operation` (e.g. `TransactWriteItems`).
    pub async fn start(upstream: &str, operation: &str) -> FaultProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let script = Arc::new(Mutex::new(Script::default()));
        let proxy = FaultProxy {
            endpoint,
            operation: operation.to_string(),
            script: script.clone(),
        };
        let operation = proxy.operation.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, operation, script) =
                    (upstream.clone(), operation.clone(), script.clone());
                tokio::spawn(async move {
                    // A client that gave up mid-answer is what some faults are for.
                    let _ = serve(client, &upstream, &operation, &script).await;
                });
            }
        });
        proxy
    }

    /// Queues faults for the next matching requests, in order.
    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        self.script.lock().unwrap().faults.extend(faults);
    }

    /// Matching requests seen so far.
    pub fn seen(&self) -> usize {
        self.script.lock().unwrap().seen
    }

    /// Faults queued but not yet used.
    pub fn pending(&self) -> usize {
        self.script.lock().unwrap().faults.len()
    }
}

async fn serve(
    mut client: TcpStream,
    upstream: &str,
    operation: &str,
    script: &Mutex<Script>,
) -> std::io::Result<()> {
    let Some(request) = read_request(&mut client).await? else {
        return Ok(());
    };
    let fault = if target(&request).is_some_and(|t| t.ends_with(&format!(".{operation}"))) {
        let mut script = script.lock().unwrap();
        script.seen += 1;
        script.faults.pop_front()
    } else {
        None
    };
    if fault == Some(Fault::Throttle) {
        let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded (injected)"}"#;
        let answer = format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\nx-amzn-errortype: ThrottlingException\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        return client.write_all(answer.as_bytes()).await;
    }
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(&close_after(&request)).await?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).await?;
    match fault {
        Some(Fault::DropResponse) => Ok(()),
        Some(Fault::Delay(by)) => {
            tokio::time::sleep(by).await;
            client.write_all(&answer).await
        }
        _ => client.write_all(&answer).await,
    }
}

/// One request: its head up to the blank line, then `content-length` bytes.
async fn read_request(stream: &mut (impl AsyncRead + Unpin)) -> std::io::Result<Option<Vec<u8>>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = find(&buffer, b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let length = header(&buffer[..head_end], "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(buffer))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn header(head: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(head).lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_string())
    })
}

fn target(request: &[u8]) -> Option<String> {
    let end = find(request, b"\r\n\r\n")?;
    header(&request[..end], "x-amz-target")
}

/// The request with `connection: close`, so the upstream's answer ends
/// where its connection does.
fn close_after(request: &[u8]) -> Vec<u8> {
    let end = find(request, b"\r\n\r\n").unwrap_or(request.len());
    let head = String::from_utf8_lossy(&request[..end]);
    let mut out = String::new();
    for line in head.split("\r\n") {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&request[(end + 4).min(request.len())..]);
    bytes
}
