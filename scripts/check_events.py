"""Validates the events the local stack published against schemas/events.json.

Reads the tenant's feed (`GET /events`: each entry's `data` is the detail
the bus carries, under its detail-type) and checks every detail against its
detail-type's schema. Exits non-zero on any event that does not fit, or on
a detail-type the schemas do not name.

    check_events.py BASE_URL TOKEN SCHEMAS_JSON
"""

import json
import sys
import time

import jsonschema_rs
import requests

base, token, path = sys.argv[1:4]
with open(path) as f:
    document = json.load(f)
auth = {"Authorization": f"Bearer {token}"}

events, after = [], None
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    params = {"limit": 200, **({"after": after} if after else {})}
    page = requests.get(f"{base}/events", params=params, headers=auth, timeout=10)
    page.raise_for_status()
    page = page.json()
    events += page["events"]
    if not page["events"]:
        break
    after = page["next_cursor"]

bad, seen = 0, {}
for event in events:
    kind = event["type"]
    seen[kind] = seen.get(kind, 0) + 1
    if kind not in document["detail_types"]:
        print(f"event {event['id']}: detail-type {kind} has no schema", file=sys.stderr)
        bad += 1
        continue
    schema = dict(document, **document["detail_types"][kind])
    errors = list(jsonschema_rs.validator_for(schema).iter_errors(event["data"]))
    for error in errors[:3]:
        print(f"event {event['id']} ({kind}): {error}", file=sys.stderr)
    bad += bool(errors)

print(f"events: {len(events)} checked against their schemas, {bad} not matching; by type: "
      + ", ".join(f"{k} {v}" for k, v in sorted(seen.items())))
sys.exit(1 if bad or not events else 0)
