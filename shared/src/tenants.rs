//! Per-tenant policy: which lifecycle each fulfilment type uses and whether
//! orders may ship with the tracking number pending (some stores let the
//! status advance, others refuse — so it is each tenant's call; README ›
//! Lifecycle presets).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::lifecycle::FulfilmentType;
use crate::notify::NotificationPolicy;
use crate::order::OrderPolicy;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
        }
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
