#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let service = order_core::lambda::service_from_env().await?;
    // The function URL is in response-streaming mode (live updates).
    lambda_http::run_with_streaming_response(order_core::lambda::app(tracking::router(service)))
        .await
}
