//! The HTTP edge shared by every function: RFC 9457 problem responses, body,
//! query and path extractors whose rejections are problems too (axum's own
//! answer in plain text, so `clippy.toml` keeps its `Path` and `Query` out of
//! handlers), and the bearer token layer the local stack puts in front of
//! the staff routes.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use crate::auth::{AuthError, Forbidden, JwtKeys, Principal};
use crate::order::decide::Rejection;
use crate::ports::StoreError;
use crate::service::ServiceError;

/// An `application/problem+json` response.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub title: String,
    pub detail: String,
    pub extensions: Map<String, Value>,
}

impl Problem {
    pub fn new(status: StatusCode, title: &str, detail: impl Into<String>) -> Self {
        Problem {
            status,
            title: title.to_string(),
            detail: detail.into(),
            extensions: Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl serde::Serialize) -> Self {
        self.extensions.insert(
            key.to_string(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
        self
    }

    pub fn not_found() -> Self {
        Problem::new(StatusCode::NOT_FOUND, "Not found", "no such resource")
    }

    fn slug(&self) -> String {
        self.title.to_ascii_lowercase().replace(' ', "-")
    }
}

impl Problem {
    /// The `application/problem+json` document.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "type": format!("https://order-tracking.dev/problems/{}", self.slug()),
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Value::Object(map) = &mut body {
            map.extend(self.extensions.clone());
        }
        body
    }
}

/// The document's shape, for the OpenAPI description: the members every
/// problem has and the extensions some carry.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Problem {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
        let text = |description: &str| {
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::String))
                .description(Some(description))
        };
        let number = |description: &str| {
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::Integer))
                .minimum(Some(0))
                .description(Some(description))
        };
        ObjectBuilder::new()
            .description(Some(
                "An RFC 9457 problem document (`application/problem+json`).",
            ))
            .property(
                "type",
                text("A URI naming the kind of problem")
                    .format(Some(utoipa::openapi::SchemaFormat::Custom("uri".into()))),
            )
            .property("title", text("The kind of problem, for people"))
            .property("status", number("The HTTP status code"))
            .property("detail", text("This occurrence, for people"))
            .property(
                "current_status",
                text("409 and 422: the order's (or issue's) status now"),
            )
            .property(
                "current_version",
                number("409 and 422: the order's version now"),
            )
            .property(
                "allowed_actions",
                ArrayBuilder::new()
                    .items(<crate::order::decide::NextAction as utoipa::PartialSchema>::schema())
                    .description(Some("422: what the order may do next")),
            )
            .required("type")
            .required("title")
            .required("status")
            .required("detail")
            .examples([json!({
                "type": "https://order-tracking.dev/problems/illegal-transition",
                "title": "Illegal transition",
                "status": 422,
                "detail": "cannot go from pending_payment to shipped",
                "current_status": "pending_payment",
                "current_version": 1,
                "allowed_actions": [{"to": "paid", "label": "Paid"}, {"to": "canceled", "label": "Canceled"}]
            })])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Problem {}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Self {
        let detail = e.to_string();
        match e {
            ServiceError::NotFound => {
                Problem::new(StatusCode::NOT_FOUND, "Order not found", detail)
            }
            ServiceError::Missing(_) => Problem::new(StatusCode::NOT_FOUND, "Not found", detail),
            ServiceError::Invalid(_) => {
                Problem::new(StatusCode::BAD_REQUEST, "Invalid request", detail)
            }
            ServiceError::Forbidden(_) => Problem::new(StatusCode::FORBIDDEN, "Forbidden", detail),
            ServiceError::IdempotencyMismatch => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Idempotency key reused",
                detail,
            ),
            ServiceError::Conflict { status, version } => {
                Problem::new(StatusCode::CONFLICT, "Version conflict", detail)
                    .with("current_status", status)
                    .with("current_version", version)
            }
            // An issue someone has already taken this step on: the
            // caller's view of it is behind, as in a lost race.
            ServiceError::Rejected(refusal)
                if matches!(refusal.rejection, Rejection::IssueClosed { .. }) =>
            {
                Problem::new(StatusCode::CONFLICT, "Issue conflict", detail)
                    .with("current_status", &refusal.status)
                    .with("current_version", refusal.version)
            }
            // A parked fact, shipment or issue the order does not have is
            // as unknown as an order the caller may not see.
            ServiceError::Rejected(refusal)
                if matches!(
                    refusal.rejection,
                    Rejection::UnknownParkedFact(_)
                        | Rejection::UnknownShipment(_)
                        | Rejection::UnknownIssue(_)
                ) =>
            {
                Problem::new(StatusCode::NOT_FOUND, "Not found", detail)
            }
            ServiceError::Rejected(refusal) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                match refusal.rejection {
                    Rejection::NothingToResolve => "Nothing to resolve",
                    Rejection::BadProposal(_) => "Unfit proposal",
                    _ => "Illegal transition",
                },
                detail,
            )
            .with("current_status", &refusal.status)
            .with("current_version", refusal.version)
            .with("allowed_actions", &refusal.allowed),
            ServiceError::NotConfigured(_) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Not configured", detail)
            }
            ServiceError::Unavailable(_) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "Unavailable", detail)
            }
            ServiceError::Store(StoreError::Unavailable(_)) => {
                tracing::error!(error = %detail, "store unavailable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Store unavailable",
                    "please retry",
                )
            }
            // Retrying would fail the same way; what failed to decode, and
            // where, is for the log, not the caller.
            ServiceError::Store(StoreError::Corrupt(_)) => {
                tracing::error!(error = %detail, "stored data does not decode");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal error",
                    "the request could not be handled",
                )
            }
            ServiceError::Store(_) => {
                tracing::error!(error = %detail, "store refused a write");
                Problem::new(StatusCode::CONFLICT, "Write refused", detail)
            }
        }
    }
}

impl From<Forbidden> for Problem {
    fn from(e: Forbidden) -> Self {
        Problem::from(ServiceError::from(e))
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}

/// The largest request body any route reads: a checkout of 200 lines with
/// every field at its cap fits several times over, and a provider's webhook
/// is a few kilobytes. Applied by the local stack and the Lambda glue alike
/// (`DefaultBodyLimit`); a larger body is a 413 problem before any handler
/// runs.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A body whose rejection says what went wrong as a problem.
fn body_problem(status: StatusCode, detail: String) -> Problem {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
            status,
            "Request body too large",
            format!("the body must be at most {MAX_BODY_BYTES} bytes"),
        ),
        StatusCode::UNPROCESSABLE_ENTITY => {
            Problem::new(StatusCode::BAD_REQUEST, "Malformed request body", detail)
        }
        s => Problem::new(s, "Malformed request body", detail),
    }
}

/// A JSON body whose rejection is a problem response (400, 413 or 415).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| ApiJson(v))
            .map_err(|e: JsonRejection| body_problem(e.status(), e.body_text()))
    }
}

/// The raw body (for signatures computed over its exact bytes), whose
/// rejection (413 when too large) is a problem response.
pub struct RawBody(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::body::Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|e| body_problem(e.status(), e.body_text()))
    }
}

/// Query parameters whose rejection is a 400 problem.
pub struct ApiQuery<T>(pub T);

#[allow(clippy::disallowed_types)] // the one place axum's `Query` is wrapped
impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e: QueryRejection| {
                Problem::new(StatusCode::BAD_REQUEST, "Malformed query", e.body_text())
            })
    }
}

/// Path parameters whose rejection is a problem: a segment that does not
/// decode (`%ff` is not UTF-8) or parse is a 400. A route whose parameters
/// do not fit its extractor is our bug: a 500 that says nothing more.
pub struct ApiPath<T>(pub T);

#[allow(clippy::disallowed_types)] // the one place axum's `Path` is wrapped
impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|e: PathRejection| {
                if e.status().is_server_error() {
                    tracing::error!(error = %e.body_text(), "path parameters do not fit the route");
                    Problem::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal error",
                        "the request could not be handled",
                    )
                } else {
                    Problem::new(StatusCode::BAD_REQUEST, "Malformed path", e.body_text())
                }
            })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| unauthorized(&AuthError::Missing))
    }
}

/// A 401 problem saying what was wrong with the credentials.
pub fn unauthorized(e: &AuthError) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized", e.to_string())
}

/// Middleware: verifies `Authorization: Bearer <jwt>` and hands handlers the
/// principal; anything else is a 401 before a handler runs.
pub async fn require_bearer(
    keys: axum::extract::State<JwtKeys>,
    mut req: Request,
    next: Next,
) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let principal = match token.map(|t| keys.verify(t.trim())) {
        Some(Ok(p)) => p,
        Some(Err(e)) => return unauthorized(&e).into_response(),
        None => return unauthorized(&AuthError::Missing).into_response(),
    };
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// Fallback for unknown routes.
pub async fn not_found() -> Problem {
    Problem::not_found()
}

/// Fallback for a known route asked with the wrong method.
pub async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        "this route does not accept that method",
    )
}
