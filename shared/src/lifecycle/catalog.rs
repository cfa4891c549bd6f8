//! The set of lifecycles a deployment knows: the four presets, plus any
//! definitions loaded from files (which may replace a preset by name).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::definition::{DefinitionError, LifecycleDef};
use super::machine::Lifecycle;

/// How an order reaches its customer; picks the lifecycle at checkout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FulfilmentType {
    Shipping,
    Pickup,
    Kitchen,
    LocalDelivery,
}

impl FulfilmentType {
    pub const ALL: [FulfilmentType; 4] = [
        FulfilmentType::Shipping,
        FulfilmentType::Pickup,
        FulfilmentType::Kitchen,
        FulfilmentType::LocalDelivery,
    ];

    /// The preset lifecycle for this fulfilment type.
    pub fn preset(self) -> &'static str {
        match self {
            FulfilmentType::Shipping => "shipping",
            FulfilmentType::Pickup => "pickup",
            FulfilmentType::Kitchen => "kitchen",
            FulfilmentType::LocalDelivery => "local_delivery",
        }
    }
}

const PRESETS: [&str; 4] = [
    include_str!("../../lifecycles/shipping.json"),
    include_str!("../../lifecycles/pickup.json"),
    include_str!("../../lifecycles/kitchen.json"),
    include_str!("../../lifecycles/local_delivery.json"),
];

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{path}: {source}")]
    Invalid {
        path: String,
        source: DefinitionError,
    },
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Every version of every lifecycle, by the key orders record
/// ([`Lifecycle::key`]), and the newest version of each name.
#[derive(Debug, Clone)]
pub struct Catalog {
    lifecycles: BTreeMap<String, Arc<Lifecycle>>,
    latest: BTreeMap<String, String>,
}

impl Catalog {
    /// The built-in presets. They are validated like any file, so a broken
    /// preset fails every test rather than a customer's order.
    pub fn presets() -> Self {
        let mut catalog = Catalog {
            lifecycles: BTreeMap::new(),
            latest: BTreeMap::new(),
        };
        for text in PRESETS {
            let lifecycle = LifecycleDef::from_json(text)
                .and_then(Lifecycle::from_definition)
                .expect("built-in lifecycle presets are valid");
            catalog.add(lifecycle);
        }
        catalog
    }

    /// Adds a definition, replacing the same version of the same name.
    pub fn add(&mut self, lifecycle: Lifecycle) {
        let newer = self
            .latest(lifecycle.name())
            .is_none_or(|known| known.version() <= lifecycle.version());
        if newer {
            self.latest
                .insert(lifecycle.name().to_string(), lifecycle.key());
        }
        self.lifecycles.insert(lifecycle.key(), Arc::new(lifecycle));
    }

    /// The newest version of `name`: what new orders are placed under.
    pub fn latest(&self, name: &str) -> Option<Arc<Lifecycle>> {
        self.get(self.latest.get(name)?)
    }

    /// Adds every `*.json` definition in `dir`, replacing the same version
    /// of a preset of the same name; versions of one name may sit side by
    /// side (`my_kitchen.json`, `my_kitchen.v2.json`).
    pub fn load_dir(mut self, dir: &Path) -> Result<Self, CatalogError> {
        let io = |source| CatalogError::Io {
            path: dir.display().to_string(),
            source,
        };
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(io)?;
            let lifecycle = LifecycleDef::from_json(&text)
                .and_then(Lifecycle::from_definition)
                .map_err(|source| CatalogError::Invalid {
                    path: path.display().to_string(),
                    source,
                })?;
            self.add(lifecycle);
        }
        Ok(self)
    }

    /// The lifecycle an order records (its [`Lifecycle::key`]).
    pub fn get(&self, key: &str) -> Option<Arc<Lifecycle>> {
        self.lifecycles.get(key).cloned()
    }

    /// Every lifecycle's name, once however many versions it has.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.latest.keys().map(String::as_str)
    }
}
