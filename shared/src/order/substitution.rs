//! Structured substitutions (seed 004): the store proposes, line by line,
//! a replacement for an item it cannot supply (or its removal, a short
//! pick), the customer approves or rejects each line — or the tenant's
//! policy answers for them when they do not in time — and the answer amends
//! the order. The checkout snapshot never changes: the order's current lines
//! and total are the snapshot with every answered proposal applied, in
//! order, and every change in what the order takes of an item is an
//! inventory adjustment an inventory system can follow.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::head::LineItem;

/// One line of a proposal: `quantity` units of an item the order holds,
/// replaced by another item or, with none, removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposedLine {
    /// The item as the order holds it, with the units this line is about.
    pub original: LineItem,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<LineItem>,
    /// What the change does to the total, in the minor unit: the
    /// replacement's price less the original units'.
    pub price_difference: i64,
}

impl ProposedLine {
    pub fn new(original: LineItem, replacement: Option<LineItem>) -> Self {
        let cost = |l: &LineItem| l.unit_price.saturating_mul(i64::from(l.quantity));
        let price_difference = replacement.as_ref().map_or(0, cost) - cost(&original);
        ProposedLine {
            original,
            replacement,
            price_difference,
        }
    }
}

/// What the store proposes, waiting for the customer's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Proposal {
    pub proposal_id: String,
    pub lines: Vec<ProposedLine>,
    pub proposed_at: DateTime<Utc>,
    /// When the tenant's policy answers for a customer who has not.
    pub answer_by: DateTime<Utc>,
    /// What the policy answers then.
    pub on_no_answer: LineDecision,
}

/// The answer to one proposed line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LineDecision {
    /// Take the replacement (or, for a removal, accept it).
    Approve,
    /// Keep the original: the store looks again.
    Reject,
    /// Neither: drop the units from the order.
    CancelLine,
}

/// Why the units an order takes of an item changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentReason {
    /// Replaced by another item, or the other item replacing it.
    Substitution,
    /// The store could not supply it, and it left the order.
    ShortPick,
}

/// A change in how many units of `sku` the order takes: negative for units
/// it no longer takes, positive for units it now does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryAdjustment {
    pub sku: String,
    pub delta: i64,
    pub reason: AdjustmentReason,
}

/// What a customer's (or the policy's) answers did to a proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Answered {
    pub proposal_id: String,
    /// One per proposed line, in order.
    pub answers: Vec<LineDecision>,
    /// Nobody answered in time: the tenant's policy did.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_policy: bool,
    pub adjustments: Vec<InventoryAdjustment>,
}

/// The order's lines since a proposal was answered: the snapshot stays as
/// checkout left it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Amended {
    pub lines: Vec<LineItem>,
    pub total: i64,
}

/// A tenant's rule for proposals nobody answers, captured at checkout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubstitutionPolicy {
    #[serde(default = "SubstitutionPolicy::default_minutes")]
    pub answer_within_minutes: u32,
    #[serde(default = "SubstitutionPolicy::default_answer")]
    pub on_no_answer: LineDecision,
}

impl SubstitutionPolicy {
    fn default_minutes() -> u32 {
        30
    }

    /// No answer is no consent to a different item or a different price:
    /// the unavailable units leave the order.
    fn default_answer() -> LineDecision {
        LineDecision::CancelLine
    }
}

impl Default for SubstitutionPolicy {
    fn default() -> Self {
        SubstitutionPolicy {
            answer_within_minutes: Self::default_minutes(),
            on_no_answer: Self::default_answer(),
        }
    }
}

/// Why a proposal cannot apply to the order's current lines.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {why}")]
pub struct Unfit {
    pub line: usize,
    pub why: String,
}

/// Whether each proposed line takes units the current lines hold, counting
/// every line of the proposal against the same stock.
pub fn check(current: &[LineItem], proposal: &[ProposedLine]) -> Result<(), Unfit> {
    let mut left: Vec<LineItem> = current.to_vec();
    for (i, line) in proposal.iter().enumerate() {
        let o = &line.original;
        let held = left
            .iter_mut()
            .find(|l| l.sku == o.sku && l.unit_price == o.unit_price);
        match held {
            Some(held) if held.quantity >= o.quantity && o.quantity > 0 => {
                held.quantity -= o.quantity
            }
            Some(held) => {
                return Err(Unfit {
                    line: i,
                    why: format!("the order holds {} of {}", held.quantity, o.sku),
                })
            }
            None => {
                return Err(Unfit {
                    line: i,
                    why: format!("the order holds no {}", o.sku),
                })
            }
        }
    }
    Ok(())
}

/// The lines after `answers` to `proposal` (one per proposed line, in
/// order), and the inventory adjustments they make. Rejected lines change
/// nothing; a line whose units are gone (it cannot be, after [`check`])
/// is skipped rather than invented.
pub fn amend(
    current: &[LineItem],
    proposal: &Proposal,
    answers: &[LineDecision],
) -> (Vec<LineItem>, Vec<InventoryAdjustment>) {
    let mut lines = current.to_vec();
    let mut adjustments = Vec::new();
    for (line, answer) in proposal.lines.iter().zip(answers) {
        if *answer == LineDecision::Reject {
            continue;
        }
        let o = &line.original;
        let Some(at) = lines.iter().position(|l| {
            l.sku == o.sku && l.unit_price == o.unit_price && l.quantity >= o.quantity
        }) else {
            continue;
        };
        lines[at].quantity -= o.quantity;
        if lines[at].quantity == 0 {
            lines.remove(at);
        }
        let replacement = line
            .replacement
            .as_ref()
            .filter(|_| *answer == LineDecision::Approve);
        let reason = match replacement {
            Some(_) => AdjustmentReason::Substitution,
            None => AdjustmentReason::ShortPick,
        };
        adjustments.push(InventoryAdjustment {
            sku: o.sku.clone(),
            delta: -i64::from(o.quantity),
            reason,
        });
        if let Some(r) = replacement {
            adjustments.push(InventoryAdjustment {
                sku: r.sku.clone(),
                delta: i64::from(r.quantity),
                reason,
            });
            lines.push(r.clone());
        }
    }
    (lines, adjustments)
}

/// The total of `lines`, in the minor unit.
pub fn total(lines: &[LineItem]) -> i64 {
    lines
        .iter()
        .map(|l| l.unit_price.saturating_mul(i64::from(l.quantity)))
        .fold(0i64, i64::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(sku: &str, price: i64, quantity: u32) -> LineItem {
        LineItem {
            sku: sku.into(),
            name: sku.to_lowercase(),
            unit_price: price,
            quantity,
        }
    }

    fn proposal(lines: Vec<ProposedLine>) -> Proposal {
        Proposal {
            proposal_id: "sub_1".into(),
            lines,
            proposed_at: DateTime::UNIX_EPOCH,
            answer_by: DateTime::UNIX_EPOCH,
            on_no_answer: LineDecision::CancelLine,
        }
    }

    #[test]
    fn each_answer_amends_its_line_and_says_what_the_order_takes() {
        let current = vec![item("MILK", 300, 2), item("EGGS", 500, 1)];
        let p = proposal(vec![
            ProposedLine::new(item("MILK", 300, 1), Some(item("OAT", 450, 1))),
            ProposedLine::new(item("EGGS", 500, 1), None),
        ]);
        assert_eq!(p.lines[0].price_difference, 150);
        assert_eq!(p.lines[1].price_difference, -500);
        assert_eq!(check(&current, &p.lines), Ok(()));

        let (lines, adjustments) = amend(
            &current,
            &p,
            &[LineDecision::Approve, LineDecision::Approve],
        );
        assert_eq!(lines, [item("MILK", 300, 1), item("OAT", 450, 1)]);
        assert_eq!(total(&lines), 750);
        let moves: Vec<(&str, i64, AdjustmentReason)> = adjustments
            .iter()
            .map(|a| (a.sku.as_str(), a.delta, a.reason))
            .collect();
        use AdjustmentReason::*;
        assert_eq!(
            moves,
            [
                ("MILK", -1, Substitution),
                ("OAT", 1, Substitution),
                ("EGGS", -1, ShortPick)
            ]
        );

        let (kept, none) = amend(&current, &p, &[LineDecision::Reject, LineDecision::Reject]);
        assert_eq!((kept, none), (current.clone(), vec![]));
        let (cancelled, adjustments) = amend(
            &current,
            &p,
            &[LineDecision::CancelLine, LineDecision::Reject],
        );
        assert_eq!(cancelled, [item("MILK", 300, 1), item("EGGS", 500, 1)]);
        assert_eq!(adjustments[0].reason, ShortPick);
    }

    #[test]
    fn a_proposal_may_only_take_units_the_order_holds() {
        let current = vec![item("MILK", 300, 1)];
        let twice = [
            ProposedLine::new(item("MILK", 300, 1), None),
            ProposedLine::new(item("MILK", 300, 1), None),
        ];
        assert_eq!(check(&current, &twice).unwrap_err().line, 1);
        let absent = [ProposedLine::new(item("BREAD", 300, 1), None)];
        assert!(check(&current, &absent).is_err());
        let none = [ProposedLine::new(item("MILK", 300, 0), None)];
        assert!(check(&current, &none).is_err());
    }
}
