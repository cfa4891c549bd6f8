//! Uber Direct–shaped: `POST /v1/customers/{customer_id}/deliveries`,
//! `POST …/deliveries/{id}/cancel`, `GET …/deliveries/{id}`, with the
//! OAuth bearer token of the connection. Our order id travels as
//! `external_id`; Uber's delivery id is its own.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use super::answer;
use crate::ports::{Booked, DeliveryPartner, DispatchRequest, PartnerError};

/// Uber's code for a request no courier can take now.
const NO_COURIERS: &[&str] = &["couriers_busy", "no_couriers_available"];

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    url: String,
    customer_id: String,
    token: String,
}

pub struct UberDirect {
    http: reqwest::Client,
    credentials: Credentials,
}

impl UberDirect {
    pub fn new(http: reqwest::Client, credentials: Credentials) -> Self {
        UberDirect { http, credentials }
    }

    fn url(&self, path: &str) -> String {
        let c = &self.credentials;
        format!(
            "{}/v1/customers/{}/deliveries{path}",
            c.url.trim_end_matches('/'),
            c.customer_id
        )
    }
}

#[async_trait]
impl DeliveryPartner for UberDirect {
    async fn create(&self, request: &DispatchRequest) -> Result<Booked, PartnerError> {
        let body = json!({
            "external_id": request.order_id,
            "pickup_name": request.pickup_name,
            "pickup_address": request.pickup_address,
            "pickup_phone_number": request.pickup_phone,
            "dropoff_name": request.dropoff_name,
            "dropoff_address": request.dropoff_address,
            "dropoff_phone_number": request.dropoff_phone,
            "manifest_total_value": request.order_value,
        });
        let sent = self
            .http
            .post(self.url(""))
            .bearer_auth(&self.credentials.token)
            .json(&body)
            .send()
            .await;
        let booked = answer(sent, NO_COURIERS).await?;
        let delivery_id = booked["id"]
            .as_str()
            .ok_or_else(|| PartnerError::Unavailable("no delivery id in Uber's answer".into()))?;
        Ok(Booked {
            delivery_id: delivery_id.to_string(),
            tracking_url: booked["tracking_url"].as_str().map(str::to_string),
        })
    }

    async fn cancel(&self, delivery_id: &str) -> Result<(), PartnerError> {
        let sent = self
            .http
            .post(self.url(&format!("/{delivery_id}/cancel")))
            .bearer_auth(&self.credentials.token)
            .send()
            .await;
        answer(sent, &[]).await.map(|_| ())
    }

    async fn status(&self, delivery_id: &str) -> Result<String, PartnerError> {
        let sent = self
            .http
            .get(self.url(&format!("/{delivery_id}")))
            .bearer_auth(&self.credentials.token)
            .send()
            .await;
        let body = answer(sent, &[]).await?;
        Ok(body["status"].as_str().unwrap_or_default().to_string())
    }
}
