//! Group commit under test: what a batch of commits sharing one transaction
//! must keep of commits made one at a time. The writer is held while the
//! commits queue up, so they are sure to share one batch.

use std::sync::mpsc;

use super::*;
use crate::order::decide::{self, Decision};
use crate::ports::EventPublisher;
use crate::testkit::fixtures::{claim, placed, shipping, staff, t};

/// Holds the writer until the returned sender is dropped: everything
/// submitted meanwhile goes into the writer's next batch.
fn hold(store: &SqliteStore) -> mpsc::Sender<()> {
    let (release, wait) = mpsc::channel::<()>();
    let job: writer::Job = Box::new(move |_| {
        let _ = wait.recv();
        Ok(Box::new(|_| {}))
    });
    store.writer.submit(job).unwrap();
    release
}

/// Queues a commit without waiting for it.
fn submit(store: &SqliteStore, commit: &Commit) -> oneshot::Receiver<Result<(), StoreError>> {
    let predecessors = crate::store::legal_predecessors(&store.catalog, commit).unwrap();
    let (done, answer) = oneshot::channel();
    let prepared = Prepared::new(commit, predecessors).unwrap();
    store
        .writer
        .submit(store.commit_job(prepared, done))
        .unwrap();
    answer
}

async fn place(store: &SqliteStore) -> Head {
    let d = placed("acme", "cus_1", 0);
    store.commit(&Commit::of(d.clone())).await.unwrap();
    d.head
}

/// A staff move of `head` to `to`, decided on the head as given.
fn move_to(head: &Head, to: &str) -> Decision {
    decide::transition(head, &[], &shipping(), &staff(), claim(to, 1), None, t(1)).unwrap()
}

fn file_store(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(
        &dir.path().join("orders.sqlite3"),
        Arc::new(Catalog::presets()),
    )
    .unwrap()
}

/// Two staff members move one order from the same version, and their
/// commits land in the same batch as other orders' commits, beside a
/// redelivered fact whose head would move but whose dedupe marker is taken:
/// exactly one of the two wins, the other hears of the conflict, the
/// redelivery is a duplicate, and the batch-mates commit all the same —
/// nothing of a refused commit reaches the order, the log or the outbox,
/// and nothing of theirs goes with it.
#[tokio::test]
async fn racing_commits_in_one_batch_have_one_winner_and_spare_their_batch_mates() {
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(&dir);
    let (a, b, c) = (
        place(&store).await,
        place(&store).await,
        place(&store).await,
    );
    let (first, second) = (move_to(&a, "confirmed"), move_to(&a, "cancelled"));
    let marked = |decision: Decision| Commit {
        dedupe: Some(("carrier:ups".into(), "evt_1".into())),
        ..Commit::of(decision)
    };
    let d = place(&store).await;
    let d_confirmed = move_to(&d, "confirmed");
    store.commit(&marked(d_confirmed.clone())).await.unwrap();
    let redelivered = move_to(&d_confirmed.head, "packing");
    let refused = [&second, &redelivered].map(|r| r.events[0].event_id.clone());
    let release = hold(&store);
    let answers = [
        submit(&store, &Commit::of(move_to(&b, "confirmed"))),
        submit(&store, &Commit::of(first)),
        submit(&store, &Commit::of(second)),
        submit(&store, &marked(redelivered)),
        submit(&store, &Commit::of(move_to(&c, "confirmed"))),
    ];
    drop(release);
    let mut outcomes = Vec::new();
    for answer in answers {
        outcomes.push(answer.await.unwrap());
    }
    assert_eq!(outcomes[0], Ok(()));
    assert_eq!(outcomes[1], Ok(()));
    assert!(
        matches!(
            &outcomes[2],
            Err(StoreError::VersionConflict { current: 2, status, .. }) if status == "confirmed"
        ),
        "{:?}",
        outcomes[2]
    );
    assert_eq!(outcomes[3], Err(StoreError::Duplicate));
    assert_eq!(outcomes[4], Ok(()));
    for order in [&a, &b, &c, &d] {
        let head = store.load(&order.id).await.unwrap().unwrap().head;
        assert_eq!((head.status.as_str(), head.version), ("confirmed", 2));
        assert_eq!(store.events(&order.id, 0, 10).await.unwrap().len(), 2);
    }
    let pending = store.pending(100).await.unwrap();
    assert_eq!(pending.len(), 8, "four placements and four moves");
    assert!(pending.iter().all(|e| !refused.contains(&e.event_id)));
    // What the cache holds is what the file holds.
    drop(store);
    let head = file_store(&dir).load(&d.id).await.unwrap().unwrap().head;
    assert_eq!(head.version, 2);
}

/// Events committed in one batch are in the file once the commits are
/// answered: a store opened on it afterwards has every one of them, and
/// hands every unpublished one to the relay, which a restart must not lose.
#[tokio::test]
async fn a_batch_survives_a_reopen_and_its_events_are_still_relayed() {
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(&dir);
    let orders = [place(&store).await, place(&store).await];
    let published = store.pending(100).await.unwrap();
    store
        .acknowledge(&[published[0].event_id.clone()])
        .await
        .unwrap();
    let release = hold(&store);
    let answers: Vec<_> = orders
        .iter()
        .map(|order| submit(&store, &Commit::of(move_to(order, "confirmed"))))
        .collect();
    drop(release);
    for answer in answers {
        answer.await.unwrap().unwrap();
    }
    drop(store);

    let reopened = file_store(&dir);
    for order in &orders {
        let events = reopened.events(&order.id, 0, 10).await.unwrap();
        assert_eq!(events.len(), 2, "placed and confirmed");
        assert_eq!(
            reopened
                .load(&order.id)
                .await
                .unwrap()
                .unwrap()
                .head
                .version,
            2
        );
    }
    let publisher = Collect::default();
    crate::relay::drain(&reopened, &publisher).await.unwrap();
    let relayed = publisher.0.lock().unwrap().clone();
    assert_eq!(
        relayed.len(),
        3,
        "all but the one acknowledged: {relayed:?}"
    );
    assert!(!relayed.contains(&published[0].event_id));
    assert!(reopened.pending(100).await.unwrap().is_empty());
    drop(reopened);
    assert!(
        file_store(&dir).pending(100).await.unwrap().is_empty(),
        "acknowledged events are not relayed again"
    );
}

/// The relay reads the outbox table when the mirror may be missing rows (a
/// store just opened does not know what is left in it). A read that shares
/// a batch with commits must leave the mirror holding each of their events
/// once — those committed before it in the batch are in what it read, those
/// after it are not.
#[tokio::test]
async fn an_outbox_read_in_a_batch_with_commits_hands_each_event_out_once() {
    let dir = tempfile::tempdir().unwrap();
    let orders = {
        let store = file_store(&dir);
        [place(&store).await, place(&store).await]
    };
    let store = file_store(&dir);
    let release = hold(&store);
    let before = submit(&store, &Commit::of(move_to(&orders[0], "confirmed")));
    let (answer, read) = oneshot::channel();
    let job = store.mirror.clone().refill(100, answer);
    store.writer.submit(job).unwrap();
    let after = submit(&store, &Commit::of(move_to(&orders[1], "confirmed")));
    drop(release);
    before.await.unwrap().unwrap();
    assert_eq!(
        read.await.unwrap().unwrap().len(),
        3,
        "two placed, one confirmed"
    );
    after.await.unwrap().unwrap();
    let pending = store.pending(100).await.unwrap();
    let mut ids: Vec<_> = pending.iter().map(|e| e.event_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((pending.len(), ids.len()), (4, 4), "{pending:?}");
}

/// Another process may write the same file (the Lambda binaries under
/// `cargo lambda watch` do): what it wrote is what the next load sees, even
/// of an order this store has in its cache.
#[tokio::test]
async fn a_write_by_another_connection_is_seen_by_the_next_load() {
    let dir = tempfile::tempdir().unwrap();
    let (store, other) = (file_store(&dir), file_store(&dir));
    let order = place(&store).await;
    other
        .commit(&Commit::of(move_to(&order, "confirmed")))
        .await
        .unwrap();
    let head = store.load(&order.id).await.unwrap().unwrap().head;
    assert_eq!((head.status.as_str(), head.version), ("confirmed", 2));
    // And a command this store decides on it commits.
    store
        .commit(&Commit::of(move_to(&head, "packing")))
        .await
        .unwrap();
}

#[derive(Default)]
struct Collect(std::sync::Mutex<Vec<String>>);

#[async_trait]
impl EventPublisher for Collect {
    async fn publish(&self, events: &[Event]) -> Result<(), crate::ports::PublishError> {
        let mut seen = self.0.lock().unwrap();
        seen.extend(events.iter().map(|e| e.event_id.clone()));
        Ok(())
    }
}
