"""Compares checkov's findings over template.yaml with docs/src/security.md's table "Accepted
scanner findings": every failed check on every resource must be accepted there, by a row
`| CKV_… | resources (or "every …") | reason |`; an accepted row that no longer fails is
reported too, so the table stays true. Usage: iac_scan.py CHECKOV_JSON"""

import json
import re
import sys

DOC = "docs/src/security.md"
HEADING = "## Accepted scanner findings"


def accepted(text):
    if HEADING not in text:
        sys.exit(f"{DOC} has no '{HEADING}' section")
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    rows = {}
    for check, resources, reason in re.findall(
            r"^\| `?(CKV_[A-Z0-9_]+)`? \| ([^|]+) \| ([^|]+) \|$", section, re.M):
        if len(reason.strip()) < 20:
            sys.exit(f"{DOC}: {check} is accepted without a reason")
        names = set(re.findall(r"`([A-Za-z0-9]+)`", resources))
        rows[check] = names or {"*"}
    return rows


def compare(report, rows):
    """The findings not accepted, and the accepted rows no longer found."""
    failed = report.get("results", {}).get("failed_checks", [])
    unaccepted, used = [], set()
    for finding in failed:
        check = finding["check_id"]
        resource = finding["resource"].split(".")[-1]
        names = rows.get(check, set())
        if "*" in names or resource in names:
            used.add((check, resource if resource in names else "*"))
        else:
            unaccepted.append(f"{check} {finding['check_name']!r} on {resource} "
                              f"({finding['file_line_range']})")
    stale = [f"{check} on {name}" for check, names in rows.items() for name in names
             if (check, name) not in used]
    return unaccepted, stale


def main():
    report = json.load(open(sys.argv[1]))
    if isinstance(report, list):
        report = report[0]
    failed = report.get("results", {}).get("failed_checks", [])
    unaccepted, stale = compare(report, accepted(open(DOC).read()))
    summary = report.get("summary", {})
    print(f"checkov: {summary.get('passed')} passed, {len(failed)} failed, all of them accepted"
          if not unaccepted else f"checkov: {len(unaccepted)} finding(s) neither fixed nor accepted")
    for line in unaccepted:
        print("  NOT ACCEPTED:", line)
    for line in stale:
        print("  ACCEPTED BUT NO LONGER FOUND (remove the row):", line)
    sys.exit(1 if unaccepted or stale else 0)


if __name__ == "__main__":
    main()
