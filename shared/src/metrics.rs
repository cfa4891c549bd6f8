//! Metrics as CloudWatch Embedded Metric Format: on Lambda a metric is one
//! JSON line on stdout, which CloudWatch Logs turns into data points — no
//! API call and no agent, nothing on a request's path but a write to the
//! log. Elsewhere (the local stack, tests) nothing is printed; the logs say
//! the same in words.
//!
//! Every metric is a count in the namespace `METRICS_NAMESPACE`
//! (`OrderTracking/<stage>` in the template), kept twice: by its kind (an
//! outcome, a reason, a level) and in total, which is what alarms watch.

use serde_json::json;

/// What is counted, and the dimension that tells its kinds apart.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Metric {
    /// Commands through the HTTP API, by outcome (`ok`, `conflict`, `illegal`, …).
    Commands,
    /// Verified provider facts, by where they landed (`applied`, `late`,
    /// `parked`, `conflict`, `duplicate`, `waiting`).
    Facts,
    /// Webhooks refused, by reason (`bad_signature`, `stale`, …).
    WebhookRejections,
    /// Stall and review flags the sweep raised, by escalation level.
    Stalls,
    /// Events the publisher could not hand to EventBridge.
    PublishFailures,
    /// Merchant webhook attempts, by outcome (`delivered`, `refused`,
    /// `unreachable`), and endpoints disabled (`endpoint_disabled`).
    MerchantDeliveries,
    /// Customer notifications decided, by outcome (`sent`, `suppressed`).
    Notifications,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Commands => "Commands",
            Metric::Facts => "Facts",
            Metric::WebhookRejections => "WebhookRejections",
            Metric::Stalls => "Stalls",
            Metric::PublishFailures => "PublishFailures",
            Metric::MerchantDeliveries => "MerchantDeliveries",
            Metric::Notifications => "Notifications",
        }
    }

    fn dimension(self) -> &'static str {
        match self {
            Metric::Commands => "Outcome",
            Metric::Facts => "Placement",
            Metric::WebhookRejections => "Reason",
            Metric::Stalls => "Level",
            Metric::PublishFailures => "Function",
            Metric::MerchantDeliveries | Metric::Notifications => "Outcome",
        }
    }
}

/// Counts `n` of `metric`'s `kind`, on Lambda; a no-op elsewhere.
pub fn count(metric: Metric, kind: &str, n: usize) {
    if n == 0 || std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_none() {
        return;
    }
    let namespace =
        std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| "OrderTracking".to_string());
    let now = chrono::Utc::now().timestamp_millis();
    println!("{}", line(&namespace, metric, kind, n, now));
}

/// The EMF line: the count under its kind, and with no dimension at all.
fn line(namespace: &str, metric: Metric, kind: &str, n: usize, at_millis: i64) -> String {
    let (name, dimension) = (metric.name(), metric.dimension());
    json!({
        "_aws": {
            "Timestamp": at_millis,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [[dimension], []],
                "Metrics": [{ "Name": name, "Unit": "Count" }],
            }],
        },
        dimension: kind,
        name: n,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_one_emf_line_by_kind_and_in_total() {
        let line = line(
            "OrderTracking/dev",
            Metric::WebhookRejections,
            "stale",
            2,
            1_700_000_000_000,
        );
        let emf: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(emf["WebhookRejections"], 2);
        assert_eq!(emf["Reason"], "stale");
        let directive = &emf["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "OrderTracking/dev");
        assert_eq!(directive["Dimensions"], json!([["Reason"], []]));
        assert_eq!(directive["Metrics"][0]["Name"], "WebhookRejections");
        assert_eq!(emf["_aws"]["Timestamp"], 1_700_000_000_000_i64);
    }
}
