//! AWS SDK configuration, built once per container (outside any handler).

use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};

/// The standard chain (environment, Lambda role) used on AWS. Call it in
/// `main`, before the Lambda runtime starts: it may set `SSL_CERT_FILE`
/// ([`trust_the_ca_bundle`]), which is safe only while nothing else reads
/// the environment.
pub async fn sdk_config() -> SdkConfig {
    trust_the_ca_bundle();
    let loader = SdkBudget::from_env().apply(aws_config::defaults(BehaviorVersion::latest()));
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

/// How long the SDK may spend on one call and how often it tries, sized to
/// the function's own timeout: the SDK's defaults (no operation timeout,
/// three attempts) would let one slow DynamoDB call outlive the invocation,
/// which Lambda then kills without an answer. Retries are safe because every
/// commit carries a `ClientRequestToken` (see the DynamoDB adapter's
/// `commit`): a retried transaction whose first attempt went through is
/// recognised, not refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdkBudget {
    pub connect: Duration,
    /// One attempt, after which the SDK retries.
    pub attempt: Duration,
    /// Every attempt and back-off together.
    pub operation: Duration,
    pub attempts: u32,
}

impl SdkBudget {
    /// The budget of a function with `timeout`: half of it for one SDK call,
    /// so the handler still has time to answer (a 503 it chose, not a
    /// timeout) and to make its other call; an attempt gets a quarter, at
    /// most 3 s — DynamoDB answers in milliseconds, so an attempt that slow
    /// has lost its answer.
    pub fn for_function(timeout: Duration) -> SdkBudget {
        SdkBudget {
            connect: Duration::from_secs(1).min(timeout / 4),
            attempt: Duration::from_secs(3).min(timeout / 4),
            operation: timeout / 2,
            attempts: 4,
        }
    }

    /// From `FUNCTION_TIMEOUT_SECONDS`, which the template sets to each
    /// function's `Timeout` (Lambda tells a function its deadline only per
    /// invocation, after its clients exist); 10 s when unset.
    pub fn from_env() -> SdkBudget {
        let seconds = std::env::var("FUNCTION_TIMEOUT_SECONDS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|s| *s > 0)
            .unwrap_or(10);
        SdkBudget::for_function(Duration::from_secs(seconds))
    }

    pub fn apply(self, loader: ConfigLoader) -> ConfigLoader {
        loader
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(self.connect)
                    .operation_attempt_timeout(self.attempt)
                    .operation_timeout(self.operation)
                    .build(),
            )
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(self.attempts)
                    .with_initial_backoff(Duration::from_millis(25))
                    .with_max_backoff(self.attempt / 2),
            )
    }
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
    // Generous: an emulator on a loaded test machine can pause for seconds.
    let patient = SdkBudget {
        connect: Duration::from_secs(5),
        attempt: Duration::from_secs(30),
        operation: Duration::from_secs(60),
        attempts: 4,
    };
    emulator_config_within(endpoint, patient).await
}

/// [`emulator_config`] with another budget: the fault tests' short one.
pub async fn emulator_config_within(endpoint: &str, budget: SdkBudget) -> SdkConfig {
    budget
        .apply(aws_config::defaults(BehaviorVersion::latest()))
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "emulator",
        ))
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the function's timeout, an SDK call ends with time to
    /// spare for the answer, and an attempt leaves room for a retry.
    #[test]
    fn a_budget_fits_inside_its_function() {
        for seconds in [3, 10, 25, 30, 60, 900] {
            let timeout = Duration::from_secs(seconds);
            let budget = SdkBudget::for_function(timeout);
            assert!(budget.operation * 2 <= timeout, "{budget:?}");
            assert!(budget.attempt * 2 <= budget.operation, "{budget:?}");
            assert!(budget.connect <= budget.attempt, "{budget:?}");
        }
    }
}
