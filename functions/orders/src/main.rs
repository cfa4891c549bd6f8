#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let backends = order_core::lambda::backends_from_env().await?;
    // The board follows the WebSocket API (LIVE_URL) with a ticket. Its
    // fallback, the stream, is buffered by API Gateway: it answers what
    // changed within a short poll and ends (at the latest shortly before the
    // invocation's deadline); the board reconnects with Last-Event-ID.
    let live = order_core::lambda::live_from_env(std::time::Duration::from_secs(20));
    let parts = orders::Parts {
        live: live.clone(),
        tickets: backends.tickets,
        merchants: backends.merchants,
    };
    let app = orders::router(backends.service, parts).merge(orders::pages(live));
    lambda_http::run(order_core::lambda::app(app)).await
}
