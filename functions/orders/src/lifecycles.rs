//! Lifecycle versions for owners: which of the tenant's orders in flight
//! the newest version of a lifecycle can take (`GET`), and moving them onto
//! it (`POST`), all or none.

use axum::extract::State;
use axum::Json;
use order_core::auth::Principal;
use order_core::http::{ApiPath, Problem};
use order_core::service::MigrationReport;

use crate::App;

#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/admin/lifecycles/{name}/migration",
        tag = "admin",
        summary = "What moving the lifecycle's orders onto its newest version would do (a dry run)",
        params(("name" = String, Path, description = "The lifecycle")),
        responses((status = 200, description = "The plan", body = MigrationReport)),
        security(("bearer" = [])),
    )
)]
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
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        post,
        path = "/admin/lifecycles/{name}/migration",
        tag = "admin",
        summary = "Move the lifecycle's orders onto its newest version (owners)",
        params(("name" = String, Path, description = "The lifecycle")),
        responses((status = 200, description = "What moved", body = MigrationReport),
        ),
        security(("bearer" = [])),
    )
)]
pub async fn migrate(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<MigrationReport>, Problem> {
    Ok(Json(
        service.migrate_lifecycle(&principal, &name, true).await?,
    ))
}
