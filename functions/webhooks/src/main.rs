#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let service = order_core::lambda::service_from_env().await?;
    let secrets = webhooks::Secrets::from_env()?;
    lambda_http::run(order_core::lambda::app(webhooks::router(service, secrets))).await
}
