"""Runs every test binary of the workspace, several at a time (scripts/test.sh).

`cargo test` runs its test binaries one after another, and most of their time is spent waiting
on moto servers and timeouts, not on the CPU: run side by side they take the time of the
slowest few. Each binary runs as `cargo test` would run it (from its package's folder, with
its package's variables) and with its own moto server, so they share nothing. Each one's output
is printed whole when it ends; the run fails when any binary fails.

    python scripts/run_tests.py [--jobs N] [--alongside CMD]... [-- ARGS for every test binary]

`--alongside CMD` runs a command (a test of its own, e.g. scripts/scratch-provider.sh) beside the
binaries once they are built; its failure fails the run.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Started first, as the slowest (their times in CI's log, "slowest test binaries"), so the last
# to start is not a long one. A name missing here only starts later.
SLOW_FIRST = ("serve", "poller", "crash_points", "archive", "processor", "provider_auth",
              "provider_receivers", "api_budget", "model_check", "operate")


def test_binaries():
    """Builds the tests (`cargo test --no-run`) and lists each binary with its package folder."""
    build = subprocess.run(
        ["cargo", "test", "--workspace", "--locked", "--no-run",
         "--message-format=json-render-diagnostics"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False,
    )
    if build.returncode != 0:
        sys.exit(build.returncode)
    binaries = []
    for line in build.stdout.splitlines():
        message = json.loads(line)
        if message.get("reason") != "compiler-artifact" or not message.get("executable"):
            continue
        if not message["profile"]["test"]:
            continue
        package_dir = Path(message["manifest_path"]).parent
        name = f"{package_dir.relative_to(ROOT)}: {message['target']['name']}"
        binaries.append((name, message["executable"], package_dir))
    return binaries


def run(binary, args):
    name, executable, package_dir = binary
    env = dict(os.environ, CARGO_MANIFEST_DIR=str(package_dir))
    started = time.monotonic()
    command = ["bash", executable] if executable.endswith(".sh") else [executable, *args]
    done = subprocess.run(command, cwd=package_dir, env=env, check=False,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return name, done.returncode, time.monotonic() - started, done.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=4,
                        help="binaries at a time (default 4: they mostly wait, on 2 cores)")
    parser.add_argument("--alongside", action="append", default=[],
                        help="a command to run beside the test binaries, after the build")
    parser.add_argument("args", nargs="*", help="passed to every test binary")
    options = parser.parse_args()
    binaries = test_binaries()
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    binaries.sort(key=lambda b: rank.get(b[0].rsplit(": ", 1)[1], len(rank)))
    failed = []
    timings = []
    with ThreadPoolExecutor(max_workers=options.jobs) as pool:
        futures = [pool.submit(run, (command, command, ROOT), []) for command in options.alongside]
        futures += [pool.submit(run, b, options.args) for b in binaries]
        for future in as_completed(futures):
            name, code, seconds, output = future.result()
            print(f"\n---- {name} ({seconds:.1f} s)\n{output}", end="", flush=True)
            timings.append((seconds, name))
            if code != 0:
                failed.append(name)
    print("\n== slowest test binaries")
    for seconds, name in sorted(timings, reverse=True)[:8]:
        print(f"{seconds:7.1f} s  {name}")
    # The doc tests, as `cargo test` would run them after the binaries.
    doc = subprocess.run(["cargo", "test", "--workspace", "--locked", "--doc", "-q"],
                         cwd=ROOT, check=False)
    if doc.returncode != 0:
        failed.append("doc tests")
    if failed:
        print(f"\nFAILED: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)
    print(f"\nall {len(binaries)} test binaries passed")


if __name__ == "__main__":
    main()
