//! The WebSocket API's routes: `$connect` decides who connects and so the
//! one channel the connection follows, `$disconnect` forgets it, and a
//! `{"action":"resume"}` message (`$default`) sends what the client missed
//! since the id it connected with.
//!
//! API Gateway cannot send on a connection before `$connect` has answered,
//! so the catch-up waits for the client's first message; the fan-out
//! delivers to the connection from the moment `$connect` stored it, so the
//! two may overlap and a client drops the ids it already has.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue, StatusCode};
use chrono::Duration;
use order_core::http::Problem;
use order_core::live::{store_channel, Channel, ChannelName, CustomerChannel};
use order_core::ports::{Clock, Connection, Connections, Push, PushError, Tickets, Viewer};
use order_core::service::OrderService;
use serde::Deserialize;

/// The subprotocol the server speaks, echoed to a client that offers it
/// (a browser that offered one fails a handshake whose answer names none).
pub const PROTOCOL: &str = "order-tracking.v1";
/// API Gateway closes every connection after two hours; its items outlive
/// that a little, in case `$disconnect` never comes.
const LONGEST_CONNECTION: Duration = Duration::minutes(125);

pub struct Socket {
    pub service: Arc<OrderService>,
    pub connections: Arc<dyn Connections>,
    pub tickets: Arc<dyn Tickets>,
    pub push: Arc<dyn Push>,
    pub clock: Arc<dyn Clock>,
}

#[derive(Deserialize)]
struct Message {
    action: String,
}

fn answer(status: StatusCode, headers: HeaderMap, body: Option<String>) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = i64::from(status.as_u16());
    response.headers = headers;
    response.body = body.map(Body::Text);
    response
}

fn ok() -> ApiGatewayProxyResponse {
    answer(StatusCode::OK, HeaderMap::new(), None)
}

/// A refusal: API Gateway answers the handshake with its status.
fn refuse(problem: Problem) -> ApiGatewayProxyResponse {
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/problem+json"),
    );
    answer(problem.status, headers, Some(problem.body().to_string()))
}

fn unavailable(e: impl std::fmt::Display) -> Problem {
    tracing::error!(error = %e, "the table did not answer");
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Unavailable",
        "try connecting again",
    )
}

impl Socket {
    pub async fn handle(
        &self,
        request: ApiGatewayWebsocketProxyRequest,
    ) -> ApiGatewayProxyResponse {
        let context = &request.request_context;
        let id = context.connection_id.clone().unwrap_or_default();
        let outcome = match context.route_key.as_deref() {
            Some("$connect") => self.connect(id, &request).await,
            Some("$disconnect") => self
                .connections
                .close(&id)
                .await
                .map(|()| ok())
                .map_err(unavailable),
            _ => self.message(&id, request.body.as_deref()).await,
        };
        outcome.unwrap_or_else(refuse)
    }

    /// Who connects: a customer by an order's public id, staff by a ticket
    /// from `POST /live/tickets`. Nothing is stored for a refusal.
    async fn connect(
        &self,
        id: String,
        request: &ApiGatewayWebsocketProxyRequest,
    ) -> Result<ApiGatewayProxyResponse, Problem> {
        let query = &request.query_string_parameters;
        let viewer = if let Some(public_id) = query.first("public_id") {
            self.service.tracked_order(public_id).await?;
            Viewer::Customer {
                public_id: public_id.to_string(),
            }
        } else if let Some(ticket) = query.first("ticket") {
            let principal = self
                .tickets
                .redeem(ticket, self.clock.now())
                .await
                .map_err(unavailable)?
                .ok_or_else(|| {
                    Problem::new(
                        StatusCode::UNAUTHORIZED,
                        "Unauthorized",
                        "the ticket is unknown, used or expired: get a new one from POST /live/tickets",
                    )
                })?;
            principal.require_staff()?;
            Viewer::Staff(principal.viewing(query.first("store"))?)
        } else {
            return Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "connect with ?public_id=<order's public id> or ?ticket=<ticket from POST /live/tickets>",
            ));
        };
        let connection = Connection {
            channel: ChannelName::of(&viewer).to_string(),
            id,
            viewer,
            last_event_id: query.first("last_event_id").map(String::from),
            expires_at: self.clock.now() + LONGEST_CONNECTION,
        };
        self.connections
            .open(&connection)
            .await
            .map_err(unavailable)?;
        let offered = request
            .headers
            .get_all("sec-websocket-protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|p| p.trim() == PROTOCOL);
        let mut headers = HeaderMap::new();
        if offered {
            headers.insert("sec-websocket-protocol", HeaderValue::from_static(PROTOCOL));
        }
        Ok(answer(StatusCode::OK, headers, None))
    }

    /// `{"action":"resume"}`: what the client missed since it connected's id.
    /// Other messages are ignored; a client has nothing else to say.
    async fn message(
        &self,
        id: &str,
        body: Option<&str>,
    ) -> Result<ApiGatewayProxyResponse, Problem> {
        let resume = body
            .and_then(|b| serde_json::from_str::<Message>(b).ok())
            .is_some_and(|m| m.action == "resume");
        if !resume {
            return Ok(ok());
        }
        let Some(connection) = self.connections.connection(id).await.map_err(unavailable)? else {
            return Ok(ok());
        };
        let last = connection.last_event_id.as_deref();
        let frames = match connection.viewer {
            Viewer::Customer { public_id } => {
                let after = last.and_then(|id| id.parse().ok());
                CustomerChannel::open(self.service.clone(), &public_id, after)
                    .await?
                    .catch_up()
                    .await
            }
            Viewer::Staff(principal) => {
                store_channel(self.service.clone(), principal, last)
                    .catch_up()
                    .await
            }
        };
        let frames = frames.ok_or_else(|| unavailable("catch-up"))?;
        for frame in frames {
            match self.push.send(id, frame.text()).await {
                Ok(()) => {}
                Err(PushError::Gone) => {
                    self.connections.close(id).await.map_err(unavailable)?;
                    break;
                }
                Err(PushError::Failed(e)) => return Err(unavailable(e)),
            }
        }
        Ok(ok())
    }
}
