"""template.yaml, translated offline as CloudFormation receives it (issue 14 items 2 and 3): API
Gateway without caller credentials, stray stage or drift from docs/openapi, with access logs and
throttling; a log group with retention for every function; an alarm on every dead-letter queue and
on each function's errors and throttles, the stream consumer's iterator age, Firehose processing
and Comprehend throttling; every EventBridge target with a dead-letter queue and a retry policy."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from local.provision import load_template, translate

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
CALLER_CREDENTIALS = "arn:aws:iam::*:user/*"
# Review on (a work team given), so the conditional human-review functions are in the template too.
WORK_TEAM = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/pitwall"


@pytest.fixture(scope="module")
def cfn():
    return translate(TEMPLATE, {"WorkTeamArn": WORK_TEAM}).cfn["Resources"]


@pytest.fixture(scope="module")
def sam():
    return load_template(TEMPLATE)["Resources"]


def of_type(resources, kind):
    return {name: res for name, res in resources.items() if res["Type"] == kind}


def alarms_on(cfn, metric, dimension_name):
    """{dimension value (as written): alarm properties} of the alarms on `metric`."""
    found = {}
    for res in of_type(cfn, "AWS::CloudWatch::Alarm").values():
        props = res["Properties"]
        if props["MetricName"] != metric:
            continue
        for dimension in props["Dimensions"]:
            if dimension["Name"] == dimension_name:
                found[json.dumps(dimension["Value"], sort_keys=True)] = props
    return found


def alarmed(props):
    """The alarm notifies the stack's alarm topic, both ways, and is quiet without data."""
    return (props["AlarmActions"] == [{"Ref": "AlarmTopic"}] and props["OKActions"] == [{"Ref": "AlarmTopic"}]
            and props["TreatMissingData"] == "notBreaching")


# --- item 2: API Gateway ------------------------------------------------------------------------
def test_no_method_uses_caller_credentials_or_any_invoke_role(cfn):
    assert CALLER_CREDENTIALS not in json.dumps(cfn)
    apis = of_type(cfn, "AWS::ApiGateway::RestApi")
    assert len(apis) == 2
    for name, api in apis.items():
        for path, methods in api["Properties"]["Body"]["paths"].items():
            for method, spec in methods.items():
                integration = spec["x-amazon-apigateway-integration"]
                assert "credentials" not in integration, f"{name} {method} {path}"
                assert (integration["type"], integration["httpMethod"]) == ("aws_proxy", "POST")


def test_each_route_is_integrated_with_its_function_and_allowed_by_a_permission(cfn, sam):
    for fn_name, fn in of_type(sam, "AWS::Serverless::Function").items():
        for event_name, event in (fn["Properties"].get("Events") or {}).items():
            if event["Type"] != "Api":
                continue
            props = event["Properties"]
            body = cfn[props["RestApiId"]["Ref"]]["Properties"]["Body"]
            uri = body["paths"][props["Path"]][props["Method"]]["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
            assert f"${{{fn_name}.Arn}}" in uri, f"{fn_name}.{event_name}"
            # The function's resource policy admits this API (no invoke role needed).
            permissions = [p["Properties"] for p in of_type(cfn, "AWS::Lambda::Permission").values()
                           if p["Properties"]["FunctionName"] == {"Ref": fn_name}]
            assert any(p["Principal"] == "apigateway.amazonaws.com" for p in permissions), fn_name


def test_openapi_documents_are_the_api_bodies_and_match_the_routes_of_template_and_code(cfn, sam, monkeypatch):
    # The Chalice apps read their settings on import: the variables the template gives them.
    for fn in ("CostCalculatorApiFunction", "RacePredictorApiFunction"):
        for variable in sam[fn]["Properties"]["Environment"]["Variables"]:
            monkeypatch.setenv(variable, "local")
    monkeypatch.setenv("EVENT_BUS_NAME", "local")
    import cost_calculator.api
    import race_predictor.api

    apps = {"CostCalculatorApiFunction": cost_calculator.api.app, "RacePredictorApiFunction": race_predictor.api.app}
    for api_name, doc in (("CostCalculatorApi", "cost_calculator"), ("RacePredictorApi", "race_predictor")):
        include = sam[api_name]["Properties"]["DefinitionBody"]["Fn::Transform"]
        assert include == {"Name": "AWS::Include", "Parameters": {"Location": f"docs/openapi/{doc}.yaml"}}
        document = load_template(ROOT / "docs" / "openapi" / f"{doc}.yaml")
        assert cfn[api_name]["Properties"]["Body"] == document
        documented = {(path, method.upper()) for path, methods in document["paths"].items() for method in methods}
        events = {(e["Properties"]["Path"], e["Properties"]["Method"].upper())
                  for fn in of_type(sam, "AWS::Serverless::Function").values()
                  for e in (fn["Properties"].get("Events") or {}).values()
                  if e["Type"] == "Api" and e["Properties"]["RestApiId"] == {"Ref": api_name}}
        functions = {fn_name for fn_name, fn in of_type(sam, "AWS::Serverless::Function").items()
                     if any(e["Type"] == "Api" and e["Properties"]["RestApiId"] == {"Ref": api_name}
                            for e in (fn["Properties"].get("Events") or {}).values())}
        (function,) = functions
        code = {(path, method) for path, entries in apps[function].routes.items() for method in entries}
        assert documented == events == code, f"{api_name}: docs {documented ^ events} / code {events ^ code}"


def test_one_stage_per_api_named_by_the_stage_parameter_with_access_logs_and_throttling(cfn):
    stages = of_type(cfn, "AWS::ApiGateway::Stage")
    assert len(stages) == 2
    groups = of_type(cfn, "AWS::Logs::LogGroup")
    for name, stage in stages.items():
        props = stage["Properties"]
        assert props["StageName"] == {"Ref": "Stage"}, name  # no SAM default stage named "Stage"
        destination = props["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][0]
        assert groups[destination]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        access_format = json.loads(props["AccessLogSetting"]["Format"])
        assert {"requestId", "status", "route", "caller"} <= set(access_format)
        assert not {"$context.identity.sourceIp", "$input.body"} & set(access_format.values())
        (everything,) = [m for m in props["MethodSettings"] if (m["ResourcePath"], m["HttpMethod"]) == ("/*", "*")]
        assert everything["ThrottlingRateLimit"] == {"Ref": "ApiThrottleRateLimit"}
        assert everything["ThrottlingBurstLimit"] == {"Ref": "ApiThrottleBurstLimit"}
    assert not [n for n, r in cfn.items() if r["Type"] == "AWS::ApiGateway::Stage" and
                r["Properties"].get("StageName") == "Stage"]
    # Access logs need the account's API Gateway CloudWatch role, set before the stages exist.
    account = of_type(cfn, "AWS::ApiGateway::Account")
    assert list(account) == ["ApiGatewayAccount"]
    assert all(cfn[api].get("DependsOn") == "ApiGatewayAccount" for api in of_type(cfn, "AWS::ApiGateway::RestApi"))


# --- item 3: operations ---------------------------------------------------------------------------
def test_every_function_has_a_log_group_with_retention(cfn):
    functions = of_type(cfn, "AWS::Lambda::Function")
    assert len(functions) >= 8
    named = {json.dumps(g["Properties"]["LogGroupName"]): (g["Properties"], g.get("Condition"))
             for g in of_type(cfn, "AWS::Logs::LogGroup").values()}
    for name, function in functions.items():
        found = named.get(json.dumps({"Fn::Sub": f"/aws/lambda/${{{name}}}"}))
        assert found, f"{name} has no log group (Lambda would create one that keeps logs forever)"
        props, condition = found
        assert props["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
        assert condition == function.get("Condition"), name


def test_every_function_has_an_errors_and_a_throttles_alarm(cfn):
    for metric in ("Errors", "Throttles"):
        alarms = alarms_on(cfn, metric, "FunctionName")
        for name in of_type(cfn, "AWS::Lambda::Function"):
            props = alarms.get(json.dumps({"Ref": name}))
            assert props, f"{name}: no {metric} alarm"
            assert props["Namespace"] == "AWS/Lambda" and props["Threshold"] == 1 and alarmed(props), name


def dead_letter_queues(cfn):
    queues = set()
    for res in of_type(cfn, "AWS::SQS::Queue").values():
        if "RedrivePolicy" in res["Properties"]:
            queues.add(res["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0])
    for mapping in of_type(cfn, "AWS::Lambda::EventSourceMapping").values():
        destination = mapping["Properties"].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination:
            queues.add(destination["Fn::GetAtt"][0])
    for rule in of_type(cfn, "AWS::Events::Rule").values():
        for target in rule["Properties"]["Targets"]:
            queues.add(target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0])
    return queues


def test_every_dead_letter_queue_has_a_depth_alarm(cfn):
    queues = dead_letter_queues(cfn)
    assert len(queues) >= 5
    alarms = alarms_on(cfn, "ApproximateNumberOfMessagesVisible", "QueueName")
    for queue in queues:
        props = alarms.get(json.dumps({"Fn::GetAtt": [queue, "QueueName"]}))
        assert props, f"{queue}: no depth alarm"
        assert (props["Namespace"], props["Statistic"], props["Threshold"]) == ("AWS/SQS", "Maximum", 1), queue
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" and alarmed(props), queue


def test_stream_consumers_firehose_and_comprehend_have_alarms(cfn):
    kinesis_consumers = {m["Properties"]["FunctionName"]["Ref"] for m in of_type(cfn, "AWS::Lambda::EventSourceMapping").values()
                         if "Stream" in json.dumps(m["Properties"]["EventSourceArn"])}
    assert kinesis_consumers == {"NhlTrackingFunction"}
    iterator_age = alarms_on(cfn, "IteratorAge", "FunctionName")
    for consumer in kinesis_consumers:
        props = iterator_age[json.dumps({"Ref": consumer})]
        assert props["Statistic"] == "Maximum" and props["Threshold"] <= 60_000 and alarmed(props)
    for stream in of_type(cfn, "AWS::KinesisFirehose::DeliveryStream"):
        for metric in ("ExecuteProcessing.Success", "DeliveryToS3.Success"):
            props = alarms_on(cfn, metric, "DeliveryStreamName")[json.dumps({"Ref": stream})]
            assert (props["Statistic"], props["ComparisonOperator"], props["Threshold"]) == \
                ("Minimum", "LessThanThreshold", 1) and alarmed(props), (stream, metric)
    # The PII processor's own metrics (Powertools, namespace Pitwall, dimension service).
    for metric in ("ComprehendThrottled", "RecordsProcessingFailed"):
        props = alarms_on(cfn, metric, "service")['"pii_redaction"']
        assert props["Namespace"] == "Pitwall" and alarmed(props), metric


def test_the_alarm_topic_is_encrypted_and_optionally_mailed(cfn):
    topic = cfn["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == "alias/aws/sns"
    subscription = cfn["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_every_eventbridge_target_has_a_dead_letter_queue_and_retry_policy(cfn):
    rules = of_type(cfn, "AWS::Events::Rule")
    assert len(rules) >= 4
    policy = cfn["EventTargetDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    admitted = json.dumps([s["Condition"]["ArnEquals"]["aws:SourceArn"] for s in policy])
    for name, rule in rules.items():
        for target in rule["Properties"]["Targets"]:
            assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["EventTargetDeadLetterQueue", "Arn"]}, name
            retry = target["RetryPolicy"]
            assert 0 < retry["MaximumRetryAttempts"] <= 185 and 60 <= retry["MaximumEventAgeInSeconds"] <= 86400
        assert json.dumps({"Fn::GetAtt": [name, "Arn"]}) in admitted, f"the DLQ refuses {name}'s events"


def test_samconfig_has_a_default_and_a_prod_environment():
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert config["version"] == 0.1
    parameters = set(load_template(TEMPLATE)["Parameters"])
    for env in ("default", "prod"):
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["stack_name"] and deploy["capabilities"]
        overrides = dict(item.split("=", 1) for item in deploy["parameter_overrides"])
        assert set(overrides) <= parameters, set(overrides) - parameters
        assert overrides["Stage"] == ("prod" if env == "prod" else "dev")
    assert config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True
