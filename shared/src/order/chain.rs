//! The order's log as a hash chain, so that an event changed, removed or
//! slipped in after the fact shows.
//!
//! Each event carries `prev_hash`, the hash of the event before it in the
//! order's log ([`GENESIS`] for the first), and the head carries `chain`,
//! the hash of the last. Both are part of the command's one conditional
//! commit, so the chain grows exactly as the log does, and a command still
//! needs no read of the history: the head hands it the hash to extend.
//!
//! An event's hash is SHA-256 over its JSON (which includes its
//! `prev_hash`). The JSON of a domain value is the same bytes every time it
//! is written (structs in field order, maps sorted), and reading an event
//! back gives the value that was written, so anyone holding the log can
//! recompute every link. Events written before the chain existed carry no
//! `prev_hash`; they are counted as unchained, and the chain starts after
//! them.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::event::Event;
use super::head::Head;
use super::projection;
use crate::lifecycle::Lifecycle;

/// What the first event of a log links to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The event's hash: lower-case hex SHA-256 of its JSON, written straight
/// into the hasher (every command hashes its events: no buffer for it).
pub fn hash(event: &Event) -> String {
    let mut digest = Sha256::new();
    // Serialising a domain value cannot fail (every map key is a string),
    // and writing to a hasher cannot either.
    let _ = serde_json::to_writer(&mut digest, event);
    crate::hex::encode(&digest.finalize())
}

/// What the next event of the order links to.
pub fn next_link(head: &Head) -> String {
    head.chain.clone().unwrap_or_else(|| GENESIS.to_string())
}

/// The outcome of checking one order's log against its chain and its head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verification {
    pub order_id: String,
    pub intact: bool,
    /// Events read.
    pub events: usize,
    /// Events written before the chain existed (not verifiable).
    pub unchained: usize,
    /// The first event that does not fit, when one does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken_at_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The hash of the last event: what the head must hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_hash: Option<String>,
}

impl Verification {
    fn broken(mut self, seq: u64, problem: String) -> Verification {
        self.intact = false;
        self.broken_at_seq = Some(seq);
        self.problem = Some(problem);
        self
    }
}

/// Checks `events` (the order's whole log, in sequence order) link by link,
/// then against the head: its last sequence number and chain must be the
/// log's, so a log cut short shows too, and the head must be what replaying
/// the log gives, so a head written around the log shows as well.
pub fn verify(head: &Head, events: &[Event], lifecycle: &Lifecycle) -> Verification {
    let mut outcome = Verification {
        order_id: head.id.clone(),
        intact: true,
        events: events.len(),
        unchained: 0,
        broken_at_seq: None,
        problem: None,
        last_hash: None,
    };
    let mut previous: Option<(u64, String)> = None;
    let mut chained = false;
    for (i, event) in events.iter().enumerate() {
        let expected_seq = i as u64 + 1;
        if event.seq != expected_seq || event.order_id != head.id {
            let problem = format!(
                "event {} is not event {expected_seq} of this order",
                event.event_id
            );
            return outcome.broken(event.seq, problem);
        }
        let link = match (&event.prev_hash, chained) {
            (None, false) => {
                outcome.unchained += 1;
                None
            }
            (None, true) => {
                return outcome.broken(event.seq, "an event without a link".into());
            }
            (Some(link), false) => {
                chained = true;
                Some((link, GENESIS.to_string()))
            }
            (Some(link), true) => Some((link, previous.clone().unwrap_or_default().1)),
        };
        if let Some((link, expected)) = link {
            if *link != expected {
                let problem =
                    format!("links to {link}, but the event before it hashes to {expected}");
                return outcome.broken(event.seq, problem);
            }
        }
        previous = Some((event.seq, hash(event)));
    }
    let last = previous.map(|(_, h)| h);
    outcome.last_hash = last.clone();
    let seq = head.last_seq;
    if seq != events.len() as u64 {
        let problem = format!(
            "the head's last event is {seq}, the log has {}",
            events.len()
        );
        return outcome.broken(seq, problem);
    }
    if chained && head.chain != last {
        return outcome.broken(seq, "the head does not hold the last event's hash".into());
    }
    if let Some((first, rest)) = events.split_first() {
        let mut replayed = projection::start(first, lifecycle);
        for event in rest {
            projection::apply(&mut replayed, event, lifecycle);
        }
        if !chained {
            // Written before the chain: no hash to hold.
            replayed.chain.clone_from(&head.chain);
        }
        if replayed != *head {
            return outcome.broken(seq, "the head is not the replay of its log".into());
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::catalog;

    fn order() -> (Head, Vec<Event>, std::sync::Arc<Lifecycle>) {
        let decision = crate::testkit::placed("acme", "cus_1", 0);
        let lifecycle = catalog().get("shipping").unwrap();
        (decision.head, decision.events, lifecycle)
    }

    #[test]
    fn a_placed_order_links_to_the_genesis_and_its_head_to_it() {
        let (head, events, lifecycle) = order();
        assert_eq!(events[0].prev_hash.as_deref(), Some(GENESIS));
        assert_eq!(head.chain, Some(hash(&events[0])));
        let outcome = verify(&head, &events, &lifecycle);
        assert!(outcome.intact, "{outcome:?}");
        assert_eq!((outcome.events, outcome.unchained), (1, 0));
    }

    /// Orders from before the chain: their events carry no link and their
    /// head no hash. They verify as unchained, and the chain starts at
    /// their next event.
    #[test]
    fn events_from_before_the_chain_are_counted_not_failed() {
        let (mut head, mut events, lifecycle) = order();
        events[0].prev_hash = None;
        head.chain = None;
        let outcome = verify(&head, &events, &lifecycle);
        assert!(outcome.intact, "{outcome:?}");
        assert_eq!(outcome.unchained, 1);
        assert_eq!(next_link(&head), GENESIS);
    }

    #[test]
    fn a_head_cut_off_from_its_last_event_is_found() {
        let (mut head, events, lifecycle) = order();
        head.chain = Some(GENESIS.into());
        let outcome = verify(&head, &events, &lifecycle);
        assert_eq!(outcome.broken_at_seq, Some(1));
        assert!(!outcome.intact);
    }
}
