//! The tracking page a customer opens: plain HTML, CSS and a little
//! JavaScript; it renders `/track/{id}` and re-renders on every message of
//! the live stream.

use axum::extract::Path;
use axum::response::Html;

pub async fn tracking_page(Path(public_id): Path<String>) -> Html<String> {
    // The id only ever reaches the page as data, never as markup.
    let id: String = public_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    Html(include_str!("tracking.html").replace("{{PUBLIC_ID}}", &id))
}
