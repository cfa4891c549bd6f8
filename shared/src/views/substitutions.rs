//! What the customer sees of substitutions: each proposed line, its price
//! difference, and until when they may answer before the store's policy
//! does.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::order::substitution::{LineDecision, Proposal};

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposalView {
    pub lines: Vec<ProposedLineView>,
    /// What the order's total would change by if every line were approved.
    pub price_difference: i64,
    pub answer_by: DateTime<Utc>,
    /// What happens to every line nobody answers by then.
    pub on_no_answer: LineDecision,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposedLineView {
    pub name: String,
    pub quantity: u32,
    pub unit_price: i64,
    /// None: the store proposes to remove these units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<ReplacementView>,
    pub price_difference: i64,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplacementView {
    pub name: String,
    pub quantity: u32,
    pub unit_price: i64,
}

impl ProposalView {
    pub fn new(proposal: &Proposal) -> Self {
        ProposalView {
            lines: proposal
                .lines
                .iter()
                .map(|l| ProposedLineView {
                    name: l.original.name.clone(),
                    quantity: l.original.quantity,
                    unit_price: l.original.unit_price,
                    replacement: l.replacement.as_ref().map(|r| ReplacementView {
                        name: r.name.clone(),
                        quantity: r.quantity,
                        unit_price: r.unit_price,
                    }),
                    price_difference: l.price_difference,
                })
                .collect(),
            price_difference: proposal.lines.iter().map(|l| l.price_difference).sum(),
            answer_by: proposal.answer_by,
            on_no_answer: proposal.on_no_answer,
        }
    }
}
