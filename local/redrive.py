"""Redrive: move the messages of a dead-letter queue back to the queue they came from, once the
cause is fixed. Works on the running local cloud (`make run`) and on a deployed stack.

    python -m local.redrive CostUsageDeadLetterQueue              # local cloud on 127.0.0.1:4566
    python -m local.redrive ReviewTriggerDeadLetterQueue --max 10
    python -m local.redrive CostUsageDeadLetterQueue --endpoint "" --stack pitwall-dev   # AWS

The argument is the dead-letter queue's logical id in template.yaml; the source queue is the one
whose RedrivePolicy names it (or `--to <LogicalId>`). Against AWS, SQS's own StartMessageMoveTask
does the move; moto (the local cloud) does not implement that action, so locally each message is
received, sent to the source queue with its body and attributes, and only then deleted from the
dead-letter queue: a message is never lost, and a crash can at worst send one twice, which the
consumers' idempotency absorbs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import boto3
from botocore.config import Config

LOCAL_ENDPOINT = "http://127.0.0.1:4566"


def queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def source_queue_of(sqs: Any, dead_letter_url: str, candidate_urls: list[str]) -> str:
    """The queue among `candidate_urls` whose RedrivePolicy sends to `dead_letter_url`."""
    dead_letter_arn = queue_arn(sqs, dead_letter_url)
    for url in candidate_urls:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
        policy = attributes.get("RedrivePolicy")
        if policy and json.loads(policy).get("deadLetterTargetArn") == dead_letter_arn:
            return url
    raise LookupError("no queue of the stack has this dead-letter queue in its RedrivePolicy")


def redrive(sqs: Any, dead_letter_url: str, source_url: str, *, max_messages: int | None = None) -> int:
    """Move messages from `dead_letter_url` to `source_url` (send first, then delete); return how many."""
    moved = 0
    while max_messages is None or moved < max_messages:
        want = 10 if max_messages is None else min(10, max_messages - moved)
        messages = sqs.receive_message(QueueUrl=dead_letter_url, MaxNumberOfMessages=want, WaitTimeSeconds=0,
                                       MessageAttributeNames=["All"], VisibilityTimeout=30).get("Messages", [])
        if not messages:
            return moved
        entries = []
        for index, message in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(index), "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=source_url, Entries=entries)
        done = {item["Id"] for item in sent.get("Successful", [])}
        delete = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages) if str(i) in done]
        if delete:
            sqs.delete_message_batch(QueueUrl=dead_letter_url, Entries=delete)
        moved += len(delete)
        if sent.get("Failed"):
            codes = sorted({item.get("Code", "?") for item in sent["Failed"]})
            raise RuntimeError(f"{len(sent['Failed'])} message(s) could not be sent back ({', '.join(codes)}); "
                               "they stay in the dead-letter queue")
    return moved


def _stack_queues(cloudformation: Any, stack: str) -> dict[str, str]:
    paginator = cloudformation.get_paginator("list_stack_resources")
    found = {}
    for page in paginator.paginate(StackName=stack):
        for resource in page["StackResourceSummaries"]:
            if resource["ResourceType"] == "AWS::SQS::Queue":
                found[resource["LogicalResourceId"]] = resource["PhysicalResourceId"]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.redrive", description=__doc__.split("\n\n")[0])
    parser.add_argument("dead_letter_queue", help="logical id of the dead-letter queue in template.yaml")
    parser.add_argument("--to", help="logical id of the queue to move the messages to (default: its source queue)")
    parser.add_argument("--stack", default="pitwall", help="stack name (local cloud: pitwall)")
    parser.add_argument("--endpoint", default=LOCAL_ENDPOINT,
                        help=f"AWS endpoint (default: the local cloud, {LOCAL_ENDPOINT}); '' for AWS itself")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--max", type=int, default=None, help="move at most this many messages")
    args = parser.parse_args(argv)

    local = bool(args.endpoint)
    options: dict[str, Any] = {"region_name": args.region, "config": Config(retries={"mode": "standard"})}
    if local:
        options |= {"endpoint_url": args.endpoint, "aws_access_key_id": "local", "aws_secret_access_key": "local"}
    sqs, cloudformation = boto3.client("sqs", **options), boto3.client("cloudformation", **options)
    queues = _stack_queues(cloudformation, args.stack)
    if args.dead_letter_queue not in queues:
        print(f"no queue {args.dead_letter_queue!r} in stack {args.stack}; queues: {', '.join(sorted(queues))}",
              file=sys.stderr)
        return 2
    dead_letter_url = queues[args.dead_letter_queue]
    try:
        source_url = queues[args.to] if args.to else source_queue_of(sqs, dead_letter_url, list(queues.values()))
    except (KeyError, LookupError) as error:
        print(f"cannot tell where to move the messages: {error}; pass --to <LogicalId>", file=sys.stderr)
        return 2
    if not local and args.max is None:
        task = sqs.start_message_move_task(SourceArn=queue_arn(sqs, dead_letter_url),
                                           DestinationArn=queue_arn(sqs, source_url))
        print(f"StartMessageMoveTask {task['TaskHandle']} started: {args.dead_letter_queue} -> its source queue")
        return 0
    moved = redrive(sqs, dead_letter_url, source_url, max_messages=args.max)
    print(f"moved {moved} message(s) from {args.dead_letter_queue} back to {source_url.rsplit('/', 1)[-1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
