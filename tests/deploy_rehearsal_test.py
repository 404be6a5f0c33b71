"""A deploy rehearsal: template.yaml translated by the SAM translator, as `sam deploy` would, and
created in the AWS emulator's CloudFormation (moto server on 127.0.0.1), with a minimal and a full
parameter set. Each must reach CREATE_COMPLETE, and what it created (queues, table and index,
functions and their variables, the event source mapping, roles) is checked against the template.

What the emulator cannot check is listed in the docs/src/deploy.md ( "What the rehearsal
proves"): it skips alarms, metric filters, schedules and schedule groups and the HTTP API, keeps
neither a function's architecture nor its tracing mode, evaluates no Rules, checks no IAM
permission and no quota, and wants FIFO queues named (real CloudFormation names them itself).

Run by scripts/test.sh with the venv that has moto and aws-sam-cli.
"""

import base64
import io
import json
import os
import socket
import subprocess
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from registry import API_PARAMETERS, RECEIVER_FUNCTIONS, RECEIVER_SECRETS

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"

MINIMAL = {
    "ProviderEnvironment": "sandbox",
    "OctopusWebhookSecretName": "hookline/octopus",
    "OctopusApiCredentialsSecretName": "hookline/octopus-api",
}
FULL = {
    **MINIMAL,
    **API_PARAMETERS,
    **RECEIVER_SECRETS,
    "ProviderEnvironment": "production",
    "AlarmTopicArn": f"arn:aws:sns:{REGION}:123456789012:ops",
    "TracingMode": "Active",
    "PollerReservedConcurrency": "false",
    "ReceiverReservedConcurrency": "0",
    "Architecture": "x86_64",
}
RECEIVERS = RECEIVER_FUNCTIONS


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
    variables = function_config(aws, resources, "ProcessorFunction")["Environment"]["Variables"]
    # No base URL given: the processor uses the documented sandbox host.
    assert variables["PROVIDER_ENVIRONMENT"] == "sandbox"
    assert variables.get("OCTOPUS_API_BASE_URL", "") == ""


def test_a_full_parameter_set_creates_every_receiver_with_its_secret(aws):
    resources, translated = deploy(aws, "hookline-full", FULL)
    check_core(aws, resources, translated)
    assert set(RECEIVERS) <= set(resources)
    owlpay = function_config(aws, resources, "OwlPayWebhookFunction")["Environment"]["Variables"]
    assert owlpay["OWLPAY_HARBOR_WEBHOOK_SECRET_ID"] == "hookline/owlpay-harbor"
    processor = function_config(aws, resources, "ProcessorFunction")
    assert processor["Environment"]["Variables"]["PROVIDER_ENVIRONMENT"] == "production"
    assert processor["Environment"]["Variables"]["OPTTY_API_BASE_URL"] == "https://api.optty.example"
    assert processor["Environment"]["Variables"]["OPTTY_API_CREDENTIALS_SECRET_ID"] == "hookline/optty-api"
    # The session secrets: moto's CloudFormation does not create AWS::SecretsManager::Secret
    # (it warns and drops the variables that name them), so they are checked in the translated
    # template; tests/provider_auth.rs runs the sharing itself on moto's Secrets Manager.
    translated_resources = translated
    for name in ("OctopusApiSessionSecret", "OpttyApiSessionSecret"):
        assert translated_resources[name]["Type"] == "AWS::SecretsManager::Secret", name


# `hookline smoke` against a rehearsed stack: its outputs and parameters from the emulator's
# CloudFormation, its secrets from the emulator's Secrets Manager, its queues and table as the
# stack created them, and in place of API Gateway and the Lambdas, `hookline serve` running the
# same receivers and processor on those queues and that table.

def hookline_binary():
    subprocess.run(["cargo", "build", "-q", "--locked", "-p", "hookline-cli"], cwd=ROOT, check=True)
    return str(ROOT / "target" / "debug" / "hookline")


def registry_routes():
    out = subprocess.run([hookline_binary(), "providers"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return [route for provider in json.loads(out) for route in provider["routes"]]


def smoke_secret(route):
    """A signing secret for the route unlike its published test value, in its list's format."""
    if route["secrets"]["test_value"].lstrip().startswith("{"):
        key = base64.b64encode(f"smoke-{route['name']}-key-0123456789abcdef".encode()).decode()
        return json.dumps({"shop": [f"whsec_{key}"]})
    return f"smoke-{route['name']}-secret-0123456789"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Serve:
    """`hookline serve` on the stack's queues and table, verifying with `secrets` by route."""

    def __init__(self, endpoint, resources, secrets, with_processor=True):
        self.port = free_port()
        args = [hookline_binary(), "serve", "--listen", f"127.0.0.1:{self.port}",
                "--provider-stub-listen", f"127.0.0.1:{free_port()}",
                "--aws-endpoint", endpoint, "--queue-url", physical(resources, "IngestQueue")]
        if with_processor:
            args += ["--with-processor", "--events-table", physical(resources, "EventsTable"),
                     "--updates-queue-url", physical(resources, "OrderUpdatesQueue"),
                     "--archive-bucket", physical(resources, "ArchiveBucket")]
        for name, value in secrets.items():
            args += [f"--{name}-secrets", value]
        self.log = tempfile.NamedTemporaryFile("w+", prefix="hookline-serve-", suffix=".log")
        self.process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL,
                                        stderr=self.log, text=True)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert self.process.poll() is None, self.logs()
                time.sleep(0.05)
        raise AssertionError("hookline serve did not start")

    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def logs(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def smoke(endpoint, stack, api_url, timeout=30):
    return subprocess.run(
        [hookline_binary(), "smoke", "--stack", stack, "--endpoint-url", endpoint,
         "--api-url", api_url, "--timeout-secs", str(timeout)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)


def rows(output):
    """The table's rows by route: {route: (result, detail line)}."""
    table = {}
    for line in output.splitlines()[1:]:
        fields = line.split()
        for verdict in ("PASS", "FAIL", "SKIP"):
            if verdict in fields:
                table[fields[0]] = (verdict, line)
    return table


def without_lambda(client):
    """Disables the emulator's event source mappings: they would hand the ingest queue's messages
    to a Lambda it cannot run here (no Docker image), where `hookline serve` stands in for it.
    (Deleting one is not enough: moto's queue keeps invoking it.)"""
    lam = client("lambda")
    for mapping in lam.list_event_source_mappings()["EventSourceMappings"]:
        lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)


def put_secret(client, name, value):
    sm = client("secretsmanager")
    try:
        sm.create_secret(Name=name, SecretString=value)
    except sm.exceptions.ResourceExistsException:
        sm.put_secret_value(SecretId=name, SecretString=value)


def drain(client, url):
    sqs, bodies = client("sqs"), []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture(scope="module")
def smoke_stack(aws):
    params = {**FULL, **{k: v.replace("hookline/", "smoke/") for k, v in FULL.items()
                         if k.endswith("SecretName")}}
    resources, _ = deploy(aws, "hookline-smoke", params)
    without_lambda(aws)
    routes = registry_routes()
    secrets = {}
    for route in routes:
        secrets[route["name"]] = smoke_secret(route)
        put_secret(aws, params[route["secrets"]["parameter"]], secrets[route["name"]])
    return resources, routes, secrets, params


def test_smoke_passes_every_enabled_route_and_each_update_arrives(aws, smoke_stack):
    resources, routes, secrets, _ = smoke_stack
    endpoint = aws("sts").meta.endpoint_url
    serve = Serve(endpoint, resources, secrets)
    try:
        result = smoke(endpoint, "hookline-smoke", serve.url())
    finally:
        serve.stop()
    assert result.returncode == 0, result.stdout + result.stderr + serve.logs()
    table = rows(result.stdout)
    assert {name: verdict for name, (verdict, _) in table.items()} == {
        route["name"]: "PASS" for route in routes}, result.stdout
    assert all("COMPLETED" in line and "published" in line for _, line in table.values())
    for value in secrets.values():  # used to sign, never shown
        assert value not in result.stdout + result.stderr
    updates = drain(aws, physical(resources, "OrderUpdatesQueue"))
    assert sorted(u["event_type"] for u in updates) == ["hookline.test"] * len(routes)
    assert all(u.get("order_id") is None and u.get("status") is None for u in updates)
    assert len({u["event_id"] for u in updates}) == len(routes)
    assert f"{len(routes)} passed, 0 failed, 0 skipped" in result.stdout

    # The stack's archive holds each test event, and each verifies again with the secrets the
    # stack holds now (read from Secrets Manager by --stack), Optty's excepted (its token is
    # never kept).
    found = hookline_run(endpoint, "archive", "search", "--stack", "hookline-smoke",
                         "--since", "1h", "--type", "hookline.test", "--json")
    assert found.returncode == 0, found.stderr
    archived = [json.loads(line) for line in found.stdout.splitlines()]
    assert sorted(e["event_id"] for e in archived) == sorted(u["event_id"] for u in updates)
    for provider in sorted({e["provider"] for e in archived}):
        replay = hookline_run(endpoint, "replay", "--from-archive", "--stack", "hookline-smoke",
                              "--provider", provider, "--since", "1h", "--dry-run")
        if provider == "optty":
            assert replay.returncode != 0 and "never kept" in replay.stdout, replay.stdout
        else:
            assert replay.returncode == 0, provider + replay.stdout + replay.stderr
            assert replay.stdout.count("  verified") == sum(
                e["provider"] == provider for e in archived), replay.stdout
        for value in secrets.values():
            assert value not in replay.stdout + replay.stderr


def hookline_run(endpoint, *args):
    return subprocess.run([hookline_binary(), *args, "--endpoint-url", endpoint],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_smoke_fails_the_route_whose_secret_the_receiver_does_not_hold(aws, smoke_stack):
    resources, _, secrets, params = smoke_stack
    endpoint = aws("sts").meta.endpoint_url
    served = {**secrets, "octopus": "an-older-octopus-secret-0123456789"}
    serve = Serve(endpoint, resources, served)
    try:
        result = smoke(endpoint, "hookline-smoke", serve.url())
    finally:
        serve.stop()
    assert result.returncode != 0
    table = rows(result.stdout)
    verdict, line = table["octopus"]
    assert verdict == "FAIL" and "401" in line and "refused" in line, result.stdout
    assert all(v == "PASS" for name, (v, _) in table.items() if name != "octopus"), result.stdout
    assert "1 route(s) failed" in result.stderr
    drain(aws, physical(resources, "OrderUpdatesQueue"))


def test_smoke_fails_when_nothing_processes_the_queue(aws, smoke_stack):
    resources, _, secrets, _ = smoke_stack
    endpoint = aws("sts").meta.endpoint_url
    serve = Serve(endpoint, resources, secrets, with_processor=False)
    try:
        result = smoke(endpoint, "hookline-smoke", serve.url(), timeout=2)
    finally:
        serve.stop()
    assert result.returncode != 0
    for verdict, line in rows(result.stdout).values():
        assert verdict == "FAIL" and "not processed within 2 s" in line, result.stdout
    aws("sqs").purge_queue(QueueUrl=physical(resources, "IngestQueue"))


def test_smoke_skips_the_routes_a_minimal_stack_does_not_enable(aws, smoke_stack):
    _, routes, secrets, _ = smoke_stack
    params = {**MINIMAL, "OctopusWebhookSecretName": "smoke/octopus"}
    resources, _ = deploy(aws, "hookline-smoke-minimal", params)
    without_lambda(aws)
    endpoint = aws("sts").meta.endpoint_url
    serve = Serve(endpoint, resources, {"octopus": secrets["octopus"]})
    try:
        result = smoke(endpoint, "hookline-smoke-minimal", serve.url())
    finally:
        serve.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    table = rows(result.stdout)
    assert table.pop("octopus")[0] == "PASS"
    assert {v for v, _ in table.values()} == {"SKIP"}
    assert "OwlPayHarborWebhookSecretName is empty" in table["owlpay-harbor"][1]


def test_smoke_names_a_missing_stack_or_secret_clearly(aws, smoke_stack):
    endpoint = aws("sts").meta.endpoint_url
    result = smoke(endpoint, "no-such-stack", "http://127.0.0.1:9")
    assert result.returncode != 0 and "cannot describe stack no-such-stack" in result.stderr
    resources, _, secrets, params = smoke_stack
    aws("secretsmanager").delete_secret(SecretId=params["CoinmeWebhookSecretName"],
                                        ForceDeleteWithoutRecovery=True)
    serve = Serve(endpoint, resources, secrets)
    try:
        result = smoke(endpoint, "hookline-smoke", serve.url())
    finally:
        serve.stop()
        put_secret(aws, params["CoinmeWebhookSecretName"], secrets["coinme"])
    verdict, line = rows(result.stdout)["coinme"]
    assert verdict == "FAIL" and "cannot read secret smoke/coinme" in line, result.stdout
    drain(aws, physical(resources, "OrderUpdatesQueue"))
    # Nothing listens: every route fails with its reason, and Optty's path token (in its URL)
    # appears nowhere.
    result = smoke(endpoint, "hookline-smoke", "http://127.0.0.1:9", timeout=1)
    assert result.returncode != 0
    table = rows(result.stdout)
    assert {v for v, _ in table.values()} == {"FAIL"}, result.stdout
    assert "POST /webhooks/optty/{token} failed" in table["optty"][1], result.stdout
    assert secrets["optty"] not in result.stdout + result.stderr
