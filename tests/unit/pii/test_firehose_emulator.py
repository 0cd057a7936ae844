"""The Firehose emulator with an in-memory S3 and a scripted processor: buffering by size and
interval, the event shape, response checks, and Firehose's key layout for each outcome."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import pytest

from local.emulators.firehose import StreamConfig, check_response, evaluate_prefix, make_app
from pitwall_shared.jsonlines import loads_lines


class MemoryS3:
    def __init__(self):
        self.objects: dict[tuple[str, str], bytes] = {}

    def put_object(self, Bucket, Key, Body):  # noqa: N803 - boto3's argument names
        self.objects[(Bucket, Key)] = Body

    def under(self, bucket, prefix):
        return [body for (b, k), body in sorted(self.objects.items()) if b == bucket and k.startswith(prefix)]


STREAM = StreamConfig(name="s", destination_bucket="dest", prefix="redacted/!{timestamp:yyyy/MM/dd}/",
                      error_prefix="errors/!{firehose:error-output-type}/", processor="Fn",
                      processor_arn="arn:aws:lambda:us-east-1:123456789012:function:fn",
                      buffer_bytes=100, buffer_seconds=3600, backup_bucket="raw", backup_prefix="raw/")


def upper_processor(events):
    def invoke(logical_id, event):
        events.append((logical_id, event))
        out = []
        for r in event["records"]:
            data = base64.b64decode(r["data"])
            result = "ProcessingFailed" if data.startswith(b"bad") else "Dropped" if data.startswith(b"drop") else "Ok"
            out.append({"recordId": r["recordId"], "result": result, "data": base64.b64encode(data.upper()).decode()})
        return {"records": out}
    return invoke


def _emulator(invoke, **stream_changes):
    s3 = MemoryS3()
    stream = StreamConfig(**{**STREAM.__dict__, **stream_changes})
    return make_app(streams=[stream], invoke=invoke, s3=s3, tick_s=0.05), s3


def test_size_hint_triggers_one_invocation_with_firehose_event_shape():
    events = []
    emulator, s3 = _emulator(upper_processor(events))
    emulator.put("s", [b"a" * 40, b"b" * 40])
    emulator.drain()
    assert events == []
    emulator.put("s", [b"c" * 40])  # 120 bytes >= 100
    emulator.drain()
    [(logical_id, event)] = events
    assert logical_id == "Fn" and event["deliveryStreamArn"].endswith(":deliverystream/s")
    assert set(event) == {"invocationId", "deliveryStreamArn", "region", "records"}
    assert [set(r) for r in event["records"]] == [{"recordId", "approximateArrivalTimestamp", "data"}] * 3
    today = datetime.now(UTC).strftime("%Y/%m/%d")
    [key] = [k for (b, k) in s3.objects if b == "dest"]
    assert key.startswith(f"redacted/{today}/s-1-") and len(key.rsplit("-", 5)[-1]) > 0
    assert s3.under("dest", "redacted/") == [b"A" * 40 + b"B" * 40 + b"C" * 40]
    assert s3.under("raw", "raw/") == [b"a" * 40 + b"b" * 40 + b"c" * 40]
    emulator.close()


def test_interval_hint_delivers_without_reaching_the_size():
    events = []
    emulator, s3 = _emulator(upper_processor(events), buffer_seconds=0.1)
    emulator.put("s", [b"x"])
    deadline = time.monotonic() + 5
    while not events and time.monotonic() < deadline:
        time.sleep(0.02)
    emulator.drain()
    assert len(events) == 1 and s3.under("dest", "redacted/") == [b"X"]
    emulator.close()


def test_failed_records_go_to_the_error_prefix_in_firehose_format():
    emulator, s3 = _emulator(upper_processor([]))
    emulator.put("s", [b"ok1", b"bad1", b"drop1"])
    emulator.flush()
    assert s3.under("dest", "redacted/") == [b"OK1"]
    [errors] = s3.under("dest", "errors/processing-failed/")
    doc = json.loads(errors)
    assert base64.b64decode(doc["rawData"]) == b"bad1" and doc["attemptsMade"] == 1
    assert set(doc) == {"attemptsMade", "arrivalTimestamp", "errorCode", "errorMessage", "attemptEndingTimestamp",
                        "rawData", "lambdaArn"}
    emulator.close()


@pytest.mark.parametrize("mutate", [
    lambda rs: rs[:-1],                                             # a record missing
    lambda rs: rs + rs[:1],                                         # a record twice
    lambda rs: [dict(rs[0], result="Maybe")] + rs[1:],              # an unknown result
    lambda rs: [dict(rs[0], data="%%%")] + rs[1:],                  # data not base64
    lambda rs: [dict(rs[0], recordId="other")] + rs[1:],            # an id not in the batch
])
def test_a_malformed_response_sends_the_whole_batch_to_the_error_prefix(mutate):
    def invoke(logical_id, event):
        good = upper_processor([])(logical_id, event)
        return {"records": mutate(good["records"])}

    emulator, s3 = _emulator(invoke)
    emulator.put("s", [b"one", b"two"])
    emulator.flush()
    assert s3.under("dest", "redacted/") == []
    [errors] = s3.under("dest", "errors/processing-failed/")
    assert sorted(base64.b64decode(line["rawData"]) for line in loads_lines(errors)) == [b"one", b"two"]
    emulator.close()


def test_an_invocation_that_keeps_failing_is_retried_then_sent_to_errors():
    calls = []

    def invoke(logical_id, event):
        calls.append(1)
        raise RuntimeError("boom")

    emulator, s3 = _emulator(invoke, number_of_retries=2)
    emulator.put("s", [b"one"])
    emulator.flush()
    assert len(calls) == 3
    doc = json.loads(s3.under("dest", "errors/")[0])
    assert doc["errorCode"] == "Lambda.FunctionError" and doc["attemptsMade"] == 3
    emulator.close()


def test_check_response_accepts_a_well_formed_answer():
    response = {"records": [{"recordId": "a", "result": "Ok", "data": "eA=="},
                            {"recordId": "b", "result": "Dropped", "data": ""}]}
    assert check_response(response, ["a", "b"]) is None


def test_prefix_expressions_and_default_time_prefix():
    moment = datetime(2026, 11, 22, 7, 5, tzinfo=UTC)
    assert evaluate_prefix("a/!{timestamp:yyyy-MM-dd}/", moment) == "a/2026-11-22/"
    assert evaluate_prefix("plain/", moment) == "plain/2026/11/22/07/"
    assert evaluate_prefix("", moment, error_type="processing-failed") == "processing-failed/2026/11/22/07/"
