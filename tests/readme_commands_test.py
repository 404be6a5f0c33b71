"""scripts/readme_commands.py: every sh block of the README carries a marker, and a block's
output fails it when a command was refused or an answer the README shows is missing. The real
run of the README's blocks is its own CI step."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import readme_commands  # noqa: E402

README = """# x

<!-- readme-test: serve -->
```sh
hookline sign a.json | sh
# {"event_id":"evt_1","received":true}
```

<!-- readme-test: skip: needs AWS -->
```sh
sam deploy
```

```sh
hookline unmarked
```
"""


def test_each_block_has_its_marker_or_none():
    found = readme_commands.blocks(README)
    assert [(b.mode, b.line) for b in found] == [("serve", 4), ("skip", 10), ("", 14)]
    assert found[0].expected() == ['{"event_id":"evt_1","received":true}']


def test_an_answer_the_readme_shows_must_be_in_the_output():
    block = readme_commands.blocks(README)[0]
    assert readme_commands.check_output(block, '{"event_id":"evt_1","received":true}') is None
    assert "expected answer" in readme_commands.check_output(block, '{"event_id":"evt_2"}')


def test_a_refusal_fails_the_block_though_curl_exits_zero():
    block = readme_commands.blocks(README)[1]
    why = readme_commands.check_output(block, '{"error":"invalid_signature","detail":"x"}')
    assert why.startswith("a command was refused")


def test_the_committed_readme_has_no_unmarked_block():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    found = readme_commands.blocks(readme)
    assert found and all(b.mode for b in found)
    assert any(b.mode == "emulator" for b in found) and any(b.mode == "serve" for b in found)
