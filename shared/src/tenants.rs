//! Per-tenant policy: which lifecycle each fulfilment type uses and whether
//! orders may ship with the tracking number pending (some stores let the
//! status advance, others refuse — so it is each tenant's call; README ›
//! Lifecycle presets).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::lifecycle::FulfilmentType;
use crate::notify::NotificationPolicy;
use crate::order::dispatch::DispatchPolicy;
use crate::order::issue::AckMinutes;
use crate::order::substitution::SubstitutionPolicy;
use crate::order::{OrderPolicy, DEFAULT_STORE};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    #[serde(default)]
    pub allow_tracking_pending: bool,
    /// SLA per state in minutes, over the lifecycle's (`{"confirmed": 240}`).
    #[serde(default)]
    pub sla_minutes: BTreeMap<String, u32>,
    #[serde(default)]
    pub tracking_pending_minutes: Option<u32>,
    #[serde(default)]
    pub stale_scan_minutes: Option<u32>,
    #[serde(default)]
    pub parked_minutes: Option<u32>,
    /// Lifecycle name per fulfilment type; the preset when absent.
    #[serde(default)]
    pub lifecycles: BTreeMap<FulfilmentType, String>,
    /// What customers are told, by which channel.
    #[serde(default)]
    pub notifications: NotificationPolicy,
    /// How long a customer has to answer proposed substitutions, and what
    /// happens then (`{"answer_within_minutes": 15, "on_no_answer": "approve"}`).
    #[serde(default)]
    pub substitutions: SubstitutionPolicy,
    /// Delivery partners asked for a driver when an order is ready for one
    /// (`{"partners": ["doordash", "uber"], "attempts": 3, "backoff_seconds": 30}`).
    #[serde(default)]
    pub dispatch: DispatchPolicy,
    /// How long a fleet driver may go without a position while carrying an
    /// order before a delivery issue is opened (10 minutes by default).
    #[serde(default)]
    pub fleet_position_minutes: Option<u32>,
    /// How long an open issue may wait for acknowledgement, by severity
    /// (`{"critical": 10}`), over the defaults.
    #[serde(default)]
    pub issue_ack_minutes: AckMinutes,
    /// The tenant's stores (restaurants, shops) by id. Listed, an order must
    /// name one of them unless there is only one; unlisted, any store id is
    /// taken and an order naming none belongs to [`DEFAULT_STORE`].
    #[serde(default)]
    pub stores: BTreeMap<String, StoreSettings>,
    /// Named parts of a store's day, in its local time, that reports group
    /// by (`[{"name": "lunch", "from": "11:00", "to": "15:00"}]`).
    #[serde(default)]
    pub shifts: Vec<Shift>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// What people are shown; the id when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// The store's offset from UTC (`-05:00`): its days and hours in reports.
    #[serde(default)]
    pub utc_offset: Option<UtcOffset>,
    /// Where drivers pick orders up, and the number they call.
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// A fixed offset from UTC, written `+HH:MM` / `-HH:MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "-05:00"))]
pub struct UtcOffset(pub FixedOffset);

impl TryFrom<String> for UtcOffset {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        text.parse::<FixedOffset>()
            .map(UtcOffset)
            .map_err(|_| format!("{text:?} is not an offset such as -05:00"))
    }
}

impl From<UtcOffset> for String {
    fn from(offset: UtcOffset) -> String {
        offset.0.to_string()
    }
}

/// Part of a store's day, `[from, to)` in local time; one that ends before
/// it starts runs past midnight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Shift {
    pub name: String,
    pub from: NaiveTime,
    pub to: NaiveTime,
}

impl Shift {
    pub fn contains(&self, at: NaiveTime) -> bool {
        if self.from <= self.to {
            self.from <= at && at < self.to
        } else {
            at >= self.from || at < self.to
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Tenants {
    /// Applies to every tenant not listed.
    #[serde(default)]
    pub default: TenantSettings,
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantSettings>,
}

impl TenantSettings {
    /// The rules an order takes with it at checkout.
    pub fn policy(&self) -> OrderPolicy {
        OrderPolicy {
            allow_tracking_pending: self.allow_tracking_pending,
            sla_minutes: self.sla_minutes.clone(),
            tracking_pending_minutes: self.tracking_pending_minutes,
            stale_scan_minutes: self.stale_scan_minutes,
            parked_minutes: self.parked_minutes,
            issue_ack_minutes: self.issue_ack_minutes.clone(),
            substitutions: self.substitutions.clone(),
            fleet_position_minutes: self.fleet_position_minutes,
            dispatch: self.dispatch.clone(),
        }
    }

    /// The store an order goes to: the one named, which must be listed when
    /// the tenant lists its stores, or the only one there is. `Err` says why
    /// none could be chosen.
    pub fn store_for(&self, named: Option<&str>) -> Result<String, String> {
        let listed = || self.stores.keys().cloned().collect::<Vec<_>>().join(", ");
        match named {
            Some(store) if self.stores.is_empty() || self.stores.contains_key(store) => {
                Ok(store.to_string())
            }
            Some(store) => Err(format!("unknown store {store:?}: one of {}", listed())),
            None if self.stores.is_empty() => Ok(DEFAULT_STORE.to_string()),
            None if self.stores.len() == 1 => Ok(listed()),
            None => Err(format!("store is required: one of {}", listed())),
        }
    }

    /// A store's local time offset; UTC when the tenant gave none.
    pub fn offset_of(&self, store: &str) -> FixedOffset {
        self.stores
            .get(store)
            .and_then(|s| s.utc_offset)
            .map_or(FixedOffset::east_opt(0).expect("zero offset"), |o| o.0)
    }

    /// The shift `at` falls in, in `store`'s local time.
    pub fn shift_at(&self, store: &str, at: DateTime<Utc>) -> Option<&str> {
        let local = at.with_timezone(&self.offset_of(store)).time();
        self.shifts
            .iter()
            .find(|s| s.contains(local))
            .map(|s| s.name.as_str())
    }
}

impl Tenants {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn settings(&self, tenant: &str) -> &TenantSettings {
        self.tenants.get(tenant).unwrap_or(&self.default)
    }

    pub fn lifecycle_for(&self, tenant: &str, fulfilment: FulfilmentType) -> String {
        self.settings(tenant)
            .lifecycles
            .get(&fulfilment)
            .cloned()
            .unwrap_or_else(|| fulfilment.preset().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_stores(ids: &[&str]) -> TenantSettings {
        TenantSettings {
            stores: ids
                .iter()
                .map(|id| (id.to_string(), StoreSettings::default()))
                .collect(),
            ..TenantSettings::default()
        }
    }

    #[test]
    fn a_tenant_with_one_store_need_not_name_it() {
        assert_eq!(with_stores(&[]).store_for(None).unwrap(), DEFAULT_STORE);
        assert_eq!(with_stores(&["soho"]).store_for(None).unwrap(), "soho");
        let two = with_stores(&["soho", "tribeca"]);
        assert!(two.store_for(None).unwrap_err().contains("soho, tribeca"));
        assert_eq!(two.store_for(Some("tribeca")).unwrap(), "tribeca");
        assert!(two.store_for(Some("brooklyn")).is_err());
        // Unlisted, a tenant's store ids are its own business.
        assert_eq!(with_stores(&[]).store_for(Some("x")).unwrap(), "x");
    }

    #[test]
    fn shifts_are_in_the_store_s_local_time_and_may_cross_midnight() {
        let settings: TenantSettings = serde_json::from_value(serde_json::json!({
            "stores": {"soho": {"utc_offset": "-05:00"}},
            "shifts": [
                {"name": "lunch", "from": "11:00", "to": "15:00"},
                {"name": "late", "from": "22:00:00", "to": "02:00:00"}
            ]
        }))
        .unwrap();
        let at = |h, m| chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 3, 1, h, m, 0).unwrap();
        assert_eq!(settings.shift_at("soho", at(16, 0)), Some("lunch"));
        assert_eq!(settings.shift_at("soho", at(20, 0)), None);
        assert_eq!(settings.shift_at("soho", at(4, 30)), Some("late"));
        // A store without an offset keeps UTC.
        assert_eq!(settings.shift_at("other", at(12, 0)), Some("lunch"));
        let bad = serde_json::from_value::<StoreSettings>(serde_json::json!({"utc_offset": "EST"}));
        assert!(bad.is_err());
    }
}
