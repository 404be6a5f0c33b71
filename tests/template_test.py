"""Checks of template.yaml that `sam validate --lint` and cfn-lint cannot make: the template is
translated by the SAM translator, as CloudFormation would, and the resources it produces are
checked against what the Rust code expects (routes, queue limits, variable names, permissions).

Run by .ci/run with the venv that has aws-sam-cli: `python -m pytest tests/template_test.py`.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from registry import API_PARAMETERS, RECEIVER_SECRETS, REGISTRY

ROOT = Path(__file__).resolve().parent.parent


# Each receiver function: its crate, its routes' paths, and its providers' registry entry.
RECEIVERS = {p["function"]: (p["crate"], [r["path"] for r in p["routes"]], p) for p in REGISTRY}
ORDER_APIS = [p["order_api"] for p in REGISTRY if p["order_api"]]


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
        "ProviderEnvironment": "production",
        **API_PARAMETERS,
        **RECEIVER_SECRETS,
    }
    return transform(template, params, NoManagedPolicies())["Resources"]


def rust_const(path, name):
    match = re.search(rf"pub const {name}: [^=]+ = ([^;]+);", (ROOT / path).read_text())
    assert match, f"{name} not found in {path}"
    value = match.group(1).strip()
    return value.replace("_", "") if value[0].isdigit() else value.strip('"')


def test_each_receiver_is_a_rust_lambda_on_arm64():
    template = raw_template()
    for name, (code_dir, *_) in RECEIVERS.items():
        function = template["Resources"][name]
        assert function["Metadata"]["BuildMethod"] == "rust-cargolambda"
        assert function["Properties"]["CodeUri"] == code_dir
        assert (ROOT / code_dir / "Cargo.toml").is_file()
    globals_ = template["Globals"]["Function"]
    assert globals_["Runtime"] == "provided.al2023"
    assert globals_["Architectures"] == [{"Ref": "Architecture"}]
    assert raw_template()["Parameters"]["Architecture"]["Default"] == "arm64"
    assert globals_["Handler"] == "bootstrap"


def when_enabled(value):
    """The value of a conditional (`Fn::If`) as deployed with the condition true."""
    while isinstance(value, dict) and "Fn::If" in value:
        value = value["Fn::If"][1]
    return value


def test_each_receiver_route_accepts_any_method_with_payload_v2(resources):
    paths = resources["WebhookApi"]["Properties"]["Body"]["paths"]
    for name, (_, routes, *_) in RECEIVERS.items():
        for path in routes:
            # An optional receiver's route is wrapped in Fn::Ifs on the function's condition.
            route = when_enabled(paths[path])
            integration = when_enabled(route["x-amazon-apigateway-any-method"])[
                "x-amazon-apigateway-integration"
            ]
            assert integration["payloadFormatVersion"] == "2.0"
            assert f"${{{name}.Arn}}" in when_enabled(integration["uri"])["Fn::Sub"], path
    receiver_paths = {p for (_, routes, *_) in RECEIVERS.values() for p in routes}
    assert set(paths) == receiver_paths | {"/orders/watch"}


def test_the_watch_route_is_iam_authorised_and_the_webhooks_are_not(resources):
    paths = resources["WebhookApi"]["Properties"]["Body"]["paths"]
    watch = paths["/orders/watch"]["post"]
    assert watch["security"] == [{"AWS_IAM": []}]
    assert "${OrderWatchFunction.Arn}" in watch["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
    for path, operations in paths.items():
        if path != "/orders/watch":
            operation = when_enabled(when_enabled(operations)["x-amazon-apigateway-any-method"])
            assert "security" not in operation, path


def test_the_poller_runs_every_minute_alone_with_least_privilege(resources):
    schedule = resources["OrderPollerFunctionEveryMinute"]["Properties"]
    assert schedule["ScheduleExpression"] == "rate(1 minute)"
    assert schedule["Target"]["Arn"] == {"Fn::GetAtt": ["OrderPollerFunction", "Arn"]}
    # Unique per stack through the stack's own group, whose name CloudFormation generates: a
    # name with the stack's name in it would not fit 64 characters for long stack names.
    assert schedule["GroupName"] == {"Ref": "OrderPollerScheduleGroup"}
    assert "Name" not in resources["OrderPollerScheduleGroup"].get("Properties", {})
    assert "StackName" not in json.dumps(schedule["Name"])
    function = resources["OrderPollerFunction"]["Properties"]
    reserved = function["ReservedConcurrentExecutions"]["Fn::If"]
    assert reserved == ["ReservesPollerConcurrency", 1, {"Ref": "AWS::NoValue"}]
    assert raw_template()["Parameters"]["PollerReservedConcurrency"]["Default"] == "true"
    assert function["Timeout"] <= 60, "a run ends before the next minute's starts"
    granted = {}
    for statement in statements_of(resources["OrderPollerRole"]):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            granted[action] = json.dumps(statement["Resource"])
    assert set(granted) == {"dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem",
                            "dynamodb:DeleteItem", "sqs:SendMessage", "secretsmanager:GetSecretValue",
                            "secretsmanager:PutSecretValue"}
    assert "AUTH_LEASE#*" in json.dumps(statements_of(resources["OrderPollerRole"]))
    assert granted["secretsmanager:PutSecretValue"] == json.dumps({"Ref": "OctopusApiSessionSecret"})
    assert "/index/due" in granted["dynamodb:Query"]
    assert "IngestQueue" in granted["sqs:SendMessage"]
    watch_role = statements_of(resources["OrderWatchRole"])
    assert [s["Action"] for s in watch_role] == ["dynamodb:PutItem"]


def leading_keys(statement):
    return statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]


def written_key_prefixes(*paths):
    """The key prefixes (`WATCH#`, ...) the code at `paths` formats."""
    text = "".join((ROOT / p).read_text() for p in paths)
    return set(re.findall(r'format!\("([A-Z_]+#)', text))


def test_the_poller_and_the_watch_route_write_only_their_own_items(resources):
    # Neither may write a claim (EVENT#) or an order's state (ORDER#, WALLET#).
    [writes] = [s for s in statements_of(resources["OrderPollerRole"]) if s["Sid"] == "LeaseAndUpdateWatches"]
    allowed = leading_keys(writes)
    assert allowed == ["WATCH#*", "CURSOR#*", "BUDGET#*", "AUTH_LEASE#*"]
    poller_writes = written_key_prefixes(
        "shared/src/watch/mod.rs", "shared/src/providers/octopus/transactions.rs",
        "shared/src/api_budget/dynamodb.rs", "shared/src/api_auth/store.rs")
    assert {p + "*" for p in poller_writes} == set(allowed)
    [register] = statements_of(resources["OrderWatchRole"])
    assert leading_keys(register) == ["WATCH#*"]
    forbidden = written_key_prefixes(
        "shared/src/idempotency/mod.rs", "shared/src/order.rs", "shared/src/order_state/mod.rs")
    assert forbidden >= {"EVENT#", "ORDER#", "WALLET#"}
    assert not {p + "*" for p in forbidden} & set(allowed)


def queue_policy_statements(resources, name):
    return {s["Sid"]: s for s in resources[name]["Properties"]["PolicyDocument"]["Statement"]}


def test_only_hookline_sends_to_its_queues_and_never_without_tls(resources):
    template = raw_template()
    ingest = queue_policy_statements(resources, "IngestQueuePolicy")
    only = ingest["OnlyHooklineSends"]
    assert only["Effect"] == "Deny" and only["Principal"] == "*" and only["Action"] == "sqs:SendMessage"
    allowed = json.dumps(only["Condition"]["ArnNotEquals"]["aws:PrincipalArn"])
    # Every receiver (each under its own condition), the poller, and the operators' role.
    for function in RECEIVERS:
        assert f"{function}Role" in allowed, function
    assert "OrderPollerRole" in allowed and "OperatorRoleArn" in allowed
    assert "ProcessorRole" not in allowed and "OrderWatchRole" not in allowed
    senders = [name for name, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
               and "IngestQueue" in json.dumps(r["Properties"].get("Policies", []))]
    assert sorted(senders) == sorted(RECEIVERS)
    updates = queue_policy_statements(resources, "OrderUpdatesQueuePolicy")
    only = updates["OnlyTheProcessorSends"]
    allowed = json.dumps(only["Condition"]["ArnNotEquals"]["aws:PrincipalArn"])
    assert "ProcessorRole" in allowed and "OperatorRoleArn" in allowed
    assert "Webhook" not in allowed and "Poller" not in allowed
    covered = set()
    for name in ("IngestQueuePolicy", "OrderUpdatesQueuePolicy", "DeadLetterQueuePolicy"):
        tls = queue_policy_statements(resources, name)["DenyPlainHttp"]
        assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        queues = resources[name]["Properties"]["Queues"]
        covered |= {q["Ref"] for q in queues}
    every_queue = {name for name, r in template["Resources"].items() if r["Type"] == "AWS::SQS::Queue"}
    assert covered == every_queue


def test_the_due_index_is_the_one_the_code_queries(resources):
    table = resources["EventsTable"]["Properties"]
    index = next(i for i in table["GlobalSecondaryIndexes"] if i["IndexName"] == rust_const(
        "shared/src/watch/dynamodb.rs", "DUE_INDEX"))
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["due_shard", "next_poll_at"]
    code = (ROOT / "shared/src/watch/dynamodb.rs").read_text()
    assert '"due_shard = :shard AND next_poll_at <= :now"' in code
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert types == {"pk": "S", "due_shard": "S", "next_poll_at": "N"}


def test_path_parameters_are_the_ones_the_code_reads(resources):
    """The Lambda adapter reads the route's single path parameter: Optty's token, the source."""
    paths = resources["WebhookApi"]["Properties"]["Body"]["paths"]
    for path in paths:
        assert len(re.findall(r"\{[^}]+\}", path)) <= 1, path
    assert "/webhooks/optty/{token}" in paths and "/webhooks/std/{source}" in paths


def test_access_logs_name_the_route_never_the_raw_path(resources):
    """Optty's path carries a secret token: the access log records the route key only."""
    settings = resources["WebhookApiApiGatewayDefaultStage"]["Properties"]["AccessLogSettings"]
    fmt = settings["Format"]
    assert "$context.routeKey" in fmt
    for leak in ("$context.path", "$context.resourcePath", "rawPath", "$context.requestOverride"):
        assert leak not in fmt, leak


def secret_arn_parameters(resource):
    """The secret-name parameters a policy resource ARN is built from."""
    return set(re.findall(r"secret:\$\{(\w+)\}-\?{6}", json.dumps(resource)))


def test_receivers_may_only_send_to_the_ingest_queue_and_read_their_secret(resources):
    warm_up = (ROOT / "shared/src/warm_up.rs").read_text()
    assert ".get_queue_attributes()" in warm_up and "QueueArn" in warm_up
    for name, (_, _, provider) in RECEIVERS.items():
        role = resources[f"{name}Role"]["Properties"]
        # Logs, and X-Ray's write-only policy that SAM adds for the TracingMode parameter.
        assert role["ManagedPolicyArns"] == [
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
        ]
        statements = []
        for policy in role["Policies"]:
            if "Fn::If" in policy:  # OwlPay Harbor's secret, when Harbor is configured
                policy = policy["Fn::If"][1]
            statements += policy["PolicyDocument"]["Statement"]
        sends = [s for s in statements if s["Action"] == ["sqs:SendMessage*"]]
        assert len(sends) == 1, name
        assert sends[0]["Resource"]["Fn::Sub"][1]["queueName"] == {
            "Fn::GetAtt": ["IngestQueue", "QueueName"]
        }
        # The warm-up's read (shared/src/warm_up.rs): the ingest queue's attributes, no other.
        warm = [s for s in statements if s.get("Sid") == "WarmUpQueueConnection"]
        assert len(warm) == 1, name
        assert warm[0]["Action"] == "sqs:GetQueueAttributes"
        assert warm[0]["Resource"] == {"Fn::GetAtt": ["IngestQueue", "Arn"]}
        reads = [s for s in statements if s is not sends[0] and s is not warm[0]]
        for statement in reads:
            assert statement["Action"] == ["secretsmanager:GetSecretValue"], (name, statement)
        allowed = {r["secrets"]["parameter"] for r in provider["routes"]}
        assert set().union(*(secret_arn_parameters(s["Resource"]) for s in reads)) == allowed, name


def test_receivers_get_the_variables_the_code_reads(resources):
    queue_var = rust_const("shared/src/config.rs", "INGEST_QUEUE_URL")
    keyring = (ROOT / "shared/src/keyring.rs").read_text()
    assert 'format!("{}_WEBHOOK_SECRET_ID", self.env_prefix)' in keyring
    assert rust_const("shared/src/config.rs", "SECRETS_REFRESH_SECS") == "SECRETS_REFRESH_SECS"
    for name, (code_dir, _, provider) in RECEIVERS.items():
        module = provider["module"].rsplit("/", 1)[1]
        main = (ROOT / code_dir / "src/main.rs").read_text()
        assert f"run({module}::SECRETS, {module}::scheme)" in main, name
        variables = resources[name]["Properties"]["Environment"]["Variables"]
        assert variables[queue_var] == {"Ref": "IngestQueue"}
        for route in provider["routes"]:
            secrets = route["secrets"]
            value = when_enabled(variables[secrets["id_var"]])
            assert value == {"Ref": secrets["parameter"]}, (name, secrets["id_var"])
        assert variables["SECRETS_REFRESH_SECS"] == {"Ref": "SecretsRefreshSeconds"}
        for setting, parameter in zip(provider["settings"], provider["setting_parameters"]):
            # `hookline smoke` reads a stack's settings from these parameters.
            assert variables[setting] == {"Ref": parameter}, (name, setting)


def test_optional_receivers_come_and_go_with_their_secret():
    template = raw_template()
    for name in RECEIVERS:
        condition = template["Resources"][name].get("Condition")
        log_group = name.replace("Function", "LogGroup")
        assert template["Resources"][log_group].get("Condition") == condition, name


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
    for provider in REGISTRY:
        for route in provider["routes"]:
            secrets = route["secrets"]
            value = env[provider["function"]][secrets["list_var"]]
            if secrets["test_value"].startswith("{"):
                assert json.loads(value) == json.loads(secrets["test_value"]), route["name"]
            else:
                assert value == secrets["test_value"], route["name"]
    for api in ORDER_APIS:
        if api["required"]:
            for var in api["credential_vars"]:
                assert env["ProcessorFunction"][var], var


def statements_of(role):
    return [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def test_processor_reports_partial_batch_failures_from_the_ingest_queue(resources):
    mapping = resources["ProcessorFunctionIngest"]["Properties"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["IngestQueue", "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # Above 10 a batching window is required; the local pipeline and the cost benchmark use the
    # same size.
    assert mapping["BatchSize"] == 100
    assert mapping["MaximumBatchingWindowInSeconds"] >= 1
    pipeline = (ROOT / "cli" / "src" / "local" / "pipeline.rs").read_text()
    assert f"const TEMPLATE_BATCH_SIZE: usize = {mapping['BatchSize']};" in pipeline


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
            resource = statement["Resource"]
            if "Fn::Sub" in resource:
                granted[action] = resource["Fn::Sub"]
            elif isinstance(resource, list):
                granted[action] = sorted(r["Fn::GetAtt"][0] for r in resource)
            else:
                granted[action] = resource["Fn::GetAtt"][0] if "Fn::GetAtt" in resource else json.dumps(resource)
    granted.pop("secretsmanager:GetSecretValue")
    granted.pop("secretsmanager:PutSecretValue")
    reads = [s for s in statements_of(role) if s["Sid"] == "ReadProviderApiCredentials"]
    assert "OctopusApiCredentialsSecretName" in json.dumps(reads) and "OpttyApiCredentialsSecretName" in json.dumps(reads)
    shares = [s for s in statements_of(role) if s["Sid"] == "ShareProviderApiSessions"]
    assert "OctopusApiSessionSecret" in json.dumps(shares) and "OpttyApiSessionSecret" in json.dumps(shares)
    lease = [s for s in statements_of(role) if s["Sid"] == "ReleaseApiRenewalLease"]
    assert lease[0]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == ["AUTH_LEASE#*"]
    assert granted.pop("dynamodb:DeleteItem") == "EventsTable"
    assert granted == {
        "sqs:ReceiveMessage": "IngestQueue",
        "sqs:DeleteMessage": "IngestQueue",
        "sqs:ChangeMessageVisibility": "IngestQueue",
        "sqs:GetQueueAttributes": "IngestQueue",
        "dynamodb:GetItem": "EventsTable",
        "dynamodb:PutItem": "EventsTable",
        "dynamodb:UpdateItem": "EventsTable",
        "sqs:SendMessage": ["EsimCredentialsQueue", "OrderUpdatesQueue"],
        # Writes archive objects only: no read, no delete, nothing outside the entries' root.
        "s3:PutObject": "${ArchiveBucket.Arn}/" + rust_const("shared/src/archive/layout.rs", "ROOT") + "*",
    }
    # Signs them with the archive key.
    [signs] = [s for s in statements_of(role) if s["Sid"] == "SignArchiveEntries"]
    assert signs["Resource"] == {"Ref": "ArchiveKeySecret"}


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


def test_poller_reads_wallet_transactions_as_configured_and_only_cursors(resources):
    variables = resources["OrderPollerFunction"]["Properties"]["Environment"]["Variables"]
    module = "shared/src/providers/octopus/transactions.rs"
    assert variables[rust_const(module, "WALLET_IDS")] == {"Ref": "OctopusWalletIds"}
    assert variables[rust_const(module, "TRANSACTIONS_PATH")] == {"Ref": "OctopusTransactionsPath"}
    parameters = raw_template()["Parameters"]
    assert parameters["OctopusTransactionsPath"]["Default"] == rust_const(module, "DEFAULT_TRANSACTIONS_PATH")
    assert parameters["OctopusWalletIds"]["Default"] == ""
    role = resources["OrderPollerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (reads,) = [s for s in role if s["Action"] == "dynamodb:GetItem"]
    assert reads["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CURSOR#*", "BUDGET#*"]}}
    cursor_key = re.search(r'format!\("(CURSOR#[^{"]*)', (ROOT / module).read_text()).group(1)
    assert cursor_key.startswith("CURSOR#")


def test_poller_gets_its_install_poll_budget(resources):
    variables = resources["OrderPollerFunction"]["Properties"]["Environment"]["Variables"]
    assert variables[rust_const("shared/src/config.rs", "ESIM_INSTALL_MAX_POLLS")] == {
        "Ref": "EsimInstallMaxPolls"}
    parameter = raw_template()["Parameters"]["EsimInstallMaxPolls"]
    assert str(parameter["Default"]) == rust_const("shared/src/watch/mod.rs", "DEFAULT_MAX_INSTALL_POLLS")


def test_every_function_knows_the_claim_lifetime():
    # Receivers whose request time is unsigned bound an event's age by it; the processor keeps
    # claims that long.
    variables = raw_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables[rust_const("shared/src/config.rs", "EVENT_RECORD_TTL_SECS")] == {
        "Ref": "EventRecordTtlSeconds"}


def test_processor_gets_the_variables_the_code_reads(resources):
    variables = resources["ProcessorFunction"]["Properties"]["Environment"]["Variables"]
    expected = {
        "EVENTS_TABLE": {"Ref": "EventsTable"},
        "ORDER_UPDATES_QUEUE_URL": {"Ref": "OrderUpdatesQueue"},
        "PROCESSOR_CONCURRENCY": {"Ref": "ProcessorConcurrency"},
        "WATCH_GIVE_UP_SECS": {"Ref": "WatchGiveUpSeconds"},
        "FORWARD_ALL_EVENT_FIELDS": {"Ref": "ForwardAllEventFields"},
        "ARCHIVE_BUCKET": {"Ref": "ArchiveBucket"},
        "HOLD_EVENT_TYPES": {"Ref": "HoldEventTypes"},
    }
    for const, value in expected.items():
        assert variables[rust_const("shared/src/config.rs", const)] == value
    for api in ORDER_APIS:
        for var in (api["base_url_var"], api["credentials_secret_id_var"], api["session_secret_id_var"]):
            value = variables[var]
            if api["required"]:
                assert "Ref" in value, var
            else:
                assert "Ref" in value["Fn::If"][1] and value["Fn::If"][2] == {"Ref": "AWS::NoValue"}, var
    assert variables["OCTOPUS_API_BASE_URL"] == {"Ref": "OctopusApiBaseUrl"}
    assert variables["OCTOPUS_API_CREDENTIALS_SECRET_ID"] == {"Ref": "OctopusApiCredentialsSecretName"}
    assert variables["OCTOPUS_API_SESSION_SECRET_ID"] == {"Ref": "OctopusApiSessionSecret"}
    assert variables["OPTTY_API_BASE_URL"]["Fn::If"][:2] == ["HasOpttyApi", {"Ref": "OpttyApiBaseUrl"}]
    assert variables["OPTTY_API_CREDENTIALS_SECRET_ID"]["Fn::If"][:2] == ["HasOpttyApi", {"Ref": "OpttyApiCredentialsSecretName"}]
    assert variables["OPTTY_AUTH_URL"]["Fn::If"][:2] == ["HasOpttyAuthUrl", {"Ref": "OpttyAuthUrl"}]


def test_no_credential_or_token_is_resolved_into_a_function_configuration(resources):
    # Regression: dynamic references put the API tokens in plain text in the functions'
    # configuration, readable with lambda:GetFunctionConfiguration.
    text = (ROOT / "template.yaml").read_text()
    assert "resolve:secretsmanager" not in text
    for name in ("ProcessorFunction", "OrderPollerFunction"):
        variables = resources[name]["Properties"]["Environment"]["Variables"]
        for api in ORDER_APIS:
            for var in api["credential_vars"]:
                assert var not in variables, (name, var)
        assert "OCTOPUS_API_TOKEN" not in variables and "OPTTY_API_KEY" not in variables
        assert variables["OCTOPUS_API_CREDENTIALS_SECRET_ID"] == {"Ref": "OctopusApiCredentialsSecretName"}
        assert variables["OCTOPUS_API_SESSION_SECRET_ID"] == {"Ref": "OctopusApiSessionSecret"}


def test_the_processor_and_the_poller_read_their_credentials_and_share_only_their_sessions(resources):
    for role in ("ProcessorRole", "OrderPollerRole"):
        statements = resources[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        reads = [s for s in statements if s["Action"] == "secretsmanager:GetSecretValue"
                 and s.get("Sid") != "SignArchiveEntries"]
        assert len(reads) == 1, role
        assert "OctopusApiCredentialsSecretName" in json.dumps(reads[0]["Resource"]), role
        writes = [s for s in statements if "secretsmanager:PutSecretValue" in s["Action"]]
        assert len(writes) == 1, role
        assert "CredentialsSecretName" not in json.dumps(writes[0]["Resource"]), "credentials are never written"
        assert "OctopusApiSessionSecret" in json.dumps(writes[0]["Resource"]), role


def test_the_session_secrets_start_empty_and_auth_failures_are_alarmed(resources):
    for name in ("OctopusApiSessionSecret", "OpttyApiSessionSecret"):
        assert resources[name]["Type"] == "AWS::SecretsManager::Secret"
        assert resources[name]["Properties"]["SecretString"] == "{}"
    assert resources["OpttyApiSessionSecret"]["Condition"] == "HasOpttyApi"
    for name, provider in (("OctopusApiAuthFailedAlarm", "octopus"), ("OpttyApiAuthFailedAlarm", "optty")):
        alarm = resources[name]["Properties"]
        assert alarm["MetricName"] == "ApiAuthFailed"
        assert alarm["Dimensions"] == [{"Name": "provider", "Value": provider}]


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
    assert dead_letter_queues == {"IngestDeadLetterQueue", "OrderUpdatesDeadLetterQueue",
                                  "EsimCredentialsDeadLetterQueue"}
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
    metrics_rs = "".join((ROOT / "shared/src" / part / "metrics.rs").read_text()
                         for part in ("receiver", "processor", "poller", "api_auth"))
    # Metrics made by a log metric filter of the template, not by the code.
    from_filters = {t["MetricName"] for r in resources.values()
                    if r["Type"] == "AWS::Logs::MetricFilter"
                    for t in r["Properties"]["MetricTransformations"]}
    for name, alarm in alarms(resources).items():
        if alarm["Namespace"] == "Hookline" and alarm["MetricName"] not in from_filters:
            assert f'"{alarm["MetricName"]}"' in metrics_rs, name
            assert [d["Name"] for d in alarm["Dimensions"]] == ["provider"], name
    names = {a["MetricName"] for a in alarms(resources).values()}
    assert {"ApproximateAgeOfOldestMessage", "5xx", "WebhookRejected", "Errors", "Throttles",
            "FetchFailed", "SecretRenewalAnnounced", "WatchesGivenUp"} <= names
    rejected = {a["Dimensions"][0]["Value"] for a in alarms(resources).values()
                if a["MetricName"] == "WebhookRejected"}
    # Refused requests are counted under the scheme's name (receiver/metrics.rs).
    assert rejected == {p["name"] for p in REGISTRY}


def test_every_function_keeps_its_logs_for_the_retention_period(resources):
    """Each function logs to a group of the template that exists before the function: were the
    group named after the function, Lambda could create it first (the schedule invokes the
    poller at once) and the stack would fail on the name."""
    functions = [n for n, r in resources.items() if r["Type"] == "AWS::Lambda::Function"]
    for function in functions:
        group_ref = resources[function]["Properties"]["LoggingConfig"]["LogGroup"]
        group = resources[group_ref["Ref"]]["Properties"]
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}, function
        assert function not in json.dumps(group["LogGroupName"]), function


def test_lambdas_own_lines_are_filtered_and_the_functions_lines_are_not(resources):
    """JSON log format, so SystemLogLevel can drop Lambda's START/REPORT lines (a cost line
    of docs/src/cost.md); ApplicationLogLevel lets every level through, RUST_LOG decides, and EMF
    lines (no level: INFO to Lambda) always pass."""
    functions = [n for n, r in resources.items() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) >= 8
    for function in functions:
        config = resources[function]["Properties"]["LoggingConfig"]
        assert config["LogFormat"] == "JSON", function
        assert config["SystemLogLevel"] == {"Ref": "LambdaSystemLogLevel"}, function
        assert config["ApplicationLogLevel"] == "TRACE", function
        assert "LogGroup" in config, function
    assert raw_template()["Parameters"]["LambdaSystemLogLevel"]["Default"] == "WARN"


def test_dashboard_body_is_json_with_the_metrics_it_promises(resources):
    body, names = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    text = re.sub(r"\$\{[^}]+\}", "x", body)
    widgets = json.loads(text)["widgets"]
    shown = {m[1] for w in widgets for m in w["properties"]["metrics"]}
    assert {"WebhookAccepted", "WebhookRejected", "DuplicateSkipped", "FetchFailed",
            "ProcessingLatencyMs", "ApproximateAgeOfOldestMessage"} <= shown
    assert set(names) == {"Ingest", "IngestDlq", "UpdatesDlq"}


def test_a_secret_renewal_alarms_for_owlpay_and_for_harbor(resources):
    # Regression: Harbor's renewal was counted under owlpay-harbor, but only owlpay was alarmed.
    watched = {
        dimension["Value"]
        for resource in resources.values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        and resource["Properties"].get("MetricName") == "SecretRenewalAnnounced"
        for dimension in resource["Properties"]["Dimensions"]
    }
    assert watched == {"owlpay", "owlpay-harbor"}


RECEIVER_FUNCTIONS = list(RECEIVERS)


def test_every_route_is_throttled_by_parameters(resources):
    stages = [r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    assert stages
    for stage in stages:
        settings = stage["Properties"]["DefaultRouteSettings"]
        assert settings["ThrottlingRateLimit"] == {"Ref": "ApiThrottleRateLimit"}
        assert settings["ThrottlingBurstLimit"] == {"Ref": "ApiThrottleBurstLimit"}
    defaults = raw_template()["Parameters"]
    assert defaults["ApiThrottleRateLimit"]["Default"] == 50
    assert defaults["ApiThrottleBurstLimit"]["Default"] == 100


def test_each_receiver_has_reserved_concurrency_unless_turned_off(resources):
    for name in RECEIVER_FUNCTIONS:
        reserved = resources[name]["Properties"]["ReservedConcurrentExecutions"]
        assert reserved == {"Fn::If": ["ReservesReceiverConcurrency",
                                       {"Ref": "ReceiverReservedConcurrency"},
                                       {"Ref": "AWS::NoValue"}]}, name


def test_throttled_requests_are_counted_from_the_access_log_and_alarmed(resources):
    metric_filter = resources["ThrottledRequestsMetricFilter"]["Properties"]
    assert metric_filter["LogGroupName"] == {"Ref": "WebhookApiAccessLogGroup"}
    assert '$.status = "429"' in metric_filter["FilterPattern"]
    # The access log writes the status as a string: the filter must compare it as one.
    api_format = raw_template()["Resources"]["WebhookApi"]["Properties"]["AccessLogSettings"]["Format"]
    assert '"status":"$context.status"' in api_format
    alarm = resources["ThrottledRequestsAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("Hookline", "ThrottledRequests")


def test_the_processor_cannot_fan_out_beyond_its_maximum_concurrency(resources):
    mappings = [r for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"
                and r["Properties"]["FunctionName"] == {"Ref": "ProcessorFunction"}]
    assert len(mappings) == 1
    scaling = mappings[0]["Properties"]["ScalingConfig"]
    assert scaling == {"MaximumConcurrency": {"Ref": "ProcessorMaxConcurrency"}}
    assert raw_template()["Parameters"]["ProcessorMaxConcurrency"]["MinValue"] == 2


def test_activation_codes_live_no_longer_than_the_install_window(resources):
    # The eSIM document: never keep the activation code beyond the install window. The only
    # store that holds it is the credentials queue (the table and logs never do: tests/processor.rs).
    for name in ("EsimCredentialsQueue", "EsimCredentialsDeadLetterQueue"):
        queue = resources[name]["Properties"]
        assert queue["MessageRetentionPeriod"] == {"Ref": "ActivationCodeRetentionSeconds"}, name
        assert queue["FifoQueue"] and queue["SqsManagedSseEnabled"], name
    parameter = raw_template()["Parameters"]["ActivationCodeRetentionSeconds"]
    assert parameter["Default"] <= 3600 and parameter["MaxValue"] <= 86400
    variables = resources["ProcessorFunction"]["Properties"]["Environment"]["Variables"]
    assert variables[rust_const("shared/src/config.rs", "ESIM_CREDENTIALS_QUEUE_URL")] == {
        "Ref": "EsimCredentialsQueue"}


def test_every_provider_in_the_registry_is_complete(resources):
    """Adding a provider is its module, its function crate, its template block and its sample
    payloads: everything else reads the registry. This holds each provider to all of them."""
    template = raw_template()["Resources"]
    paths = resources["WebhookApi"]["Properties"]["Body"]["paths"]
    env = json.loads((ROOT / "events/env.json").read_text())
    # scripts/build-release.sh builds the receivers as the function crates named *-webhook.
    crates = {str(path.relative_to(ROOT)) for path in (ROOT / "functions").glob("*-webhook")}
    assert crates == {p["crate"] for p in REGISTRY}
    for provider in REGISTRY:
        name = provider["name"]
        assert (ROOT / provider["module"] / "mod.rs").is_file(), name
        assert (ROOT / provider["crate"] / "src/main.rs").is_file(), name
        assert template[provider["function"]]["Properties"]["CodeUri"] == provider["crate"], name
        assert template[provider["log_group"]]["Type"] == "AWS::Logs::LogGroup", name
        alarm = template[provider["rejected_alarm"]]["Properties"]
        assert alarm["MetricName"] == "WebhookRejected"
        assert alarm["Dimensions"] == [{"Name": "provider", "Value": name}], name
        assert provider["function"] in env, name
        samples = ROOT / provider["samples"]
        for route in provider["routes"]:
            assert route["path"] in paths, route["path"]
            payloads = sorted((ROOT / route["payloads"]).glob("*.json"))
            assert payloads, route["payloads"]
            for payload in payloads:
                signed = json.loads((samples / payload.name).read_text())
                assert signed["routeKey"] == route["route_key"], payload
            batch = json.loads((ROOT / route["processor_sample"]).read_text())
            assert len(batch["Records"]) == len(payloads), route["processor_sample"]


XRAY_WRITE = ("AWSXrayWriteOnlyAccess", "AWSXRayDaemonWriteAccess")


def test_every_function_may_write_to_xray_when_tracing_is_active(resources):
    """Lambda refuses Active tracing to a role without X-Ray write permission: the stack would
    fail to create with TracingMode=Active."""
    for name, function in resources.items():
        if function["Type"] != "AWS::Lambda::Function":
            continue
        assert function["Properties"]["TracingConfig"] == {"Mode": {"Ref": "TracingMode"}}, name
        role = resources[function["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]
        arns = role["ManagedPolicyArns"]
        if isinstance(arns, dict):
            condition, when_active, _ = arns["Fn::If"]
            assert condition == "TracingEnabled", name
            arns = when_active
        assert any(x in json.dumps(arns) for x in XRAY_WRITE), name


def evaluate(expression, params):
    """A rule's expression under `params`: the few intrinsic functions the rules use."""
    if isinstance(expression, dict):
        (name, args), = expression.items()
        if name == "Ref":
            return params.get(args, "")
        if name == "Fn::Equals":
            return evaluate(args[0], params) == evaluate(args[1], params)
        if name == "Fn::Not":
            return not evaluate(args[0], params)
        if name == "Fn::And":
            return all(evaluate(a, params) for a in args)
        if name == "Fn::Or":
            return any(evaluate(a, params) for a in args)
        raise AssertionError(f"unexpected {name} in a rule")
    return expression


def broken_rules(params):
    rules = raw_template().get("Rules", {})
    return [
        name for name, rule in rules.items()
        if evaluate(rule.get("RuleCondition", True), params)
        and not all(evaluate(a["Assert"], params) for a in rule["Assertions"])
    ]


def test_parameter_combinations_that_would_fail_later_are_refused_at_deploy():
    base = {"OctopusWebhookSecretName": "s", "OctopusApiBaseUrl": "u", "OctopusApiCredentialsSecretName": "t"}
    assert broken_rules(base) == []
    optty = {**base, "OpttyPathTokenSecretName": "p", "OpttyApiBaseUrl": "https://o", "OpttyApiCredentialsSecretName": "k"}
    assert broken_rules(optty) == []
    assert broken_rules({**base, "OpttyApiBaseUrl": "https://o"}) == ["OpttyApiNeedsItsKey"]
    assert broken_rules({**base, "OpttyPathTokenSecretName": "p"}) == ["OpttyReceiverNeedsTheOpttyApi"]
    # The Optty API is on by its key; its host may be the documented one.
    assert broken_rules({**base, "OpttyPathTokenSecretName": "p", "OpttyApiCredentialsSecretName": "k"}) == []
    assert broken_rules({**base, "OwlPayHarborWebhookSecretName": "h"}) == ["HarborNeedsOwlPay"]
    assert broken_rules({**base, "OwlPayWebhookSecretName": "o", "OwlPayHarborWebhookSecretName": "h"}) == []


def test_sam_builds_for_the_architecture_parameter():
    """`sam build` (and `sam local`) resolve the Architecture parameter, its default or an
    override, for every function: the cargo-lambda build targets it."""
    from samcli.lib.providers.sam_function_provider import SamFunctionProvider
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
    for overrides, expected in ((None, "arm64"), ({"Architecture": "x86_64"}, "x86_64")):
        stacks, _ = SamLocalStackProvider.get_stacks(str(ROOT / "template.yaml"), parameter_overrides=overrides)
        functions = list(SamFunctionProvider(stacks).get_all())
        assert len(functions) == len([r for r in raw_template()["Resources"].values()
                                      if r["Type"] == "AWS::Serverless::Function"])
        assert {f.architecture for f in functions} == {expected}


def test_every_function_states_the_providers_environment_which_has_no_default(resources):
    template = raw_template()
    parameter = template["Parameters"]["ProviderEnvironment"]
    assert parameter["AllowedValues"] == ["sandbox", "production"]
    assert "Default" not in parameter, "a stack must say which environment it is"
    variables = raw_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables[rust_const("shared/src/config.rs", "PROVIDER_ENVIRONMENT")] == {"Ref": "ProviderEnvironment"}
    # The documented hosts are used unless a base URL is given: both base URLs may be empty.
    for name in ("OctopusApiBaseUrl", "OpttyApiBaseUrl"):
        assert template["Parameters"][name]["Default"] == "", name
        assert re.fullmatch(template["Parameters"][name]["AllowedPattern"], ""), name
    assert template["Conditions"]["HasOpttyApi"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "OpttyApiCredentialsSecretName"}, ""]}]}


def test_the_archive_is_private_encrypted_expiring_and_queryable_where_it_is_written(resources):
    bucket = resources["ArchiveBucket"]
    assert bucket["DeletionPolicy"] == "Retain"
    props = bucket["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    [rule] = props["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["ExpirationInDays"] == {"Ref": "ArchiveRetentionDays"}
    assert raw_template()["Parameters"]["ArchiveRetentionDays"]["Default"] == 30
    statements = {s["Sid"]: s for s in resources["ArchiveBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]}
    deny = statements["DenyPlainHttp"]
    assert deny["Effect"] == "Deny" and deny["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    # Only the processor's role writes entries; nobody deletes one (the lifecycle rule expires).
    writes = statements["OnlyTheProcessorWrites"]
    assert writes["Effect"] == "Deny" and "s3:PutObject" in writes["Action"]
    assert writes["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": ["ProcessorRole", "Arn"]}}}
    deletes = statements["NobodyDeletesEntries"]
    assert deletes["Effect"] == "Deny" and deletes["Principal"] == "*"
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion"} <= set(deletes["Action"])
    # Versioned, with its old versions expiring too, and its access logged.
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": {"Ref": "ArchiveRetentionDays"}}
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "ArchiveAccessLogBucket"}
    logs = resources["ArchiveAccessLogBucket"]["Properties"]
    assert all(logs["PublicAccessBlockConfiguration"].values())
    # Each entry is signed with a key generated in the stack, read by the processor alone.
    key = resources["ArchiveKeySecret"]["Properties"]["GenerateSecretString"]
    assert key["PasswordLength"] >= 2 * int(rust_const("shared/src/archive/mod.rs", "MIN_ARCHIVE_KEY_BYTES"))
    variables = resources["ProcessorFunction"]["Properties"]["Environment"]["Variables"]
    assert variables[rust_const("shared/src/config.rs", "ARCHIVE_KEY_SECRET_ID")] == {"Ref": "ArchiveKeySecret"}
    readers = [name for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"
               and "ArchiveKeySecret" in json.dumps(r["Properties"].get("Policies", []))]
    assert readers == ["ProcessorRole"]
    # The SQL table reads the keys the code writes (shared/src/archive/layout.rs).
    table = resources["ArchiveTable"]["Properties"]["TableInput"]
    root = rust_const("shared/src/archive/layout.rs", "ROOT")
    assert table["StorageDescriptor"]["Location"] == {"Fn::Sub": "s3://${ArchiveBucket}/" + root}
    template = table["Parameters"]["storage.location.template"]["Fn::Sub"]
    assert template == ("s3://${ArchiveBucket}/" + root
                        + "provider=${!archive_provider}/date=${!archive_date}/hour=${!archive_hour}/")
    layout = (ROOT / "shared/src/archive/layout.rs").read_text()
    assert '"{ROOT}provider={}/date={date}/"' in layout and '"{}hour={:02}/"' in layout
    columns = [c["Name"] for c in table["StorageDescriptor"]["Columns"]]
    entry = (ROOT / "shared/src/archive/mod.rs").read_text()
    fields = re.findall(r"^    pub (\w+): ", entry.split("pub struct ArchiveEntry")[1].split("\n}")[0], re.M)
    assert columns == fields


def test_function_urls_are_an_option_for_every_receiver_with_both_public_permissions(resources):
    """FunctionUrls=true: each receiver gets a public URL (no gateway charge). Since October
    2025 a public URL needs lambda:InvokeFunctionUrl and lambda:InvokeFunction (the latter only
    through the URL); the receiver's own condition still decides whether it exists."""
    template = raw_template()
    assert template["Parameters"]["FunctionUrls"]["Default"] == "false"
    for function in RECEIVERS:
        urls = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Url"
                and r["Properties"]["TargetFunctionArn"] == {"Fn::GetAtt": [function, "Arn"]}]
        assert len(urls) == 1, function
        url = urls[0]
        assert url["Properties"]["AuthType"] == "NONE"
        condition = url["Condition"]
        assert condition == "HasFunctionUrls" or "HasFunctionUrls" in json.dumps(
            template["Conditions"][condition]), function
        permissions = {r["Properties"]["Action"]: r for r in resources.values()
                       if r["Type"] == "AWS::Lambda::Permission"
                       and r["Properties"]["FunctionName"] == {"Ref": function}
                       and r["Properties"].get("Principal") == "*"}
        public = permissions["lambda:InvokeFunctionUrl"]
        invoke = permissions["lambda:InvokeFunction"]
        assert public["Properties"]["FunctionUrlAuthType"] == "NONE"
        assert invoke["Properties"]["InvokedViaFunctionUrl"] is True
        assert public["Condition"] == invoke["Condition"] == condition, function
        outputs = [o for o in template["Outputs"].values()
                   if o.get("Condition") == condition and "FunctionUrl" in json.dumps(o["Value"])]
        assert len(outputs) == 1, function


def test_accepted_webhooks_are_counted_from_each_receivers_line(resources):
    message = rust_const("shared/src/receiver/metrics.rs", "ACCEPTED_MESSAGE")
    receiver_rs = (ROOT / "shared/src/receiver/mod.rs").read_text()
    # The line is written at every level: its target is the metric lines' one.
    assert "target: crate::telemetry::METRIC_LINE_TARGET" in receiver_rs
    assert "metrics::ACCEPTED_MESSAGE" in receiver_rs
    filters = {r["Properties"]["LogGroupName"]["Ref"]: (name, r) for name, r in resources.items()
               if r["Type"] == "AWS::Logs::MetricFilter"}
    raw = raw_template()["Resources"]
    for function in RECEIVERS:
        group = resources[function]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert group in filters, f"{function}: no metric filter on {group}"
        name, metric_filter = filters[group]
        assert metric_filter["Properties"]["FilterPattern"] == f'{{ $.message = "{message}" }}'
        [transformation] = metric_filter["Properties"]["MetricTransformations"]
        assert (transformation["MetricNamespace"], transformation["MetricName"],
                transformation["MetricValue"]) == ("Hookline", "WebhookAccepted", "1")
        assert transformation["Dimensions"] == [{"Key": "provider", "Value": "$.provider"}]
        # The filter comes and goes with its log group (an optional receiver).
        assert raw[name].get("Condition") == raw[group].get("Condition"), name


def test_the_local_emulator_queues_redrive_as_the_template_does(resources):
    """`hookline emulator-setup` and `serve --aws-endpoint` give each queue a DLQ with the
    template's receive counts (shared/src/dev_defaults.rs)."""
    defaults = "shared/src/dev_defaults.rs"
    parameter = raw_template()["Parameters"]["IngestMaxReceiveCount"]["Default"]
    assert int(rust_const(defaults, "INGEST_MAX_RECEIVE_COUNT")) == parameter
    updates = resources["OrderUpdatesQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
    assert int(rust_const(defaults, "ORDER_UPDATES_MAX_RECEIVE_COUNT")) == updates
