//! DoorDash Drive (v2)–shaped: `POST /drive/v2/deliveries`,
//! `PUT /drive/v2/deliveries/{external_delivery_id}/cancel`,
//! `GET /drive/v2/deliveries/{external_delivery_id}`, authenticated with a
//! short-lived HS256 JWT (`dd-ver: DD-JWT-V1`) signed with the developer's
//! base64url signing secret. Our order id is the external delivery id.

use async_trait::async_trait;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

use super::answer;
use crate::ports::{Booked, DeliveryPartner, DispatchRequest, PartnerError};

/// DoorDash's code for a request no Dasher can take now.
const NO_DASHERS: &[&str] = &["no_available_dashers", "dasher_unavailable"];

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    url: String,
    developer_id: String,
    key_id: String,
    /// base64url, as DoorDash hands it out.
    signing_secret: String,
}

pub struct DoorDashDrive {
    http: reqwest::Client,
    credentials: Credentials,
}

impl DoorDashDrive {
    pub fn new(http: reqwest::Client, credentials: Credentials) -> Self {
        DoorDashDrive { http, credentials }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.credentials.url.trim_end_matches('/'))
    }

    /// DoorDash's JWT: HS256 over `{alg, typ, dd-ver}` and `{aud, iss,
    /// kid, exp, iat}`. Made here rather than with `jsonwebtoken`, whose
    /// header has no room for DoorDash's `dd-ver` field.
    fn token(&self) -> Result<String, PartnerError> {
        let c = &self.credentials;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let secret = b64
            .decode(c.signing_secret.trim_end_matches('='))
            .map_err(|e| PartnerError::Refused(format!("signing secret: {e}")))?;
        let now = chrono::Utc::now().timestamp();
        let header = json!({"alg": "HS256", "typ": "JWT", "dd-ver": "DD-JWT-V1"});
        let claims = json!({"aud": "doordash", "iss": c.developer_id, "kid": c.key_id,
                            "exp": now + 300, "iat": now});
        let input = format!(
            "{}.{}",
            b64.encode(header.to_string()),
            b64.encode(claims.to_string())
        );
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&secret).expect("HMAC takes a key of any length");
        mac.update(input.as_bytes());
        Ok(format!(
            "{input}.{}",
            b64.encode(mac.finalize().into_bytes())
        ))
    }
}

#[async_trait]
impl DeliveryPartner for DoorDashDrive {
    async fn create(&self, request: &DispatchRequest) -> Result<Booked, PartnerError> {
        let body = json!({
            "external_delivery_id": request.order_id,
            "pickup_address": request.pickup_address,
            "pickup_business_name": request.pickup_name,
            "pickup_phone_number": request.pickup_phone,
            "dropoff_address": request.dropoff_address,
            "dropoff_contact_given_name": request.dropoff_name,
            "dropoff_phone_number": request.dropoff_phone,
            "order_value": request.order_value,
            "currency": request.currency,
        });
        let sent = self
            .http
            .post(self.url("/drive/v2/deliveries"))
            .bearer_auth(self.token()?)
            .json(&body)
            .send()
            .await;
        let booked = answer(sent, NO_DASHERS).await?;
        Ok(Booked {
            delivery_id: booked["external_delivery_id"]
                .as_str()
                .unwrap_or(&request.order_id)
                .to_string(),
            tracking_url: booked["tracking_url"].as_str().map(str::to_string),
        })
    }

    async fn cancel(&self, delivery_id: &str) -> Result<(), PartnerError> {
        let path = format!("/drive/v2/deliveries/{delivery_id}/cancel");
        let sent = self
            .http
            .put(self.url(&path))
            .bearer_auth(self.token()?)
            .send()
            .await;
        answer(sent, &[]).await.map(|_| ())
    }

    async fn status(&self, delivery_id: &str) -> Result<String, PartnerError> {
        let path = format!("/drive/v2/deliveries/{delivery_id}");
        let sent = self
            .http
            .get(self.url(&path))
            .bearer_auth(self.token()?)
            .send()
            .await;
        let body = answer(sent, &[]).await?;
        Ok(body["delivery_status"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    }
}
