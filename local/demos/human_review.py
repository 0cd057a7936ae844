"""`make run` demo of human review (issue 19 item 5): the world closes forecasts, people judge what
only people can, and the manifests feed a retrain.

1. Uncertain PII: a `PiiReviewCandidate` (its task object in the raw-PII bucket, as pii_redaction
   writes it) starts a loop; the demo reviewer answers it through the reviewer page's API (the span
   is a NAME); the completion function writes the Comprehend entity line to the raw-PII bucket.
2. Face-off setup: when a setup-review policy is packaged, one of the loops the NHL stream started
   is answered the same way (its first class).
3. After the F1 and NHL streams are played (their demos run beside this one), it counts the
   forecasts the world closed (`source: ground-truth` lines), the loops per policy and the manifest
   lines written, and runs a retrain that reads the pit-battle lines
   (`ml.f1.train --manifests s3://... --manifests-only`).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
WAIT_S = 60.0
STREAM_DEMOS = ("demo-race_f1", "demo-race_nhl")  # local/__main__.py names each demo's thread so
STREAMS_WAIT_S = 150.0
ROOT = Path(__file__).resolve().parents[2]
DEMO_TEXT = "Pit lane visitor Dana Okafor asked for the team principal"
DEMO_SPAN = ("Dana Okafor", "NAME", 0.58)


def _wait(what: str, probe: Callable[[], T | None], timeout_s: float = WAIT_S) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"human review demo: no {what} after {timeout_s:.0f} s")
        time.sleep(0.25)


def _a2i_url(cloud: Any) -> str:
    url = getattr(cloud, "a2i_url", None)
    return str(url or cloud.emulators["a2i"].url)


def _put_event(cloud: Any, source: str, detail_type: str, data: dict[str, Any], event_id: str) -> None:
    detail = {"event_id": event_id, "correlation_id": event_id, "schema_version": "1",
              "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()), "data": data}
    response = cloud.client("events").put_events(Entries=[{
        "Source": source, "DetailType": detail_type, "Detail": json.dumps(detail),
        "EventBusName": cloud.physical_id("PitwallBus")}])
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"human review demo: {detail_type} not accepted by the bus: {response['Entries']}")


def _put_pii_candidate(cloud: Any) -> str:
    """A PiiReviewCandidate as pii_redaction publishes it: task object first, then offsets only."""
    event_id = f"demo-pii-{uuid.uuid4().hex[:12]}"
    bucket, key = cloud.physical_id("PiiRawBucket"), f"pii-review/{event_id}.json"
    value, kind, score = DEMO_SPAN
    span = {"begin_offset": DEMO_TEXT.index(value), "end_offset": DEMO_TEXT.index(value) + len(value),
            "type": kind, "score": score}
    task = {"text": DEMO_TEXT, "spans": [span], "field": "Tweet1", "record_id": event_id}
    cloud.client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(task).encode(),
                                  ContentType="application/json")
    _put_event(cloud, "pitwall.pii_redaction", "PiiReviewCandidate",
               {"record_id": event_id, "field": "Tweet1", "task_object": f"s3://{bucket}/{key}", "spans": [span],
                "detected_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, event_id)
    return event_id


def _loops(cloud: Any) -> list[dict[str, Any]]:
    dynamodb, table = cloud.client("dynamodb"), cloud.physical_id("ReviewLoopsTable")
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend(page.get("Items", []))
    return items


def _loop_of(cloud: Any, *, event_id: str | None = None, policy: str | None = None) -> str | None:
    for item in _loops(cloud):
        if item.get("status", {}).get("S") != "InProgress":
            continue
        if (event_id and item["source_event_id"]["S"] == event_id) or (policy and item["policy"]["S"] == policy):
            return str(item["human_loop_name"]["S"])
    return None


def _answer_on_page(cloud: Any, name: str, answer: dict[str, Any]) -> str:
    """POST the answer as the reviewer page does (its own API)."""
    request = urllib.request.Request(  # noqa: S310 - the emulator's local http URL
        f"{_a2i_url(cloud)}/review/api/loops/{name}/answer", method="POST",
        headers={"Content-Type": "application/json"},
        data=json.dumps({"answerContent": answer, "workerId": "demo-reviewer"}).encode())
    with urllib.request.urlopen(request, timeout=10) as answered:  # noqa: S310
        return str(json.loads(answered.read())["outputS3Uri"])


def _task(cloud: Any, name: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{_a2i_url(cloud)}/review/api/loops/{name}", timeout=10) as response:  # noqa: S310
        return dict(json.loads(response.read()))


def _read(cloud: Any, bucket: str, key: str) -> str | None:
    s3 = cloud.client("s3")
    try:
        return str(s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode())
    except s3.exceptions.NoSuchKey:
        return None


def _parts(cloud: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in cloud.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []) if item["Key"].endswith(".jsonl"))
    return keys


def _wait_for_streams() -> None:
    """Let the F1 and NHL demos (threads beside this one) finish: their outcomes close forecasts."""
    deadline = time.monotonic() + STREAMS_WAIT_S
    for thread in [t for t in threading.enumerate() if t.name in STREAM_DEMOS]:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))


def _answer_setup_loop(cloud: Any, policy: str | None) -> str:
    if policy is None:
        return "no face-off setup policy packaged"
    name = _loop_of(cloud, policy=policy)
    if name is None:
        return f"no {policy} loop started"
    classes = _task(cloud, name).get("input", {}).get("classes") or []
    if not classes:
        return f"{name}: no class to answer"
    _answer_on_page(cloud, name, {"category": {"label": classes[0]}})
    return f"{name} answered '{classes[0]}'"


def run_demo(cloud: Any, options: Any = None) -> dict[str, Any]:
    """Play the scenario against a started local cloud; return what happened, for the summary table."""
    from human_review.settings import DEFAULT_POLICIES_FILE

    review, raw = cloud.physical_id("ReviewManifestsBucket"), cloud.physical_id("PiiRawBucket")
    policies = json.loads(DEFAULT_POLICIES_FILE.read_text())
    setup_policy = next((p["name"] for p in policies if "setup" in p["name"]), None)

    event_id = _put_pii_candidate(cloud)
    name = _wait("PII review loop", lambda: _loop_of(cloud, event_id=event_id), timeout_s=WAIT_S + 60)
    spans = _task(cloud, name)["input"]["spans"]
    _answer_on_page(cloud, name, {"piiSpans": [{"beginOffset": s["begin_offset"], "endOffset": s["end_offset"],
                                                "label": s["type"]} for s in spans]})
    pii_key = f"pii-review/manifests/parts/pii-entities/{name}.jsonl"
    pii_line = json.loads(_wait("PII manifest part in the raw-PII bucket", lambda: _read(cloud, raw, pii_key)))

    _wait_for_streams()
    setup = _answer_setup_loop(cloud, setup_policy)
    with contextlib.suppress(TimeoutError):  # counted as they are: the summary says what landed
        cloud.wait_until_drained(timeout_s=30)

    ground_truth: Counter[str] = Counter()
    human: Counter[str] = Counter()
    part_keys = _parts(cloud, review, "manifests/parts/")
    for key in part_keys:
        text = _read(cloud, review, key) or "{}"
        dataset = key.split("/")[2]
        metadata = json.loads(text.splitlines()[0] if text.strip() else "{}").get(f"{dataset}-metadata", {})
        (ground_truth if metadata.get("source") == "ground-truth" else human)[dataset] += 1
    pii_parts = _parts(cloud, raw, "pii-review/manifests/parts/")
    loops_by_policy = Counter(item["policy"]["S"] for item in _loops(cloud) if item.get("status", {}).get("S")
                              not in ("Pending",))

    from ml.f1.train import retrain_from_manifests

    data_dir = Path(getattr(options, "data", None) or ROOT.parent / "shared" / "data") / "f1"
    out = ROOT / ".local" / "retrain" / "f1"
    location = f"s3://{review}/manifests/parts/pit-battle-swap/"
    retrain_from_manifests(location, data_dir, out, s3=cloud.client("s3"))
    retrain = json.loads((out / "retrain.json").read_text())
    return {
        "forecasts closed by ground truth": dict(ground_truth),
        "loops started by policy": dict(loops_by_policy),
        "PII review loop": name,
        "PII answer (reviewer page API)": ", ".join(f"{s['type']} kept" for s in spans),
        "PII manifest part": f"s3://{raw}/{pii_key}",
        "PII manifest line (Comprehend entity format)": pii_line["pii-entities"]["annotations"],
        "setup review": setup,
        "manifest lines written": {"review bucket": len(part_keys), "raw-PII bucket (PII)": len(pii_parts),
                                   "human-answered": dict(human)},
        "retrain": (f"ml.f1.train --manifests {location} --manifests-only: {retrain['manifest_lines']} lines "
                    f"{retrain['origins']} -> {retrain['rows']} rows, "
                    + (f"model {Path(retrain['model']).name}" if retrain.get("model")
                       else str(retrain.get("not_fitted", "not fitted")))),
        "retrain figures": retrain,
    }
