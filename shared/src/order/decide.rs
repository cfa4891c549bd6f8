//! Commands in, events out. Pure: given the head, the parked facts, the
//! lifecycle and the time, a command either produces the events to append
//! (and the head they lead to) or a rejection. Nothing here touches a store.
//!
//! From the ground up: `command` (what a decision takes and gives), `draft`
//! (the events a decision builds, folded into the head as they go, and the
//! placement rules they share), then the commands by what they do —
//! `status` (moves along the path), `intake` (providers' news) and `upkeep`
//! (tracking codes, flags, notes).

mod command;
mod dispatch;
mod draft;
mod intake;
mod issues;
mod status;
mod substitutions;
mod upkeep;

pub use command::{
    new_id, new_secret_id, Decision, NextAction, Origin, ParkedKey, Rejection, StatusClaim,
    StatusMove,
};
pub use dispatch::record_dispatch;
pub use draft::MAX_CLOCK_SKEW;
pub use intake::{record_inbound, rollup};
pub use issues::{issue_step, open_issue, MAX_ISSUES};
pub use status::{
    customer_cancellation, next_actions, place_order, record_fact, settle_parked,
    substitution_answer, transition, ParkedAction, Settlement,
};
pub use substitutions::{
    answer_substitutions, propose_substitutions, LineProposal, MAX_PROPOSED_LINES,
};
pub use upkeep::{
    add_note, add_tracking, correct_tracking, migrate_lifecycle, record_notification,
    resolve_flags, set_notify_prefs, sweep,
};
