"""Cold starts of the Lambda binaries, measured locally and repeatably.

A Lambda Runtime API stand-in on 127.0.0.1 starts each function the way Lambda does (the
`bootstrap` process with AWS_LAMBDA_RUNTIME_API set), serves it one event, and records process
start → first `/next` request (init) and → response posted (first invoke), plus the process's
peak RSS. SDK calls go to a moto server on 127.0.0.1, so their first-call cost is included.
With --tls-endpoint (bench/tls_proxy.py), every receiver and the processor run again against
the same emulator over HTTPS, with their connection opened at init (shared/src/warm_up.rs), and
the Octopus receiver and the processor without; beside them the floor (bench/send-floor: one TLS
connection and one hand-signed SendMessage, no SDK) and a timed trace of the first SDK call,
part by part (bench/first-call).

    python bench/coldstart.py --runs 20 --json out.json ...   (the arguments: scripts/bench.sh)
"""
import argparse
import atexit
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Invocation:
    """One process start: the event it gets and when things happened."""

    def __init__(self, event):
        self.event = event
        self.request_id = str(uuid.uuid4())
        self.first_next = None
        self.responded = None
        self.response = None
        self.done = threading.Event()
        self.served = False


def runtime_api(invocation):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            if not self.path.endswith("/runtime/invocation/next"):
                return self.send_error(404)
            if invocation.served:
                invocation.done.wait(60)  # the process is killed before it gets a second event
                return self.send_error(503)
            invocation.first_next = time.perf_counter()
            invocation.served = True
            body = json.dumps(invocation.event).encode()
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", invocation.request_id)
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            payload = self.rfile.read(length)
            if "/response" in self.path or "/error" in self.path:
                invocation.responded = time.perf_counter()
                invocation.response = (self.path.rsplit("/", 1)[1], payload)
                invocation.done.set()
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return QuietServer(("127.0.0.1", 0), Handler)


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # the function is killed while its second `/next` waits: its connection resets


def peak_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def run_once(command, env, event):
    invocation = Invocation(event)
    server = runtime_api(invocation)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    process_env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}")
    started = time.perf_counter()
    process = subprocess.Popen(command, env=process_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    finished = invocation.done.wait(30)
    rss = peak_rss_kib(process.pid)
    process.kill()
    _, stderr = process.communicate()
    server.shutdown()
    server.server_close()
    if not finished or invocation.response[0] != "response":
        raise RuntimeError(f"{command[-1]} did not answer: {stderr.decode()[-2000:]}")
    return {
        "init_ms": (invocation.first_next - started) * 1000,
        "first_invoke_ms": (invocation.responded - started) * 1000,
        # The invoke alone: what a request waits for once init is done.
        "invoke_ms": (invocation.responded - invocation.first_next) * 1000,
        "rss_kib": rss,
        "response": json.loads(invocation.response[1]),
    }


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def measure(name, kind, command, env, event, runs, check):
    """`kind` tells the report which budgets apply: baseline, receiver or function."""
    samples = [run_once(command, env, event) for _ in range(runs)]
    for sample in samples:
        check(sample["response"])
    summary = {"name": name, "kind": kind, "runs": runs}
    for key in ("init_ms", "first_invoke_ms", "invoke_ms"):
        values = [s[key] for s in samples]
        summary[key] = {"median": statistics.median(values), "p90": percentile(values, 0.9)}
    rss = [s["rss_kib"] for s in samples if s["rss_kib"]]
    summary["peak_rss_mib"] = max(rss) / 1024 if rss else None
    return summary


def first_call_trace(program, env, runs):
    """bench/first-call: the first SQS call part by part, one fresh process per run; the median
    of each part."""
    samples = []
    for _ in range(runs):
        done = subprocess.run([program], env=env, capture_output=True, timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stderr.decode()[-2000:]}")
        samples.append(json.loads(done.stdout))
    parts = {part: statistics.median(s[part] for s in samples) for part in samples[0]}
    return {"name": "first call, part by part", "kind": "breakdown", "runs": runs, "parts": parts}


def bench_secret(endpoint, name, value):
    """A Secrets Manager secret on the emulator holding `value` (boto3 comes with moto); its name."""
    import boto3
    client = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    try:
        client.create_secret(Name=name, SecretString=value)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=name, SecretString=value)
    return name


class Rendezvous:
    """Plain-HTTP fronts of the emulator, one per AWS service, each holding its first request
    until every front's first request has arrived (at most `hold` seconds), then forwarding it.
    A function whose init sends these requests one after another leaves a front that waited in
    vain: `met` says, per service, whether its first request found all the others in flight."""

    def __init__(self, upstream, services, hold=3.0):
        self.upstream = upstream.removeprefix("http://")
        self.barrier = threading.Barrier(len(services), timeout=hold)
        self.met = {}
        self.servers = {service: self._front(service) for service in services}
        for server in self.servers.values():
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def endpoint(self, service):
        return f"http://127.0.0.1:{self.servers[service].server_address[1]}"

    def close(self):
        for server in self.servers.values():
            server.shutdown()
            server.server_close()

    def _front(self, service):
        rendezvous = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if service not in rendezvous.met:
                    rendezvous.met[service] = False
                    try:
                        rendezvous.barrier.wait()
                        rendezvous.met[service] = True
                    except threading.BrokenBarrierError:
                        pass
                upstream = http.client.HTTPConnection(rendezvous.upstream, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream.request("POST", self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                upstream.close()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return QuietServer(("127.0.0.1", 0), Handler)


def init_overlap(name, command, env, event, check, endpoint_vars, upstream):
    """One start of `command` with each service of `endpoint_vars` (its AWS_ENDPOINT_URL_*
    variable) behind a Rendezvous front: its init must have every first request in flight at
    once, else this raises. Returns the init time, for the line printed."""
    rendezvous = Rendezvous(upstream, list(endpoint_vars))
    try:
        env = {**env, **{var: rendezvous.endpoint(service) for service, var in endpoint_vars.items()}}
        sample = run_once(command, env, event)
    finally:
        rendezvous.close()
    check(sample["response"])
    if sorted(rendezvous.met) != sorted(endpoint_vars) or not all(rendezvous.met.values()):
        raise RuntimeError(f"{name}: init did not send its first {', '.join(endpoint_vars)} requests "
                           f"together (met: {rendezvous.met}); a warm-up no longer runs beside the secrets load")
    return sample["init_ms"]


def receivers(hookline, events_dir):
    """Each receiver of the provider registry (`hookline providers`): its function in
    events/env.json (the variables it reads), the `hookline sign` arguments of its first route,
    and that route's first sample payload. It is signed just before its runs: the replay windows
    refuse the committed samples' fixed time."""
    registry = json.loads(subprocess.run([hookline, "providers"], check=True, capture_output=True).stdout)
    found = {}
    for provider in registry:
        route = provider["routes"][0]
        payloads = sorted(os.listdir(os.path.join(events_dir, "payloads", route["name"])))
        found[f"{provider['name']}-webhook"] = (provider["function"], ["--provider", route["name"]],
                                                f"{route['name']}/{payloads[0]}")
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--release-dir", required=True)
    parser.add_argument("--events-dir", required=True, help="the committed events/ folder")
    parser.add_argument("--hookline", required=True, help="the hookline CLI, to sign receiver events")
    parser.add_argument("--aws-endpoint", required=True)
    parser.add_argument("--ingest-queue-url", required=True)
    parser.add_argument("--events-table", required=True)
    parser.add_argument("--order-updates-queue-url", required=True)
    parser.add_argument("--json", required=True, help="write the figures here")
    # The same emulator over HTTPS (bench/tls_proxy.py): the first request with the
    # connection opened at init (shared/src/warm_up.rs) and without.
    parser.add_argument("--tls-endpoint", help="https://127.0.0.1:PORT: the same emulator behind TLS")
    parser.add_argument("--tls-ca-bundle", help="the roots that trust it (SSL_CERT_FILE)")
    parser.add_argument("--tls-secrets-endpoint",
                        help="a second front: Secrets Manager for the receivers, SQS for the processor (other hosts in AWS)")
    args = parser.parse_args()

    # env.json is what `sam local invoke` gives each function; its addresses become the bench's.
    addresses = {"AWS_ENDPOINT_URL": args.aws_endpoint, "RUST_LOG": "warn",
                 "INGEST_QUEUE_URL": args.ingest_queue_url, "EVENTS_TABLE": args.events_table,
                 "ORDER_UPDATES_QUEUE_URL": args.order_updates_queue_url,
                 # Nothing listens there: the events served need no provider call.
                 "OCTOPUS_API_BASE_URL": "http://127.0.0.1:9", "OPTTY_API_BASE_URL": "http://127.0.0.1:9"}
    # What Lambda sets for every function; lambda_runtime reads them at init.
    lambda_env = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_NAME": "bench",
                  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                  "AWS_LAMBDA_LOG_STREAM_NAME": "bench", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench"}
    # Trust roots as Lambda has them: one bundle file (Amazon Linux 2023 has no directory of
    # single certificates). Debian's /etc/ssl/certs adds ~290 files that rustls-native-certs
    # reads one by one at init, about 3 ms here; a run with them is reported too.
    bundles = [b for b in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt") if os.path.exists(b)]
    certs_as_on_lambda = {}
    if bundles:
        empty = tempfile.mkdtemp(prefix="hookline-bench-")
        atexit.register(shutil.rmtree, empty, True)
        certs_as_on_lambda = {"SSL_CERT_FILE": bundles[0], "SSL_CERT_DIR": empty}
    with open(os.path.join(args.events_dir, "env.json")) as f:
        sam_env = json.load(f)
    RECEIVERS = receivers(args.hookline, args.events_dir)

    def env_of(function):
        env = dict(sam_env[function])
        env.update({key: value for key, value in addresses.items() if key in env})
        return {**env, **lambda_env, **certs_as_on_lambda}

    def load(*parts):
        with open(os.path.join(*parts)) as f:
            return json.load(f)

    def signed(receiver, payload=None):
        _, sign_args, first = RECEIVERS[receiver]
        payload = payload or first
        command = [args.hookline, "sign", "--format", "apigw", *sign_args,
                   os.path.join(args.events_dir, "payloads", payload)]
        return json.loads(subprocess.run(command, check=True, capture_output=True).stdout)

    def accepted(response):
        assert response["statusCode"] in (200, 201), response

    def batch_ok(response):
        assert response["batchItemFailures"] == [], response

    def polled(response):
        assert isinstance(response.get("polled"), int), response

    wallet = load(args.events_dir, "processor", "every-event-type.json")
    wallet["Records"] = [r for r in wallet["Records"] if '"wallet.credited"' in r["body"]]
    # A fresh event id per run would be fairer to dedupe; a duplicate is acknowledged just the same.

    release = args.release_dir
    hello_env = {k: v for k, v in env_of("OctopusWebhookFunction").items() if k.startswith("AWS_") or k == "PATH"}
    results = [measure("hello-lambda", "baseline", [os.path.join(release, "hello-lambda")], hello_env, {},
                       args.runs, lambda r: None)]
    for name, (function, _, _) in RECEIVERS.items():
        results.append(measure(name, "receiver", [os.path.join(release, name)], env_of(function), signed(name),
                               args.runs, accepted))
    octopus_env = {k: v for k, v in env_of("OctopusWebhookFunction").items() if k not in certs_as_on_lambda}
    results += [
        measure("octopus-webhook, Debian cert dir", "baseline", [os.path.join(release, "octopus-webhook")],
                octopus_env, signed("octopus-webhook", "octopus/order-delivered.json"), args.runs, accepted),
        # Before order-watch registers its order: with nothing due, the poller's run is one index query per shard.
        measure("order-poller", "function", [os.path.join(release, "order-poller")], env_of("OrderPollerFunction"),
                load(args.events_dir, "order-poller", "schedule.json"), args.runs, polled),
        measure("order-watch", "function", [os.path.join(release, "order-watch")], env_of("OrderWatchFunction"),
                load(args.events_dir, "order-watch", "register-esim.json"), args.runs, accepted),
        measure("processor", "function", [os.path.join(release, "processor")], env_of("ProcessorFunction"), wallet,
                args.runs, batch_ok),
        measure("python-receiver", "baseline",
                [sys.executable, os.path.join(os.path.dirname(__file__), "python_receiver.py")],
                env_of("OctopusWebhookFunction"), signed("octopus-webhook", "octopus/order-delivered.json"),
                args.runs, accepted),
    ]
    # Init's two tasks run together (shared/src/receiver/lambda.rs, functions/processor): the
    # webhook secrets or API credentials load from Secrets Manager while the warm-up opens the
    # function's other connections. Checked, not timed: each service behind a front that holds
    # its first request until the others' have arrived.
    receiver_env = {key: value for key, value in env_of("OctopusWebhookFunction").items()
                    if key != "OCTOPUS_WEBHOOK_SECRETS"}
    receiver_env["OCTOPUS_WEBHOOK_SECRET_ID"] = bench_secret(
        args.aws_endpoint, "hookline-bench-octopus-webhook", env_of("OctopusWebhookFunction")["OCTOPUS_WEBHOOK_SECRETS"])
    processor_env = {key: value for key, value in env_of("ProcessorFunction").items()
                     if key not in ("OCTOPUS_API_KEY", "OCTOPUS_API_SECRET")}
    processor_env["OCTOPUS_API_CREDENTIALS_SECRET_ID"] = bench_secret(
        args.aws_endpoint, "hookline-bench-octopus-api", json.dumps(
            {"api_key": env_of("ProcessorFunction")["OCTOPUS_API_KEY"],
             "api_secret": env_of("ProcessorFunction")["OCTOPUS_API_SECRET"]}))
    for name, command, env, event, check, endpoints in [
        ("octopus-webhook", [os.path.join(release, "octopus-webhook")], receiver_env,
         signed("octopus-webhook", "octopus/order-delivered.json"), accepted,
         {"secretsmanager": "AWS_ENDPOINT_URL_SECRETS_MANAGER", "sqs": "AWS_ENDPOINT_URL_SQS"}),
        ("processor", [os.path.join(release, "processor")], processor_env, wallet, batch_ok,
         {"secretsmanager": "AWS_ENDPOINT_URL_SECRETS_MANAGER", "dynamodb": "AWS_ENDPOINT_URL_DYNAMODB",
          "sqs": "AWS_ENDPOINT_URL_SQS"}),
    ]:
        init_ms = init_overlap(name, command, env, event, check, endpoints, args.aws_endpoint)
        print(f"init overlap: {name}'s first {', '.join(endpoints)} requests were in flight together "
              f"(init {init_ms:.1f} ms behind the holding fronts)", file=sys.stderr)
    if args.tls_endpoint:
        def over_tls(function, warm):
            return {**env_of(function), "AWS_ENDPOINT_URL": args.tls_endpoint, "SSL_CERT_FILE": args.tls_ca_bundle,
                    "WARM_CONNECTIONS_AT_INIT": warm}

        def sent(response):
            assert response["statusCode"] == 200 and response["body"], response

        # The floor (bench/send-floor): one TLS connection opened at init, one hand-signed
        # SendMessage per event, no SDK. Each function's start → first response over TLS is
        # reported as a ratio to it.
        floor_env = over_tls("OctopusWebhookFunction", "true")
        results.append(measure("send-floor over TLS", "floor", [os.path.join(release, "send-floor")], floor_env,
                               signed("octopus-webhook", "octopus/order-delivered.json"), args.runs, sent))
        results.append(first_call_trace(os.path.join(release, "first-call-trace"), floor_env, args.runs))
        for name, (function, _, _) in RECEIVERS.items():
            results.append(measure(f"{name} over TLS, connection opened at init", "first-request",
                                   [os.path.join(release, name)], over_tls(function, "true"), signed(name),
                                   args.runs, accepted))
        # As deployed: the webhook secrets in Secrets Manager (template.yaml's *_WEBHOOK_SECRET_ID),
        # on a host of its own (the second front), read at init while the ingest queue's
        # connection opens (shared/src/receiver/lambda.rs).
        secret_env = {key: value for key, value in over_tls("OctopusWebhookFunction", "true").items()
                      if key != "OCTOPUS_WEBHOOK_SECRETS"}
        if args.tls_secrets_endpoint:
            secret_env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = args.tls_secrets_endpoint
        secret_env["OCTOPUS_WEBHOOK_SECRET_ID"] = bench_secret(
            args.aws_endpoint, "hookline-bench-octopus-webhook", env_of("OctopusWebhookFunction")["OCTOPUS_WEBHOOK_SECRETS"])
        results.append(measure("octopus-webhook over TLS, secrets from Secrets Manager, connection opened at init",
                               "first-request", [os.path.join(release, "octopus-webhook")], secret_env,
                               signed("octopus-webhook", "octopus/order-delivered.json"), args.runs, accepted))
        results.append(measure("processor over TLS, connection opened at init", "first-request",
                               [os.path.join(release, "processor")], over_tls("ProcessorFunction", "true"), wallet,
                               args.runs, batch_ok))
        if args.tls_secrets_endpoint:
            # As in AWS, SQS (the order updates) on another host than DynamoDB (the claims): the
            # warm-up opens both connections at init (shared/src/warm_up.rs).
            results.append(measure("processor over TLS, SQS on a host of its own, connection opened at init",
                                   "first-request", [os.path.join(release, "processor")],
                                   {**over_tls("ProcessorFunction", "true"),
                                    "AWS_ENDPOINT_URL_SQS": args.tls_secrets_endpoint}, wallet, args.runs, batch_ok))
        results += [
            measure("octopus-webhook over TLS, connection opened by the first request", "first-request",
                    [os.path.join(release, "octopus-webhook")], over_tls("OctopusWebhookFunction", "false"),
                    signed("octopus-webhook", "octopus/order-delivered.json"), args.runs, accepted),
            measure("processor over TLS, connection opened by the first request", "first-request",
                    [os.path.join(release, "processor")], over_tls("ProcessorFunction", "false"), wallet,
                    args.runs, batch_ok),
        ]
    with open(args.json, "w") as out:
        json.dump(results, out, indent=1)
    for r in results:
        if r["kind"] == "breakdown":
            print("first call, part by part (median ms): " + ", ".join(
                f"{part} {value:.1f}" for part, value in r["parts"].items()), file=sys.stderr)
            continue
        print(f"{r['name']:16} init {r['init_ms']['median']:7.1f} ms (p90 {r['init_ms']['p90']:7.1f})  "
              f"first invoke {r['first_invoke_ms']['median']:7.1f} ms (p90 {r['first_invoke_ms']['p90']:7.1f})  "
              f"invoke alone {r['invoke_ms']['median']:6.1f} ms  "
              f"peak RSS {r['peak_rss_mib'] or 0:5.1f} MiB", file=sys.stderr)


if __name__ == "__main__":
    main()
