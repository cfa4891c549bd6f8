"""Schemathesis hooks for scripts/fuzz.sh.

* Half the cases that name an order get the seeded order's id (or public
  id), so fuzzed bodies reach the service instead of stopping at a 404.
* `no_change_on_client_error`: a state-changing request answered 4xx must
  change nothing. The state's fingerprint is what every command moves: each
  order's version and status (the orders list) and the tenant's webhook
  endpoints. Taken before and after each such request; the run uses one
  worker and no stall sweeps, so the only other writer is the notifier,
  which records a message sent for an earlier command after the fact: an
  order whose new events are all `notification_recorded` has not changed.
"""

import atexit
import os
import random

import requests
import schemathesis

BASE = os.environ["FUZZ_BASE_URL"]
AUTH = {"Authorization": f"Bearer {os.environ['FUZZ_TOKEN']}"}
SEEDED = {
    "id": os.environ.get("FUZZ_ORDER_ID"),
    "public_id": os.environ.get("FUZZ_PUBLIC_ID"),
    "name": "shipping",
}
COMMANDS = {"POST", "PUT", "PATCH", "DELETE"}
BEFORE = {}
# Seeded choices are reproducible for a given schemathesis seed.
pick = random.Random(os.environ.get("FUZZ_SEED", "0"))


def get(path, **params):
    response = requests.get(f"{BASE}{path}", params=params, headers=AUTH, timeout=10)
    response.raise_for_status()
    return response.json()


def fingerprint():
    return (
        {o["id"]: (o["version"], o["status"]) for o in get("/orders", limit=200)["orders"]},
        sorted((e["id"], e["enabled"]) for e in get("/webhook-endpoints")["endpoints"]),
    )


def only_notified(order_id, since_version):
    """Whether every event after `since_version` is the notifier's record."""
    events = get(f"/orders/{order_id}/events", limit=200)["events"]
    return all(e["kind"] == "notification_recorded" for e in events if e["version"] > since_version)


def changes(before, after):
    (orders_before, endpoints_before), (orders_after, endpoints_after) = before, after
    found = [f"endpoints {endpoints_before} -> {endpoints_after}"] if endpoints_before != endpoints_after else []
    for order_id, now in orders_after.items():
        was = orders_before.get(order_id)
        if was is None:
            found.append(f"new order {order_id}")
        elif was != now and not only_notified(order_id, was[0]):
            found.append(f"order {order_id} {was} -> {now}")
    return found


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    params = case.path_parameters or {}
    for name, value in SEEDED.items():
        if value and name in params and pick.random() < 0.5:
            params[name] = value
    # One worker: the last command's fingerprint is this case's.
    BEFORE.clear()
    if case.method.upper() in COMMANDS:
        BEFORE[id(case)] = fingerprint()


@schemathesis.check
def no_change_on_client_error(ctx, response, case):
    """A command answered 4xx changed nothing."""
    before = BEFORE.get(id(case))
    if case.method.upper() not in COMMANDS or before is None or not 400 <= response.status_code < 500:
        return None
    found = changes(before, fingerprint())
    if found:
        raise AssertionError(
            f"{case.method} {case.formatted_path} answered {response.status_code} "
            f"but changed the state: {'; '.join(found)}"
        )
    return None


SENT = [0]


@schemathesis.hook
def after_call(ctx, case, response):
    SENT[0] += 1


@atexit.register
def report_sent():
    path = os.environ.get("FUZZ_SENT_FILE")
    if path:
        with open(path, "w") as out:
            out.write(f"{SENT[0]}\n")
