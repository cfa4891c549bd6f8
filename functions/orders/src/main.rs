#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let (service, tickets) = order_core::lambda::service_and_tickets_from_env().await?;
    // The board follows the WebSocket API (LIVE_URL) with a ticket. Its
    // fallback, the stream, is buffered by API Gateway: it answers what
    // changed within a short poll and ends (at the latest shortly before the
    // invocation's deadline); the board reconnects with Last-Event-ID.
    let live = order_core::lambda::live_from_env(std::time::Duration::from_secs(20));
    let app = orders::router(service, live.clone(), tickets).merge(orders::pages(live));
    lambda_http::run(order_core::lambda::app(app)).await
}
