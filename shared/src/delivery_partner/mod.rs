//! The HTTP adapters of [`DeliveryPartner`]: a DoorDash Drive–shaped and an
//! Uber Direct–shaped API, and the connections each tenant has made to
//! them (`DELIVERY_PARTNERS` / `--delivery-partners`):
//!
//! ```json
//! {"acme": {
//!   "doordash": {"url": "https://openapi.doordash.com", "developer_id": "…", "key_id": "…", "signing_secret": "…"},
//!   "uber": {"url": "https://api.uber.com", "customer_id": "…", "token": "…"}}}
//! ```
//!
//! Each call is bounded (5 s): a partner that hangs must not hold up the
//! command that made the order ready.

mod doordash;
mod uber;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::ports::{DeliveryPartner, PartnerError, Partners};

pub use doordash::DoorDashDrive;
pub use uber::UberDirect;

/// How long one call to a partner may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "api", rename_all = "snake_case")]
enum Connection {
    Doordash(doordash::Credentials),
    Uber(uber::Credentials),
}

/// Every tenant's connected partners.
#[derive(Default)]
pub struct PartnerConnections {
    partners: HashMap<(String, String), Arc<dyn DeliveryPartner>>,
}

impl PartnerConnections {
    /// From the JSON above; a partner named `doordash…` speaks DoorDash
    /// Drive and one named `uber…` Uber Direct, unless `"api"` says.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let raw: HashMap<String, HashMap<String, serde_json::Value>> =
            serde_json::from_str(text).map_err(|e| format!("delivery partners: {e}"))?;
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .build()
            .map_err(|e| format!("delivery partners: {e}"))?;
        let mut partners: HashMap<(String, String), Arc<dyn DeliveryPartner>> = HashMap::new();
        for (tenant, connections) in raw {
            for (name, mut value) in connections {
                if value.get("api").is_none() {
                    let api = if name.starts_with("uber") {
                        "uber"
                    } else {
                        "doordash"
                    };
                    value["api"] = serde_json::json!(api);
                }
                let connection: Connection = serde_json::from_value(value)
                    .map_err(|e| format!("delivery partner {tenant}/{name}: {e}"))?;
                let partner: Arc<dyn DeliveryPartner> = match connection {
                    Connection::Doordash(c) => Arc::new(DoorDashDrive::new(http.clone(), c)),
                    Connection::Uber(c) => Arc::new(UberDirect::new(http.clone(), c)),
                };
                partners.insert((tenant.clone(), name), partner);
            }
        }
        Ok(PartnerConnections { partners })
    }
}

impl Partners for PartnerConnections {
    fn partner(&self, tenant: &str, name: &str) -> Option<Arc<dyn DeliveryPartner>> {
        self.partners
            .get(&(tenant.to_string(), name.to_string()))
            .cloned()
    }
}

/// A partner's answer to a call, as the port tells it: 2xx is fine, a
/// "no drivers" code (`codes`) in a refusal is worth retrying, any other
/// 4xx is a refusal, the rest is the partner being unavailable.
async fn answer(
    sent: Result<reqwest::Response, reqwest::Error>,
    no_drivers: &[&str],
) -> Result<serde_json::Value, PartnerError> {
    let response = sent.map_err(|e| PartnerError::Unavailable(e.to_string()))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if status.is_success() {
        return Ok(body);
    }
    let code = body["code"].as_str().unwrap_or_default().to_string();
    let message = body["message"].as_str().unwrap_or(&code).to_string();
    let why = format!("{status}: {message}");
    if no_drivers.contains(&code.as_str()) {
        Err(PartnerError::NoDrivers(why))
    } else if status.is_client_error() {
        Err(PartnerError::Refused(why))
    } else {
        Err(PartnerError::Unavailable(why))
    }
}
