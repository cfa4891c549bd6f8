//! The staff routes' part of the OpenAPI document; the local stack merges
//! it with the other functions' into one.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(
    crate::reads::list_orders,
    crate::reads::get_order,
    crate::reads::order_events,
    crate::audit::verify_order,
    crate::audit::verify_tenant,
    crate::erasure::erase_customer,
    crate::reads::feed,
    crate::transition,
    crate::add_tracking,
    crate::correct_tracking,
    crate::add_note,
    crate::resolve_flags,
    crate::settle_parked,
    crate::refetch,
    crate::health,
    crate::sweep,
    crate::board::stream,
    crate::board::ticket,
    crate::board::page,
    crate::board::script,
    crate::board::analytics,
    crate::board::stylesheet,
    crate::raised::open_issue,
    crate::raised::issue_step,
    crate::raised::propose_substitutions,
    crate::fleet::assign,
    crate::fleet::report,
    crate::lifecycles::check,
    crate::lifecycles::migrate,
    crate::reports::sla,
    crate::reports::span,
    crate::reports::stores,
    crate::endpoints::register,
    crate::endpoints::list,
    crate::endpoints::remove,
    crate::endpoints::enable,
    crate::endpoints::deliveries,
    crate::endpoints::redeliver,
),
    // Named by query parameters only, which utoipa does not follow.
    components(schemas(
        order_core::ports::PaymentFilter,
        order_core::report::GroupBy,
        order_core::order::decide::ParkedAction,
    ))
)]
pub struct Api;
