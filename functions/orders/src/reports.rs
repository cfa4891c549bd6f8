//! What managers look at: the SLA report, one span as its own figure
//! (confirmed → ready), and the stores a caller can choose between.

use axum::extract::State;
use axum::Json;
use order_core::auth::Principal;
use order_core::http::{ApiQuery, Problem};
use order_core::report::{GroupBy, PeriodQuery, SlaReport, SpanQuery, SpanReport};
use order_core::service::StoreEntry;
use serde::{Deserialize, Serialize};

use crate::App;

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct SlaParams {
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
    store: Option<String>,
    by: Option<GroupBy>,
}

/// Time in each stage, counts and amounts by status, acknowledgement and
/// delivery timeliness for orders placed in `[from, to)` (by default the
/// last 30 days), of one store when named, split `by` store, day, hour of
/// day or shift when asked.
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/admin/reports/sla",
        tag = "reports",
        summary = "Time in each state against the SLA, over a period",
        params(SlaParams),
        responses((status = 200, description = "The report", body = SlaReport)),
        security(("bearer" = [])),
    )
)]
pub async fn sla(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiQuery(params): ApiQuery<SlaParams>,
) -> Result<Json<SlaReport>, Problem> {
    let period = PeriodQuery {
        from: params.from,
        to: params.to,
    }
    .resolve(service.now());
    let store = params.store.filter(|s| !s.is_empty());
    Ok(Json(
        service.report(&principal, period, store, params.by).await?,
    ))
}

/// The time from one state to another on one lifecycle, overall and per
/// group.
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/admin/reports/span",
        tag = "reports",
        summary = "The time from one state to another on one lifecycle",
        params(SpanQuery),
        responses((status = 200, description = "The report", body = SpanReport)),
        security(("bearer" = [])),
    )
)]
pub async fn span(
    State(App { service, .. }): State<App>,
    principal: Principal,
    ApiQuery(query): ApiQuery<SpanQuery>,
) -> Result<Json<SpanReport>, Problem> {
    Ok(Json(service.span(&principal, query).await?))
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stores {
    stores: Vec<StoreEntry>,
    /// Whether the caller sees every store of the tenant (then a board may
    /// follow them all at once).
    all_stores: bool,
}

/// The tenant's stores this caller sees, for a board to filter by.
#[cfg_attr(
    feature = "openapi",
    utoipa::path(
        get,
        path = "/stores",
        tag = "orders",
        summary = "The tenant's stores the token sees",
        responses((status = 200, description = "The stores", body = Stores)),
        security(("bearer" = [])),
    )
)]
pub async fn stores(
    State(App { service, .. }): State<App>,
    principal: Principal,
) -> Result<Json<Stores>, Problem> {
    Ok(Json(Stores {
        stores: service.stores(&principal)?,
        all_stores: principal.stores.is_none(),
    }))
}
