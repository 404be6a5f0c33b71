"""Writes the template `sam local` runs: template.yaml with each function pointed at its x86_64
release binary, and every variable it reads declared with its local value.

Why a generated template rather than template.yaml itself:
- `sam local invoke --env-vars` replaces only the variables a function declares (SAM CLI,
  `env_vars.py`), so the local-only ones (`*_WEBHOOK_SECRETS`, `AWS_ENDPOINT_URL`, the API tokens)
  would never reach the functions; declaring them in the deployed template is not wanted.
- A secret-id parameter without a default resolves to its own name locally, so a receiver would
  ask Secrets Manager for "OctopusWebhookSecretName": here every variable not in events/env.json
  is declared empty, which the code reads as unset (the lists in env.json are used instead).
- Conditions are ignored locally; here every function is present.
- `sam build` needs cargo-lambda and builds arm64 by default; the local Lambda runs x86_64 here, from
  the release build (`CodeUri` is a folder holding the binary as `bootstrap`).

    python scripts/sam_local_template.py --release-dir target/release --out-dir target/sam-local

Writes `<out-dir>/template.json` and `<out-dir>/<crate>/bootstrap`.
"""
import argparse
import json
import shutil
from pathlib import Path

from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--release-dir", default=str(ROOT / "target/release"))
    parser.add_argument("--out-dir", default=str(ROOT / "target/sam-local"))
    parser.add_argument("--env-json", default=str(ROOT / "events/env.json"))
    args = parser.parse_args()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)

    template = yaml_parse((ROOT / "template.yaml").read_text())
    env = json.loads(Path(args.env_json).read_text())
    template["Globals"]["Function"]["Architectures"] = ["x86_64"]
    template["Globals"]["Function"]["Environment"]["Variables"] = {}
    template.pop("Rules", None)
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        resource.pop("Condition", None)
        resource.pop("Metadata", None)
        crate = Path(props["CodeUri"]).name
        binary = Path(args.release_dir) / crate
        if not binary.is_file():
            raise SystemExit(f"{binary} is missing: cargo build --release -p {crate}")
        (out / crate).mkdir(exist_ok=True)
        shutil.copy2(binary, out / crate / "bootstrap")
        props["CodeUri"] = crate
        declared = {var: "" for var in props.get("Environment", {}).get("Variables", {})}
        declared.update({"RUST_LOG": "", "SECRETS_REFRESH_SECS": ""})
        declared.update(env.get(name, {}))
        props["Environment"] = {"Variables": declared}
        # Locally a function logs to the container's output, and nothing reserves concurrency.
        props.pop("LoggingConfig", None)
        props.pop("ReservedConcurrentExecutions", None)
        props.pop("Role", None)
    # A poller run lasts until nothing is due before its deadline: locally, ten seconds of it.
    template["Resources"]["OrderPollerFunction"]["Properties"]["Timeout"] = 10
    (out / "template.json").write_text(json.dumps(template, indent=1) + "\n")
    print(out / "template.json")


if __name__ == "__main__":
    main()
