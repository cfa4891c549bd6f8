//! A merchant's endpoint: where the tenant wants its events POSTed, which
//! ones, and the secret they are signed with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::bus;
use crate::order::decide::new_secret_id;
use crate::order::limits::InvalidField;

/// The longest URL an endpoint may have.
const MAX_URL: usize = 2048;
/// The most endpoints a tenant may register.
pub const MAX_ENDPOINTS: usize = 16;

/// What a tenant asks for: `events` are detail-types, or `["*"]` for all.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(example = json!({"url": "https://merchant.example/hooks/orders", "events": ["OrderPlaced", "OrderStatusChanged"]})))]
pub struct NewEndpoint {
    pub url: String,
    pub events: Vec<String>,
}

/// Which URLs a deployment accepts.
#[derive(Clone, Copy, Debug, Default)]
pub struct UrlPolicy {
    /// The local stack's development flag: `http://` and loopback
    /// addresses are accepted (never anything else inside the network).
    pub allow_loopback: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Endpoint {
    pub id: String,
    pub tenant: String,
    pub url: String,
    pub events: Vec<String>,
    /// The signing secret: shown once, when the endpoint is registered.
    pub secret: String,
    pub enabled: bool,
    /// Why deliveries stopped, once they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Endpoint {
    /// A new endpoint of `tenant`, if its URL and events are acceptable.
    pub fn register(
        tenant: &str,
        new: NewEndpoint,
        policy: UrlPolicy,
        now: DateTime<Utc>,
    ) -> Result<Endpoint, InvalidField> {
        check_url(&new.url, policy)?;
        let mut events = new.events;
        events.sort();
        events.dedup();
        let known = |e: &String| e == "*" || bus::DETAIL_TYPES.contains(&e.as_str());
        if events.is_empty()
            || !events.iter().all(known)
            || (events.len() > 1 && events.contains(&"*".to_string()))
        {
            return Err(InvalidField::new(
                "events",
                format!(
                    "must be [\"*\"] or detail-types among {}",
                    bus::DETAIL_TYPES.join(", ")
                ),
            ));
        }
        Ok(Endpoint {
            id: new_secret_id("we"),
            tenant: tenant.to_string(),
            url: new.url.trim().to_string(),
            events,
            secret: format!("whsec_{}", uuid::Uuid::new_v4().simple()),
            enabled: true,
            disabled_reason: None,
            created_at: now,
        })
    }

    /// Whether an event of `detail_type` goes to this endpoint now.
    pub fn wants(&self, detail_type: &str) -> bool {
        self.enabled && self.events.iter().any(|e| e == "*" || e == detail_type)
    }
}

/// An absolute `https:` URL without credentials (`http:` too where
/// loopback is allowed), whose host, if an address, is one a delivery may
/// reach; names are checked when a delivery connects.
fn check_url(url: &str, policy: UrlPolicy) -> Result<(), InvalidField> {
    let refuse = |why: &str| Err(InvalidField::new("url", why.to_string()));
    let url = url.trim();
    if url.chars().count() > MAX_URL {
        return refuse("is longer than 2,048 characters");
    }
    let Ok(parsed) = url::Url::parse(url) else {
        return refuse("is not an absolute URL");
    };
    match parsed.scheme() {
        "https" => {}
        "http" if policy.allow_loopback => {}
        _ => return refuse("must be https"),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return refuse("must not carry credentials");
    }
    let host = match parsed.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if !policy.allow_loopback && (name == "localhost" || name.ends_with(".localhost")) {
                return refuse("must not point inside our network");
            }
            return Ok(());
        }
        Some(url::Host::Ipv4(v4)) => std::net::IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => std::net::IpAddr::V6(v6),
        None => return refuse("has no host"),
    };
    if !super::address::allowed(host, policy.allow_loopback) {
        return refuse("must not point inside our network");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(url: &str, events: &[&str]) -> NewEndpoint {
        NewEndpoint {
            url: url.into(),
            events: events.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn an_endpoint_is_https_outside_our_network_with_known_events() {
        let now = Utc::now();
        let strict = UrlPolicy::default();
        let ok = Endpoint::register(
            "acme",
            new("https://shop.example.com/hooks", &["OrderStatusChanged"]),
            strict,
            now,
        )
        .unwrap();
        assert!(ok.id.starts_with("we_") && ok.secret.starts_with("whsec_"));
        assert!(ok.wants("OrderStatusChanged") && !ok.wants("NoteAdded"));
        let all = Endpoint::register(
            "acme",
            new("https://shop.example.com/", &["*"]),
            strict,
            now,
        )
        .unwrap();
        assert!(all.wants("NoteAdded"));

        for url in [
            "http://shop.example.com/",
            "https://user:pw@shop.example.com/",
            "ftp://x/",
            "/hooks",
            "https://localhost/",
            "https://127.0.0.1/",
            "https://10.0.0.5/",
            "https://[::1]/",
            "https://169.254.169.254/latest/meta-data/",
            "javascript:alert(1)",
        ] {
            let refused = Endpoint::register("acme", new(url, &["*"]), strict, now);
            assert!(refused.is_err(), "{url}");
        }
        for events in [&[][..], &["Nope"], &["*", "OrderPlaced"]] {
            assert!(
                Endpoint::register("acme", new("https://a.example/", events), strict, now).is_err()
            );
        }

        let dev = UrlPolicy {
            allow_loopback: true,
        };
        assert!(
            Endpoint::register("acme", new("http://127.0.0.1:9000/", &["*"]), dev, now).is_ok()
        );
        assert!(Endpoint::register("acme", new("http://10.0.0.5/", &["*"]), dev, now).is_err());
    }
}
