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

#[derive(Debug, Clone)]
pub struct Catalog {
    lifecycles: BTreeMap<String, Arc<Lifecycle>>,
}

impl Catalog {
    /// The built-in presets. They are validated like any file, so a broken
    /// preset fails every test rather than a customer's order.
    pub fn presets() -> Self {
        let lifecycles = PRESETS
            .iter()
            .map(|text| {
                let lifecycle = LifecycleDef::from_json(text)
                    .and_then(Lifecycle::from_definition)
                    .expect("built-in lifecycle presets are valid");
                (lifecycle.name().to_string(), Arc::new(lifecycle))
            })
            .collect();
        Catalog { lifecycles }
    }

    /// Adds every `*.json` definition in `dir`, replacing presets of the same name.
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
            self.lifecycles
                .insert(lifecycle.name().to_string(), Arc::new(lifecycle));
        }
        Ok(self)
    }

    pub fn get(&self, name: &str) -> Option<Arc<Lifecycle>> {
        self.lifecycles.get(name).cloned()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.lifecycles.keys().map(String::as_str)
    }
}
