//! The development mailbox: the local stack's `Outbound`. Every message a
//! customer would get is kept — as a file under `<data-dir>/mailbox/`
//! (`.eml` for email, `.txt` for SMS) and in memory — and listed to the
//! tenant's managers at `GET /admin/mailbox`, so a newcomer sees exactly
//! what a customer would receive. Nothing leaves the machine.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use order_core::auth::Principal;
use order_core::http::Problem;
use order_core::notify::Message;
use order_core::order::Channel;
use order_core::ports::Outbound;
use serde::Serialize;

/// How many messages the mailbox keeps in memory (the files keep them all).
const KEPT: usize = 1000;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Mailed {
    pub id: String,
    pub at: DateTime<Utc>,
    #[serde(skip)]
    pub tenant: String,
    #[serde(flatten)]
    pub message: Message,
}

#[derive(Default)]
pub struct Mailbox {
    /// Where the files go; none with `--memory`.
    dir: Option<PathBuf>,
    kept: Mutex<Vec<Mailed>>,
}

impl Mailbox {
    pub fn new(dir: Option<PathBuf>) -> Self {
        Mailbox {
            dir,
            kept: Mutex::default(),
        }
    }

    /// The tenant's messages, newest first.
    pub fn of(&self, tenant: &str) -> Vec<Mailed> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.iter()
            .rev()
            .filter(|m| m.tenant == tenant)
            .cloned()
            .collect()
    }

    fn file(&self, mailed: &Mailed) -> std::io::Result<()> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        std::fs::create_dir_all(dir)?;
        let m = &mailed.message;
        let stamp = mailed.at.format("%Y%m%dT%H%M%S%.3fZ");
        let (name, text) = match m.channel {
            Channel::Email => (
                format!("{stamp}-{}.eml", mailed.id),
                format!(
                    "Message-ID: <{}@order-tracking.local>\r\nDate: {}\r\nFrom: {} <notifications@order-tracking.local>\r\nTo: {}\r\nSubject: {}\r\nX-Tenant: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}",
                    mailed.id,
                    mailed.at.to_rfc2822(),
                    m.from,
                    m.to,
                    m.subject.as_deref().unwrap_or_default(),
                    mailed.tenant,
                    m.text
                ),
            ),
            Channel::Sms => (
                format!("{stamp}-{}.txt", mailed.id),
                format!("SMS to {} from {} ({})\n\n{}\n", m.to, m.from, mailed.tenant, m.text),
            ),
        };
        std::fs::write(dir.join(name), text)
    }
}

#[async_trait]
impl Outbound for Mailbox {
    async fn send(&self, tenant: &str, message: &Message) -> Result<String, String> {
        let mailed = Mailed {
            id: order_core::order::decide::new_secret_id("local"),
            at: Utc::now(),
            tenant: tenant.to_string(),
            message: message.clone(),
        };
        self.file(&mailed).map_err(|e| format!("mailbox: {e}"))?;
        let id = mailed.id.clone();
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() >= KEPT {
            kept.remove(0);
        }
        kept.push(mailed);
        Ok(id)
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct Listing {
    messages: Vec<Mailed>,
}

/// `GET /admin/mailbox`: what the tenant's customers were sent, newest first.
pub fn router(mailbox: Arc<Mailbox>) -> Router {
    Router::new()
        .route("/admin/mailbox", get(list))
        .with_state(mailbox)
}

#[utoipa::path(
        get,
        path = "/admin/mailbox",
        tag = "admin",
        summary = "What the tenant's customers were sent, newest first (managers of every store; local stack only)",
        responses((status = 200, description = "The messages", body = Listing)),
        security(("bearer" = [])),
)]
async fn list(
    State(mailbox): State<Arc<Mailbox>>,
    principal: Principal,
) -> Result<Json<Listing>, Problem> {
    principal.require_manager()?;
    // Messages of every store: not for a manager of some of them.
    principal.require_all_stores()?;
    Ok(Json(Listing {
        messages: mailbox.of(&principal.tenant),
    }))
}
