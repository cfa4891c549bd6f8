//! Carrier status vocabularies mapped onto our canonical [`ShipmentStatus`].
//!
//! One table covers EasyPost tracker statuses, AfterShip tags and subtags,
//! Shippo tracking statuses, Shopify `shipment_status` values and our own
//! canonical names. Codes are compared ignoring case, spaces, dashes and
//! underscores, so `in_transit`, `InTransit`, `IN-TRANSIT` and `in transit`
//! are one code. An AfterShip subtag (`InTransit_003`) that is not listed
//! on its own falls back to its tag (`InTransit`).

use order_core::order::ShipmentStatus;

/// The canonical status for a provider's status code, if we know the code.
pub fn canonical(code: &str) -> Option<ShipmentStatus> {
    let key: String = code
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    lookup(&key).or_else(|| {
        // `Tag_NNN` subtags: drop the number and try the tag.
        let tag = key.trim_end_matches(|c: char| c.is_ascii_digit());
        (tag.len() < key.len() && !tag.is_empty())
            .then(|| lookup(tag))
            .flatten()
    })
}

fn lookup(key: &str) -> Option<ShipmentStatus> {
    use ShipmentStatus::*;
    Some(match key {
        // Canonical names.
        "trackingpending" => TrackingPending,
        "labelcreated" => LabelCreated,
        "intransit" => InTransit,
        "delayed" => Delayed,
        "outfordelivery" => OutForDelivery,
        "deliveryattempted" => DeliveryAttempted,
        "readyforpickup" => ReadyForPickup,
        "actionrequired" => ActionRequired,
        "delivered" => Delivered,
        "returning" => Returning,
        "returned" => Returned,
        "failed" => Failed,
        "cancelled" | "canceled" => Cancelled,
        "stale" => Stale,

        // EasyPost tracker statuses (in_transit, out_for_delivery, delivered,
        // cancelled are canonical already). `unknown` means no scan yet.
        "unknown" | "pretransit" => LabelCreated,
        "availableforpickup" => ReadyForPickup,
        "returntosender" => Returning,
        "failure" => Failed,
        // The tracker itself failed (bad code, carrier error): staff look.
        "error" => ActionRequired,

        // AfterShip tags (InTransit, OutForDelivery, Delivered,
        // AvailableForPickup above).
        "pending" | "inforeceived" => LabelCreated,
        "attemptfail" => DeliveryAttempted,
        "exception" => ActionRequired,
        // No update for 30 days.
        "expired" => Stale,
        // AfterShip exception subtags that say more than "exception".
        "exception004" | "exception005" => Delayed, // customs, external factors
        "exception010" => Returning,
        "exception011" => Returned,
        "exception012" | "exception013" => Failed, // damaged, lost

        // Shippo (PRE_TRANSIT, DELIVERED, RETURNED, FAILURE, UNKNOWN above).
        "transit" => InTransit,

        // Shopify shipment_status (in_transit, out_for_delivery, delivered,
        // ready_for_pickup, delayed, failure above).
        "labelprinted" | "labelpurchased" => LabelCreated,
        // The carrier knows of the shipment but has not received it yet.
        "confirmed" => LabelCreated,
        "carrierpickedup" => InTransit,
        "attempteddelivery" => DeliveryAttempted,
        // Shopify: the customer collected it (local pickup).
        "pickedup" => Delivered,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ShipmentStatus::*;

    #[test]
    fn table() {
        let table: &[(&str, ShipmentStatus)] = &[
            // canonical
            ("tracking_pending", TrackingPending),
            ("label_created", LabelCreated),
            ("in_transit", InTransit),
            ("delayed", Delayed),
            ("out_for_delivery", OutForDelivery),
            ("delivery_attempted", DeliveryAttempted),
            ("ready_for_pickup", ReadyForPickup),
            ("action_required", ActionRequired),
            ("delivered", Delivered),
            ("returning", Returning),
            ("returned", Returned),
            ("failed", Failed),
            ("cancelled", Cancelled),
            ("stale", Stale),
            // EasyPost
            ("unknown", LabelCreated),
            ("pre_transit", LabelCreated),
            ("in_transit", InTransit),
            ("out_for_delivery", OutForDelivery),
            ("delivered", Delivered),
            ("available_for_pickup", ReadyForPickup),
            ("return_to_sender", Returning),
            ("failure", Failed),
            ("cancelled", Cancelled),
            ("error", ActionRequired),
            // AfterShip tags
            ("Pending", LabelCreated),
            ("InfoReceived", LabelCreated),
            ("InTransit", InTransit),
            ("OutForDelivery", OutForDelivery),
            ("AttemptFail", DeliveryAttempted),
            ("Delivered", Delivered),
            ("AvailableForPickup", ReadyForPickup),
            ("Exception", ActionRequired),
            ("Expired", Stale),
            // AfterShip subtags
            ("Pending_001", LabelCreated),
            ("InfoReceived_001", LabelCreated),
            ("InTransit_001", InTransit),
            ("InTransit_007", InTransit),
            ("OutForDelivery_003", OutForDelivery),
            ("AttemptFail_002", DeliveryAttempted),
            ("Delivered_002", Delivered),
            ("AvailableForPickup_001", ReadyForPickup),
            ("Exception_001", ActionRequired),
            ("Exception_002", ActionRequired),
            ("Exception_003", ActionRequired),
            ("Exception_004", Delayed),
            ("Exception_005", Delayed),
            ("Exception_006", ActionRequired),
            ("Exception_007", ActionRequired),
            ("Exception_008", ActionRequired),
            ("Exception_009", ActionRequired),
            ("Exception_010", Returning),
            ("Exception_011", Returned),
            ("Exception_012", Failed),
            ("Exception_013", Failed),
            ("Exception_099", ActionRequired),
            ("Expired_001", Stale),
            // Shippo
            ("PRE_TRANSIT", LabelCreated),
            ("TRANSIT", InTransit),
            ("DELIVERED", Delivered),
            ("RETURNED", Returned),
            ("FAILURE", Failed),
            ("UNKNOWN", LabelCreated),
            // Shopify
            ("label_printed", LabelCreated),
            ("label_purchased", LabelCreated),
            ("confirmed", LabelCreated),
            ("carrier_picked_up", InTransit),
            ("in_transit", InTransit),
            ("out_for_delivery", OutForDelivery),
            ("attempted_delivery", DeliveryAttempted),
            ("ready_for_pickup", ReadyForPickup),
            ("picked_up", Delivered),
            ("delayed", Delayed),
            ("delivered", Delivered),
            ("failure", Failed),
            // spelling variants
            ("canceled", Cancelled),
            ("IN-TRANSIT", InTransit),
            ("Out For Delivery", OutForDelivery),
            ("OUT_FOR_DELIVERY", OutForDelivery),
        ];
        for (code, want) in table {
            assert_eq!(canonical(code), Some(*want), "{code}");
        }
    }

    #[test]
    fn unknown_codes() {
        for code in [
            "",
            "_",
            "001",
            "teleported",
            "intransitx",
            "delivered_soon",
            "42_delivered",
        ] {
            assert_eq!(canonical(code), None, "{code:?}");
        }
    }

    #[test]
    fn every_canonical_name_round_trips_through_serde() {
        for status in [
            TrackingPending,
            LabelCreated,
            InTransit,
            Delayed,
            OutForDelivery,
            DeliveryAttempted,
            ReadyForPickup,
            ActionRequired,
            Delivered,
            Returning,
            Returned,
            Failed,
            Cancelled,
            Stale,
        ] {
            let name = serde_json::to_value(status).unwrap();
            assert_eq!(canonical(name.as_str().unwrap()), Some(status));
        }
    }
}
