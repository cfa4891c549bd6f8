//! This function's part of the OpenAPI document; the local stack merges
//! it with the others into one.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(crate::place_order,))]
pub struct Api;
