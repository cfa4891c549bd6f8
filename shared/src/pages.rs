//! How the pages people open are served: the customer's tracking page and
//! the staff board.
//!
//! Each page is HTML with no inline script or style; its script and its
//! stylesheet are separate responses from the same origin. That lets the
//! page carry a Content-Security-Policy under which nothing runs but those
//! files: no inline script, no `javascript:` link, no injected `<script>`,
//! no framing. Text from providers and people is inserted as text by the
//! scripts anyway; the policy is what still holds if that ever slips.

use axum::body::Body;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::response::Response;

/// What a page may load and run: its own script, stylesheet and API
/// (`fetch` and the live streams), nothing inline, nothing from elsewhere.
pub const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
frame-ancestors 'none'";

/// A page: its HTML under the policy. The customer's page has the order's
/// public id in its address, so no link followed from it (a carrier's
/// tracking page) learns it from the `Referer`.
pub fn html(body: impl Into<Body>) -> Response {
    let mut response = with_type(body, "text/html; charset=utf-8");
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// A page that follows a live channel: `{{LIVE_URL}}` in its HTML becomes
/// where its WebSocket is (empty: none, the page uses SSE), and the policy
/// lets the page connect there. The URL is configuration, never input; it
/// is still kept to the characters a URL needs before it meets the markup.
pub fn live_page(template: &str, socket: Option<&str>) -> Response {
    let socket: String = socket
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || ":/.-_".contains(*c))
        .collect();
    let mut response = html(template.replace("{{LIVE_URL}}", &socket));
    // A relative URL is this origin, which 'self' covers (ws: included).
    let elsewhere = url::Url::parse(&socket)
        .ok()
        .filter(|url| matches!(url.scheme(), "ws" | "wss"))
        .map(|url| url.origin().ascii_serialization());
    if let Some(origin) = elsewhere {
        let policy = POLICY.replace(
            "connect-src 'self'",
            &format!("connect-src 'self' {origin}"),
        );
        if let Ok(value) = HeaderValue::from_str(&policy) {
            response
                .headers_mut()
                .insert(CONTENT_SECURITY_POLICY, value);
        }
    }
    response
}

/// A page's script.
pub fn script(body: &'static str) -> Response {
    with_type(body, "text/javascript; charset=utf-8")
}

/// A page's stylesheet.
pub fn stylesheet(body: &'static str) -> Response {
    with_type(body, "text/css; charset=utf-8")
}

fn with_type(body: impl Into<Body>, content_type: &'static str) -> Response {
    let mut response = Response::new(body.into());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // A new deployment's page and script must not meet an old cached half.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_no_inline_script_and_no_framing() {
        let page = html("<p>hi</p>");
        let policy = page.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(policy.contains("script-src 'self';"));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(!policy.contains("unsafe"));
        assert_eq!(page.headers()[REFERRER_POLICY], "no-referrer");
        let js = script("1");
        assert_eq!(js.headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert_eq!(js.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff");
    }

    #[test]
    fn a_live_page_may_connect_to_its_websocket_and_nowhere_else() {
        let template = r#"<main data-live="{{LIVE_URL}}">"#;
        let body = |page: Response| async move {
            let bytes = axum::body::to_bytes(page.into_body(), 1024).await.unwrap();
            String::from_utf8(bytes.to_vec()).unwrap()
        };
        let policy = |page: &Response| {
            page.headers()[CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .to_string()
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();

        let aws = live_page(
            template,
            Some("wss://abc.execute-api.ca-central-1.amazonaws.com/live"),
        );
        assert!(policy(&aws)
            .contains("connect-src 'self' wss://abc.execute-api.ca-central-1.amazonaws.com;"));
        let html = rt.block_on(body(aws));
        assert_eq!(
            html,
            r#"<main data-live="wss://abc.execute-api.ca-central-1.amazonaws.com/live">"#
        );

        let local = live_page(template, Some("/live"));
        assert_eq!(policy(&local), POLICY);
        assert_eq!(rt.block_on(body(local)), r#"<main data-live="/live">"#);

        let forged = live_page(template, Some("/live\"><script>"));
        assert_eq!(
            rt.block_on(body(forged)),
            r#"<main data-live="/livescript">"#
        );
        assert_eq!(
            rt.block_on(body(live_page(template, None))),
            r#"<main data-live="">"#
        );
    }
}
