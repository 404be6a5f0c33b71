"""The provider registry as `hookline providers` prints it, and the parameter sets the template
checks deploy with: every provider, its routes, secret lists, template names and sample
folders. `template_test.py` and `deploy_rehearsal_test.py` take providers from here, so a new
provider needs no edit in them.
"""

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_registry():
    out = subprocess.run(
        ["cargo", "run", "-q", "--locked", "-p", "hookline-cli", "--", "providers"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)


REGISTRY = load_registry()
# Every receiver function's logical id.
RECEIVER_FUNCTIONS = [p["function"] for p in REGISTRY]
# Every secret list's parameter, naming a secret of its route: each receiver and route on.
RECEIVER_SECRETS = {
    route["secrets"]["parameter"]: f"hookline/{route['name']}"
    for provider in REGISTRY for route in provider["routes"]
}
# The provider APIs' parameters (written by hand in the template: only some providers have one).
API_PARAMETERS = {
    "OctopusApiBaseUrl": "https://api.octopus.example",
    "OctopusApiCredentialsSecretName": "hookline/octopus-api",
    "OpttyApiBaseUrl": "https://api.optty.example",
    "OpttyApiCredentialsSecretName": "hookline/optty-api",
}
