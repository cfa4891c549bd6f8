//! AWS SDK configuration, built once per container (outside any handler).

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// The standard chain (environment, Lambda role) used on AWS.
pub async fn sdk_config() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

/// Configuration for an emulator on loopback (DynamoDB Local, moto): fixed
/// region and dummy credentials, so nothing ever looks for real ones.
pub async fn emulator_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "emulator",
        ))
        .load()
        .await
}
