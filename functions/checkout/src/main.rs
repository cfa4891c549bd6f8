#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let service = order_core::lambda::service_from_env().await?;
    lambda_http::run(order_core::lambda::app(checkout::router(service))).await
}
