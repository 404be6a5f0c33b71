"""The Octopus receiver written in Python with boto3, as a custom-runtime Lambda: the same
signature check, timestamp window, envelope check and SQS send as octopus-webhook. It is only
the comparison point of bench/coldstart.py, not part of hookline.
"""
import hashlib
import hmac
import json
import os
import time
import urllib.request
from datetime import datetime, timezone

import boto3  # imported at init, as a Python Lambda would

API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime/invocation"
SECRETS = [s.strip().encode() for s in os.environ["OCTOPUS_WEBHOOK_SECRETS"].split(",") if s.strip()]
QUEUE_URL = os.environ["INGEST_QUEUE_URL"]
SQS = boto3.client("sqs", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))


def respond(status, body):
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def handle(event):
    if event["requestContext"]["http"]["method"] != "POST":
        return respond(405, {"error": "method_not_allowed"})
    headers = {k.lower(): v for k, v in event.get("headers", {}).items()}
    body = event.get("body", "").encode()
    given = headers.get("x-signature", "")
    if not any(hmac.compare_digest(hmac.new(s, body, hashlib.sha256).hexdigest(), given) for s in SECRETS):
        return respond(401, {"error": "invalid_signature"})
    try:
        timestamp = int(headers.get("x-timestamp", ""))
    except ValueError:
        return respond(401, {"error": "stale_timestamp"})
    if abs(time.time() - timestamp) > 300:
        return respond(401, {"error": "stale_timestamp"})
    envelope = json.loads(body)
    if any(headers.get(h) not in (None, envelope.get(k)) for h, k in (("x-event-id", "id"), ("x-event-type", "type"))):
        return respond(400, {"error": "malformed_payload"})
    message = {"v": 1, "provider": "octopus", "event_id": envelope["id"], "event_type": envelope["type"],
               "received_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "body": body.decode()}
    SQS.send_message(QueueUrl=QUEUE_URL, MessageBody=json.dumps(message), MessageAttributes={
        "provider": {"DataType": "String", "StringValue": "octopus"},
        "event_type": {"DataType": "String", "StringValue": envelope["type"]}})
    return respond(200, {"received": True, "event_id": envelope["id"]})


while True:
    with urllib.request.urlopen(f"{API}/next") as next_event:
        request_id = next_event.headers["Lambda-Runtime-Aws-Request-Id"]
        result = handle(json.loads(next_event.read()))
    urllib.request.urlopen(urllib.request.Request(
        f"{API}/{request_id}/response", data=json.dumps(result).encode(), method="POST"))
