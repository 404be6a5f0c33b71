"""Every sample event of every function through SAM's local Lambda (`sam local start-lambda`),
each answer asserted, then what they left in the emulator (queues, table) checked.

Started by scripts/sam-local.sh once Docker, the base image, moto and the stand-in provider API
are up; not meant to run alone.

    python scripts/sam_local_run.py --template target/sam-local/template.json \
        --signed-dir target/sam-local/events --aws-endpoint http://172.17.0.1:5000
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
# Processor samples that may report a batch item failure, and which: the two copies of one event
# in one batch are processed at once, so whichever claims second may find the other's claim in
# progress and be delivered again (or find it completed and be acknowledged): one of them at
# most. Every other sample reports none.
MAY_FAIL = {"duplicate-and-unknown-type.json": {"00000000-0000-4000-8000-000000000001",
                                                "00000000-0000-4000-8000-000000000002"}}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, process, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"sam local start-lambda exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("sam local start-lambda did not start listening")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sam", default="sam")
    parser.add_argument("--template", required=True)
    parser.add_argument("--signed-dir", required=True, help="webhook samples signed just now, by receiver folder")
    parser.add_argument("--aws-endpoint", required=True, help="moto, as this host reaches it")
    parser.add_argument("--log", default=None, help="where SAM's own output goes")
    args = parser.parse_args()

    aws = {"endpoint_url": args.aws_endpoint, "region_name": "us-east-1",
           "aws_access_key_id": "test", "aws_secret_access_key": "test"}
    sqs = boto3.client("sqs", **aws)
    dynamodb = boto3.client("dynamodb", **aws)

    def depth(name):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    ingest_before = depth("hookline-ingest")
    port = free_port()
    log = open(args.log or os.devnull, "w")
    sam = subprocess.Popen(
        [args.sam, "local", "start-lambda", "-t", args.template, "-p", str(port), "--host", "127.0.0.1",
         "--warm-containers", "EAGER", "--skip-pull-image", "--region", "us-east-1",
         "--add-host", "host.docker.internal:host-gateway"],
        stdout=log, stderr=subprocess.STDOUT)
    failures = []
    rows = []
    try:
        wait_for(port, sam)
        local = boto3.client("lambda", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                             config=Config(read_timeout=120, retries={"max_attempts": 0}),
                             aws_access_key_id="test", aws_secret_access_key="test")

        def invoke(function, path, check):
            started = time.time()
            answer = local.invoke(FunctionName=function, Payload=Path(path).read_bytes())
            body = json.loads(answer["Payload"].read() or b"null")
            problem = "function error" if answer.get("FunctionError") else check(body)
            rows.append((function, Path(path).name, f"{(time.time() - started) * 1000:.0f} ms", problem or "ok"))
            if problem:
                failures.append(f"{function} {Path(path).name}: {problem}: {json.dumps(body)[:300]}")

        def http_2xx(body):
            status = (body or {}).get("statusCode")
            return None if isinstance(status, int) and 200 <= status < 300 else f"HTTP {status}"

        registry = json.loads(subprocess.run(
            ["cargo", "run", "-q", "--locked", "-p", "hookline-cli", "--", "providers"],
            cwd=ROOT, check=True, capture_output=True, text=True).stdout)
        accepted = 0
        for provider in registry:
            for sample in sorted((Path(args.signed_dir) / Path(provider["samples"]).name).glob("*.json")):
                invoke(provider["function"], sample, http_2xx)
                accepted += 1
        # Before the poller adds the changes it finds: exactly what the receivers accepted.
        ingest = depth("hookline-ingest") - ingest_before
        invoke("OrderWatchFunction", EVENTS / "order-watch/register-esim.json", http_2xx)
        for sample in sorted((EVENTS / "processor").glob("*.json")):
            allowed = MAY_FAIL.get(sample.name, set())

            def batch(body, allowed=allowed):
                failed = {f["itemIdentifier"] for f in (body or {}).get("batchItemFailures", [])}
                fine = failed <= allowed and len(failed) <= 1
                return None if fine else f"batch item failures {sorted(failed)}"
            invoke("ProcessorFunction", sample, batch)
        invoke("OrderPollerFunction", EVENTS / "order-poller/schedule.json",
               lambda body: None if isinstance((body or {}).get("polled"), int) else "no run report")
    finally:
        sam.terminate()
        try:
            sam.wait(timeout=30)
        except subprocess.TimeoutExpired:
            sam.kill()

    # What the invocations left in the emulator.
    updates = depth("hookline-order-updates.fifo")
    items = dynamodb.scan(TableName="hookline-events")["Items"]
    keys = {item["pk"]["S"] for item in items}
    checks = [
        (f"ingest queue took every accepted webhook ({ingest} of {accepted})", ingest == accepted),
        (f"order updates published ({updates})", updates > 0),
        ("claim records written", any(k.startswith("EVENT#") for k in keys)),
        ("voucher order 12345 recorded", "ORDER#octopus#voucher#12345" in keys),
        ("eSIM watch registered", any(k.startswith("WATCH#octopus#esim#") for k in keys)),
    ]
    for text, ok in checks:
        rows.append(("emulator", text, "", "ok" if ok else "FAIL"))
        if not ok:
            failures.append(text)

    width = max(len(r[0]) for r in rows)
    for function, name, took, result in rows:
        print(f"{function:<{width}}  {name:<52} {took:>8}  {result}")
    invocations = sum(1 for r in rows if r[0] != "emulator")
    print(f"{invocations} invocations through sam local, {len(failures)} failures")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
