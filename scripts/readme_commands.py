#!/usr/bin/env python3
"""Runs the README's local shell blocks as written, so a command that stops working fails CI.

Every ```sh block of README.md carries a marker on the line before it:

    <!-- readme-test: serve -->      run with `hookline serve` (in memory) on 127.0.0.1:3000
    <!-- readme-test: emulator -->   run with moto server on 127.0.0.1:5000 and
                                     `hookline serve --aws-endpoint http://127.0.0.1:5000 --with-processor`
    <!-- readme-test: skip: why -->  not run here, and why (AWS, or the servers the harness starts)

A block without a marker fails the run: no block escapes unnoticed. Each block runs with
`bash -e -o pipefail` from the checkout's root, `hookline` on PATH (the debug build of this
checkout, as `cargo install --path cli` would give). A comment line `# {...}` after a command
is that command's expected answer: the block's output must hold it. Any `{"error":` in a block's
output fails it (curl prints a refusal and exits 0).

    scripts/readme_commands.py [--readme README.md] [--hookline target/debug/hookline]
    scripts/readme_commands.py --list      # the blocks and their markers, nothing run
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^<!-- readme-test: (serve|emulator|skip: .+) -->$")
SERVE_ADDR = ("127.0.0.1", 3000)
EMULATOR_ADDR = ("127.0.0.1", 5000)
BLOCK_TIMEOUT_S = 180


@dataclass
class Block:
    line: int  # of the opening fence, 1-based
    mode: str  # serve, emulator, skip, or "" (unmarked)
    text: str

    def expected(self):
        """The answers the block says its commands give: `# {...}` lines."""
        return [
            line.strip()[2:].strip()
            for line in self.text.splitlines()
            if line.strip().startswith("# {")
        ]


def blocks(markdown: str):
    """Every ```sh block with the marker on the line before its fence (or none)."""
    lines = markdown.splitlines()
    found = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```sh":
            start = i
            previous = lines[i - 1].strip() if i > 0 else ""
            match = MARKER.match(previous)
            mode = ""
            if match:
                mode = "skip" if match.group(1).startswith("skip") else match.group(1)
            i += 1
            body = []
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            found.append(Block(start + 1, mode, "\n".join(body) + "\n"))
        i += 1
    return found


def check_output(block: Block, output: str):
    """Why the block's output fails it, or None."""
    if '{"error":' in output:
        return "a command was refused: " + output[output.index('{"error":') :][:300]
    for answer in block.expected():
        if answer not in output:
            return f"expected answer {answer} not in the output"
    return None


def port_free(addr) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(addr)
            return True
        except OSError:
            return False


def wait_listening(addr, process, log: Path, what: str, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{what} exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(addr, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{what} did not listen on {addr[0]}:{addr[1]} within {seconds} s")


class Servers:
    """The processes a phase needs, stopped on exit."""

    def __init__(self, work: Path):
        self.work = work
        self.processes = []

    def start(self, name, argv, addr, env):
        if not port_free(addr):
            sys.exit(f"{addr[0]}:{addr[1]} is taken: the README's commands use it; stop what holds it")
        log = self.work / f"{name}.log"
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        wait_listening(addr, process, log, name)
        return log

    def stop(self):
        for process in reversed(self.processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes = []


def run_block(block: Block, env) -> str:
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block.text],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT_S,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        return f"exit status {result.returncode}:\n{output[-3000:]}"
    why = check_output(block, output)
    return f"{why}:\n{output[-3000:]}" if why else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--hookline", type=Path, default=ROOT / "target/debug/hookline")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()

    found = blocks(args.readme.read_text())
    unmarked = [b for b in found if not b.mode]
    for block in found:
        if args.list or not block.mode:
            print(f"{args.readme.name}:{block.line}: {block.mode or 'UNMARKED'}")
    if unmarked:
        print(
            f"{len(unmarked)} block(s) without a readme-test marker "
            "(serve, emulator, or skip: reason): see scripts/readme_commands.py",
            file=sys.stderr,
        )
        return 1
    if args.list:
        return 0
    if not args.hookline.exists():
        sys.exit(f"{args.hookline} is missing: cargo build -p hookline-cli")

    work = Path(tempfile.mkdtemp(prefix="hookline-readme-"))
    bin_dir = work / "bin"
    bin_dir.mkdir()
    (bin_dir / "hookline").symlink_to(args.hookline.resolve())
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    # No AWS of the caller's: the blocks run against local servers only.
    for variable in list(env):
        if variable.startswith("AWS_") or variable in ("EVENTS_TABLE", "INGEST_QUEUE_URL"):
            del env[variable]
    env["AWS_EC2_METADATA_DISABLED"] = "true"

    failures = []
    servers = Servers(work)
    try:
        for mode in ("serve", "emulator"):
            phase = [b for b in found if b.mode == mode]
            if not phase:
                continue
            # As the README runs it: the archive in the checkout's `.hookline/archive`.
            serve = [str(args.hookline), "serve"]
            if mode == "emulator":
                moto = shutil.which("moto_server", path=f"{os.environ.get('HOOKLINE_VENV', '')}/bin")
                if not moto:
                    sys.exit("moto_server not found: source scripts/python-env.sh first")
                servers.start("moto", [moto, "-H", EMULATOR_ADDR[0], "-p", str(EMULATOR_ADDR[1])], EMULATOR_ADDR, env)
                serve += ["--aws-endpoint", "http://127.0.0.1:5000", "--with-processor"]
            log = servers.start(f"serve-{mode}", serve, SERVE_ADDR, dict(env, RUST_LOG="info"))
            block_env = env
            for block in phase:
                started = time.monotonic()
                why = run_block(block, block_env)
                took = time.monotonic() - started
                verdict = "FAILED" if why else "ok"
                print(f"{args.readme.name}:{block.line}: {mode}: {verdict} ({took:.1f} s)")
                if why:
                    failures.append(f"{args.readme.name}:{block.line} ({mode}): {why}\nserve log: {log}")
            servers.stop()
    finally:
        servers.stop()
    skipped = sum(1 for b in found if b.mode == "skip")
    ran = len(found) - skipped
    print(f"{ran} block(s) run, {skipped} skipped (each with its reason in the README)")
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
