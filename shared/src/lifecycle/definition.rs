//! A lifecycle definition as it is written down (JSON), and its validation.
//!
//! A definition is plain data so that a tenant can bring its own; nothing in
//! it is trusted until [`validate`] has checked that every state is
//! reachable, that a terminal state is reachable from every state, that the
//! only transitions going "backwards" are the loops the definition declares,
//! and that aliases and roles name real states. [`Lifecycle::from_definition`]
//! keeps the tables the check builds.
//!
//! [`Lifecycle::from_definition`]: super::Lifecycle::from_definition

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::roles::StateRole;
use super::vocabulary::{Actor, Guard, ShipmentStatus};

/// One state of a lifecycle, in the order of the happy path.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StateDef {
    pub name: String,
    /// Human label for boards and timelines ("Out for delivery").
    pub label: String,
    /// What the customer is told while the order is in this state.
    pub message: String,
    /// Replaces `message` while a shipment still waits for its tracking code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_tracking_pending: Option<String>,
    #[serde(default)]
    pub terminal: bool,
    /// A carrier sub-state a fact may jump over; business milestones are not.
    #[serde(default)]
    pub skippable: bool,
    /// Timestamps stamped the first time the state is entered; defaults to `<name>_at`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stamps: Vec<String>,
    /// What entering this state says about the order's packages (in_transit,
    /// delivered…), for shipments no carrier has told us more about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment: Option<ShipmentStatus>,
    /// How long an order may sit here before the sweep calls it stalled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla_minutes: Option<u32>,
}

/// A legal move, and who may make it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TransitionDef {
    pub from: Vec<String>,
    pub to: String,
    pub actors: Vec<Actor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<Guard>,
    /// A declared loop (substitutions rejected → back to picking); the only
    /// kind of transition allowed to point at an earlier state.
    #[serde(default)]
    pub back: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LifecycleDef {
    pub name: String,
    /// Definitions of one name are versions of it; an order keeps the one
    /// it was placed under, new orders take the highest.
    #[serde(default = "first_version", skip_serializing_if = "is_first_version")]
    pub version: u32,
    /// Where orders in flight under an earlier version go when they are
    /// moved onto this one, for states this version no longer has
    /// (`{"preparing": "cooking"}`); a state it still has needs none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub migrate_from: BTreeMap<String, String>,
    pub states: Vec<StateDef>,
    pub transitions: Vec<TransitionDef>,
    /// Input vocabulary of other systems mapped onto states (PAID → confirmed).
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    /// The state playing each part code acts on (`paid` → confirmed); a role
    /// left out is behaviour the lifecycle does without.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<StateRole, String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DefinitionError {
    #[error("lifecycle file is not valid JSON: {0}")]
    Syntax(String),
    #[error("lifecycle {0} has no states")]
    Empty(String),
    #[error("state {0} is defined twice")]
    DuplicateState(String),
    #[error("transition mentions unknown state {0}")]
    UnknownState(String),
    #[error("transition {from} -> {to} goes backwards without being declared `back`")]
    UndeclaredBackwards { from: String, to: String },
    #[error("transition {from} -> {to} leaves a terminal state")]
    LeavesTerminal { from: String, to: String },
    #[error("transition {from} -> {to} names no actor")]
    NoActor { from: String, to: String },
    #[error("state {0} is not reachable from the initial state")]
    Unreachable(String),
    #[error("no terminal state is reachable from state {0}")]
    Dead(String),
    #[error("alias {alias} points at unknown state {state}")]
    BadAlias { alias: String, state: String },
    #[error("role {role} points at unknown state {state}")]
    BadRole { role: StateRole, state: String },
    #[error("role {role} ends the order, so its state {state} must be terminal")]
    RoleNotTerminal { role: StateRole, state: String },
}

impl LifecycleDef {
    pub fn from_json(text: &str) -> Result<Self, DefinitionError> {
        serde_json::from_str(text).map_err(|e| DefinitionError::Syntax(e.to_string()))
    }
}

fn first_version() -> u32 {
    1
}

fn is_first_version(version: &u32) -> bool {
    *version == 1
}

/// The look-up tables a valid definition yields, which every decision uses.
pub(super) struct Tables {
    pub index: BTreeMap<String, usize>,
    /// Every state reachable from each state, loops included.
    pub reach: Vec<BTreeSet<usize>>,
    /// Every state reachable along forward (non-loop) transitions only.
    pub forward_reach: Vec<BTreeSet<usize>>,
}

/// Checks a definition and builds its look-up tables.
pub(super) fn validate(def: &LifecycleDef) -> Result<Tables, DefinitionError> {
    if def.states.is_empty() {
        return Err(DefinitionError::Empty(def.name.clone()));
    }
    let mut index = BTreeMap::new();
    for (i, s) in def.states.iter().enumerate() {
        if index.insert(s.name.clone(), i).is_some() {
            return Err(DefinitionError::DuplicateState(s.name.clone()));
        }
    }
    let n = def.states.len();
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); n];
    for t in &def.transitions {
        let to = *index
            .get(&t.to)
            .ok_or_else(|| DefinitionError::UnknownState(t.to.clone()))?;
        for from in &t.from {
            let f = *index
                .get(from)
                .ok_or_else(|| DefinitionError::UnknownState(from.clone()))?;
            let names = || (from.clone(), t.to.clone());
            if def.states[f].terminal {
                let (from, to) = names();
                return Err(DefinitionError::LeavesTerminal { from, to });
            }
            if to <= f && !t.back {
                let (from, to) = names();
                return Err(DefinitionError::UndeclaredBackwards { from, to });
            }
            if t.actors.is_empty() {
                let (from, to) = names();
                return Err(DefinitionError::NoActor { from, to });
            }
            edges[f].push(to);
        }
    }
    if def.version == 0 {
        return Err(DefinitionError::Syntax("version starts at 1".into()));
    }
    if let Some(to) = def
        .migrate_from
        .values()
        .find(|to| !index.contains_key(*to))
    {
        return Err(DefinitionError::UnknownState(to.clone()));
    }
    let reach: Vec<BTreeSet<usize>> = (0..n).map(|s| closure(&edges, s)).collect();
    for (i, s) in def.states.iter().enumerate().skip(1) {
        if !reach[0].contains(&i) {
            return Err(DefinitionError::Unreachable(s.name.clone()));
        }
    }
    for (i, s) in def.states.iter().enumerate() {
        let ends = s.terminal || reach[i].iter().any(|&j| def.states[j].terminal);
        if !ends {
            return Err(DefinitionError::Dead(s.name.clone()));
        }
    }
    for (alias, state) in &def.aliases {
        if !index.contains_key(state) {
            return Err(DefinitionError::BadAlias {
                alias: alias.clone(),
                state: state.clone(),
            });
        }
    }
    for (&role, state) in &def.roles {
        let Some(&i) = index.get(state) else {
            let state = state.clone();
            return Err(DefinitionError::BadRole { role, state });
        };
        if role.needs_terminal() && !def.states[i].terminal {
            let state = state.clone();
            return Err(DefinitionError::RoleNotTerminal { role, state });
        }
    }
    // Forward-only edges: the acyclic path the ordering rules reason about.
    let forward: Vec<Vec<usize>> = (0..n)
        .map(|f| edges[f].iter().copied().filter(|&t| t > f).collect())
        .collect();
    let forward_reach = (0..n).map(|s| closure(&forward, s)).collect();
    Ok(Tables {
        index,
        reach,
        forward_reach,
    })
}

/// States reachable from `start` in one or more steps.
fn closure(edges: &[Vec<usize>], start: usize) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<usize> = edges[start].iter().copied().collect();
    while let Some(s) = queue.pop_front() {
        if seen.insert(s) {
            queue.extend(edges[s].iter().copied());
        }
    }
    seen
}
