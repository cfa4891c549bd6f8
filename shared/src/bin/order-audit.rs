//! `order-audit`: every order's log in a DynamoDB table checked against its
//! hash chain and its head (README › Tamper-evident audit log), as after a
//! restore (README › Disaster recovery). The table is `TABLE_NAME`; the
//! endpoint and credentials are the SDK's usual ones (`AWS_ENDPOINT_URL`
//! for an emulator). Prints a line per tenant; exits 1 if any log is
//! broken, 2 if it could not check.

use std::process::ExitCode;
use std::sync::Arc;

use order_core::lifecycle::Catalog;
use order_core::ports::SystemClock;
use order_core::service::OrderService;

#[tokio::main]
async fn main() -> ExitCode {
    let Ok(table) = std::env::var("TABLE_NAME") else {
        eprintln!("set TABLE_NAME to the table to check");
        return ExitCode::from(2);
    };
    let catalog = Arc::new(Catalog::presets());
    let config = order_core::aws::sdk_config().await;
    let store = order_core::lambda::table_store(&config, table.clone(), &catalog);
    let service = OrderService::new(
        Arc::new(store),
        catalog,
        Arc::default(),
        Arc::new(SystemClock),
    );
    match service.verify_everything().await {
        Ok(reports) => {
            for report in &reports {
                println!("{report}");
            }
            let broken = reports.iter().filter(|r| !r.intact).count();
            println!(
                "{table}: {} tenants, {} orders, {broken} tenant(s) with a broken log",
                reports.len(),
                reports.iter().map(|r| r.orders).sum::<usize>()
            );
            if broken == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("{table}: {e}");
            ExitCode::from(2)
        }
    }
}
