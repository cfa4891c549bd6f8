#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let service = order_core::lambda::service_from_env().await?;
    // No shared feed on Lambda: the page uses the WebSocket API (LIVE_URL);
    // where it cannot, a stream polls the table and ends before the
    // function's timeout, and the browser reconnects with Last-Event-ID.
    let live = order_core::lambda::live_from_env(std::time::Duration::from_secs(50));
    let links = order_core::lambda::links_from_env();
    let app = order_core::lambda::app(tracking::router(service, live, links));
    // The function URL is in response-streaming mode (live updates).
    lambda_http::run_with_streaming_response(app).await
}
