//! Lifecycle versions for owners: which of the tenant's orders in flight
//! the newest version of a lifecycle can take (`GET`), and moving them onto
//! it (`POST`), all or none.

use axum::extract::State;
use axum::Json;
use order_core::auth::Principal;
use order_core::http::{ApiPath, Problem};
use order_core::service::MigrationReport;

use crate::App;

pub async fn check(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<MigrationReport>, Problem> {
    Ok(Json(
        service.migrate_lifecycle(&principal, &name, false).await?,
    ))
}

/// A 400 naming the stranded orders when the newest version has no place
/// for one of them; nothing moves then.
pub async fn migrate(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<MigrationReport>, Problem> {
    Ok(Json(
        service.migrate_lifecycle(&principal, &name, true).await?,
    ))
}
