//! This function's part of the OpenAPI document; the local stack merges
//! it with the others into one.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(crate::receive, crate::receive_legacy,))]
pub struct Api;
