//! The tracking page a customer opens: plain HTML, its stylesheet and its
//! script, served under the pages' Content-Security-Policy
//! ([`order_core::pages`]). The script renders `/track/{id}` and re-renders
//! on every message of the live channel.

use axum::extract::State;
use axum::response::Response;
use order_core::http::ApiPath;
use order_core::pages;

use crate::App;

/// The page follows the order over the WebSocket where there is one, and
/// over its SSE stream otherwise.
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/t/{public_id}",
        tag = "pages",
        summary = "The customer's tracking page",
        params(("public_id" = String, Path, description = "The order's public id, from the customer's link")),
        responses((status = 200, description = "text/html", content_type = "text/html", body = String)),
    )
)]
pub async fn tracking_page(
    State(app): State<App>,
    ApiPath(public_id): ApiPath<String>,
) -> Response {
    // The id only ever reaches the page as data (an attribute the script
    // reads), never as markup.
    let id: String = public_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(128)
        .collect();
    let html = include_str!("tracking.html").replace("{{PUBLIC_ID}}", &id);
    pages::live_page(&html, app.live.socket())
}

/// The customer's "my orders" page for a signed link (checked when the
/// page asks for the orders).
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/my/{link}",
        tag = "pages",
        summary = "The customer's \"my orders\" page",
        params(("link" = String, Path, description = "The signed link")),
        responses((status = 200, description = "text/html", content_type = "text/html", body = String)),
    )
)]
pub async fn my_orders_page(ApiPath(link): ApiPath<String>) -> Response {
    // Only the link's own characters reach the page, as data.
    let link: String = link
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
        .take(256)
        .collect();
    pages::html(include_str!("my.html").replace("{{LINK}}", &link))
}

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/my/app.js",
        tag = "pages",
        summary = "The \"my orders\" page's script",
        responses((status = 200, description = "text/javascript", content_type = "text/javascript", body = String)),
    )
)]
pub async fn my_orders_script() -> Response {
    pages::script(include_str!("my.js"))
}

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/t/app.js",
        tag = "pages",
        summary = "The tracking page's script",
        responses((status = 200, description = "text/javascript", content_type = "text/javascript", body = String)),
    )
)]
pub async fn script() -> Response {
    pages::script(include_str!("tracking.js"))
}

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/t/app.css",
        tag = "pages",
        summary = "The tracking page's stylesheet",
        responses((status = 200, description = "text/css", content_type = "text/css", body = String)),
    )
)]
pub async fn stylesheet() -> Response {
    pages::stylesheet(include_str!("tracking.css"))
}
