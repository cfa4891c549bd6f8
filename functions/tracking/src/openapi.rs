//! This function's part of the OpenAPI document; the local stack merges
//! it with the others into one.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(
    crate::my_orders,
    crate::track,
    crate::answer_substitutions,
    crate::cancel,
    crate::choose_notifications,
    crate::stream,
    crate::page::tracking_page,
    crate::page::my_orders_page,
    crate::page::my_orders_script,
    crate::page::script,
    crate::page::stylesheet,
))]
pub struct Api;
