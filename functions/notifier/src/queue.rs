//! The notifier's queue on SQS: a retry or a collapse window is a message
//! delayed until it is due, at most 15 minutes at a time (SQS's longest
//! delay).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::Client;

use crate::Later;

/// The longest delay SQS gives a message.
pub const MAX_DELAY: Duration = Duration::from_secs(900);

pub struct Sqs {
    client: Client,
    queue_url: String,
}

impl Sqs {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Sqs {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl Later for Sqs {
    async fn later(&self, message: serde_json::Value, delay: Duration) -> Result<(), String> {
        let body = message.to_string();
        let seconds = delay.min(MAX_DELAY).as_secs_f64().ceil() as i32;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .delay_seconds(seconds)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| DisplayErrorContext(&e).to_string())
    }
}
