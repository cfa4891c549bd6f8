use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::*;

fn preset(name: &str) -> Arc<Lifecycle> {
    Catalog::presets().get(name).expect("preset exists")
}

fn def(states: &[(&str, bool)], transitions: &[(&str, &str, bool)]) -> LifecycleDef {
    LifecycleDef {
        name: "custom".into(),
        version: 1,
        migrate_from: Default::default(),
        states: states
            .iter()
            .map(|(name, terminal)| StateDef {
                name: name.to_string(),
                label: name.to_string(),
                message: String::new(),
                message_tracking_pending: None,
                terminal: *terminal,
                skippable: false,
                stamps: Vec::new(),
                shipment: None,
                sla_minutes: None,
            })
            .collect(),
        transitions: transitions
            .iter()
            .map(|(from, to, back)| TransitionDef {
                from: vec![from.to_string()],
                to: to.to_string(),
                actors: vec![Actor::Staff],
                guard: None,
                back: *back,
            })
            .collect(),
        aliases: Default::default(),
        roles: Default::default(),
    }
}

#[test]
fn every_preset_is_valid_and_named_after_its_fulfilment_type() {
    let catalog = Catalog::presets();
    for f in FulfilmentType::ALL {
        let lifecycle = catalog
            .get(f.preset())
            .expect("preset for each fulfilment type");
        assert_eq!(lifecycle.name(), f.preset());
    }
}

#[test]
fn validation_rejects_unreachable_dead_backwards_and_terminal_exits() {
    let unreachable = def(
        &[("a", false), ("b", true), ("c", true)],
        &[("a", "b", false)],
    );
    assert_eq!(
        Lifecycle::from_definition(unreachable).unwrap_err(),
        DefinitionError::Unreachable("c".into())
    );
    let dead = def(
        &[("a", false), ("b", false), ("c", true)],
        &[("a", "b", false), ("a", "c", false)],
    );
    assert_eq!(
        Lifecycle::from_definition(dead).unwrap_err(),
        DefinitionError::Dead("b".into())
    );
    let backwards = def(
        &[("a", false), ("b", false), ("c", true)],
        &[("a", "b", false), ("b", "a", false), ("b", "c", false)],
    );
    assert!(matches!(
        Lifecycle::from_definition(backwards).unwrap_err(),
        DefinitionError::UndeclaredBackwards { .. }
    ));
    let exits_terminal = def(
        &[("a", false), ("b", true), ("c", true)],
        &[("a", "b", false), ("b", "c", false)],
    );
    assert!(matches!(
        Lifecycle::from_definition(exits_terminal).unwrap_err(),
        DefinitionError::LeavesTerminal { .. }
    ));
    let unknown = def(&[("a", false), ("b", true)], &[("a", "x", false)]);
    assert_eq!(
        Lifecycle::from_definition(unknown).unwrap_err(),
        DefinitionError::UnknownState("x".into())
    );
    let mut bad_alias = def(&[("a", false), ("b", true)], &[("a", "b", false)]);
    bad_alias.aliases.insert("paid".into(), "nowhere".into());
    assert!(matches!(
        Lifecycle::from_definition(bad_alias).unwrap_err(),
        DefinitionError::BadAlias { .. }
    ));
    assert!(matches!(
        LifecycleDef::from_json("{"),
        Err(DefinitionError::Syntax(_))
    ));
}

#[test]
fn a_declared_loop_is_accepted() {
    let looped = def(
        &[("a", false), ("b", false), ("c", true)],
        &[("a", "b", false), ("b", "a", true), ("b", "c", false)],
    );
    let lifecycle = Lifecycle::from_definition(looped).expect("declared loop is valid");
    assert!(lifecycle.step("b", "a").is_some());
    assert!(lifecycle.is_before("a", "b"));
    assert!(!lifecycle.is_before("b", "a"));
}

#[test]
fn definitions_load_from_files_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut custom = preset("pickup").definition().clone();
    custom.name = "curbside".into();
    std::fs::write(
        dir.path().join("curbside.json"),
        serde_json::to_string(&custom).unwrap(),
    )
    .unwrap();
    let catalog = Catalog::presets()
        .load_dir(dir.path())
        .expect("valid file loads");
    assert!(catalog.get("curbside").is_some());

    let broken = def(&[("a", false), ("b", false)], &[("a", "b", false)]);
    std::fs::write(
        dir.path().join("broken.json"),
        serde_json::to_string(&broken).unwrap(),
    )
    .unwrap();
    let err = Catalog::presets().load_dir(dir.path()).unwrap_err();
    assert!(err.to_string().contains("broken.json"), "{err}");
}

#[test]
fn outside_vocabulary_resolves_through_aliases() {
    let shipping = preset("shipping");
    assert_eq!(shipping.resolve("PAID"), Some("confirmed"));
    assert_eq!(shipping.resolve("Processing"), Some("confirmed"));
    assert_eq!(shipping.resolve("accepted"), Some("confirmed"));
    assert_eq!(shipping.resolve("COMPLETED"), Some("delivered"));
    assert_eq!(shipping.resolve("teleported"), None);
    assert_eq!(preset("kitchen").resolve("completed"), Some("completed"));
    assert_eq!(preset("pickup").resolve("confirmed"), Some("accepted"));
    assert_eq!(
        preset("pickup").resolve("packing"),
        None,
        "packing is for shipping orders only"
    );
}

#[test]
fn carrier_sub_states_may_be_skipped_but_milestones_may_not() {
    let shipping = preset("shipping");
    let step = shipping
        .step("shipped", "delivered")
        .expect("carrier states are skippable");
    assert_eq!(step.skipped, ["in_transit", "out_for_delivery"]);
    assert!(
        shipping.step("confirmed", "delivered").is_none(),
        "shipped is a milestone"
    );
    assert!(
        shipping.step("pending", "shipped").is_none(),
        "confirmed is a milestone"
    );
    let to_shipped = shipping
        .step("confirmed", "shipped")
        .expect("packing may be skipped");
    assert_eq!(to_shipped.guards, [Guard::TrackingCode]);
}

#[test]
fn predecessors_are_derived_from_the_definition() {
    let shipping = preset("shipping");
    assert_eq!(
        shipping.predecessors("shipped", false),
        ["confirmed", "packing"]
    );
    assert_eq!(
        shipping.predecessors("delivered", false),
        ["shipped", "in_transit", "out_for_delivery"]
    );
    assert!(shipping.predecessors("pending", false).is_empty());
    let overriding = shipping.predecessors("delivered", true);
    assert!(overriding.contains(&"pending".to_string()));
    assert!(!overriding.contains(&"cancelled".to_string()));
}

#[test]
fn facts_are_placed_as_apply_late_ahead_or_conflict() {
    let shipping = preset("shipping");
    let t = |m| Utc.with_ymd_and_hms(2026, 1, 1, 12, m, 0).unwrap();
    assert!(matches!(
        shipping.place("shipped", t(10), "delivered", t(20)),
        Placement::Apply(_)
    ));
    assert_eq!(
        shipping.place("delivered", t(20), "in_transit", t(15)),
        Placement::Late
    );
    assert_eq!(
        shipping.place("confirmed", t(10), "delivered", t(20)),
        Placement::Ahead
    );
    assert_eq!(
        shipping.place("cancelled", t(10), "shipped", t(20)),
        Placement::Conflict
    );
    assert_eq!(
        shipping.place("confirmed", t(10), "confirmed", t(20)),
        Placement::Late
    );
}

#[test]
fn an_old_fact_never_takes_a_declared_loop_back() {
    let local = preset("local_delivery");
    let t = |m| Utc.with_ymd_and_hms(2026, 1, 1, 12, m, 0).unwrap();
    assert!(matches!(
        local.place("substitutions_needed", t(10), "picking_in_progress", t(20)),
        Placement::Apply(_)
    ));
    assert_eq!(
        local.place("substitutions_needed", t(10), "picking_in_progress", t(5)),
        Placement::Late
    );
}

#[test]
fn owners_inherit_manager_and_staff_powers() {
    let shipping = preset("shipping");
    let cancel = shipping
        .step("packing", "cancelled")
        .expect("managers may cancel while packing");
    assert!(Lifecycle::permits(&cancel, Actor::Owner));
    assert!(Lifecycle::permits(&cancel, Actor::Manager));
    assert!(!Lifecycle::permits(&cancel, Actor::Staff));
    assert!(!Lifecycle::permits(&cancel, Actor::Carrier));
}

#[test]
fn states_stamp_their_timestamps() {
    let shipping = preset("shipping");
    assert_eq!(
        shipping.stamps("delivered"),
        ["delivered_at", "completed_at"]
    );
    assert_eq!(shipping.stamps("packing"), ["packing_at"]);
    assert_eq!(preset("pickup").stamps("ready"), ["ready_at"]);
}

#[test]
fn roles_name_real_states_and_endings_are_terminal() {
    let mut unknown = def(&[("a", false), ("b", true)], &[("a", "b", false)]);
    unknown.roles.insert(StateRole::Paid, "nowhere".into());
    assert_eq!(
        Lifecycle::from_definition(unknown).unwrap_err(),
        DefinitionError::BadRole {
            role: StateRole::Paid,
            state: "nowhere".into()
        }
    );
    let mut live_ending = def(&[("a", false), ("b", true)], &[("a", "b", false)]);
    live_ending.roles.insert(StateRole::Cancelled, "a".into());
    assert_eq!(
        Lifecycle::from_definition(live_ending)
            .unwrap_err()
            .to_string(),
        "role cancelled ends the order, so its state a must be terminal"
    );
    let mut fine = def(&[("a", false), ("b", true)], &[("a", "b", false)]);
    fine.roles.insert(StateRole::Paid, "a".into());
    fine.roles.insert(StateRole::Completed, "b".into());
    let lifecycle = Lifecycle::from_definition(fine).expect("roles on real states");
    assert_eq!(lifecycle.role(StateRole::Completed), Some("b"));
    assert_eq!(
        lifecycle.role(StateRole::Shipped),
        None,
        "a role nobody plays"
    );

    let mut text = serde_json::to_value(preset("pickup").definition()).unwrap();
    text["roles"]["payed"] = "accepted".into();
    let err = LifecycleDef::from_json(&text.to_string()).unwrap_err();
    assert!(err.to_string().contains("payed"), "{err}");
}

#[test]
fn presets_give_their_states_the_roles_decisions_use() {
    let shipping = preset("shipping");
    assert_eq!(shipping.role(StateRole::Paid), Some("confirmed"));
    assert_eq!(shipping.role(StateRole::Completed), Some("delivered"));
    assert_eq!(preset("pickup").role(StateRole::Paid), Some("accepted"));
    let local = preset("local_delivery");
    assert_eq!(
        local.role(StateRole::Paid),
        None,
        "paid before it is placed"
    );
    assert!(local.plays("substitutions_needed", StateRole::AwaitingSubstitutions));
    assert!(!local.plays("picking_in_progress", StateRole::AwaitingSubstitutions));
    assert_eq!(
        local.role(StateRole::SubstitutionsRejected),
        Some("picking_in_progress")
    );
    assert_eq!(
        preset("kitchen").role(StateRole::DriverDelivered),
        Some("completed")
    );
    for f in FulfilmentType::ALL {
        let lifecycle = preset(f.preset());
        assert!(
            lifecycle.role(StateRole::Cancelled).is_some(),
            "{}",
            f.preset()
        );
        assert!(
            lifecycle.role(StateRole::Completed).is_some(),
            "{}",
            f.preset()
        );
    }
}

#[test]
fn a_role_is_written_as_serde_spells_it() {
    for role in StateRole::ALL {
        assert_eq!(
            serde_json::to_value(role).unwrap(),
            serde_json::Value::from(role.as_str())
        );
    }
}

/// A lifecycle file written before roles existed declares none: each role
/// goes to the state (or alias) decisions looked for by name, so such a file
/// behaves as it did. The presets, stripped of their roles, play every role
/// they declare; where a preset declares less than its names imply, that is
/// a choice the preset made (a kitchen takes no carrier's "delivered").
#[test]
fn a_definition_without_roles_plays_the_roles_its_names_imply() {
    for f in FulfilmentType::ALL {
        let declared = preset(f.preset());
        let mut bare = declared.definition().clone();
        bare.roles.clear();
        let implied = Lifecycle::from_definition(bare).expect("valid");
        for role in StateRole::ALL {
            if declared.role(role).is_some() {
                assert_eq!(
                    implied.role(role),
                    declared.role(role),
                    "{} {role}",
                    f.preset()
                );
            }
        }
    }
    let mut kitchen = preset("kitchen").definition().clone();
    kitchen.roles.clear();
    let kitchen = Lifecycle::from_definition(kitchen).unwrap();
    assert_eq!(kitchen.role(StateRole::Delivered), Some("completed"));
}

/// Versions of one name sit side by side; new orders take the newest, an
/// order's recorded key finds its own, and a newer version says where the
/// states it dropped go.
#[test]
fn versions_of_a_lifecycle_keep_their_keys_and_the_newest_adopts_old_states() {
    let preset = include_str!("../../lifecycles/kitchen.json");
    let mut v2: serde_json::Value =
        serde_json::from_str(&preset.replace("\"preparing\"", "\"cooking\"")).unwrap();
    v2["version"] = serde_json::json!(2);
    v2["migrate_from"] = serde_json::json!({"preparing": "cooking"});
    let v2 = Lifecycle::from_definition(LifecycleDef::from_json(&v2.to_string()).unwrap()).unwrap();
    assert_eq!(v2.key(), "kitchen@2");
    assert_eq!(v2.adopt("preparing"), Some("cooking"));
    assert_eq!(
        v2.adopt("ready"),
        Some("ready"),
        "a state it kept needs no mapping"
    );
    assert_eq!(v2.adopt("nowhere"), None);

    let mut catalog = Catalog::presets();
    assert_eq!(catalog.latest("kitchen").unwrap().key(), "kitchen");
    catalog.add(v2);
    assert_eq!(catalog.latest("kitchen").unwrap().version(), 2);
    assert_eq!(
        catalog.get("kitchen").unwrap().version(),
        1,
        "old orders keep theirs"
    );
    assert_eq!(catalog.names().filter(|n| *n == "kitchen").count(), 1);

    let mut bad: serde_json::Value = serde_json::from_str(preset).unwrap();
    bad["migrate_from"] = serde_json::json!({"preparing": "nowhere"});
    let refused = LifecycleDef::from_json(&bad.to_string()).and_then(Lifecycle::from_definition);
    assert_eq!(
        refused.unwrap_err(),
        DefinitionError::UnknownState("nowhere".into())
    );
}
