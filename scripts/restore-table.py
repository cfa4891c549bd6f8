#!/usr/bin/env python3
"""Restore the orders table to a point in time, into a new table, and check it.

    restore-table.py --source orders-prod --target orders-prod-restored [--at 2026-11-30T12:00:00Z]
                     [--endpoint URL] [--audit PATH]

1. Restores `--source` as it was at `--at` (default: the latest restorable
   time) into `--target`, with DynamoDB's RestoreTableToPointInTime, and waits
   for it to be ACTIVE. DynamoDB Local has no point-in-time recovery: against
   it (`--endpoint`) the drill copies the source table as it is now into a new
   table with the same keys, indexes and stream instead, and says so.
2. Runs `order-audit` on the new table: every order's log checked against
   its hash chain, and its head against the replay of its log.
3. Prints how long each step took, the figures the README's RTO is made of.

Exits 0 when the restored table checks out, 1 when a log is broken, 2 on
any other failure. Uses boto3 and the usual AWS credentials and region.
"""

import argparse
import datetime
import os
import subprocess
import sys
import time

import boto3
import botocore.exceptions


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="the table to restore")
    parser.add_argument("--target", required=True, help="the new table (must not exist)")
    parser.add_argument("--at", help="ISO 8601 time to restore to; latest restorable time if absent")
    parser.add_argument("--endpoint", help="a DynamoDB endpoint (an emulator)")
    parser.add_argument(
        "--audit",
        default=os.environ.get("ORDER_AUDIT", "order-audit"),
        help="the order-audit binary (cargo build -p order-core --features aws --bin order-audit)",
    )
    return parser.parse_args()


def restore(client, source, target, at):
    request = {"SourceTableName": source, "TargetTableName": target}
    if at:
        request["RestoreDateTime"] = datetime.datetime.fromisoformat(at.replace("Z", "+00:00"))
    else:
        request["UseLatestRestorableTime"] = True
    try:
        client.restore_table_to_point_in_time(**request)
        return "point-in-time restore"
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] != "UnknownOperationException":
            raise
    if at:
        sys.exit("this endpoint has no point-in-time recovery; only a copy of now is possible")
    copy(client, source, target)
    return "copy of the table as it is now (this endpoint has no point-in-time recovery)"


def copy(client, source, target):
    table = client.describe_table(TableName=source)["Table"]
    definition = {
        "TableName": target,
        "KeySchema": table["KeySchema"],
        "AttributeDefinitions": table["AttributeDefinitions"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if table.get("GlobalSecondaryIndexes"):
        definition["GlobalSecondaryIndexes"] = [
            {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
            for i in table["GlobalSecondaryIndexes"]
        ]
    if table.get("StreamSpecification"):
        definition["StreamSpecification"] = table["StreamSpecification"]
    client.create_table(**definition)
    client.get_waiter("table_exists").wait(TableName=target)
    items = 0
    for page in client.get_paginator("scan").paginate(TableName=source, ConsistentRead=True):
        batch = [{"PutRequest": {"Item": item}} for item in page["Items"]]
        for start in range(0, len(batch), 25):
            pending = {target: batch[start : start + 25]}
            while pending:
                answer = client.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}
        items += len(batch)
    print(f"copied {items} items", flush=True)


def main():
    args = parse_args()
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    client = boto3.client("dynamodb", endpoint_url=args.endpoint, region_name=region)
    started = time.monotonic()
    how = restore(client, args.source, args.target, args.at)
    client.get_waiter("table_exists").wait(
        TableName=args.target, WaiterConfig={"Delay": 5, "MaxAttempts": 720}
    )
    restored = time.monotonic() - started
    print(f"restored {args.source} into {args.target} by {how} in {restored:.1f}s", flush=True)

    env = dict(os.environ, TABLE_NAME=args.target)
    if args.endpoint:
        env["AWS_ENDPOINT_URL_DYNAMODB"] = args.endpoint
    audit = subprocess.run([args.audit], env=env)
    checked = time.monotonic() - started - restored
    print(f"checked {args.target} in {checked:.1f}s: {'intact' if audit.returncode == 0 else 'NOT intact'}")
    return 0 if audit.returncode == 0 else (1 if audit.returncode == 1 else 2)


if __name__ == "__main__":
    sys.exit(main())
