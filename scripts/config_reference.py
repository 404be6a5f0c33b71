"""Writes docs/src/configuration.md from template.yaml: every variable a function reads, the
functions that read it, the template parameter (or resource) that sets it and its default; then
every parameter that sets no variable. `scripts/check-generated.sh` fails CI when the committed
page is not what this writes.

    python scripts/config_reference.py [--out docs/src/configuration.md]
"""

import argparse
import json
from collections import defaultdict
from pathlib import Path

from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parent.parent


def describe(value, parameters):
    """How a variable's value is set, and the parameters it comes from."""
    if isinstance(value, dict) and "Ref" in value:
        name = value["Ref"]
        if name in parameters:
            return f"parameter `{name}`", [name]
        return f"resource `{name}`", []
    if isinstance(value, dict) and "Fn::If" in value:
        condition, then, _ = value["Fn::If"]
        text, used = describe(then, parameters)
        return f"{text} (when `{condition}`)", used
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"resource `{'.'.join(value['Fn::GetAtt'])}`", []
    if isinstance(value, dict):
        return f"`{json.dumps(value)}`", []
    return f"`{value}`", []


def cell(text):
    return " ".join(str(text).split()).replace("|", "\\|")


def default(parameter):
    if "Default" not in parameter:
        return "required"
    value = parameter["Default"]
    return f"`{value}`" if value != "" else "empty"


def render(template):
    parameters = template["Parameters"]
    resources = template["Resources"]
    common = template["Globals"]["Function"]["Environment"]["Variables"]
    readers = defaultdict(list)
    values = {}
    for name, resource in sorted(resources.items()):
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        own = resource["Properties"].get("Environment", {}).get("Variables", {})
        for variable, value in {**common, **own}.items():
            readers[variable].append(name.removesuffix("Function"))
            values.setdefault(variable, value)
    used = set()
    lines = [
        "# Configuration reference",
        "",
        "<!-- Written by scripts/config_reference.py from template.yaml; CI fails when it is not current. -->",
        "",
        "Every variable a function reads, the functions that read it, what sets it in the template",
        "and the parameter's default. Parameters are given at `sam deploy` (`--parameter-overrides`);",
        "locally, `hookline serve` takes the variables (or flags of the same words) itself.",
        "",
        "| variable | functions | set from | default | what it is |",
        "|---|---|---|---|---|",
    ]
    for variable in sorted(readers):
        how, names = describe(values[variable], parameters)
        used.update(names)
        what = cell(parameters[names[0]].get("Description", "")) if names else ""
        dflt = default(parameters[names[0]]) if names else ""
        functions = ", ".join(sorted(set(readers[variable])))
        lines.append(f"| `{variable}` | {functions} | {how} | {dflt} | {what} |")
    lines += [
        "",
        "## Parameters that set no variable",
        "",
        "They shape the stack itself (queues, table, alarms, concurrency, logs).",
        "",
        "| parameter | default | what it is |",
        "|---|---|---|",
    ]
    for name in sorted(set(parameters) - used):
        parameter = parameters[name]
        lines.append(f"| `{name}` | {default(parameter)} | {cell(parameter.get('Description', ''))} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "docs/src/configuration.md"))
    options = parser.parse_args()
    template = yaml_parse((ROOT / "template.yaml").read_text())
    Path(options.out).write_text(render(template))


if __name__ == "__main__":
    main()
