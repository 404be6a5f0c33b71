"""A deploy rehearsal: template.yaml translated by the SAM translator, as `sam deploy` would, and
created in the AWS emulator's CloudFormation (moto server on 127.0.0.1), with a minimal and a full
parameter set. Each must reach CREATE_COMPLETE, and what it created (queues, table and index,
functions and their variables, the event source mapping, roles) is checked against the template.

What the emulator cannot check is listed in the README (Deploy with SAM, "What the rehearsal
proves"): it skips alarms, metric filters, schedules and schedule groups and the HTTP API, keeps
neither a function's architecture nor its tracing mode, evaluates no Rules, checks no IAM
permission and no quota, and wants FIFO queues named (real CloudFormation names them itself).

Run by scripts/test.sh with the venv that has moto and aws-sam-cli.
"""

import io
import json
import os
import time
import warnings
import zipfile
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"

MINIMAL = {
    "OctopusWebhookSecretName": "hookline/octopus",
    "OctopusApiBaseUrl": "https://api.octopus.example",
    "OctopusApiTokenSecretName": "hookline/octopus-api",
}
FULL = {
    **MINIMAL,
    "CoinmeWebhookSecretName": "hookline/coinme",
    "OwlPayWebhookSecretName": "hookline/owlpay",
    "OwlPayHarborWebhookSecretName": "hookline/owlpay-harbor",
    "OpttyPathTokenSecretName": "hookline/optty",
    "OpttyApiBaseUrl": "https://api.optty.example",
    "OpttyApiKeySecretName": "hookline/optty-api",
    "StdWebhookSecretName": "hookline/std",
    "AlarmTopicArn": f"arn:aws:sns:{REGION}:123456789012:ops",
    "TracingMode": "Active",
    "PollerReservedConcurrency": "false",
    "ReceiverReservedConcurrency": "0",
    "Architecture": "x86_64",
}
RECEIVERS = ["OctopusWebhookFunction", "CoinmeWebhookFunction", "OwlPayWebhookFunction",
             "OpttyWebhookFunction", "StdWebhookFunction"]


class NoManagedPolicies:
    def load(self):
        return {}


@pytest.fixture(scope="module")
def aws():
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                        ("AWS_DEFAULT_REGION", REGION)):
        os.environ.setdefault(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"

    def client(service):
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION)

    # `sam package` uploads each function's zip; the rehearsal's stands in for them.
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    client("s3").create_bucket(Bucket="hookline-artifacts")
    client("s3").put_object(Bucket="hookline-artifacts", Key="function.zip", Body=archive.getvalue())
    yield client
    server.stop()


def deploy(client, stack, params):
    """Creates the stack as `sam deploy` would; returns its resources by logical id."""
    template = yaml_parse((ROOT / "template.yaml").read_text())
    for resource in template["Resources"].values():
        if "CodeUri" in resource.get("Properties", {}):
            resource["Properties"]["CodeUri"] = "s3://hookline-artifacts/function.zip"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        translated = transform(template, params, NoManagedPolicies())
    # An emulator gap, not a template one: CloudFormation names a FIFO queue itself (with the
    # .fifo suffix), moto insists on a name.
    for name, resource in translated["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::SQS::Queue" and props.get("FifoQueue") and "QueueName" not in props:
            props["QueueName"] = f"{stack}-{name}.fifo"
    cfn = client("cloudformation")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # moto warns of each resource type it does not create
        cfn.create_stack(
            StackName=stack,
            TemplateBody=json.dumps(translated),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        status = "CREATE_IN_PROGRESS"
        for _ in range(240):
            status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
            if not status.endswith("IN_PROGRESS"):
                break
            time.sleep(0.25)
    events = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
              for e in cfn.describe_stack_events(StackName=stack)["StackEvents"]
              if "FAILED" in e["ResourceStatus"]]
    assert status == "CREATE_COMPLETE", (status, events)
    summaries = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r for r in summaries}, translated["Resources"]


def physical(resources, name):
    return resources[name]["PhysicalResourceId"]


def queue_attributes(client, resources, name):
    url = physical(resources, name)
    return client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def function_config(client, resources, name):
    return client("lambda").get_function_configuration(FunctionName=physical(resources, name))


def check_core(client, resources, translated):
    """What every deployment has: the queues, the table, the processor on the ingest queue."""
    ingest = queue_attributes(client, resources, "IngestQueue")
    redrive = json.loads(ingest["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == 5
    assert redrive["deadLetterTargetArn"] == queue_attributes(
        client, resources, "IngestDeadLetterQueue")["QueueArn"]
    assert ingest["MaximumMessageSize"] == str(translated["IngestQueue"]["Properties"]["MaximumMessageSize"])
    for fifo in ("OrderUpdatesQueue", "EsimCredentialsQueue"):
        assert queue_attributes(client, resources, fifo)["FifoQueue"] == "true", fifo

    table = client("dynamodb").describe_table(TableName=physical(resources, "EventsTable"))["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk"]
    due = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}["due"]
    assert [k["AttributeName"] for k in due["KeySchema"]] == ["due_shard", "next_poll_at"]

    processor = function_config(client, resources, "ProcessorFunction")
    variables = processor["Environment"]["Variables"]
    assert variables["EVENTS_TABLE"] == physical(resources, "EventsTable")
    assert variables["ORDER_UPDATES_QUEUE_URL"] == physical(resources, "OrderUpdatesQueue")
    mappings = client("lambda").list_event_source_mappings()["EventSourceMappings"]
    (mapping,) = [m for m in mappings if m["FunctionArn"] == processor["FunctionArn"]]
    assert mapping["EventSourceArn"] == ingest["QueueArn"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]

    octopus = function_config(client, resources, "OctopusWebhookFunction")
    assert octopus["Environment"]["Variables"]["INGEST_QUEUE_URL"] == physical(resources, "IngestQueue")
    assert octopus["Handler"] == "bootstrap" and octopus["Runtime"] == "provided.al2023"
    roles = client("iam").list_roles()["Roles"]
    for role in ("ProcessorRole", "OrderPollerRole", "OrderWatchRole"):
        assert any(r["RoleName"] == physical(resources, role) for r in roles), role


def test_a_minimal_parameter_set_creates_the_core_and_the_octopus_receiver_only(aws):
    resources, translated = deploy(aws, "hookline-minimal", MINIMAL)
    check_core(aws, resources, translated)
    created = {name for name in resources if name in RECEIVERS}
    assert created == {"OctopusWebhookFunction"}


def test_a_full_parameter_set_creates_every_receiver_with_its_secret(aws):
    resources, translated = deploy(aws, "hookline-full", FULL)
    check_core(aws, resources, translated)
    assert set(RECEIVERS) <= set(resources)
    owlpay = function_config(aws, resources, "OwlPayWebhookFunction")["Environment"]["Variables"]
    assert owlpay["OWLPAY_HARBOR_WEBHOOK_SECRET_ID"] == "hookline/owlpay-harbor"
    processor = function_config(aws, resources, "ProcessorFunction")
    assert processor["Environment"]["Variables"]["OPTTY_API_BASE_URL"] == "https://api.optty.example"
    assert processor["Environment"]["Variables"]["OPTTY_API_KEY_SECRET_ID"] == "hookline/optty-api"
