//! The HTTP adapter of `CarrierClient`: asks a tracking API for a package's
//! current status (`GET {base}/trackers/{carrier}/{code}`), the way staff
//! re-fetch a stalled shipment. The response uses the canonical statuses:
//! `{"status", "occurred_at", "message"?, "location"?, "tracking_url"?,
//! "estimated_delivery"?, "event_id"?}`; a 404 means the carrier does not
//! know the code. The answer is a provider fact like a webhook's: cut down
//! to size and its link dropped unless it is http(s)
//! ([`limits::bound_shipment_news`]).

use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::order::inbound::ShipmentNews;
use crate::order::limits;
use crate::order::ShipmentStatus;
use crate::ports::{CarrierClient, CarrierStatus};

pub struct HttpCarrierClient {
    base_url: String,
    /// Built on the first re-fetch: building it loads the system's root
    /// certificates, which would lengthen every Lambda cold start for a
    /// call most containers never make.
    http: OnceLock<Result<reqwest::Client, String>>,
}

impl HttpCarrierClient {
    pub fn new(base_url: impl Into<String>) -> Self {
        HttpCarrierClient {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            http: OnceLock::new(),
        }
    }

    fn http(&self) -> Result<&reqwest::Client, String> {
        self.http
            .get_or_init(|| {
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .map_err(|e| format!("carrier API client: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct Tracker {
    status: ShipmentStatus,
    occurred_at: DateTime<Utc>,
    #[serde(default)]
    raw_status: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    tracking_url: Option<String>,
    #[serde(default)]
    estimated_delivery: Option<DateTime<Utc>>,
    #[serde(default)]
    event_id: Option<String>,
}

#[async_trait]
impl CarrierClient for HttpCarrierClient {
    async fn track(&self, carrier: &str, code: &str) -> Result<Option<CarrierStatus>, String> {
        // Each value is one percent-encoded segment: a carrier named
        // `../admin` or a code with `?` stays inside `/trackers/`.
        let mut url = url::Url::parse(&self.base_url)
            .map_err(|e| format!("carrier API URL {}: {e}", self.base_url))?;
        url.path_segments_mut()
            .map_err(|()| format!("carrier API URL {} cannot take a path", self.base_url))?
            .pop_if_empty()
            .extend(["trackers", carrier, code]);
        let response = self
            .http()?
            .get(url.clone())
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(format!("{url}: {}", response.status()));
        }
        let tracker: Tracker = response.json().await.map_err(|e| format!("{url}: {e}"))?;
        let event_id = limits::bounded_id(
            &tracker
                .event_id
                .unwrap_or_else(|| format!("refetch:{code}:{}", tracker.occurred_at.timestamp())),
        );
        let mut news = ShipmentNews {
            tracking_code: code.to_string(),
            carrier: Some(carrier.to_string()),
            status: tracker.status,
            raw_status: tracker
                .raw_status
                .unwrap_or_else(|| format!("{:?}", tracker.status).to_lowercase()),
            message: tracker.message,
            location: tracker.location,
            tracking_url: tracker.tracking_url,
            estimated_delivery: tracker.estimated_delivery,
        };
        if let Some(dropped) = limits::bound_shipment_news(&mut news) {
            tracing::warn!(%event_id, field = dropped.field, scheme = %dropped.scheme, why = %dropped.why,
                "dropped a carrier link a page must not follow; the answer is kept");
        }
        Ok(Some(CarrierStatus {
            news,
            occurred_at: tracker.occurred_at,
            event_id,
        }))
    }
}
