//! Every staff route the README offers is routed by API Gateway in
//! `template.yaml`: one missing there works locally and is a 404 on AWS. The
//! customer's routes (`/track/…`, `/t/…`) and the webhooks need no route:
//! their functions' URLs serve every path; `/live` is the WebSocket API's;
//! `/openapi.json` is the local stack's alone.

use std::collections::BTreeSet;

/// Served whole by a function URL, not by the HTTP API.
const FUNCTION_URLS: [&str; 5] = ["/track/", "/t/", "/my/", "/my-orders/", "/webhooks/"];
/// The WebSocket API's one path (its stage).
const WEBSOCKET: &str = "/live";
/// Served by the local stack only: the API's description, not the API.
const LOCAL_ONLY: [&str; 1] = ["/openapi.json"];

/// `METHOD /path`, each `{parameter}` written `{}`: the README and the
/// template may name parameters differently.
fn route(method: &str, path: &str) -> String {
    let mut normalised = String::new();
    let mut in_parameter = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_parameter = true;
                normalised.push_str("{}");
            }
            '}' => in_parameter = false,
            c if !in_parameter => normalised.push(c),
            _ => {}
        }
    }
    format!("{method} {normalised}")
}

/// The routes in the first column of the tables of the README's "HTTP API"
/// and "Stalled orders and reconciliation" sections.
fn readme_routes() -> BTreeSet<String> {
    let readme = include_str!("../README.md");
    let mut routes = BTreeSet::new();
    for heading in [
        "\n## HTTP API\n",
        "\n## Stalled orders and reconciliation\n",
    ] {
        let start = readme.find(heading).expect("the README keeps its sections") + heading.len();
        let section = &readme[start..];
        let section = &section[..section.find("\n## ").unwrap_or(section.len())];
        let first_cells = section
            .lines()
            .filter_map(|line| line.strip_prefix('|')?.split('|').next());
        for cell in first_cells {
            for span in cell.split('`').skip(1).step_by(2) {
                let Some((method, path)) = span.split_once(' ') else {
                    continue;
                };
                let path = path.split('?').next().unwrap_or(path);
                let is_method = ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method);
                let elsewhere = path == WEBSOCKET
                    || LOCAL_ONLY.contains(&path)
                    || FUNCTION_URLS.iter().any(|p| path.starts_with(p));
                if is_method && !elsewhere {
                    routes.insert(route(method, path));
                }
            }
        }
    }
    routes
}

/// The `Method` and `Path` of every HttpApi event in the template.
fn template_routes() -> BTreeSet<String> {
    let template = include_str!("../template.yaml");
    let mut routes = BTreeSet::new();
    let mut method = None;
    for line in template.lines().map(str::trim) {
        if let Some(m) = line.strip_prefix("Method: ") {
            method = Some(m.trim());
        } else if let (Some(path), Some(m)) = (line.strip_prefix("Path: "), method.take()) {
            routes.insert(route(m, path.trim()));
        }
    }
    routes
}

#[test]
fn every_staff_route_in_the_readme_is_routed_by_api_gateway() {
    let offered = readme_routes();
    assert!(
        offered.contains("GET /orders/{}") && offered.contains("GET /admin/health"),
        "the README's route tables were not found: {offered:?}"
    );
    let routed = template_routes();
    let missing: Vec<&String> = offered.difference(&routed).collect();
    assert!(
        missing.is_empty(),
        "in the README but not in template.yaml (a 404 on AWS): {missing:?}"
    );
}

/// The resource block of `name` in the template: its lines up to the next
/// resource.
fn resource(template: &str, name: &str) -> String {
    let header = format!("  {name}:");
    let mut lines = template.lines().skip_while(|l| *l != header);
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("{name} is not in template.yaml"));
    let body = lines.take_while(|l| l.is_empty() || l.starts_with("   "));
    std::iter::once(first)
        .chain(body)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checkout keeps concurrency of its own, and what bursts (webhooks, live
/// updates) is capped; the staff API is throttled at its stage.
#[test]
fn live_updates_and_webhooks_cannot_starve_checkout() {
    let template = include_str!("../template.yaml");
    for (function, parameter) in [
        ("CheckoutFunction", "CheckoutConcurrency"),
        ("WebhooksFunction", "WebhooksConcurrency"),
        ("LiveFunction", "LiveConcurrency"),
        ("LiveFanoutFunction", "LiveConcurrency"),
    ] {
        let block = resource(template, function);
        assert!(
            block.contains(&format!(
                "ReservedConcurrentExecutions: !If [HasReservedConcurrency, !Ref {parameter}"
            )),
            "{function} has no reserved concurrency:\n{block}"
        );
    }
    let api = resource(template, "OrdersHttpApi");
    assert!(
        api.contains("ThrottlingRateLimit: !Ref ApiThrottleRate"),
        "{api}"
    );
    assert!(
        api.contains("ThrottlingBurstLimit: !Ref ApiThrottleBurst"),
        "{api}"
    );
}
