//! The live channels on AWS, pushed rather than polled: an API Gateway
//! WebSocket API whose connections live in the table, and a fan-out from
//! the table's stream. The channels, messages and ids are the local
//! stack's (`GET /live`), so one client serves both.
//!
//! - [`socket`]: `$connect`, `$disconnect` and the `resume` message;
//! - [`fanout`]: committed events → the connections of their channels;
//! - [`push`]: the Management API adapter (`POST /@connections/{id}`).
//!
//! Two binaries share them: `live` serves the routes, `live-fanout` reads
//! the stream.

pub mod fanout;
pub mod push;
pub mod socket;

use std::sync::Arc;

use order_core::ports::SystemClock;
use order_core::store::DynamoStore;

/// What both binaries are built from: the table (`TABLE_NAME`, through the
/// service) and the WebSocket stage's Management API (`LIVE_ENDPOINT`).
pub struct Parts {
    pub service: Arc<order_core::service::OrderService>,
    pub table: Arc<DynamoStore>,
    pub push: Arc<push::ManagementApi>,
    pub clock: Arc<SystemClock>,
}

impl Parts {
    pub async fn from_env() -> Result<Parts, order_core::lambda::Error> {
        let endpoint = std::env::var("LIVE_ENDPOINT").map_err(|_| "LIVE_ENDPOINT is not set")?;
        let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
        let config = order_core::aws::sdk_config().await;
        let catalog = Arc::new(order_core::lifecycle::Catalog::presets());
        let table = Arc::new(order_core::lambda::table_store(&config, table, &catalog));
        Ok(Parts {
            service: order_core::lambda::service_over(table.clone(), catalog)?,
            table,
            push: Arc::new(push::ManagementApi::new(&config, &endpoint)),
            clock: Arc::new(SystemClock),
        })
    }

    pub fn socket(&self) -> socket::Socket {
        socket::Socket {
            service: self.service.clone(),
            connections: self.table.clone(),
            tickets: self.table.clone(),
            push: self.push.clone(),
            clock: self.clock.clone(),
        }
    }

    pub fn fanout(&self) -> fanout::Fanout {
        fanout::Fanout {
            service: self.service.clone(),
            connections: self.table.clone(),
            push: self.push.clone(),
            clock: self.clock.clone(),
        }
    }
}
