//! Properties of every provider's verifier and parser over hostile input:
//! arbitrary bytes under any header, and the real samples changed anywhere.
//! Whatever arrives, the intake never panics, refuses with a 4xx (never a
//! 5xx), and yields no fact unless the signature over the exact bytes is
//! valid.

use axum::http::HeaderMap;
use proptest::prelude::*;

use super::testkit::*;
use super::{Kind, Rejection};

/// A provider, where it wants its signature, a real sample, and how a
/// sender holding the secret signs a body.
struct Case {
    kind: Kind,
    provider: &'static str,
    header: &'static str,
    sample: &'static str,
    sign: fn(&[u8]) -> String,
}

fn timestamped(body: &[u8]) -> String {
    sign::timestamped(SECRET, now().timestamp() - 1, body)
}

const CASES: [Case; 6] = [
    Case {
        kind: Kind::Carrier,
        provider: "easypost",
        header: "x-hmac-signature",
        sample: include_str!("../../../../events/webhook-easypost.json"),
        sign: |body| format!("hmac-sha256-hex={}", sign::body_hex(SECRET, body)),
    },
    Case {
        kind: Kind::Carrier,
        provider: "aftership",
        header: "aftership-hmac-sha256",
        sample: include_str!("../../../../events/webhook-aftership.json"),
        sign: |body| sign::body_base64(SECRET, body),
    },
    Case {
        kind: Kind::Carrier,
        provider: "shippo",
        header: "x-webhook-signature",
        sample: include_str!("../../../../events/webhook-generic.json"),
        sign: timestamped,
    },
    Case {
        kind: Kind::Payment,
        provider: "stripe",
        header: "stripe-signature",
        sample: include_str!("../../../../events/webhook-stripe-succeeded.json"),
        sign: timestamped,
    },
    Case {
        kind: Kind::Delivery,
        provider: "doordash",
        header: "x-doordash-signature",
        sample: include_str!("../../../../events/webhook-doordash.json"),
        sign: timestamped,
    },
    Case {
        kind: Kind::Delivery,
        provider: "uber",
        header: "x-uber-signature",
        sample: include_str!("../../../../events/webhook-uber.json"),
        sign: |body| sign::body_hex(SECRET, body),
    },
];

fn run(case: &Case, headers: &HeaderMap, body: &[u8]) -> Result<usize, Rejection> {
    intake(case.kind, case.provider, headers, body, SECRET, now()).map(|facts| facts.len())
}

fn signed_by(case: &Case, value: &str) -> HeaderMap {
    headers(&[(case.header, value)])
}

/// A change to a body: one byte replaced, removed or added.
#[derive(Clone, Debug)]
enum Change {
    Flip(prop::sample::Index, u8),
    Remove(prop::sample::Index),
    Insert(prop::sample::Index, u8),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1u8..=255).prop_map(|(i, x)| Change::Flip(i, x)),
        any::<prop::sample::Index>().prop_map(Change::Remove),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Change::Insert(i, b)),
    ]
}

fn apply(body: &[u8], change: &Change) -> Vec<u8> {
    let mut changed = body.to_vec();
    match change {
        Change::Flip(i, x) => changed[i.index(body.len())] ^= x,
        Change::Remove(i) => {
            changed.remove(i.index(body.len()));
        }
        Change::Insert(i, byte) => changed.insert(i.index(body.len() + 1), *byte),
    }
    changed
}

fn refused_with_4xx(result: &Result<usize, Rejection>) -> bool {
    match result {
        Ok(_) => false,
        Err(rejection) => rejection.status().is_client_error(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary bytes, unsigned, under an arbitrary header value, or under
    /// a valid signature of other bytes: refused with a 4xx, no fact.
    #[test]
    fn arbitrary_bytes_are_refused(
        which in 0..CASES.len(),
        body in prop::collection::vec(any::<u8>(), 0..2048),
        forged in "[ -~]{0,120}",
        other in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let case = &CASES[which];
        prop_assume!(other != body);
        for headers in [
            HeaderMap::new(),
            signed_by(case, &forged),
            signed_by(case, &(case.sign)(&other)),
        ] {
            let result = run(case, &headers, &body);
            prop_assert!(refused_with_4xx(&result), "{}: {:?}", case.provider, result);
        }
    }

    /// A real sample changed anywhere, under its original signature: a bad
    /// signature, whatever the change did to the JSON.
    #[test]
    fn a_sample_changed_anywhere_loses_its_signature(which in 0..CASES.len(), change in change()) {
        let case = &CASES[which];
        let headers = signed_by(case, &(case.sign)(case.sample.as_bytes()));
        prop_assert!(run(case, &headers, case.sample.as_bytes()).is_ok_and(|n| n > 0));
        let changed = apply(case.sample.as_bytes(), &change);
        let result = run(case, &headers, &changed);
        prop_assert!(matches!(result, Err(Rejection::BadSignature)), "{}: {:?}", case.provider, result);
    }

    /// A real sample changed anywhere and signed again (a sender with the
    /// secret and a bug): read, or refused as malformed — never a panic or
    /// a 5xx.
    #[test]
    fn a_signed_change_is_read_or_refused_as_malformed(
        which in 0..CASES.len(),
        changes in prop::collection::vec(change(), 1..4),
    ) {
        let case = &CASES[which];
        let mut body = case.sample.as_bytes().to_vec();
        for change in &changes {
            body = apply(&body, change);
        }
        let result = run(case, &signed_by(case, &(case.sign)(&body)), &body);
        prop_assert!(
            matches!(result, Ok(_) | Err(Rejection::Malformed(_))),
            "{}: {:?}", case.provider, result
        );
    }
}
