"""Amazon Data Firehose emulator (Direct PUT to S3 with a Lambda processor), JSON 1.1 protocol.

`PutRecord` / `PutRecordBatch` (with Firehose's record and call limits) fill a buffer per stream; a
buffer is handed to the processor when it reaches the processor's `BufferSizeInMBs` or
`BufferIntervalInSeconds`, or when `POST /_emulator/flush` asks. The processor gets Firehose's event
shape; its answer is checked as Firehose does (every recordId exactly once, results Ok / Dropped /
ProcessingFailed, base64 data), and a malformed answer or a failed invocation (after
`NumberOfRetries`) sends the whole batch to the error prefix. Then, with Firehose's key layout:
`Ok` data to the destination prefix, every source record to the backup bucket, `ProcessingFailed`
records as Firehose's error documents under the error prefix (`processing-failed`).

Simplification: the destination's own buffering hints are not modelled; each processed batch is
written as one object per prefix.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import inspect
import json
import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

log = logging.getLogger("pitwall.local.firehose")

TARGET_PREFIX = "Firehose_20150804."
# Amazon Data Firehose quotas: a record is at most 1,000 KiB before base64; PutRecordBatch takes at
# most 500 records and 4 MiB per call.
MAX_RECORD_BYTES = 1_000 * 1024
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024
RESULTS = frozenset({"Ok", "Dropped", "ProcessingFailed"})
_EXPRESSION = re.compile(r"!\{(?P<namespace>[a-z]+):(?P<value>[^}]*)\}")


@dataclass(frozen=True)
class StreamConfig:
    """One delivery stream as the template defines it (buckets by name, processor by logical id)."""

    name: str
    destination_bucket: str
    prefix: str = ""
    error_prefix: str = ""
    processor: str | None = None
    processor_arn: str = ""
    buffer_bytes: int = 1024 * 1024
    buffer_seconds: float = 60.0
    number_of_retries: int = 3
    backup_bucket: str | None = None
    backup_prefix: str = ""
    arn: str = ""


@dataclass
class _Buffered:
    record_id: str
    data: bytes
    arrival_ms: int


@dataclass
class _Buffer:
    records: list[_Buffered] = field(default_factory=list)
    size: int = 0
    opened: float = 0.0


class FirehoseError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _java_time(pattern: str, moment: datetime) -> str:
    # The subset of java.time.format.DateTimeFormatter that Firehose prefixes use.
    tokens = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
    return moment.strftime(re.sub("yyyy|MM|dd|HH|mm|ss", lambda m: tokens[m.group()], pattern))


def evaluate_prefix(prefix: str, moment: datetime, *, error_type: str | None = None) -> str:
    """Firehose's custom prefix: `!{timestamp:...}` and `!{firehose:...}` expressions, and the default
    `YYYY/MM/dd/HH/` time prefix when the prefix has no timestamp expression."""

    def substitute(match: re.Match[str]) -> str:
        namespace, value = match["namespace"], match["value"]
        if namespace == "timestamp":
            return _java_time(value, moment)
        if value == "error-output-type":
            return error_type or ""
        if value == "random-string":
            return uuid.uuid4().hex[:11]
        raise ValueError(f"unsupported prefix expression {match.group()}")

    evaluated = _EXPRESSION.sub(substitute, prefix)
    if "!{timestamp:" not in prefix:
        if error_type and "!{firehose:error-output-type}" not in prefix:
            evaluated += f"{error_type}/"
        evaluated += moment.strftime("%Y/%m/%d/%H/")
    return evaluated


def object_key(prefix: str, stream: str, moment: datetime) -> str:
    """`<prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<random>`, Firehose's S3 object name."""
    return f"{prefix}{stream}-1-{moment.strftime('%Y-%m-%d-%H-%M-%S')}-{uuid.uuid4()}"


class FirehoseEmulator:
    """The WSGI application; `make_app` builds one."""

    def __init__(self, streams: list[StreamConfig], invoke: Callable[[str, dict[str, Any]], Any], s3: Any,
                 *, region: str = "us-east-1", account: str = "123456789012",
                 clock: Callable[[], float] = time.time, tick_s: float = 0.2) -> None:
        self.streams = {s.name: s for s in streams}
        self.invoke, self.s3, self.region, self.account, self.clock = invoke, s3, region, account, clock
        self._buffers: dict[str, _Buffer] = {name: _Buffer() for name in self.streams}
        self._lock = threading.Lock()
        self._deliver_lock = threading.Lock()
        self.deliveries = 0
        self._stop = threading.Event()
        # Deliveries run on their own thread, as in Firehose: PutRecord answers without waiting for
        # the processor, and batches of a stream are delivered one after another.
        self._queue: queue.Queue[tuple[StreamConfig, list[_Buffered]]] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="firehose-delivery", daemon=True)
        self._worker.start()
        self._ticker = threading.Thread(target=self._tick, args=(tick_s,), name="firehose-buffers", daemon=True)
        self._ticker.start()

    def arn(self, stream: StreamConfig) -> str:
        return stream.arn or f"arn:aws:firehose:{self.region}:{self.account}:deliverystream/{stream.name}"

    # -- buffering ------------------------------------------------------------------------------
    def put(self, stream_name: str, payloads: list[bytes]) -> list[str]:
        stream = self._stream(stream_name)
        ready = []
        ids = []
        with self._lock:
            buffer = self._buffers[stream.name]
            for data in payloads:
                if not buffer.records:
                    buffer.opened = self.clock()
                record_id = f"{int(self.clock() * 1000):013d}{uuid.uuid4().int % 10**43:043d}"
                buffer.records.append(_Buffered(record_id, data, int(self.clock() * 1000)))
                buffer.size += len(data)
                ids.append(record_id)
                if buffer.size >= stream.buffer_bytes:
                    ready.append(self._take(stream.name))
                    buffer = self._buffers[stream.name]
        for records in ready:
            self._queue.put((stream, records))
        return ids

    def _take(self, name: str) -> list[_Buffered]:
        records = self._buffers[name].records
        self._buffers[name] = _Buffer()
        return records

    def flush(self, stream_name: str | None = None) -> int:
        """Deliver what is buffered now (all streams, or one) and wait until every delivery under
        way is written; returns the records taken from the buffers."""
        taken = 0
        for name in [stream_name] if stream_name else list(self.streams):
            self._stream(name)
            with self._lock:
                records = self._take(name)
            if records:
                self._queue.put((self.streams[name], records))
                taken += len(records)
        self._queue.join()
        return taken

    def drain(self) -> None:
        """Wait until every delivery under way is written (buffers are left as they are)."""
        self._queue.join()

    def _tick(self, tick_s: float) -> None:
        while not self._stop.wait(tick_s):
            for name, stream in self.streams.items():
                with self._lock:
                    buffer = self._buffers[name]
                    due = buffer.records and self.clock() - buffer.opened >= stream.buffer_seconds
                    records = self._take(name) if due else []
                if records:
                    self._queue.put((stream, records))

    def _work(self) -> None:
        while True:
            stream, records = self._queue.get()
            try:
                self._deliver(stream, records)
            except Exception:  # the worker must survive a broken S3 or runner
                log.exception("delivery of %d records to %s failed", len(records), stream.name)
            finally:
                self._queue.task_done()

    def close(self) -> None:
        self._stop.set()

    # -- delivery -------------------------------------------------------------------------------
    def _deliver(self, stream: StreamConfig, records: list[_Buffered]) -> None:
        with self._deliver_lock:
            self.deliveries += 1
            if stream.backup_bucket:
                self._write(stream.backup_bucket, stream.backup_prefix, stream, b"".join(r.data for r in records))
            if stream.processor is None:
                self._write(stream.destination_bucket, stream.prefix, stream, b"".join(r.data for r in records))
                return
            event = {
                "invocationId": str(uuid.uuid4()),
                "deliveryStreamArn": self.arn(stream),
                "region": self.region,
                "records": [{"recordId": r.record_id, "approximateArrivalTimestamp": r.arrival_ms,
                             "data": base64.b64encode(r.data).decode("ascii")} for r in records],
            }
            attempts, response, error = 0, None, ("", "")
            for attempts in range(1, stream.number_of_retries + 2):  # noqa: B007 - attempts is reported
                try:
                    response = self.invoke(stream.processor, event)
                    break
                except Exception as exc:  # any invocation failure is retried, then fails the batch
                    error = ("Lambda.FunctionError", f"The Lambda function invocation failed: {type(exc).__name__}")
            if response is None:
                self._fail_all(stream, records, attempts, *error)
                return
            problem = check_response(response, [r.record_id for r in records])
            if problem:
                self._fail_all(stream, records, attempts, *problem)
                return
            by_id = {r["recordId"]: r for r in response["records"]}
            ok = b"".join(base64.b64decode(by_id[r.record_id]["data"]) for r in records
                          if by_id[r.record_id]["result"] == "Ok")
            if ok:
                self._write(stream.destination_bucket, stream.prefix, stream, ok)
            failed = [r for r in records if by_id[r.record_id]["result"] == "ProcessingFailed"]
            if failed:
                self._write_errors(stream, failed, attempts, "Lambda.ProcessingFailedStatus",
                                   "The Lambda function returned ProcessingFailed for this record")

    def _fail_all(self, stream: StreamConfig, records: list[_Buffered], attempts: int, code: str, message: str) -> None:
        log.warning("batch of %d records to %s failed: %s", len(records), stream.name, code)
        self._write_errors(stream, records, attempts, code, message)

    def _write_errors(self, stream: StreamConfig, records: list[_Buffered], attempts: int, code: str,
                      message: str) -> None:
        now_ms = int(self.clock() * 1000)
        lines = [json.dumps({
            "attemptsMade": attempts, "arrivalTimestamp": r.arrival_ms, "errorCode": code,
            "errorMessage": message, "attemptEndingTimestamp": now_ms,
            "rawData": base64.b64encode(r.data).decode("ascii"), "lambdaArn": stream.processor_arn,
        }) + "\n" for r in records]
        moment = datetime.fromtimestamp(self.clock(), UTC)
        prefix = evaluate_prefix(stream.error_prefix or "", moment, error_type="processing-failed")
        self.s3.put_object(Bucket=stream.destination_bucket, Key=object_key(prefix, stream.name, moment),
                           Body="".join(lines).encode())

    def _write(self, bucket: str, prefix: str, stream: StreamConfig, body: bytes) -> None:
        moment = datetime.fromtimestamp(self.clock(), UTC)
        self.s3.put_object(Bucket=bucket, Key=object_key(evaluate_prefix(prefix, moment), stream.name, moment),
                           Body=body)

    # -- API ------------------------------------------------------------------------------------
    def _stream(self, name: Any) -> StreamConfig:
        if not isinstance(name, str) or name not in self.streams:
            raise FirehoseError("ResourceNotFoundException",
                                f"Firehose {name} under account {self.account} not found.")
        return self.streams[name]

    @staticmethod
    def _payload(record: Any) -> bytes:
        if not isinstance(record, dict) or not isinstance(record.get("Data"), str):
            raise FirehoseError("ValidationException", "Record.Data is required")
        try:
            data = base64.b64decode(record["Data"], validate=True)
        except (binascii.Error, ValueError):
            raise FirehoseError("SerializationException", "Record.Data is not base64") from None
        if len(data) > MAX_RECORD_BYTES:
            raise FirehoseError("ValidationException", f"Record size {len(data)} exceeds {MAX_RECORD_BYTES} bytes")
        return data

    def put_record(self, body: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(body.get("DeliveryStreamName"))
        [record_id] = self.put(stream.name, [self._payload(body.get("Record"))])
        return {"RecordId": record_id, "Encrypted": False}

    def put_record_batch(self, body: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(body.get("DeliveryStreamName"))
        records = body.get("Records")
        if not isinstance(records, list) or not 1 <= len(records) <= MAX_BATCH_RECORDS:
            raise FirehoseError("ValidationException", f"Records must hold 1 to {MAX_BATCH_RECORDS} records")
        payloads = [self._payload(r) for r in records]
        if sum(map(len, payloads)) > MAX_BATCH_BYTES:
            raise FirehoseError("InvalidArgumentException", f"Batch exceeds {MAX_BATCH_BYTES} bytes")
        ids = self.put(stream.name, payloads)
        return {"FailedPutCount": 0, "Encrypted": False, "RequestResponses": [{"RecordId": i} for i in ids]}

    def list_delivery_streams(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"DeliveryStreamNames": sorted(self.streams), "HasMoreDeliveryStreams": False}

    def describe_delivery_stream(self, body: dict[str, Any]) -> dict[str, Any]:
        stream = self._stream(body.get("DeliveryStreamName"))
        return {"DeliveryStreamDescription": {
            "DeliveryStreamName": stream.name, "DeliveryStreamARN": self.arn(stream),
            "DeliveryStreamStatus": "ACTIVE", "DeliveryStreamType": "DirectPut", "VersionId": "1",
            "Destinations": [], "HasMoreDestinations": False}}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            if request.path == "/_emulator/flush" and request.method == "POST":
                stream = (request.get_json(silent=True) or {}).get("DeliveryStreamName")
                response = _json(200, {"delivered": self.flush(stream)})
            else:
                response = _json(200, self._api(request))
        except FirehoseError as error:
            response = _json(error.status, {"__type": error.code, "message": error.message})
        return response(environ, start_response)

    def _api(self, request: Request) -> dict[str, Any]:
        action = request.headers.get("X-Amz-Target", "").removeprefix(TARGET_PREFIX)
        handler = {"PutRecord": self.put_record, "PutRecordBatch": self.put_record_batch,
                   "ListDeliveryStreams": self.list_delivery_streams,
                   "DescribeDeliveryStream": self.describe_delivery_stream}.get(action)
        if handler is None:
            raise FirehoseError("UnknownOperationException", f"Operation {action or '?'} is not emulated")
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            raise FirehoseError("SerializationException", "Request body is not JSON") from None
        return handler(body)


def check_response(response: Any, record_ids: list[str]) -> tuple[str, str] | None:
    """Firehose's checks of a transformation response; `(error code, message)` of the first problem."""
    if not isinstance(response, dict) or not isinstance(response.get("records"), list):
        return "Lambda.JsonProcessingException", "The response has no records array"
    expected = set(record_ids)
    seen: set[str] = set()
    for record in response["records"]:
        if not isinstance(record, dict):
            return "Lambda.JsonProcessingException", "A response record is not an object"
        record_id = record.get("recordId")
        if record_id not in expected:
            return "Lambda.InvalidRecordId", "The response holds a recordId that was not in the batch"
        if record_id in seen:
            return "Lambda.DuplicatedRecordId", "The response holds a recordId twice"
        seen.add(record_id)
        if record.get("result") not in RESULTS:
            return "Lambda.InvalidResult", "A record's result is not Ok, Dropped or ProcessingFailed"
        data = record.get("data")
        if not isinstance(data, str):
            return "Lambda.JsonProcessingException", "A record's data is not a string"
        try:
            base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return "Lambda.JsonProcessingException", "A record's data is not base64"
    if seen != expected:
        return "Lambda.MissingRecordId", f"{len(expected - seen)} recordId(s) of the batch are missing"
    return None


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/x-amz-json-1.1",
                    headers={"x-amzn-RequestId": str(uuid.uuid4())})


# -- reading the template -------------------------------------------------------------------------
def streams_from_template(resources: dict[str, Any], physical_id: Callable[[str], str],
                          parameters: dict[str, str], stack_name: str) -> list[StreamConfig]:
    """The template's Direct PUT delivery streams, resolved against the local stack."""

    def resolve(node: Any) -> Any:
        if isinstance(node, dict) and "Ref" in node:
            ref = node["Ref"]
            return parameters[ref] if ref in parameters else physical_id(ref)
        if isinstance(node, dict) and "Fn::GetAtt" in node:
            target = node["Fn::GetAtt"]
            return physical_id(target[0] if isinstance(target, list) else target.split(".")[0])
        return node

    def bucket(arn_node: Any) -> str:
        return str(resolve(arn_node)).rsplit(":", 1)[-1]

    streams = []
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::KinesisFirehose::DeliveryStream":
            continue
        props = resource["Properties"]
        dest = props["ExtendedS3DestinationConfiguration"]
        processor, processor_arn, size_mb, interval, retries = None, "", 1.0, 60.0, 3
        for proc in dest.get("ProcessingConfiguration", {}).get("Processors", []):
            params = {p["ParameterName"]: p["ParameterValue"] for p in proc.get("Parameters", [])}
            lambda_arn = params.get("LambdaArn")
            if isinstance(lambda_arn, dict) and "Fn::GetAtt" in lambda_arn:
                target = lambda_arn["Fn::GetAtt"]
                processor = target[0] if isinstance(target, list) else target.split(".")[0]
                processor_arn = str(resolve(lambda_arn))
            size_mb = float(resolve(params.get("BufferSizeInMBs", size_mb)))
            interval = float(resolve(params.get("BufferIntervalInSeconds", interval)))
            retries = int(resolve(params.get("NumberOfRetries", retries)))
        backup = dest.get("S3BackupConfiguration") if dest.get("S3BackupMode") == "Enabled" else None
        streams.append(StreamConfig(
            name=str(resolve(props.get("DeliveryStreamName", f"{stack_name}-{logical_id}"))),
            destination_bucket=bucket(dest["BucketARN"]),
            prefix=str(resolve(dest.get("Prefix", ""))),
            error_prefix=str(resolve(dest.get("ErrorOutputPrefix", ""))),
            processor=processor, processor_arn=processor_arn,
            buffer_bytes=int(size_mb * 1024 * 1024), buffer_seconds=interval, number_of_retries=retries,
            backup_bucket=bucket(backup["BucketARN"]) if backup else None,
            backup_prefix=str(resolve(backup.get("Prefix", ""))) if backup else "",
        ))
    return streams


def make_app(*, cloud: Any = None, streams: list[StreamConfig] | None = None,
             invoke: Callable[[dict[str, Any]], Any] | Callable[[str, dict[str, Any]], Any] | None = None,
             s3: Any = None, region: str = "us-east-1", tick_s: float = 0.2,
             buffer_seconds: float | None = None) -> FirehoseEmulator:
    """Build the Firehose emulator.

    From the local cloud (`cloud`: streams read from its template, the runner invokes processors, its
    S3 client writes), or from explicit `streams`, `invoke(processor_logical_id, event)` and `s3`.
    `buffer_seconds` overrides every stream's interval (tests that should not wait a minute).
    """
    if cloud is not None:
        parameters = {name: str(spec.get("Default", "")) for name, spec in
                      cloud.translation.cfn.get("Parameters", {}).items()} | dict(cloud.parameters)
        streams = streams or streams_from_template(cloud.translation.cfn["Resources"], cloud.physical_id,
                                                   parameters, cloud.stack_name)
        invoke = invoke or (lambda logical_id, event: cloud.runner.invoke(logical_id, event))
        s3 = s3 or cloud.client("s3")
    if streams is None or invoke is None or s3 is None:
        raise ValueError("give either cloud, or streams, invoke and s3")
    if buffer_seconds is not None:
        streams = [dataclasses.replace(s, buffer_seconds=buffer_seconds) for s in streams]
    given: Any = invoke
    if len(inspect.signature(given).parameters) == 1:
        # invoke(event): one processor for every stream.
        def by_processor(_logical_id: str, event: dict[str, Any]) -> Any:
            return given(event)
    else:
        by_processor = given
    return FirehoseEmulator(streams, by_processor, s3, region=region, tick_s=tick_s)
