//! The one loop every live stream runs, as the body of its response.
//!
//! The stream is the response body itself: no task and no queue per
//! subscriber, only the channel's own state, its place on the hub and the
//! frames of a catch-up being sent. The body carries the channel's shared
//! frames as they are (axum's `Sse` would build each subscriber an event of
//! its own, a copy of the bytes). A client that reads slowly stops its
//! body being polled; the hub keeps at most its channel's backlog for it,
//! and once it falls further behind it catches up from the store, so it
//! loses nothing and nothing is buffered for it without bound.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::broadcast::error::RecvError;

use crate::live::{until, Channel, Live, Subscription, Update, HEARTBEAT, POLL_EVERY};

/// What an idle stream sends so proxies keep it open: an SSE comment.
const HEARTBEAT_FRAME: Bytes = Bytes::from_static(b":\n\n");

/// Streams `channel` as Server-Sent Events until the client goes or `ends`:
/// what the client missed first, then the hub's news as it is published
/// (locally) or what a poll of the store finds (Lambda), with a heartbeat
/// whenever nothing was sent for a while.
///
/// The channel is followed on the hub before anything is read, so nothing
/// committed while the catch-up reads is missed.
pub fn respond(live: &Live, ends: Option<Instant>, channel: impl Channel) -> Response {
    let follow = Follow {
        feed: live.subscribe(channel.name()),
        channel,
        ends,
        pending: VecDeque::new(),
        catch_up: true,
        quiet_until: Instant::now() + HEARTBEAT,
    };
    let frames = futures_util::stream::unfold(follow, |mut follow| async move {
        let frame = follow.next().await?;
        follow.quiet_until = Instant::now() + HEARTBEAT;
        Some((Ok::<_, Infallible>(frame), follow))
    })
    // Once ended it stays ended, whoever polls it again.
    .fuse();
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(frames),
    )
        .into_response()
}

struct Follow<C> {
    channel: C,
    /// `None` on Lambda: poll the store instead.
    feed: Option<Subscription>,
    ends: Option<Instant>,
    /// A catch-up's frames not sent yet.
    pending: VecDeque<Bytes>,
    /// Whether the store must be read before the next frame.
    catch_up: bool,
    /// When the next heartbeat is due, unless a frame goes first.
    quiet_until: Instant,
}

impl<C: Channel> Follow<C> {
    /// The next frame to send; `None` ends the stream.
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return Some(frame);
            }
            if std::mem::take(&mut self.catch_up) {
                self.pending = self.channel.catch_up().await?.into();
                continue;
            }
            let heartbeat = tokio::time::sleep_until(self.quiet_until.into());
            let end = until(self.ends);
            let Some(feed) = &mut self.feed else {
                tokio::select! {
                    _ = tokio::time::sleep(POLL_EVERY) => self.catch_up = true,
                    _ = heartbeat => return Some(HEARTBEAT_FRAME),
                    _ = end => return None,
                }
                continue;
            };
            let news = tokio::select! {
                news = feed.recv() => news,
                _ = heartbeat => return Some(HEARTBEAT_FRAME),
                _ = end => return None,
            };
            match news {
                Ok(news) => match self.channel.news(&news).await {
                    Update::Send(frame) => return Some(frame),
                    Update::Nothing => {}
                    Update::CatchUp => self.catch_up = true,
                },
                Err(RecvError::Lagged(_)) => self.catch_up = true,
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
