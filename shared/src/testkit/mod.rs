//! Test tooling, compiled only with the `testkit` feature: never part of a
//! function's binary.
//!
//! - the store conformance suite: the behaviour every `OrderStore` adapter
//!   must have, written once. Each adapter's test crate runs all of it with
//!   [`store_conformance_suite!`](crate::store_conformance_suite), handing it
//!   a way to make a fresh, empty store; a behaviour that differs between
//!   adapters fails here. Its cases are the port's own
//!   ([`store_cases`]), the service's under concurrency
//!   ([`service_cases`]) and provider facts taken in ([`intake_cases`]);
//! - [`fixtures`]: the orders, origins, stopped clock and service the cases
//!   (and the benchmarks) start from;
//! - [`lambda_harness`]: the real Lambda binaries run under
//!   `cargo lambda watch`, and a fresh table on DynamoDB Local;
//!   `table_stream`: that table's stream as a stream trigger's event;
//! - [`ticket_cases`], [`merchant_cases`], [`claim_cases`],
//!   [`data_key_cases`]: what every `Tickets`, `MerchantStore`, `Claims`
//!   and `DataKeys` adapter must do;
//! - [`shipping_run`]: the 6-command shipping lifecycle the throughput
//!   benchmarks drive, on whichever store the service has; [`process`]
//!   what a process has used, from `/proc`; [`receiver`] a merchant's
//!   webhook receiver on loopback; [`fault_proxy`] a network that loses,
//!   delays and throttles chosen AWS requests.

pub mod claim_cases;
pub mod data_key_cases;
pub mod fault_proxy;
pub mod fixtures;
pub mod intake_cases;
pub mod lambda_harness;
pub mod list_cases;
pub mod merchant_cases;
pub mod process;
pub mod receiver;
pub mod service_cases;
pub mod shipping_run;
pub mod store_cases;
#[cfg(feature = "aws")]
pub mod table_stream;
pub mod ticket_cases;

pub use fixtures::{catalog, placed, shipping_snapshot, FixedClock};

/// Generates one `#[tokio::test]` per conformance case. `$make` is an
/// expression whose value is a future resolving to a fresh `Arc<dyn OrderStore>`.
#[macro_export]
macro_rules! store_conformance_suite {
    ($make:expr) => {
        $crate::__store_conformance_cases!($make; store_cases:
            create_then_load_round_trips,
            creating_twice_is_refused,
            a_stale_version_is_refused_and_writes_nothing,
            the_database_refuses_an_illegal_transition,
            an_override_must_still_lead_forward,
            a_dedupe_marker_refuses_a_second_recording,
            an_idempotency_key_is_stored_with_its_order_and_refused_twice,
            parked_facts_load_with_the_head_and_leave_when_released,
            events_page_by_sequence,
            stalled_and_due_look_ups_follow_deadlines,
            tracking_codes_are_kept_per_tenant_and_order,
            unmatched_facts_wait_once_per_event,
            a_tenants_feed_is_its_events_in_order_once,
            every_tenant_with_an_order_is_listed_once,
        );
        $crate::__store_conformance_cases!($make; list_cases:
            lists_filter_by_tenant_status_and_customer_and_page,
            lists_filter_by_store,
            lists_filter_by_payment_and_open_issues,
            a_head_with_substitutions_and_dispatch_round_trips,
        );
        $crate::__store_conformance_cases!($make; service_cases:
            concurrent_commands_have_one_winner_per_version,
            concurrent_redeliveries_are_recorded_once,
            a_sweep_reads_only_the_overdue_orders,
            concurrent_sweeps_flag_each_order_once,
        );
        $crate::__store_conformance_cases!($make; intake_cases:
            a_fact_reaches_only_its_own_tenants_orders,
            a_fact_racing_its_tracking_code_is_applied_once,
            a_recycled_code_never_reaches_last_years_order,
            a_redelivery_after_its_code_was_corrected_is_a_duplicate,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_cases {
    ($make:expr; $cases:ident: $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let store: std::sync::Arc<dyn $crate::ports::OrderStore> = $make.await;
                $crate::testkit::$cases::$case(store).await;
            }
        )*
    };
}
