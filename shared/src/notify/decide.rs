//! Whether to tell a customer an event's news by a channel now, or why not.

use chrono::{DateTime, Duration, Utc};

use super::policy::{news, NotificationPolicy};
use crate::order::{Channel, Disposition, Event, EventBody, Head, Suppressed};

/// The decision for one channel.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Tell them.
    Send,
    /// Do not, and record why.
    Suppress(Suppressed, Option<String>),
}

/// The decisions about `event` for its order `head`, whose log is `log`
/// (with the notifier's records), one per channel the store or the
/// customer wants this news on; none for an event that is not news. An
/// event within the collapse window of a later piece of news is collapsed
/// into it, so decide once the window has passed (`now`).
pub fn decide(
    event: &Event,
    head: &Head,
    log: &[Event],
    policy: &NotificationPolicy,
    now: DateTime<Utc>,
) -> Vec<(Channel, String, Verdict)> {
    let Some(news) = news(event) else {
        return Vec::new();
    };
    let prefs = head.notify.as_ref();
    let late =
        matches!(&event.body, EventBody::StatusFact(f) if f.disposition == Disposition::Late);
    let window = Duration::seconds(i64::from(policy.collapse_seconds));
    let later = log.iter().find(|e| {
        e.seq > event.seq
            && super::policy::news(e).is_some()
            && !matches!(&e.body, EventBody::StatusFact(f) if f.disposition == Disposition::Late)
            && e.recorded_at - event.recorded_at <= window
            && e.recorded_at <= now
    });
    let mut verdicts = Vec::new();
    for channel in Channel::ALL {
        if !policy.wants(channel, &news, prefs) {
            continue;
        }
        let told = log.iter().any(|e| match &e.body {
            EventBody::NotificationRecorded(r) => {
                r.channel == channel && r.news == news && r.sent()
            }
            _ => false,
        });
        let contact = match channel {
            Channel::Email => head.contact.email.is_some(),
            Channel::Sms => head.contact.phone.is_some(),
        };
        let verdict = if prefs.is_some_and(|p| p.opted_out) {
            Verdict::Suppress(Suppressed::OptedOut, None)
        } else if late {
            Verdict::Suppress(Suppressed::LateFact, None)
        } else if let Some(later) = later {
            Verdict::Suppress(Suppressed::Collapsed, Some(later.event_id.clone()))
        } else if told {
            Verdict::Suppress(Suppressed::AlreadyTold, None)
        } else if !contact {
            Verdict::Suppress(Suppressed::NoContact, None)
        } else {
            Verdict::Send
        };
        verdicts.push((channel, news.clone(), verdict));
    }
    verdicts
}

#[cfg(all(test, feature = "testkit"))]
mod tests {
    use super::*;
    use crate::order::decide::{self as order_decide, StatusClaim};
    use crate::order::{NotificationRecord, NotifyPrefs};
    use crate::testkit::fixtures::{placed, shipping, staff, t};

    /// An order of a customer with an email address and no phone, placed at
    /// minute 0 and moved to each of `moves` at its minute; its head and log.
    fn order(moves: &[(&str, i64)]) -> (Head, Vec<Event>) {
        let mut d = placed("acme", "cus_1", 0);
        d.head.contact.email = Some("dana@example.com".into());
        let mut head = d.head.clone();
        let mut log = d.events.clone();
        for (to, at) in moves {
            let claim = StatusClaim {
                to: to.to_string(),
                occurred_at: t(*at),
                reason: None,
                tracking: None,
            };
            let next =
                order_decide::transition(&head, &[], &shipping(), &staff(), claim, None, t(*at))
                    .unwrap();
            head = next.head;
            log.extend(next.events);
        }
        (head, log)
    }

    fn verdicts(
        event: &Event,
        head: &Head,
        log: &[Event],
        policy: &NotificationPolicy,
    ) -> Vec<(Channel, Verdict)> {
        decide(event, head, log, policy, t(60))
            .into_iter()
            .map(|(c, _, v)| (c, v))
            .collect()
    }

    #[test]
    fn news_goes_by_email_unless_collapsed_opted_out_told_or_without_contact() {
        let policy = NotificationPolicy::default();
        let (head, log) = order(&[("confirmed", 1), ("packing", 30)]);
        // Placed at 0, confirmed at 1 (within a minute: collapsed), packing at 30.
        assert_eq!(
            verdicts(&log[0], &head, &log, &policy),
            [(
                Channel::Email,
                Verdict::Suppress(Suppressed::Collapsed, Some(log[1].event_id.clone()))
            )]
        );
        assert_eq!(
            verdicts(&log[1], &head, &log, &policy),
            [(Channel::Email, Verdict::Send)]
        );
        assert_eq!(
            verdicts(&log[2], &head, &log, &policy),
            [(Channel::Email, Verdict::Send)]
        );

        // Told already: once is enough.
        let mut told = log.clone();
        let mut record = told[2].clone();
        record.seq = 99;
        record.body = EventBody::NotificationRecorded(NotificationRecord {
            about: log[2].event_id.clone(),
            news: "packing".into(),
            channel: Channel::Email,
            message_id: Some("m-1".into()),
            suppressed: None,
            detail: None,
        });
        told.push(record);
        assert_eq!(
            verdicts(&log[2], &head, &told, &policy),
            [(
                Channel::Email,
                Verdict::Suppress(Suppressed::AlreadyTold, None)
            )]
        );

        // SMS only if the store sends it, and then only with a number.
        let sms = NotificationPolicy {
            sms: vec!["packing".into()],
            ..policy.clone()
        };
        assert_eq!(
            verdicts(&log[2], &head, &log, &sms),
            [
                (Channel::Email, Verdict::Send),
                (Channel::Sms, Verdict::Suppress(Suppressed::NoContact, None))
            ]
        );

        // The customer's choices: SMS for packing only, no email; or nothing at all.
        let mut chose = head.clone();
        chose.contact.phone = Some("+14165550100".into());
        chose.notify = Some(NotifyPrefs {
            opted_out: false,
            email: Some(vec![]),
            sms: Some(vec!["packing".into()]),
        });
        assert_eq!(
            verdicts(&log[2], &chose, &log, &policy),
            [(Channel::Sms, Verdict::Send)]
        );
        chose.notify = Some(NotifyPrefs {
            opted_out: true,
            ..NotifyPrefs::default()
        });
        assert_eq!(
            verdicts(&log[2], &chose, &log, &policy),
            [(
                Channel::Email,
                Verdict::Suppress(Suppressed::OptedOut, None)
            )]
        );
    }

    #[test]
    fn a_late_fact_is_not_news_the_customer_is_sent() {
        let policy = NotificationPolicy::default();
        let (head, log) = order(&[("confirmed", 1), ("packing", 10)]);
        // A carrier's "confirmed" that arrived once the order was packing.
        let mut late = log[1].clone();
        late.seq = 4;
        if let EventBody::StatusFact(f) = &mut late.body {
            f.disposition = Disposition::Late;
        }
        let mut all = log.clone();
        all.push(late.clone());
        assert_eq!(
            verdicts(&late, &head, &all, &policy),
            [(
                Channel::Email,
                Verdict::Suppress(Suppressed::LateFact, None)
            )]
        );
        // A note is no news at all.
        let note = order_decide::add_note(&head, &shipping(), &staff(), "hello".into(), t(30))
            .events
            .remove(0);
        assert!(decide(&note, &head, &log, &policy, t(60)).is_empty());
    }
}
