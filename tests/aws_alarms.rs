//! The alerts `template.yaml` deploys reach someone and watch what exists:
//! every function has an errors and a throttles alarm on the alerts topic,
//! and the rule that sends stalled orders there names detail-types and
//! fields the bus really carries.

use order_core::bus;
use order_core::order::{Event, EventBody, FlagKind};

const TEMPLATE: &str = include_str!("../template.yaml");

/// The template's resources, as (logical id, its lines).
fn resources() -> Vec<(String, String)> {
    let body = &TEMPLATE[TEMPLATE
        .find("\nResources:\n")
        .expect("a Resources section")..];
    let body = &body[..body.find("\nOutputs:\n").unwrap_or(body.len())];
    let mut resources: Vec<(String, String)> = Vec::new();
    for line in body.lines().skip(2) {
        let is_name = line.starts_with("  ") && !line.starts_with("   ") && line.ends_with(':');
        if is_name && !line.trim_start().starts_with('#') {
            resources.push((line.trim().trim_end_matches(':').to_string(), String::new()));
        } else if let Some((_, text)) = resources.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    resources
}

fn resource(name: &str) -> String {
    resources()
        .into_iter()
        .find(|(id, _)| id == name)
        .map(|(_, text)| text)
        .unwrap_or_else(|| panic!("template.yaml has no {name}"))
}

#[test]
fn every_function_alarms_on_errors_and_throttles_to_the_alerts_topic() {
    let functions: Vec<String> = resources()
        .into_iter()
        .filter(|(_, text)| text.contains("Type: AWS::Serverless::Function"))
        .map(|(id, _)| id)
        .collect();
    assert!(functions.len() >= 8, "{functions:?}");
    for function in &functions {
        for metric in ["Errors", "Throttles"] {
            let alarm = resource(&format!("{function}{metric}Alarm"));
            assert!(
                alarm.contains(&format!("MetricName: {metric}")),
                "{function}"
            );
            assert!(
                alarm.contains(&format!("Value: !Ref {function}")),
                "{function}"
            );
            assert!(alarm.contains("- !Ref AlertsTopic"), "{function} {metric}");
        }
    }
    for alarm in [
        "PublisherDeadLetterAlarm",
        "WebhookRejectionsAlarm",
        "CheckoutFunctionDurationAlarm",
        "OrdersFunctionDurationAlarm",
    ] {
        assert!(resource(alarm).contains("- !Ref AlertsTopic"), "{alarm}");
    }
}

fn flagged(flag: FlagKind) -> Event {
    Event {
        event_id: "evt_1".into(),
        order_id: "ord_1".into(),
        tenant: "acme".into(),
        store: "main".into(),
        public_id: "trk_1".into(),
        seq: 3,
        version: 3,
        occurred_at: chrono::Utc::now(),
        recorded_at: chrono::Utc::now(),
        source: "system".into(),
        actor: None,
        external_id: None,
        prev_hash: None,
        body: EventBody::FlagRaised {
            flag,
            reason: "no move in 45 minutes".into(),
            cause: None,
            level: 2,
            escalate_at: None,
        },
    }
}

#[test]
fn the_alerts_rule_names_detail_types_and_fields_the_bus_carries() {
    let rule = resource("OrderAlertsRule");
    let entries =
        [flagged(FlagKind::Stalled), flagged(FlagKind::NeedsReview)].map(|e| bus::entry(&e));
    for entry in &entries {
        assert!(
            rule.contains(&format!("- {}\n", entry.detail_type)),
            "{}",
            entry.detail_type
        );
    }
    // Every `$.detail.<field>` the message is made of is in those details.
    for path in rule.split("$.detail.").skip(1) {
        let field: String = path
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        for entry in &entries {
            assert!(
                !entry.detail[&field].is_null(),
                "{} has no {field}",
                entry.detail_type
            );
        }
    }
    assert!(rule.contains("Arn: !Ref AlertsTopic"));
}
