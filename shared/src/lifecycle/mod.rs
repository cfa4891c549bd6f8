//! Lifecycles are data: which states an order passes through, who may move it,
//! the parts its states play, and how facts that arrive out of order are
//! placed on its path.
//!
//! From the ground up: `vocabulary` (actors, guards, package statuses),
//! `roles` (the parts a state can play), `definition` (a lifecycle as
//! written, and its validation), `machine` (the validated [`Lifecycle`]) and
//! `catalog` (the lifecycles a deployment knows). Nothing here looks at an
//! order.

mod catalog;
mod definition;
mod machine;
mod roles;
mod vocabulary;

pub use catalog::{Catalog, CatalogError, FulfilmentType};
pub use definition::{DefinitionError, LifecycleDef, StateDef, TransitionDef};
pub use machine::{Lifecycle, Placement, Step};
pub use roles::StateRole;
pub use vocabulary::{Actor, Guard, ShipmentStatus};

#[cfg(test)]
mod tests;
