//! Rate limits of the local stack (README › Rate limits): token buckets per
//! client address and per tenant, from `--rate-limits <file>`, answered
//! `429` problem+json with `Retry-After`. On AWS the HTTP APIs' stage
//! throttling and the functions' reserved concurrency do this job.
//!
//! The buckets are `governor`'s (GCRA, the token bucket's exact form): a
//! rate per second refilling a burst. A request is counted against its
//! client address — the peer the connection came from, since nothing sits in
//! front of the local stack to vouch for a forwarded one — and, when it has
//! one, its tenant: the verified token's, or the one a webhook URL names.
//! A rule for a route (its method and path prefix) replaces the default
//! buckets for the requests it matches, so checkout can be held tighter
//! than reads.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use order_core::auth::Principal;
use order_core::http::Problem;
use serde::Deserialize;

/// A bucket: `per_second` sustained, up to `burst` at once.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub per_second: NonZeroU32,
    pub burst: Option<NonZeroU32>,
}

impl Rate {
    fn limiter(self) -> DefaultKeyedRateLimiter<String> {
        let quota =
            Quota::per_second(self.per_second).allow_burst(self.burst.unwrap_or(self.per_second));
        RateLimiter::keyed(quota)
    }
}

/// What `--rate-limits` names, e.g.
/// `{"per_address": {"per_second": 20, "burst": 40}, "per_tenant": {"per_second": 200},
///   "routes": [{"method": "POST", "path": "/orders", "per_address": {"per_second": 2}}]}`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub per_address: Option<Rate>,
    pub per_tenant: Option<Rate>,
    #[serde(default)]
    pub routes: Vec<RouteRule>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// Any method when absent.
    #[serde(default, with = "method")]
    pub method: Option<Method>,
    /// A path (`/orders`), or every path under one (`/orders/*`).
    pub path: String,
    pub per_address: Option<Rate>,
    pub per_tenant: Option<Rate>,
}

mod method {
    use axum::http::Method;
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Method>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|m| {
            m.to_ascii_uppercase()
                .parse()
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

impl RateLimitConfig {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// One set of buckets: the defaults, or a route's.
struct Buckets {
    per_address: Option<DefaultKeyedRateLimiter<String>>,
    per_tenant: Option<DefaultKeyedRateLimiter<String>>,
}

impl Buckets {
    fn new(per_address: Option<Rate>, per_tenant: Option<Rate>) -> Self {
        Buckets {
            per_address: per_address.map(Rate::limiter),
            per_tenant: per_tenant.map(Rate::limiter),
        }
    }
}

/// The limits in force: shared by every request, checked before any
/// handler runs.
pub struct RateLimits {
    defaults: Buckets,
    routes: Vec<(Option<Method>, String, Buckets)>,
}

impl RateLimits {
    pub fn new(config: &RateLimitConfig) -> Arc<Self> {
        let routes = config
            .routes
            .iter()
            .map(|r| {
                let buckets = Buckets::new(r.per_address, r.per_tenant);
                (r.method.clone(), r.path.clone(), buckets)
            })
            .collect();
        Arc::new(RateLimits {
            defaults: Buckets::new(config.per_address, config.per_tenant),
            routes,
        })
    }

    /// The most specific rule for the request: its exact path, else the
    /// longest prefix (`/*`) that holds it.
    fn buckets(&self, method: &Method, path: &str) -> &Buckets {
        self.routes
            .iter()
            .filter(|(m, _, _)| m.as_ref().is_none_or(|m| m == method))
            .filter_map(|(_, rule, buckets)| {
                let rank = match rule.strip_suffix("/*") {
                    Some(prefix) => path
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('/'))
                        .then_some(prefix.len()),
                    None => (path == rule).then_some(usize::MAX),
                };
                rank.map(|rank| (rank, buckets))
            })
            .max_by_key(|(rank, _)| *rank)
            .map_or(&self.defaults, |(_, buckets)| buckets)
    }

    /// Forgets buckets that have refilled, so addresses seen once do not
    /// stay in memory; the sweep's timer calls it.
    pub fn forget_idle(&self) {
        for buckets in std::iter::once(&self.defaults).chain(self.routes.iter().map(|r| &r.2)) {
            for limiter in [&buckets.per_address, &buckets.per_tenant]
                .into_iter()
                .flatten()
            {
                limiter.retain_recent();
            }
        }
    }
}

/// Middleware, outermost: counts the request against its address and,
/// for a webhook, the tenant its URL names.
pub async fn limit_address(
    State(limits): State<Arc<RateLimits>>,
    request: Request,
    next: Next,
) -> Response {
    let buckets = limits.buckets(request.method(), request.uri().path());
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip().to_string());
    let webhook_tenant = request
        .uri()
        .path()
        .strip_prefix("/webhooks/")
        .and_then(|rest| rest.split('/').next())
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let checks = [
        (&buckets.per_address, address, "this address"),
        (&buckets.per_tenant, webhook_tenant, "this tenant"),
    ];
    match refused(checks) {
        Some(response) => response,
        None => next.run(request).await,
    }
}

/// Middleware, inside the bearer check: counts the request against the
/// verified token's tenant.
pub async fn limit_tenant(
    State(limits): State<Arc<RateLimits>>,
    request: Request,
    next: Next,
) -> Response {
    let buckets = limits.buckets(request.method(), request.uri().path());
    let tenant = request
        .extensions()
        .get::<Principal>()
        .map(|p| p.tenant.clone());
    match refused([(&buckets.per_tenant, tenant, "this tenant")]) {
        Some(response) => response,
        None => next.run(request).await,
    }
}

/// The 429 of the first bucket that is empty, if one is.
fn refused<'a>(
    checks: impl IntoIterator<
        Item = (
            &'a Option<DefaultKeyedRateLimiter<String>>,
            Option<String>,
            &'a str,
        ),
    >,
) -> Option<Response> {
    for (limiter, key, whose) in checks {
        let (Some(limiter), Some(key)) = (limiter, key) else {
            continue;
        };
        if let Err(not_until) = limiter.check_key(&key) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Some(too_many(whose, wait.as_secs_f64().ceil().max(1.0) as u64));
        }
    }
    None
}

fn too_many(whose: &str, retry_after: u64) -> Response {
    let detail = format!("too many requests from {whose}; retry after {retry_after} s");
    let mut response =
        Problem::new(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests", detail).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: serde_json::Value) -> Arc<RateLimits> {
        RateLimits::new(&serde_json::from_value(json).unwrap())
    }

    #[test]
    fn an_exact_path_beats_a_prefix_and_a_prefix_holds_whole_segments() {
        let limits = config(serde_json::json!({
            "per_address": {"per_second": 100},
            "routes": [
                {"method": "post", "path": "/orders", "per_address": {"per_second": 1}},
                {"path": "/orders/*", "per_tenant": {"per_second": 5}},
            ]
        }));
        let rule = |m: Method, p: &str| limits.buckets(&m, p) as *const Buckets;
        let (checkout, under) = (
            &limits.routes[0].2 as *const _,
            &limits.routes[1].2 as *const _,
        );
        let defaults = &limits.defaults as *const Buckets;
        assert_eq!(rule(Method::POST, "/orders"), checkout);
        assert_eq!(rule(Method::POST, "/orders/ord_1/transitions"), under);
        assert_eq!(rule(Method::GET, "/orders"), defaults);
        assert_eq!(rule(Method::GET, "/ordersx/1"), defaults);
        assert_eq!(rule(Method::GET, "/track/trk_1"), defaults);
    }

    #[test]
    fn an_unknown_setting_or_a_zero_rate_is_refused() {
        for bad in [
            serde_json::json!({"per_adress": {"per_second": 1}}),
            serde_json::json!({"per_address": {"per_second": 0}}),
            serde_json::json!({"routes": [{"method": "NOT A METHOD", "path": "/"}]}),
        ] {
            assert!(serde_json::from_value::<RateLimitConfig>(bad).is_err());
        }
    }
}
