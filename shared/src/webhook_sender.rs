//! The HTTP adapter of `Post`: merchants' endpoints, reached at public
//! addresses only. Every name is resolved through a resolver that drops
//! addresses inside our network ([`merchant::address`]), at connect time,
//! so a name re-pointed after it was registered reaches nothing of ours;
//! redirects are not followed (one could lead anywhere), and each POST has
//! ten seconds.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::merchant::address;
use crate::ports::Post;

pub struct HttpPost {
    allow_loopback: bool,
    /// Built on the first delivery: building it loads the root
    /// certificates, which a cold start need not pay for.
    http: OnceLock<Result<reqwest::Client, String>>,
}

impl HttpPost {
    /// `allow_loopback`: the local stack's development flag.
    pub fn new(allow_loopback: bool) -> Self {
        HttpPost {
            allow_loopback,
            http: OnceLock::new(),
        }
    }

    fn http(&self) -> Result<&reqwest::Client, String> {
        self.http
            .get_or_init(|| {
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .connect_timeout(Duration::from_secs(5))
                    .redirect(reqwest::redirect::Policy::none())
                    .dns_resolver(Guarded {
                        allow_loopback: self.allow_loopback,
                    })
                    .user_agent(concat!(
                        "order-tracking-webhooks/",
                        env!("CARGO_PKG_VERSION")
                    ))
                    .build()
                    .map_err(|e| format!("webhook client: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// The system's resolver, minus what a delivery may not reach.
struct Guarded {
    allow_loopback: bool,
}

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| address::allowed(a.ip(), allow_loopback))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} resolves to no address a webhook may reach").into());
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

#[async_trait]
impl Post for HttpPost {
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<u16, String> {
        let mut request = self
            .http()?
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        match request.send().await {
            Ok(response) => Ok(response.status().as_u16()),
            Err(e) => Err(describe(&e)),
        }
    }
}

/// What went wrong, with its causes (reqwest's own text is "error sending
/// request" alone).
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
