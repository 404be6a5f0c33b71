"""Checks of template.yaml that `sam validate --lint` and cfn-lint cannot make: the template is
translated by the SAM translator, as CloudFormation would, and the resources it produces are
checked against what the Rust code expects (routes, queue limits, variable names, permissions).

Run by .ci/run with the venv that has aws-sam-cli: `python -m pytest tests/template_test.py`.
"""

import json
import os
import re
from pathlib import Path

import pytest
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parent.parent
RECEIVERS = {"OctopusWebhookFunction": ("functions/octopus-webhook", "/webhooks/octopus")}


def raw_template():
    return yaml_parse((ROOT / "template.yaml").read_text())


class NoManagedPolicies:
    def load(self):
        return {}


@pytest.fixture(scope="module")
def resources():
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template = raw_template()
    for resource in template["Resources"].values():
        if "CodeUri" in resource.get("Properties", {}):
            resource["Properties"]["CodeUri"] = "s3://bucket/key"  # as `sam package` would
    params = {
        "AlarmTopicArn": "arn:aws:sns:us-east-1:123456789012:ops",
        "OctopusWebhookSecretName": "hookline/octopus",
        "OctopusApiBaseUrl": "https://api.example.com",
        "OctopusApiTokenSecretName": "hookline/octopus-api",
    }
    return transform(template, params, NoManagedPolicies())["Resources"]


def rust_const(path, name):
    match = re.search(rf"pub const {name}: [^=]+ = ([^;]+);", (ROOT / path).read_text())
    assert match, f"{name} not found in {path}"
    value = match.group(1).strip()
    return value.replace("_", "") if value[0].isdigit() else value.strip('"')


def test_each_receiver_is_a_rust_lambda_on_arm64():
    template = raw_template()
    for name, (code_dir, _) in RECEIVERS.items():
        function = template["Resources"][name]
        assert function["Metadata"]["BuildMethod"] == "rust-cargolambda"
        assert function["Properties"]["CodeUri"] == code_dir
        assert (ROOT / code_dir / "Cargo.toml").is_file()
    globals_ = template["Globals"]["Function"]
    assert globals_["Runtime"] == "provided.al2023"
    assert globals_["Architectures"] == ["arm64"]
    assert globals_["Handler"] == "bootstrap"


def test_each_receiver_route_accepts_any_method_with_payload_v2(resources):
    paths = resources["WebhookApi"]["Properties"]["Body"]["paths"]
    for name, (_, path) in RECEIVERS.items():
        integration = paths[path]["x-amazon-apigateway-any-method"]["x-amazon-apigateway-integration"]
        assert integration["payloadFormatVersion"] == "2.0"
        assert f"${{{name}.Arn}}" in integration["uri"]["Fn::Sub"]


def test_receivers_may_only_send_to_the_ingest_queue(resources):
    for name in RECEIVERS:
        role = resources[f"{name}Role"]["Properties"]
        # Logs, and X-Ray's write-only policy that SAM adds for the TracingMode parameter.
        assert role["ManagedPolicyArns"] == [
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
        ]
        statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
        assert len(statements) == 1, statements
        assert statements[0]["Action"] == ["sqs:SendMessage*"]
        queue = statements[0]["Resource"]["Fn::Sub"][1]["queueName"]
        assert queue == {"Fn::GetAtt": ["IngestQueue", "QueueName"]}


def test_receivers_get_the_variables_the_code_reads(resources):
    queue_var = rust_const("shared/src/config.rs", "INGEST_QUEUE_URL")
    secrets_var = rust_const("shared/src/config.rs", "OCTOPUS_WEBHOOK_SECRETS")
    variables = resources["OctopusWebhookFunction"]["Properties"]["Environment"]["Variables"]
    assert variables[queue_var] == {"Ref": "IngestQueue"}
    assert "resolve:secretsmanager:${OctopusWebhookSecretName}" in variables[secrets_var]["Fn::Sub"]


def test_queues_are_encrypted_and_ingest_dead_letters(resources):
    for name in ("IngestQueue", "IngestDeadLetterQueue"):
        assert resources[name]["Properties"]["SqsManagedSseEnabled"] is True
    ingest = resources["IngestQueue"]["Properties"]
    assert ingest["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["IngestDeadLetterQueue", "Arn"]
    }
    assert ingest["MessageRetentionPeriod"] == 1209600


def test_queue_size_limit_matches_the_receivers_413(resources):
    limit = int(rust_const("shared/src/message.rs", "SQS_MAX_MESSAGE_BYTES"))
    assert resources["IngestQueue"]["Properties"]["MaximumMessageSize"] == limit


def test_env_json_covers_every_function_with_the_test_secret():
    env = json.loads((ROOT / "events/env.json").read_text())
    functions = [
        name
        for name, r in raw_template()["Resources"].items()
        if r["Type"] == "AWS::Serverless::Function"
    ]
    assert sorted(env) == sorted(functions)
    test_secret = rust_const("shared/src/dev_defaults.rs", "OCTOPUS_TEST_SECRET")
    assert env["OctopusWebhookFunction"]["OCTOPUS_WEBHOOK_SECRETS"] == test_secret
    test_token = rust_const("shared/src/dev_defaults.rs", "OCTOPUS_API_TEST_TOKEN")
    assert env["ProcessorFunction"]["OCTOPUS_API_TOKEN"] == test_token


def statements_of(role):
    return [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def test_processor_reports_partial_batch_failures_from_the_ingest_queue(resources):
    mapping = resources["ProcessorFunctionIngest"]["Properties"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["IngestQueue", "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 1 <= mapping["BatchSize"] <= 10
    assert mapping["MaximumBatchingWindowInSeconds"] >= 1


def test_ingest_visibility_timeout_is_at_least_six_processor_timeouts(resources):
    timeout = resources["ProcessorFunction"]["Properties"]["Timeout"]
    assert resources["IngestQueue"]["Properties"]["VisibilityTimeout"] >= 6 * timeout


def test_processor_role_is_least_privilege(resources):
    role = resources["ProcessorRole"]
    assert resources["ProcessorFunction"]["Properties"]["Role"] == {
        "Fn::GetAtt": ["ProcessorRole", "Arn"]
    }
    with_tracing, without = role["Properties"]["ManagedPolicyArns"]["Fn::If"][1:]
    assert [p["Fn::Sub"].rsplit("/", 1)[1] for p in without] == ["AWSLambdaBasicExecutionRole"]
    assert [p["Fn::Sub"].rsplit("/", 1)[1] for p in with_tracing] == [
        "AWSLambdaBasicExecutionRole",
        "AWSXRayDaemonWriteAccess",
    ]
    granted = {}
    for statement in statements_of(role):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert statement["Resource"] != "*"
        for action in actions:
            assert "*" not in action, action
            granted[action] = statement["Resource"]["Fn::GetAtt"][0]
    assert granted == {
        "sqs:ReceiveMessage": "IngestQueue",
        "sqs:DeleteMessage": "IngestQueue",
        "sqs:ChangeMessageVisibility": "IngestQueue",
        "sqs:GetQueueAttributes": "IngestQueue",
        "dynamodb:GetItem": "EventsTable",
        "dynamodb:PutItem": "EventsTable",
        "dynamodb:UpdateItem": "EventsTable",
        "sqs:SendMessage": "OrderUpdatesQueue",
    }


def test_events_table_is_on_demand_with_ttl_and_point_in_time_recovery(resources):
    table = resources["EventsTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_order_updates_queue_is_fifo_encrypted_and_dead_letters(resources):
    queue = resources["OrderUpdatesQueue"]["Properties"]
    dlq = resources["OrderUpdatesDeadLetterQueue"]["Properties"]
    assert queue["FifoQueue"] is True and dlq["FifoQueue"] is True
    assert queue["ContentBasedDeduplication"] is False, "hookline sets deduplication ids"
    assert queue["SqsManagedSseEnabled"] is True and dlq["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["OrderUpdatesDeadLetterQueue", "Arn"]
    }


def test_processor_gets_the_variables_the_code_reads(resources):
    variables = resources["ProcessorFunction"]["Properties"]["Environment"]["Variables"]
    expected = {
        "EVENTS_TABLE": {"Ref": "EventsTable"},
        "ORDER_UPDATES_QUEUE_URL": {"Ref": "OrderUpdatesQueue"},
        "OCTOPUS_API_BASE_URL": {"Ref": "OctopusApiBaseUrl"},
        "EVENT_RECORD_TTL_SECS": {"Ref": "EventRecordTtlSeconds"},
        "PROCESSOR_CONCURRENCY": {"Ref": "ProcessorConcurrency"},
    }
    for const, value in expected.items():
        assert variables[rust_const("shared/src/config.rs", const)] == value
    token = variables[rust_const("shared/src/config.rs", "OCTOPUS_API_TOKEN")]
    assert "resolve:secretsmanager:${OctopusApiTokenSecretName}" in token["Fn::Sub"]


def alarms(resources):
    return {n: r["Properties"] for n, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def test_every_queue_with_a_dead_letter_queue_has_an_alarm_on_it(resources):
    watched = {
        a["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in alarms(resources).values()
        if a["Namespace"] == "AWS/SQS" and a["MetricName"] == "ApproximateNumberOfMessagesVisible"
    }
    dead_letter_queues = {
        r["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for r in resources.values()
        if r["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in r["Properties"]
    }
    assert dead_letter_queues == {"IngestDeadLetterQueue", "OrderUpdatesDeadLetterQueue"}
    assert dead_letter_queues <= watched
    for alarm in alarms(resources).values():
        if alarm["MetricName"] == "ApproximateNumberOfMessagesVisible":
            assert alarm["Threshold"] == 0
            assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_alarms_notify_the_topic_when_one_is_given(resources):
    for name, alarm in alarms(resources).items():
        assert alarm["AlarmActions"]["Fn::If"][0] == "HasAlarmTopic", name
        assert alarm["AlarmActions"]["Fn::If"][1] == [{"Ref": "AlarmTopicArn"}], name


def test_alarms_watch_the_metrics_the_code_emits(resources):
    metrics_rs = (ROOT / "shared/src/metrics.rs").read_text()
    for name, alarm in alarms(resources).items():
        if alarm["Namespace"] == "Hookline":
            assert f'"{alarm["MetricName"]}"' in metrics_rs, name
            assert [d["Name"] for d in alarm["Dimensions"]] == ["provider"], name
    names = {a["MetricName"] for a in alarms(resources).values()}
    assert {"ApproximateAgeOfOldestMessage", "5xx", "WebhookRejected", "Errors", "Throttles",
            "FetchFailed"} <= names


def test_every_function_keeps_its_logs_for_the_retention_period(resources):
    functions = [n for n, r in resources.items() if r["Type"] == "AWS::Lambda::Function"]
    groups = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"]
    for function in functions:
        group = next(g for g in groups if f"${{{function}}}" in g["LogGroupName"]["Fn::Sub"])
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_dashboard_body_is_json_with_the_metrics_it_promises(resources):
    body, names = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    text = re.sub(r"\$\{[^}]+\}", "x", body)
    widgets = json.loads(text)["widgets"]
    shown = {m[1] for w in widgets for m in w["properties"]["metrics"]}
    assert {"WebhookAccepted", "WebhookRejected", "DuplicateSkipped", "FetchFailed",
            "ProcessingLatencyMs", "ApproximateAgeOfOldestMessage"} <= shown
    assert set(names) == {"Ingest", "IngestDlq", "UpdatesDlq"}
