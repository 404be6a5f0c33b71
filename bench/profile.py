"""Where `hookline bench-local`'s CPU time goes, from `perf script` output of a run recorded with
call stacks (`perf record --call-graph dwarf`, scripts/bench.sh).

Each sample is charged to the first part of the pipeline found on its stack (the order below);
then the functions that were running (self time), the top entries.

    python bench/profile.py perf.txt   prints two Markdown tables
"""
import collections
import re
import sys

# First match wins: hookline's own code before the HTTP machinery that calls into it.
PARTS = [
    ("processor (hookline): claim, fetch call, state, update, complete",
     ("hookline::processor::", "hookline::pipeline::run_in_memory")),
    ("receiver (hookline): verify, parse, enqueue", ("hookline::receiver::",)),
    ("provider API stand-in answering the fetches (bench only)", ("provider_stub",)),
    ("load generator: the bench's HTTP client (bench only)", ("bench_local",)),
    ("HTTP client connections (hyper/reqwest): the load generator's and the fetches'",
     ("dispatch::Client<", "reqwest::")),
    ("HTTP server connections (hyper/axum): the receiver's and the stand-in's",
     ("dispatch::Server<", "axum::serve", "hyper_util::server")),
    ("tokio's scheduler", ("tokio::runtime",)),
]
ALLOCATOR = re.compile(r"^(malloc|free|cfree|realloc|calloc|_int_|__libc_|tcache|unlink_chunk|malloc_consolidate|mi_|_mi_)")


def samples(lines):
    """Each sample's frames, innermost first, as (symbol, dso)."""
    frames = []
    for line in lines:
        if not line.strip():
            if frames:
                yield frames
            frames = []
        elif line[0] in " \t":
            match = re.match(r"\s*[0-9a-f]+ (.*?)(?:\+0x[0-9a-f]+)? \((.*)\)\s*$", line)
            if match:
                frames.append((match.group(1), match.group(2)))
    if frames:
        yield frames


def short(symbol):
    """A symbol with its generic arguments' own arguments cut, short enough for a table."""
    depth, out = 0, []
    for ch in symbol:
        if ch == "<":
            depth += 1
            out.append("<" if depth == 1 else ("…" if depth == 2 else ""))
        elif ch == ">":
            if depth == 1:
                out.append(">")
            depth -= 1
        elif depth <= 1:
            out.append(ch)
    text = "".join(out)
    return (text[:100] + "…") if len(text) > 100 else text


def main(path):
    parts, leaves = collections.Counter(), collections.Counter()
    total = kernel = allocator = 0
    with open(path, errors="replace") as f:
        for frames in samples(f):
            total += 1
            stack = "\n".join(symbol for symbol, _ in frames)
            part = next((name for name, keys in PARTS if any(k in stack for k in keys)), "other")
            parts[part] += 1
            symbol, dso = frames[0]
            if "kernel" in dso:
                kernel += 1
            elif ALLOCATOR.match(symbol):
                allocator += 1
            where = "inlined into its caller" if dso == "inlined" else dso.rsplit("/", 1)[-1]
            leaves[(short(symbol), where)] += 1
    if not total:
        sys.exit("no samples")
    print(f"| part of the run ({total:,} samples) | share of CPU |")
    print("|---|---|")
    for name, count in parts.most_common():
        print(f"| {name} | {100 * count / total:.1f} % |")
    print(f"| (of all: in the kernel, mostly loopback TCP) | {100 * kernel / total:.1f} % |")
    print(f"| (of all: in the memory allocator) | {100 * allocator / total:.1f} % |")
    print()
    print("| top entries (self time) | where | share |")
    print("|---|---|---|")
    for (symbol, dso), count in leaves.most_common(15):
        print(f"| `{symbol}` | {dso} | {100 * count / total:.1f} % |")


if __name__ == "__main__":
    main(sys.argv[1])
