use lambda_runtime::{service_fn, Error, LambdaEvent};
use order_core::publish::EventBridgePublisher;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let bus = std::env::var("EVENT_BUS_NAME").map_err(|_| "EVENT_BUS_NAME is not set")?;
    let config = order_core::aws::sdk_config().await;
    let publisher = EventBridgePublisher::new(aws_sdk_eventbridge::Client::new(&config), bus);
    let publisher = &publisher;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        Ok::<_, Error>(publisher::handle(publisher, event.payload).await)
    }))
    .await
}
