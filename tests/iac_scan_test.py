"""scripts/iac_scan.py: a scanner finding passes only when docs/src/security.md accepts it, on
its resource, with a reason; an accepted row that no longer fails is reported."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import iac_scan  # noqa: E402

DOC = """# Security
## Accepted scanner findings
| check | resources | reason |
|---|---|---|
| CKV_AWS_1 | every queue | SQS-managed keys encrypt every queue already. |
| CKV_AWS_2 | `EventsTable` | An AWS-owned key encrypts the table already. |
## Next
"""


def finding(check, resource):
    return {"check_id": check, "check_name": check, "resource": f"AWS::X::Y.{resource}",
            "file_line_range": [1, 2]}


def report(*findings):
    return {"results": {"failed_checks": list(findings)}}


def test_accepted_findings_pass_and_others_fail():
    rows = iac_scan.accepted(DOC)
    assert rows == {"CKV_AWS_1": {"*"}, "CKV_AWS_2": {"EventsTable"}}
    ok = report(finding("CKV_AWS_1", "IngestQueue"), finding("CKV_AWS_2", "EventsTable"))
    assert iac_scan.compare(ok, rows) == ([], [])
    # A new check, or an accepted check on a resource not named: not accepted.
    unaccepted, _ = iac_scan.compare(
        report(finding("CKV_AWS_3", "ArchiveBucket"), finding("CKV_AWS_2", "OtherTable"),
               finding("CKV_AWS_1", "IngestQueue")), rows)
    assert [u.split()[0] for u in unaccepted] == ["CKV_AWS_3", "CKV_AWS_2"]
    # A row that no longer fails is reported, so the table stays true.
    _, stale = iac_scan.compare(report(finding("CKV_AWS_1", "IngestQueue")), rows)
    assert stale == ["CKV_AWS_2 on EventsTable"]


def test_an_acceptance_without_a_reason_or_without_the_section_fails():
    with pytest.raises(SystemExit):
        iac_scan.accepted(DOC.replace("An AWS-owned key encrypts the table already.", "ok"))
    with pytest.raises(SystemExit):
        iac_scan.accepted("# Security\n")
