//! Every key the DynamoDB adapter writes or reads, and the item layout they
//! make. Nothing else in the adapter spells a key: a format changes here or
//! nowhere, and tables already deployed hold the old one.
//!
//! # Items
//!
//! One table, string keys `pk` / `sk`; `expires_at` (epoch seconds) is the
//! table's TTL attribute.
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | head | `ORDER#<id>` | `HEAD` | written at checkout: `card` (what a list shows that checkout fixed), `public_id`, `tenant_key`, `customer_key`; rewritten by every command: `head` (the rest of the head), `marks` (the rest of a list's summary), `version`, `status`, `flagged`, `updated`, and `due_shard`, `due_key` while it has a deadline |
//! | snapshot | `ORDER#<id>` | `SNAPSHOT` | `body`: items, shipping, contact and policy, written once at checkout |
//! | event | `ORDER#<id>` | `EVENT#<seq, 20 digits>` | `event_id`, `feed_key`, `body`; immutable, and its insert is what the publisher sends |
//! | parked fact | `ORDER#<id>` | `PARKED#<occurred_at>#<event_id>` | `event_id`, `body`; deleted when released |
//! | dedupe marker | `DEDUPE#<tenant>/<source>#<external_id>` | `DEDUPE` | `order_id`, `expires_at` (30 days) |
//! | idempotency key | `IDEM#<tenant>#<key>` | `IDEM` | `body` (the stored response), `expires_at` (24 hours) |
//! | tracking code | `TRACKING#<tenant>#<code>` | `ORDER#<id>` | `order_id`, `attached_at`, `carrier`; one per order that used the code |
//! | tracking code, before codes were per tenant | `TRACKING#<code>` | `TRACKING` | `order_id`; read only, never written |
//! | waiting fact | `UNMATCHED#<tenant>\|<subject>` | `<provider event id>` | `body` (the fact), `expires_at` (30 days) |
//! | claim | `CLAIM#<key>` | `CLAIM` | `expires_at` (30 days); a notification per event and channel, sent once |
//! | merchant endpoint | `ENDPOINT#<tenant>` | `<endpoint id>` | `body`: URL, event types, signing secret, status |
//! | merchant delivery | `DELIVERY#<tenant>#<endpoint id>` | `<delivery id>` (the event's, so newest last) | `body`: the payload, state, attempts; `expires_at` (35 days) |
//! | data key | `DATAKEY#<tenant>` | `<customer id>` | `key`: the customer's data key, wrapped by KMS (personal data); deleted by an erasure |
//! | live ticket | `TICKET#<ticket>` | `TICKET` | `tenant`, `role`, `subject`, `expires_at` (a minute); deleted when redeemed |
//! | WebSocket connection | `CONNECTION#<connection id>` | `CONNECTION` | `channel`, `viewer`, `last_event_id`, `expires_at` (its longest life) |
//! | channel member | `CHANNEL#<channel>` | `<connection id>` | `expires_at`; what the fan-out reads |
//!
//! Which of a head's fields are fixed at checkout is the domain's say
//! ([`Head::CARD`], [`Head::SNAPSHOT`]). A head written before it was kept in
//! parts holds it whole in `body` (and its list summary in `summary`);
//! reads lay each later part over it, so such an order loads, lists and
//! takes commands as it is.
//!
//! `<subject>` is `order:<id>` or `tracking:<normalised code>`
//! ([`Subject::key`](crate::order::inbound::Subject::key)); times are
//! fixed-width UTC ([`ts`]), so text order is time order.
//!
//! `EVENT#` < `HEAD` < `PARKED#` < `SNAPSHOT`, so a command reads the head,
//! its parked facts and the snapshot — and not the history — with one
//! strongly consistent `Query` on `sk >= HEAD`.
//!
//! # Index keys
//!
//! Only heads carry them, so the indexes hold heads only — but for the
//! tenants' feeds, which hold event items. Each key changes
//! only when its listing must: `updated` with every command (lists are most
//! recently updated first), the due keys with the deadline, the others never.
//!
//! | attribute | value | index |
//! |---|---|---|
//! | `public_id` | the order's public id | `ByPublicId` (hash) |
//! | `tenant_key` | `TENANT#<t>` | `ByTenant` (hash) |
//! | `updated` | `<updated_at>#<order id>` | `ByTenant` (sort) |
//! | `customer_key` | `TENANT#<t>#CUSTOMER#<c>` | `ByCustomer` (hash) |
//! | `due_shard` | `DUE#<0-7>`, a hash of the order id | `Due` (hash); only on heads with a deadline |
//! | `due_key` | `<due_at>#<order id>` | `Due` (sort) |
//! | `feed_key` | `TENANT#<t>`, on event items only | `ByTenantEvents` (hash) |
//! | `event_id` | the event's id, made in time order | `ByTenantEvents` (sort) |

use chrono::{DateTime, Utc};

use crate::order::Head;
use crate::store::ts;

/// The sort key of an order's head.
pub(super) const HEAD: &str = "HEAD";
/// The sort key of an order's checkout snapshot: after the head and its
/// parked facts, so the head's `Query` returns it too.
pub(super) const SNAPSHOT: &str = "SNAPSHOT";
/// What every parked fact's sort key starts with.
pub(super) const PARKED_PREFIX: &str = "PARKED#";
/// The sort key of a dedupe marker.
pub(super) const DEDUPE: &str = "DEDUPE";
/// The sort key of an idempotency key.
pub(super) const IDEMPOTENCY: &str = "IDEM";
/// The sort key of a tracking code's pointer from before codes were kept per
/// tenant.
pub(super) const LEGACY_TRACKING: &str = "TRACKING";
/// Shards of the due index, so the sweep's reads spread over partitions.
pub(super) const DUE_SHARDS: u32 = 8;

/// The sort key of a live ticket.
pub(super) const TICKET: &str = "TICKET";

/// The sort key of a WebSocket connection.
pub(super) const CONNECTION: &str = "CONNECTION";

/// What every event item's sort key starts with.
pub(super) const EVENT_PREFIX: &str = "EVENT#";

/// The sort key of a claim.
pub(super) const CLAIM: &str = "CLAIM";

/// A claim: something done once however often asked for.
pub(super) fn claim_pk(key: &str) -> String {
    format!("CLAIM#{key}")
}

/// A tenant's merchant endpoints.
pub(super) fn endpoints_pk(tenant: &str) -> String {
    format!("ENDPOINT#{tenant}")
}

/// An endpoint's deliveries.
pub(super) fn deliveries_pk(tenant: &str, endpoint_id: &str) -> String {
    format!("DELIVERY#{tenant}#{endpoint_id}")
}

/// The tenant's customers' wrapped data keys, one item per customer (its
/// id the sort key, so no tenant and customer ids can spell another's).
pub(super) fn data_keys_pk(tenant: &str) -> String {
    format!("DATAKEY#{tenant}")
}

pub(super) fn ticket_pk(ticket: &str) -> String {
    format!("TICKET#{ticket}")
}

pub(super) fn connection_pk(id: &str) -> String {
    format!("CONNECTION#{id}")
}

/// The partition of a live channel's connections: one `Query` finds them.
pub(super) fn channel_pk(channel: &str) -> String {
    format!("CHANNEL#{channel}")
}

/// The partition of an order: its head, events and parked facts.
pub(super) fn order_pk(id: &str) -> String {
    format!("ORDER#{id}")
}

/// The order id a partition key of [`order_pk`] names.
pub(super) fn order_id(pk: &str) -> Option<&str> {
    pk.strip_prefix("ORDER#")
}

/// Zero-padded, so text order is sequence order.
pub(super) fn event_sk(seq: u64) -> String {
    format!("{EVENT_PREFIX}{seq:020}")
}

/// Parked facts sort by when they happened: the order they are retried in.
pub(super) fn parked_sk(occurred_at: DateTime<Utc>, event_id: &str) -> String {
    format!("{PARKED_PREFIX}{}#{event_id}", ts(occurred_at))
}

/// `source` is already per tenant (`<tenant>/<source>` for provider facts),
/// so one tenant's event id never answers for another's.
pub(super) fn dedupe_pk(source: &str, external_id: &str) -> String {
    format!("DEDUPE#{source}#{external_id}")
}

pub(super) fn idempotency_pk(tenant: &str, key: &str) -> String {
    format!("IDEM#{tenant}#{key}")
}

/// A (normalised) tracking code of a tenant; its items are keyed by order.
pub(super) fn tracking_pk(tenant: &str, code: &str) -> String {
    format!("TRACKING#{tenant}#{code}")
}

/// The one global pointer per code that tables written before codes were
/// kept per tenant hold.
pub(super) fn legacy_tracking_pk(code: &str) -> String {
    format!("TRACKING#{code}")
}

/// Facts waiting for an order, under the subject key the service gives them
/// (tenant first, so a fact can only be matched within its tenant).
pub(super) fn unmatched_pk(subject_key: &str) -> String {
    format!("UNMATCHED#{subject_key}")
}

pub(super) fn tenant_key(tenant: &str) -> String {
    format!("TENANT#{tenant}")
}

/// The tenant a `tenant_key` names.
pub(super) fn tenant_of_key(key: &str) -> Option<&str> {
    key.strip_prefix("TENANT#")
}

/// An event item's place in its tenant's feed.
pub(super) fn feed_key(tenant: &str) -> String {
    format!("TENANT#{tenant}")
}

pub(super) fn customer_key(tenant: &str, customer_id: &str) -> String {
    format!("TENANT#{tenant}#CUSTOMER#{customer_id}")
}

/// The tenant indexes' sort value of an order updated at `at`: where a list
/// cursor points, and why lists read most recent first.
pub(super) fn updated(at: DateTime<Utc>, order_id: &str) -> String {
    format!("{}#{order_id}", ts(at))
}

/// The due-index partition of shard `n`.
pub(super) fn due_shard(n: u32) -> String {
    format!("DUE#{n}")
}

/// The shard an order's deadline lives in: a stable hash, so every write of
/// the head lands in the same one.
pub(super) fn due_shard_of(order_id: &str) -> String {
    let hash = order_id
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    due_shard(hash % DUE_SHARDS)
}

pub(super) fn due_key(due_at: DateTime<Utc>, order_id: &str) -> String {
    format!("{}#{order_id}", ts(due_at))
}

/// Above every `due_key` of a deadline at or before `now`: `~` sorts after
/// any order id.
pub(super) fn due_until(now: DateTime<Utc>) -> String {
    format!("{}#~", ts(now))
}

/// The index keys a head gets at checkout and keeps.
pub(super) fn fixed_index_keys(head: &Head) -> [(&'static str, String); 3] {
    [
        ("public_id", head.public_id.clone()),
        ("tenant_key", tenant_key(&head.tenant)),
        (
            "customer_key",
            customer_key(&head.tenant, &head.customer_id),
        ),
    ]
}

/// The due keys, only while the head has a deadline: what keeps the due
/// index sparse.
pub(super) fn due_keys(head: &Head) -> Option<[(&'static str, String); 2]> {
    head.due_at.map(|due| {
        [
            ("due_shard", due_shard_of(&head.id)),
            ("due_key", due_key(due, &head.id)),
        ]
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// Keys are compared as text: these orders are what reads rely on.
    #[test]
    fn text_order_is_the_order_reads_rely_on() {
        let at = |s| Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, s).unwrap();
        assert!(event_sk(9) < event_sk(10), "events by sequence");
        assert!(
            event_sk(u64::MAX).as_str() < HEAD,
            "history before the head"
        );
        assert!(
            HEAD < parked_sk(at(0), "e").as_str(),
            "parked facts after it"
        );
        assert!(
            parked_sk(at(0), "~").as_str() < SNAPSHOT,
            "the snapshot after them"
        );
        assert!(
            parked_sk(at(1), "a") > parked_sk(at(0), "z"),
            "by time first"
        );
        assert!(due_key(at(0), "ord_zzz") < due_until(at(0)));
        assert!(due_until(at(0)) < due_key(at(1), "ord_a"));
    }

    /// Deployed tables hold these formats; changing one strands their items.
    #[test]
    fn formats_are_those_deployed_tables_hold() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
        assert_eq!(order_pk("o1"), "ORDER#o1");
        assert_eq!(order_id(&order_pk("o1")), Some("o1"));
        assert_eq!(event_sk(7), "EVENT#00000000000000000007");
        assert_eq!(parked_sk(at, "e1"), "PARKED#2026-03-01T09:00:00.000000Z#e1");
        assert_eq!(
            dedupe_pk("acme/carrier:ups", "x"),
            "DEDUPE#acme/carrier:ups#x"
        );
        assert_eq!(idempotency_pk("acme", "k"), "IDEM#acme#k");
        assert_eq!(tracking_pk("acme", "1Z9"), "TRACKING#acme#1Z9");
        assert_eq!(legacy_tracking_pk("1Z9"), "TRACKING#1Z9");
        assert_eq!(unmatched_pk("acme|order:o1"), "UNMATCHED#acme|order:o1");
        assert_eq!(customer_key("acme", "c"), "TENANT#acme#CUSTOMER#c");
        assert_eq!(updated(at, "o1"), "2026-03-01T09:00:00.000000Z#o1");
        assert!((0..DUE_SHARDS)
            .map(due_shard)
            .any(|s| s == due_shard_of("ord_1")));
    }
}
