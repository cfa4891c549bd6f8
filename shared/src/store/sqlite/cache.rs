//! The orders the writer committed last, as a command loads them: a command
//! on an order that was just written reads neither SQLite nor JSON.
//!
//! Only the writer thread puts an order here, after its batch committed and
//! in commit order, so an entry is never older than a commit that has been
//! acknowledged; a read that misses goes to the database instead and puts
//! nothing back (a slow reader could otherwise put back a version the
//! writer has since replaced). Two generations bound its size: new entries
//! go to the young one, and when that fills, it becomes the old one and the
//! old one is dropped — the orders written least recently leave first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::ports::Loaded;

/// Orders per generation: the two hold at most twice this many (an order
/// takes a kilobyte or two).
const GENERATION: usize = 32_768;

#[derive(Default)]
pub(super) struct Heads {
    generations: Mutex<Generations>,
}

#[derive(Default)]
struct Generations {
    young: HashMap<String, Arc<Loaded>>,
    old: HashMap<String, Arc<Loaded>>,
}

impl Heads {
    pub(super) fn get(&self, order_id: &str) -> Option<Arc<Loaded>> {
        let g = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        g.young
            .get(order_id)
            .or_else(|| g.old.get(order_id))
            .cloned()
    }

    /// The order as a commit left it. Only the writer calls this.
    pub(super) fn put(&self, loaded: Arc<Loaded>) {
        let retired = {
            let mut g = self.generations.lock().unwrap_or_else(|p| p.into_inner());
            g.old.remove(&loaded.head.id);
            g.young.insert(loaded.head.id.clone(), loaded);
            if g.young.len() < GENERATION {
                return;
            }
            let young = std::mem::take(&mut g.young);
            std::mem::replace(&mut g.old, young)
        };
        // Freeing a generation is a million small frees, tens of
        // milliseconds: not on the writer's thread, where every commit in
        // flight would wait for it.
        let freed = std::thread::Builder::new()
            .name("sqlite-cache-free".into())
            .spawn(move || drop(retired));
        if let Err(e) = freed {
            tracing::warn!(error = %e, "no thread to free the old cache generation: freed inline");
        }
    }

    /// Forgets an order the database disagrees about (another process
    /// wrote it), so the next read goes to the file.
    pub(super) fn forget(&self, order_id: &str) {
        let mut g = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        g.young.remove(order_id);
        g.old.remove(order_id);
    }
}
