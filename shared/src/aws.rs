//! AWS SDK configuration, built once per container (outside any handler).

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// The standard chain (environment, Lambda role) used on AWS. Call it in
/// `main`, before the Lambda runtime starts: it may set `SSL_CERT_FILE`
/// ([`trust_the_ca_bundle`]), which is safe only while nothing else reads
/// the environment.
pub async fn sdk_config() -> SdkConfig {
    trust_the_ca_bundle();
    let loader = aws_config::defaults(BehaviorVersion::latest());
    // Lambda puts the function role's credentials in the environment, where
    // the default chain would look first anyway; naming that provider spares
    // building the rest of the chain (profile files, web identity, container
    // and instance metadata): 0.2 ms, 8% of a function's init.
    match std::env::var_os("AWS_ACCESS_KEY_ID") {
        Some(_) => loader.credentials_provider(EnvironmentVariableCredentialsProvider::new()),
        None => loader,
    }
    .load()
    .await
}

/// Points `SSL_CERT_FILE` at the system's CA bundle, unless it or
/// `SSL_CERT_DIR` is set already. Without it, building the SDK's HTTPS client
/// reads the bundle *and* every file of the certificate directory, which
/// holds the same certificates again: the largest part of a function's init.
/// With it, the bundle is read once, for every client in the process.
fn trust_the_ca_bundle() {
    if std::env::var_os("SSL_CERT_FILE").is_some() || std::env::var_os("SSL_CERT_DIR").is_some() {
        return;
    }
    if let Some(bundle) = openssl_probe::probe().cert_file {
        std::env::set_var("SSL_CERT_FILE", bundle);
    }
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
