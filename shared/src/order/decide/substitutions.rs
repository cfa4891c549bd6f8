//! Structured substitutions' decisions: the store's proposal, which takes
//! the order to the state waiting for the customer's answer; the answer,
//! line by line, which amends the order and moves it on as the lifecycle's
//! roles say; and the tenant's answer for a customer who gave none in time
//! (from the sweep).

use chrono::{DateTime, Duration, Utc};

use super::command::{new_id, Decision, Origin, Rejection, StatusClaim};
use super::draft::Draft;
use super::status::transition;
use crate::lifecycle::{Lifecycle, StateRole};
use crate::order::event::{Disposition, Event, EventBody, StatusFact};
use crate::order::head::{Head, LineItem};
use crate::order::substitution::{self, Answered, LineDecision, Proposal, ProposedLine};

/// One line as staff propose it: `quantity` units (all of them when none)
/// of the order's line with this `sku`, replaced by `replacement` or removed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LineProposal {
    pub sku: String,
    #[serde(default)]
    pub quantity: Option<u32>,
    #[serde(default)]
    pub replacement: Option<LineItem>,
}

/// Lines in one proposal.
pub const MAX_PROPOSED_LINES: usize = 50;

/// The store proposes substitutions. The order moves to the state playing
/// `awaiting_substitutions` by the same rules as any staff move (it may
/// already be there); a proposal still waiting for an answer is not
/// replaced.
pub fn propose_substitutions(
    head: &Head,
    parked: &[Event],
    lifecycle: &Lifecycle,
    origin: &Origin,
    proposed: &[LineProposal],
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    let unfit = |why: String| Rejection::BadProposal(why);
    if head.proposal.is_some() {
        return Err(unfit(
            "substitutions are already waiting for the customer's answer".into(),
        ));
    }
    if proposed.is_empty() || proposed.len() > MAX_PROPOSED_LINES {
        return Err(unfit(format!("propose 1-{MAX_PROPOSED_LINES} lines")));
    }
    let awaiting = lifecycle
        .role(StateRole::AwaitingSubstitutions)
        .ok_or_else(|| {
            unfit(format!(
                "the {} lifecycle has no substitutions step",
                lifecycle.name()
            ))
        })?
        .to_string();
    let mut lines = Vec::new();
    for (i, p) in proposed.iter().enumerate() {
        let held = head
            .current_lines()
            .iter()
            .find(|l| l.sku == p.sku)
            .ok_or_else(|| unfit(format!("line {i}: the order holds no {}", p.sku)))?;
        let original = LineItem {
            quantity: p.quantity.unwrap_or(held.quantity),
            ..held.clone()
        };
        lines.push(ProposedLine::new(original, p.replacement.clone()));
    }
    substitution::check(head.current_lines(), &lines).map_err(|e| unfit(e.to_string()))?;
    let policy = &head.policy.substitutions;
    let proposal = Proposal {
        proposal_id: new_id("sub"),
        lines,
        proposed_at: now,
        answer_by: now + Duration::minutes(i64::from(policy.answer_within_minutes)),
        on_no_answer: policy.on_no_answer,
    };
    let mut draft = Draft::new(head, lifecycle, now);
    if head.status != awaiting {
        // The move alone, judged as staff's would be; its events are
        // rebuilt below after the proposal's.
        let claim = StatusClaim {
            to: awaiting.clone(),
            occurred_at: now,
            reason: reason.clone(),
            tracking: None,
        };
        transition(head, parked, lifecycle, origin, claim, None, now)?;
        draft.push(origin, now, EventBody::SubstitutionsProposed(proposal));
        let mut fact = StatusFact::new(awaiting, Disposition::Applied, origin.actor_kind);
        fact.reason = reason;
        draft.record_placed(origin, now, fact);
        draft.release_parked(parked);
    } else {
        draft.push(origin, now, EventBody::SubstitutionsProposed(proposal));
    }
    Ok(draft.finish(Disposition::Applied))
}

/// The customer answers each proposed line (in order).
pub fn answer_substitutions(
    head: &Head,
    lifecycle: &Lifecycle,
    origin: &Origin,
    answers: Vec<LineDecision>,
    now: DateTime<Utc>,
) -> Result<Decision, Rejection> {
    let mut draft = Draft::new(head, lifecycle, now);
    answer(&mut draft, lifecycle, origin, answers, false, now)?;
    Ok(draft.finish(Disposition::Applied))
}

/// Records the answers, amends the order and moves it to the state the
/// answer leads to: all rejected, the one playing `substitutions_rejected`
/// (back to picking); otherwise `substitutions_approved`.
pub(super) fn answer(
    draft: &mut Draft<'_>,
    lifecycle: &Lifecycle,
    origin: &Origin,
    answers: Vec<LineDecision>,
    by_policy: bool,
    now: DateTime<Utc>,
) -> Result<(), Rejection> {
    let proposal = draft.head.proposal.clone().ok_or_else(|| {
        Rejection::BadProposal("there are no substitutions waiting for an answer".into())
    })?;
    if answers.len() != proposal.lines.len() {
        return Err(Rejection::BadProposal(format!(
            "answer each of the {} proposed lines",
            proposal.lines.len()
        )));
    }
    let (_, adjustments) = substitution::amend(draft.head.current_lines(), &proposal, &answers);
    let role = match answers.iter().all(|a| *a == LineDecision::Reject) {
        true => StateRole::SubstitutionsRejected,
        false => StateRole::SubstitutionsApproved,
    };
    let answered = Answered {
        proposal_id: proposal.proposal_id,
        answers,
        by_policy,
        adjustments,
    };
    draft.push(origin, now, EventBody::SubstitutionsAnswered(answered));
    let waiting = lifecycle.plays(&draft.head.status, StateRole::AwaitingSubstitutions);
    if let (true, Some(target)) = (waiting, lifecycle.role(role)) {
        let mut fact = StatusFact::new(target, Disposition::Applied, origin.actor_kind);
        fact.reason = Some(
            if by_policy {
                "no answer in time"
            } else {
                "customer answered"
            }
            .into(),
        );
        draft.record_placed(origin, now, fact);
    }
    Ok(())
}
