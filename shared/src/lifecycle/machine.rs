//! A validated lifecycle: the moves it allows, who may make them, and where
//! a fact lands on an order's path.
//!
//! Everything here is pure. The store adapters use [`Lifecycle::predecessors`]
//! to build the database-side condition of a status change, so the rules
//! below are enforced twice: once when a command is decided and once when it
//! is written.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Utc};

use super::definition::{validate, DefinitionError, LifecycleDef, StateDef, Tables};
use super::roles::StateRole;
use super::vocabulary::{Actor, Guard};

/// A validated lifecycle with its look-up tables.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    def: LifecycleDef,
    index: BTreeMap<String, usize>,
    /// Every state reachable from each state, loops included.
    reach: Vec<BTreeSet<usize>>,
    /// Every state reachable along forward (non-loop) transitions only.
    forward_reach: Vec<BTreeSet<usize>>,
}

/// A single legal move from the current status, possibly over skippable states.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// States entered, ending with the target; skipped states are not listed.
    pub target: String,
    /// States jumped over on the way.
    pub skipped: Vec<String>,
    pub actors: Vec<Actor>,
    pub guards: Vec<Guard>,
}

/// Where a fact claiming status `target` lands relative to the current status.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// A legal move from the current status.
    Apply(Step),
    /// The fact is behind the current status: history, not news.
    Late,
    /// Reachable, but states the path needs have not happened yet: park it.
    Ahead,
    /// The fact cannot fit the order's path (e.g. after a terminal state).
    Conflict,
}

impl Lifecycle {
    /// Validates a definition and keeps the look-up tables every decision uses.
    pub fn from_definition(def: LifecycleDef) -> Result<Self, DefinitionError> {
        let Tables {
            index,
            reach,
            forward_reach,
        } = validate(&def)?;
        let mut lifecycle = Lifecycle {
            def,
            index,
            reach,
            forward_reach,
        };
        if lifecycle.def.roles.is_empty() {
            lifecycle.def.roles = lifecycle.implied_roles();
        }
        Ok(lifecycle)
    }

    /// The roles of a definition that declares none, as decisions found
    /// them before roles existed: by state name or alias, an ending only
    /// where the state is terminal, and the success ending otherwise the
    /// first terminal state (states are written in happy-path order).
    fn implied_roles(&self) -> BTreeMap<StateRole, String> {
        let mut roles: BTreeMap<StateRole, String> = StateRole::ALL
            .into_iter()
            .filter_map(|role| {
                let state = self.resolve(role.implied_by())?;
                (!role.needs_terminal() || self.is_terminal(state))
                    .then(|| (role, state.to_string()))
            })
            .collect();
        if let Some(first) = self.def.states.iter().find(|s| s.terminal) {
            roles
                .entry(StateRole::Completed)
                .or_insert_with(|| first.name.clone());
        }
        roles
    }

    pub fn name(&self) -> &str {
        &self.def.name
    }

    pub fn version(&self) -> u32 {
        self.def.version
    }

    /// What an order records to name its lifecycle: the name for a first
    /// version (as every order did before versions), `name@version` after.
    pub fn key(&self) -> String {
        match self.def.version {
            1 => self.def.name.clone(),
            v => format!("{}@{v}", self.def.name),
        }
    }

    /// Where an order of an earlier version in `state` stands under this
    /// one: the same state if this version has it, else its declared
    /// mapping; `None` would strand it.
    pub fn adopt(&self, state: &str) -> Option<&str> {
        match self.state(state) {
            Some(_) => self.index.get_key_value(state).map(|(k, _)| k.as_str()),
            None => self.def.migrate_from.get(state).map(String::as_str),
        }
    }

    pub fn definition(&self) -> &LifecycleDef {
        &self.def
    }

    pub fn initial(&self) -> &str {
        &self.def.states[0].name
    }

    pub fn state(&self, name: &str) -> Option<&StateDef> {
        self.index.get(name).map(|&i| &self.def.states[i])
    }

    pub fn is_terminal(&self, name: &str) -> bool {
        self.state(name).is_some_and(|s| s.terminal)
    }

    /// Maps outside vocabulary (PAID, Processing, COMPLETED…) onto a state.
    pub fn resolve(&self, input: &str) -> Option<&str> {
        let key = input.trim().to_ascii_lowercase();
        if let Some(&i) = self.index.get(&key) {
            return Some(&self.def.states[i].name);
        }
        self.def.aliases.get(&key).map(String::as_str)
    }

    /// Timestamp fields stamped when `state` is first entered.
    pub fn stamps(&self, state: &str) -> Vec<String> {
        match self.state(state) {
            Some(s) if !s.stamps.is_empty() => s.stamps.clone(),
            Some(s) => vec![format!("{}_at", s.name)],
            None => Vec::new(),
        }
    }

    /// The state that plays `role` in this lifecycle; `None` when no state
    /// does, and the lifecycle goes without that behaviour.
    pub fn role(&self, role: StateRole) -> Option<&str> {
        self.def.roles.get(&role).map(String::as_str)
    }

    /// Whether `state` is the one playing `role`.
    pub fn plays(&self, state: &str, role: StateRole) -> bool {
        self.role(role) == Some(state)
    }

    pub fn sla_minutes(&self, state: &str) -> Option<u32> {
        self.state(state).and_then(|s| s.sla_minutes)
    }

    /// Every single move available from `from`: direct transitions, and
    /// transitions reached by jumping over skippable states.
    pub fn steps_from(&self, from: &str) -> Vec<Step> {
        let Some(&start) = self.index.get(from) else {
            return Vec::new();
        };
        let mut steps = Vec::new();
        let mut parents: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        let mut seen = BTreeSet::from([start]);
        while let Some(s) = queue.pop_front() {
            if s != start && !self.def.states[s].skippable {
                continue;
            }
            for (ti, t) in self.def.transitions.iter().enumerate() {
                if !t.from.iter().any(|f| f == &self.def.states[s].name) {
                    continue;
                }
                let to = self.index[&t.to];
                if !seen.insert(to) {
                    continue;
                }
                parents.insert(to, (s, ti));
                queue.push_back(to);
                steps.push(self.step_to(start, to, &parents));
            }
        }
        steps
    }

    fn step_to(&self, start: usize, to: usize, parents: &BTreeMap<usize, (usize, usize)>) -> Step {
        let mut skipped = Vec::new();
        let mut guards = Vec::new();
        let last = &self.def.transitions[parents[&to].1];
        let mut at = to;
        while at != start {
            let (prev, ti) = parents[&at];
            guards.extend(self.def.transitions[ti].guard);
            if prev != start {
                skipped.push(self.def.states[prev].name.clone());
            }
            at = prev;
        }
        skipped.reverse();
        Step {
            target: self.def.states[to].name.clone(),
            skipped,
            actors: last.actors.clone(),
            guards,
        }
    }

    pub fn step(&self, from: &str, to: &str) -> Option<Step> {
        self.steps_from(from).into_iter().find(|s| s.target == to)
    }

    /// Whether `actor` may take `step`.
    pub fn permits(step: &Step, actor: Actor) -> bool {
        step.actors.iter().any(|a| a.covered_by(actor))
    }

    /// `earlier` lies before `later` on the forward path.
    pub fn is_before(&self, earlier: &str, later: &str) -> bool {
        match (self.index.get(earlier), self.index.get(later)) {
            (Some(&e), Some(&l)) => self.forward_reach[e].contains(&l),
            _ => false,
        }
    }

    pub fn reachable(&self, from: &str, to: &str) -> bool {
        match (self.index.get(from), self.index.get(to)) {
            (Some(&f), Some(&t)) => self.reach[f].contains(&t),
            _ => false,
        }
    }

    /// The statuses an order may be in for a move to `to` to be legal. Store
    /// adapters put this list in the conditional write, so the database itself
    /// refuses an illegal move. An override may start from any live state
    /// that can still reach `to`.
    pub fn predecessors(&self, to: &str, overriding: bool) -> Vec<String> {
        self.def
            .states
            .iter()
            .filter(|s| {
                if overriding {
                    !s.terminal && self.reachable(&s.name, to)
                } else {
                    self.step(&s.name, to).is_some()
                }
            })
            .map(|s| s.name.clone())
            .collect()
    }

    /// Places a fact claiming `target`, which happened at `occurred_at`,
    /// against an order whose `status` was established at `status_since`.
    ///
    /// A fact older than the current status never takes a declared loop back:
    /// it is history, so the final status does not depend on arrival order.
    /// After a terminal state only older facts (and repeats of the final
    /// state) are history; anything newer cannot fit.
    pub fn place(
        &self,
        status: &str,
        status_since: DateTime<Utc>,
        target: &str,
        occurred_at: DateTime<Utc>,
    ) -> Placement {
        let behind = target == status || self.is_before(target, status);
        if behind && occurred_at <= status_since || target == status && self.is_terminal(status) {
            return Placement::Late;
        }
        // News of an earlier state that happened after the order ended (a
        // payment captured after a cancellation) is a problem, not history.
        if self.is_terminal(status) {
            return Placement::Conflict;
        }
        if let Some(step) = self.step(status, target) {
            return Placement::Apply(step);
        }
        if behind {
            Placement::Late
        } else if self.reachable(status, target) {
            Placement::Ahead
        } else {
            Placement::Conflict
        }
    }
}
