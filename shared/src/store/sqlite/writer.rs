//! The one writer: a thread that owns the store's write connection and runs
//! every write handed to it, with group commit.
//!
//! SQLite takes one writer at a time, so writers on several threads only
//! queue on its lock (and on a mutex, and on a blocking-pool hop each).
//! Here callers send their work down a channel instead and await a reply.
//! The thread takes whatever has queued up while it was busy — one job or a
//! few hundred — and runs it all in one transaction. A job that is refused
//! (a lost race, a duplicate) leaves nothing behind, and its batch-mates
//! commit: a commit checks everything that can refuse it before it writes
//! anything, other writes run in a savepoint of their own. Every reply
//! waits for the batch's `COMMIT`, so nobody hears "done" about a write
//! that is not.

use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::unavailable;
use crate::ports::StoreError;

/// The most jobs one transaction takes: enough to share a commit among
/// every request in flight, few enough that the first one's reply does not
/// wait on a long tail.
const MAX_BATCH: usize = 256;

/// Told the fate of the job's batch once it is known: `Ok` if it committed.
pub(super) type Reply = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// Work for the writer, run inside the batch's transaction: `Ok` when it
/// did its writes or left nothing behind (a refusal goes in the reply),
/// `Err` when it failed halfway and cannot undo what it wrote (a disk
/// error, or a constraint its checks should have caught) — then the batch
/// is abandoned. A job dropped without running (the batch could not start,
/// or was abandoned before its turn) answers "unavailable".
pub(super) type Job = Box<dyn FnOnce(&Connection) -> Result<Reply, (Reply, StoreError)> + Send>;

/// Commits between two nudges to the checkpointer.
const CHECKPOINT_EVERY: usize = 200;

/// The handle the store keeps: dropping it lets the thread finish what is
/// queued, close the connection and stop.
pub(super) struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer on `conn`. With a `checkpoints` connection (a
    /// file in WAL mode), a second thread copies the WAL back into the
    /// database file every [`CHECKPOINT_EVERY`] commits: the copying then
    /// happens beside the writer, not in the middle of a commit (two thirds
    /// of a commit's time when SQLite does it all there). It cannot start
    /// the WAL over, as the writer keeps adding to it while it copies: the
    /// writer's own checkpoints do that, seldom (`wal_autocheckpoint`),
    /// with little left to copy.
    pub(super) fn start(
        conn: Connection,
        checkpoints: Option<Connection>,
    ) -> Result<Writer, StoreError> {
        let (jobs, queue) = mpsc::channel();
        let checkpointer = checkpoints.map(checkpointer).transpose()?;
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                let (nudge, thread) = checkpointer.unzip();
                run(&conn, &queue, nudge.as_ref());
                drop(nudge);
                if let Some(thread) = thread {
                    let _ = thread.join();
                }
            })
            .map_err(unavailable)?;
        Ok(Writer {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    pub(super) fn submit(&self, job: Job) -> Result<(), StoreError> {
        self.jobs
            .as_ref()
            .and_then(|jobs| jobs.send(job).ok())
            .ok_or_else(|| unavailable("the store's writer has stopped"))
    }

    /// Runs a write on the writer's connection, in a savepoint of its own
    /// (an error undoes what it wrote), and answers once its batch has
    /// committed.
    pub(super) async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.run(move |conn| {
            if let Err(e) = exec(conn, "SAVEPOINT job") {
                return Ok(Err(e));
            }
            let result = f(conn);
            match result {
                Ok(_) => exec(conn, "RELEASE job"),
                Err(_) => exec(conn, "ROLLBACK TO job").and_then(|()| exec(conn, "RELEASE job")),
            }
            .map(|()| result)
        })
        .await
    }

    /// Runs a read on the writer's connection (a `:memory:` store has no
    /// other), beside the writes of a batch.
    pub(super) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.run(move |conn| Ok(f(conn))).await
    }

    /// `f` answers `Err` when it broke the batch (see [`Job`]).
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<Result<T, StoreError>, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.submit(Box::new(move |conn| {
            let (result, broke) = match f(conn) {
                Ok(result) => (result, None),
                Err(e) => (Err(e.clone()), Some(e)),
            };
            let reply: Reply = Box::new(move |batch| {
                let _ = tx.send(result.and_then(|value| batch.map(|()| value)));
            });
            match broke {
                None => Ok(reply),
                Some(e) => Err((reply, e)),
            }
        }))?;
        rx.await
            .map_err(|_| unavailable("the write did not run; see the log"))?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(conn: &Connection, queue: &mpsc::Receiver<Job>, checkpoints: Option<&mpsc::SyncSender<()>>) {
    let mut since_checkpoint = 0;
    while let Ok(first) = queue.recv() {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        batch.extend(queue.try_iter().take(MAX_BATCH - 1));
        let (replies, fate) = run_batch(conn, batch);
        if let Err(e) = &fate {
            tracing::error!(error = %e, "a batch of writes failed");
        }
        since_checkpoint += replies.len();
        for reply in replies {
            reply(fate.clone());
        }
        if let Some(nudge) = checkpoints.filter(|_| since_checkpoint >= CHECKPOINT_EVERY) {
            // A checkpoint under way already covers these commits.
            let _ = nudge.try_send(());
            since_checkpoint = 0;
        }
    }
}

/// Runs `PASSIVE` checkpoints on `conn` when nudged, until the writer stops.
/// A passive checkpoint never waits for the writer: it copies what was
/// committed when it started, and the writer starts the WAL over once all
/// of it is copied.
fn checkpointer(conn: Connection) -> Result<(mpsc::SyncSender<()>, JoinHandle<()>), StoreError> {
    let (nudge, nudged) = mpsc::sync_channel(1);
    let thread = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            while nudged.recv().is_ok() {
                let copied = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                if let Err(e) = copied {
                    tracing::warn!(error = %e, "checkpoint failed; the next one retries");
                }
            }
        })
        .map_err(unavailable)?;
    Ok((nudge, thread))
}

pub(super) fn exec(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
        .map(drop)
        .map_err(unavailable)
}

/// Runs a batch in one transaction; returns the replies of the jobs that
/// ran, in order, and whether the transaction committed.
fn run_batch(conn: &Connection, batch: Vec<Job>) -> (Vec<Reply>, Result<(), StoreError>) {
    let mut replies = Vec::with_capacity(batch.len());
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        return (replies, Err(e));
    }
    for job in batch {
        match job(conn) {
            Ok(reply) => replies.push(reply),
            Err((reply, e)) => {
                replies.push(reply);
                return (replies, abandon(conn, e));
            }
        }
        // Some errors (a full disk, I/O) make SQLite roll the whole
        // transaction back; the jobs after that must not run outside it.
        if conn.is_autocommit() {
            return (
                replies,
                Err(unavailable("SQLite abandoned the transaction")),
            );
        }
    }
    match exec(conn, "COMMIT") {
        Ok(()) => (replies, Ok(())),
        Err(e) => (replies, abandon(conn, e)),
    }
}

fn abandon(conn: &Connection, e: StoreError) -> Result<(), StoreError> {
    if !conn.is_autocommit() {
        let _ = exec(conn, "ROLLBACK");
    }
    Err(e)
}
