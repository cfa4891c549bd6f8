//! The in-process fan-out: one broadcast per live channel.
//!
//! A channel exists while someone follows it: its first subscriber creates
//! it and its last one removes it, so publishing an event costs two map
//! look-ups and wakes only the streams of its order and of its tenant, never
//! every open stream. What travels is an [`Arc<News>`]: the event, shared by
//! its channels, and the frame it renders to on one channel, rendered by
//! the first subscriber that needs it and shared by the rest.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::OnceCell;

use crate::live::Frame;
use crate::order::Event;
use crate::ports::Viewer;

/// How many events a customer's channel holds for a subscriber that has not
/// taken them yet: an order's whole burst (a commit that releases parked
/// facts) fits. One that falls further behind catches up from the store.
const CUSTOMER_BACKLOG: usize = 16;
/// The same for a tenant's store channel, which carries all its orders.
const STORE_BACKLOG: usize = 256;

/// A live channel (DESIGN §7): `customer.<public_id>` follows one order for
/// its customer, `store.<tenant>` every order of a tenant for its staff,
/// `store.<tenant>.<store>` those of one of its stores.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ChannelName {
    Customer(String),
    Store(String, Option<String>),
}

impl ChannelName {
    pub fn customer(public_id: &str) -> Self {
        ChannelName::Customer(public_id.to_string())
    }

    /// The tenant's channel, or one store's.
    pub fn store(tenant: &str, store: Option<&str>) -> Self {
        ChannelName::Store(tenant.to_string(), store.map(str::to_string))
    }

    /// The channels an event is news on: its order's customer's, its
    /// tenant's and its store's.
    pub fn of_event(event: &Event) -> [Self; 3] {
        [
            ChannelName::customer(&event.public_id),
            ChannelName::store(&event.tenant, None),
            ChannelName::store(&event.tenant, Some(&event.store)),
        ]
    }

    /// The channel a viewer follows: never one a client names. Staff see
    /// their tenant's, or their one store's when they are limited to it
    /// (see [`Principal::viewing`](crate::auth::Principal::viewing)).
    pub fn of(viewer: &Viewer) -> Self {
        match viewer {
            Viewer::Staff(principal) => {
                ChannelName::store(&principal.tenant, principal.only_store())
            }
            Viewer::Customer { public_id } => ChannelName::customer(public_id),
        }
    }

    fn backlog(&self) -> usize {
        match self {
            ChannelName::Customer(_) => CUSTOMER_BACKLOG,
            ChannelName::Store(..) => STORE_BACKLOG,
        }
    }
}

/// `customer.<public_id>`, `store.<tenant>` or `store.<tenant>.<store>`: its
/// name in the README, and the key its WebSocket connections are kept under
/// on AWS.
impl std::fmt::Display for ChannelName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChannelName::Customer(public_id) => write!(f, "customer.{public_id}"),
            ChannelName::Store(tenant, None) => write!(f, "store.{tenant}"),
            ChannelName::Store(tenant, Some(store)) => write!(f, "store.{tenant}.{store}"),
        }
    }
}

/// One committed event on its way to one channel's subscribers.
pub struct News {
    event: Arc<Event>,
    frame: OnceCell<Option<Frame>>,
}

impl News {
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// The event's frame on this channel: `render` runs for the first
    /// subscriber that asks (again if that one goes away mid-way), and every
    /// other subscriber gets its result. `None`: no message on this channel.
    pub async fn frame<F, Fut>(&self, render: F) -> Option<&Frame>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Option<Frame>>,
    {
        self.frame.get_or_init(render).await.as_ref()
    }
}

/// The channels somebody follows.
#[derive(Default)]
pub struct Hub {
    channels: Mutex<HashMap<ChannelName, broadcast::Sender<Arc<News>>>>,
}

impl Hub {
    /// Hands `event` to the subscribers of its order's customer channel and
    /// of its tenant's and its store's channels. Nobody following any is fine.
    pub fn publish(&self, event: &Event) {
        let senders: Vec<_> = {
            let channels = self.channels();
            ChannelName::of_event(event)
                .iter()
                .filter_map(|name| channels.get(name).cloned())
                .collect()
        };
        if senders.is_empty() {
            return;
        }
        let event = Arc::new(event.clone());
        for sender in senders {
            let news = News {
                event: event.clone(),
                frame: OnceCell::new(),
            };
            // Every subscriber may have gone since the look-up.
            let _ = sender.send(Arc::new(news));
        }
    }

    /// Follows `name` from now on.
    pub fn subscribe(self: &Arc<Self>, name: ChannelName) -> Subscription {
        let receiver = self
            .channels()
            .entry(name.clone())
            .or_insert_with(|| broadcast::channel(name.backlog()).0)
            .subscribe();
        Subscription {
            hub: self.clone(),
            name,
            receiver: Some(receiver),
        }
    }

    #[cfg(test)]
    fn channel_count(&self) -> usize {
        self.channels().len()
    }

    /// A panic elsewhere while the map was held leaves it consistent (every
    /// change is one insert or remove), so a poisoned lock is still usable.
    fn channels(&self) -> MutexGuard<'_, HashMap<ChannelName, broadcast::Sender<Arc<News>>>> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One stream's place on a channel; leaving removes the channel with its
/// last subscriber.
pub struct Subscription {
    hub: Arc<Hub>,
    name: ChannelName,
    /// Always `Some` until dropped.
    receiver: Option<broadcast::Receiver<Arc<News>>>,
}

impl Subscription {
    /// The channel's next event; `Lagged` once it fell more than the
    /// channel's backlog behind (those events are gone: catch up from the
    /// store).
    pub async fn recv(&mut self) -> Result<Arc<News>, RecvError> {
        match &mut self.receiver {
            Some(receiver) => receiver.recv().await,
            None => Err(RecvError::Closed),
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Under the lock, so nobody subscribes between the count and the removal.
        let mut channels = self.hub.channels();
        drop(self.receiver.take());
        if channels
            .get(&self.name)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            channels.remove(&self.name);
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use chrono::Utc;

    use super::*;
    use crate::order::EventBody;

    /// The `seq`th event of an order (a note: the content does not matter here).
    pub fn event(tenant: &str, public_id: &str, seq: u64) -> Event {
        Event {
            event_id: format!("evt_{public_id}_{seq}"),
            order_id: format!("ord_{public_id}"),
            tenant: tenant.to_string(),
            store: "main".into(),
            public_id: public_id.to_string(),
            seq,
            version: seq,
            occurred_at: Utc::now(),
            recorded_at: Utc::now(),
            source: "staff".into(),
            actor: None,
            external_id: None,
            prev_hash: None,
            body: EventBody::NoteAdded {
                text: format!("note {seq}"),
            },
        }
    }

    #[tokio::test]
    async fn an_event_reaches_only_its_orders_its_tenants_and_its_stores_subscribers() {
        let hub = Arc::new(Hub::default());
        let mut customer = hub.subscribe(ChannelName::customer("pub_a"));
        let mut other_customer = hub.subscribe(ChannelName::customer("pub_b"));
        let mut staff = hub.subscribe(ChannelName::store("acme", None));
        let mut store_staff = hub.subscribe(ChannelName::store("acme", Some("main")));
        let mut other_store = hub.subscribe(ChannelName::store("acme", Some("soho")));
        let mut other_staff = hub.subscribe(ChannelName::store("globex", None));

        hub.publish(&event("acme", "pub_a", 1));

        assert_eq!(customer.recv().await.unwrap().event().seq, 1);
        assert_eq!(staff.recv().await.unwrap().event().public_id, "pub_a");
        assert_eq!(store_staff.recv().await.unwrap().event().public_id, "pub_a");
        for quiet in [&mut other_customer, &mut other_staff, &mut other_store] {
            assert!(quiet.receiver.as_mut().unwrap().try_recv().is_err());
        }
    }

    #[tokio::test]
    async fn a_channel_renders_each_event_once_for_all_its_subscribers() {
        let hub = Arc::new(Hub::default());
        let mut subscribers: Vec<_> = (0..50)
            .map(|_| hub.subscribe(ChannelName::customer("pub_a")))
            .collect();
        hub.publish(&event("acme", "pub_a", 1));

        let renders = AtomicUsize::new(0);
        let mut sent = Vec::new();
        for subscriber in &mut subscribers {
            let news = subscriber.recv().await.unwrap();
            let frame = news
                .frame(|| async {
                    renders.fetch_add(1, Ordering::SeqCst);
                    Frame::json("1", "note", &"hello")
                })
                .await
                .unwrap();
            sent.push(frame.bytes().clone());
        }
        assert_eq!(renders.load(Ordering::SeqCst), 1);
        assert!(
            sent.iter().all(|b| b.as_ptr() == sent[0].as_ptr()),
            "one buffer, shared"
        );
    }

    #[tokio::test]
    async fn a_channel_lives_as_long_as_somebody_follows_it() {
        let hub = Arc::new(Hub::default());
        let first = hub.subscribe(ChannelName::customer("pub_a"));
        let second = hub.subscribe(ChannelName::customer("pub_a"));
        assert_eq!(hub.channel_count(), 1);
        drop(first);
        assert_eq!(hub.channel_count(), 1, "one subscriber left");
        drop(second);
        assert_eq!(hub.channel_count(), 0);
        // Publishing to nobody is fine.
        hub.publish(&event("acme", "pub_a", 1));
    }
}
