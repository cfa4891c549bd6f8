//! The `Push` port over API Gateway's Management API: `POST
//! /@connections/{id}` sends a message, `410 Gone` means the client has
//! left. Each attempt and each send has a short timeout, so one slow
//! connection costs the fan-out a bounded wait in one of its slots, never
//! the other connections' messages.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::config::http::HttpResponse;
use aws_sdk_apigatewaymanagement::config::timeout::TimeoutConfig;
use aws_sdk_apigatewaymanagement::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_apigatewaymanagement::Client;
use order_core::ports::{Push, PushError};

/// How long one attempt may take (API Gateway answers in milliseconds).
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1000);
/// How long a send may take, retries included.
const SEND_TIMEOUT: Duration = Duration::from_millis(2500);

pub struct ManagementApi {
    client: Client,
}

impl ManagementApi {
    /// The Management API of the WebSocket stage at `endpoint`
    /// (`https://<api id>.execute-api.<region>.amazonaws.com/<stage>`).
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: &str) -> Self {
        let timeouts = TimeoutConfig::builder()
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(SEND_TIMEOUT)
            .build();
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk)
            .endpoint_url(endpoint)
            .timeout_config(timeouts)
            .build();
        ManagementApi {
            client: Client::from_conf(config),
        }
    }
}

/// `410 Gone`, however the SDK reads it.
fn is_gone<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    match error {
        SdkError::ServiceError(e) => {
            e.err().code() == Some("GoneException") || e.raw().status().as_u16() == 410
        }
        _ => false,
    }
}

#[async_trait]
impl Push for ManagementApi {
    async fn send(&self, connection_id: &str, message: &[u8]) -> Result<(), PushError> {
        let sent = self
            .client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(message))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) if is_gone(&e) => Err(PushError::Gone),
            Err(e) => Err(PushError::Failed(DisplayErrorContext(&e).to_string())),
        }
    }

    async fn disconnect(&self, connection_id: &str) -> Result<(), PushError> {
        match self
            .client
            .delete_connection()
            .connection_id(connection_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_gone(&e) => Err(PushError::Gone),
            Err(e) => Err(PushError::Failed(DisplayErrorContext(&e).to_string())),
        }
    }
}
