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
    params = {"OctopusWebhookSecretName": "hookline/octopus"}
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
        assert role["ManagedPolicyArns"] == [
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
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
