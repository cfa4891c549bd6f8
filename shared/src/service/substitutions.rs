//! Substitutions through the service: staff propose them on their orders,
//! the customer answers by public id — line by line, or all at once — and
//! a proposal nobody answers is answered by the sweep as the tenant's
//! policy says ([`decide::sweep`]).

use serde::Deserialize;

use super::commands::{customer_of, Attempt, OnRace, Target};
use super::requests::validated_line;
use super::{OrderService, ServiceError};
use crate::auth::Principal;
use crate::order::decide::{self, LineProposal, Rejection};
use crate::order::limits;
use crate::order::substitution::LineDecision;
use crate::ports::Commit;
use crate::views::{OrderView, TrackingView};

/// `POST /orders/{id}/substitutions`.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Propose {
    pub lines: Vec<LineProposal>,
    /// Words for the customer, besides the lines.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The customer's answer: each line's, or one for all of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CustomerAnswer {
    All { approve: bool },
    Lines(Vec<LineDecision>),
}

impl OrderService {
    pub async fn propose_substitutions(
        &self,
        principal: &Principal,
        order_id: &str,
        mut request: Propose,
    ) -> Result<OrderView, ServiceError> {
        principal.require_staff()?;
        if request.lines.is_empty() || request.lines.len() > decide::MAX_PROPOSED_LINES {
            return Err(ServiceError::Invalid(format!(
                "lines: propose 1-{} lines",
                decide::MAX_PROPOSED_LINES
            )));
        }
        for (i, line) in request.lines.iter_mut().enumerate() {
            limits::id(&format!("lines[{i}].sku"), &line.sku)?;
            if let Some(replacement) = &mut line.replacement {
                *replacement = validated_line(&format!("lines[{i}].replacement"), replacement)?;
            }
        }
        let reason =
            limits::optional_text("reason", request.reason.as_deref(), limits::MAX_REASON)?;
        let now = self.clock.now();
        self.staff_command(principal, order_id, |loaded, lifecycle, origin| {
            decide::propose_substitutions(
                &loaded.head,
                &loaded.parked,
                lifecycle,
                origin,
                &request.lines,
                reason.clone(),
                now,
            )
        })
        .await
    }

    /// The customer answers the store's proposed substitutions: a proposal
    /// of lines is amended by the answers; a proposal in words only (the
    /// order moved to the waiting state with a reason) is answered as a
    /// whole. The unguessable public id is the customer's capability.
    pub async fn answer_substitutions(
        &self,
        public_id: &str,
        answer: CustomerAnswer,
    ) -> Result<TrackingView, ServiceError> {
        let head = self.find_public(public_id).await?;
        let Some(proposal) = &head.proposal else {
            let CustomerAnswer::All { approve } = answer else {
                return Err(ServiceError::Invalid(
                    "there are no proposed lines to answer".into(),
                ));
            };
            let lifecycle = self.lifecycle(&head.lifecycle)?;
            // Which states these are is the lifecycle's say (its roles).
            let Some(to) = decide::substitution_answer(&head, &lifecycle, approve) else {
                return Err(ServiceError::Invalid(
                    "there are no substitutions waiting for an answer".into(),
                ));
            };
            let reason = if approve {
                "customer approved"
            } else {
                "customer rejected"
            };
            return self.customer_move(&head, to, reason.into()).await;
        };
        let answers = match answer {
            CustomerAnswer::All { approve } => {
                let each = if approve {
                    LineDecision::Approve
                } else {
                    LineDecision::Reject
                };
                vec![each; proposal.lines.len()]
            }
            CustomerAnswer::Lines(answers) => answers,
        };
        let origin = customer_of(&head).origin();
        let now = self.clock.now();
        self.run(
            Target::Any(&head.id),
            OnRace::Retry,
            |loaded, lifecycle, raced| {
                match decide::answer_substitutions(
                    &loaded.head,
                    lifecycle,
                    &origin,
                    answers.clone(),
                    now,
                ) {
                    Ok(decision) => Ok(Attempt::Commit(Box::new(Commit::of(decision)), ())),
                    // Answered meanwhile (twice at once, or by the policy).
                    Err(_) if raced => Err(ServiceError::Conflict {
                        status: loaded.head.status.clone(),
                        version: loaded.head.version,
                    }),
                    Err(Rejection::BadProposal(why)) => Err(ServiceError::Invalid(why)),
                    Err(other) => Err(ServiceError::Invalid(other.to_string())),
                }
            },
        )
        .await?;
        self.track(public_id).await
    }
}
