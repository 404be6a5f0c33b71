//! The crate's modules import only downward: each top-level module of `shared/src` sits in one
//! layer (README, Architecture), and its code (comments and unit tests aside) names with
//! `crate::` only modules of its own layer or below, with no cycle anywhere. A new module must be
//! given a layer here. Prints the picture of the imports, layer by layer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top to bottom.
const LAYERS: &[(&str, &[&str])] = &[
    ("harness", &["faults"]),
    ("services", &["receiver", "processor", "poller", "cost"]),
    ("registry", &["providers"]),
    (
        "adapters",
        &[
            "order_api",
            "api_auth",
            "api_budget",
            "secrets_manager",
            "emulator",
            "archive",
        ],
    ),
    (
        "domain",
        &[
            "webhook",
            "plan",
            "order_update",
            "order_state",
            "idempotency",
            "watch",
            "cursor",
            "message",
            "test_event",
            "keyring",
            "order",
            "redact",
        ],
    ),
    (
        "ground",
        &[
            "dynamo",
            "queue",
            "store",
            "signature",
            "config",
            "clock",
            "aws",
            "metrics",
            "telemetry",
            "dev_defaults",
            "usage",
            "warm_up",
            "retry_after",
        ],
    ),
];

fn source_of(module: &Path) -> String {
    let mut files = Vec::new();
    if module.with_extension("rs").is_file() {
        files.push(module.with_extension("rs"));
    }
    let mut dirs = vec![module.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file).expect("readable source");
            // Unit tests may reach anywhere; comments are not imports.
            let code = text
                .split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap_or_default();
            code.lines()
                .map(|line| line.split("//").next().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect()
}

/// The first segment of every `crate::` path in `code`, grouped imports included
/// (`use crate::{config, keyring::Keyring}`).
fn crate_paths(code: &str) -> BTreeSet<String> {
    let ident = |text: &str| -> String {
        text.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut part = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.insert(ident(&part));
                        part.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    part.push(c);
                }
            }
            found.insert(ident(&part));
        } else {
            found.insert(ident(rest));
        }
    }
    found
}

/// The top-level modules `lib.rs` declares.
fn declared(src: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(src.join("lib.rs"))
        .expect("lib.rs")
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub mod "))
        .map(|rest| rest.trim_end_matches(';').to_string())
        .collect()
}

#[test]
fn modules_import_only_downward_and_without_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layer_of: BTreeMap<&str, usize> = LAYERS
        .iter()
        .enumerate()
        .flat_map(|(rank, (_, modules))| modules.iter().map(move |m| (*m, rank)))
        .collect();
    let modules = declared(&src);
    let placed: BTreeSet<String> = layer_of.keys().map(|m| m.to_string()).collect();
    assert_eq!(modules, placed, "every module of lib.rs has one layer here");

    let mut imports: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for module in layer_of.keys() {
        let named = crate_paths(&source_of(&src.join(module)));
        let used = layer_of
            .keys()
            .filter(|other| *other != module && named.contains(**other))
            .copied()
            .collect();
        imports.insert(module, used);
    }

    let mut upward = Vec::new();
    for (module, used) in &imports {
        for target in used {
            if layer_of[target] < layer_of[module] {
                upward.push(format!("{module} -> {target}"));
            }
        }
    }
    assert!(upward.is_empty(), "imports pointing up: {upward:?}");

    // No cycle: repeatedly remove modules that import nothing left.
    let mut left = imports.clone();
    while let Some(free) = left
        .iter()
        .find(|(_, used)| used.iter().all(|u| !left.contains_key(u)))
        .map(|(m, _)| *m)
    {
        left.remove(free);
    }
    assert!(left.is_empty(), "a cycle among {:?}", left.keys());

    for (name, modules) in LAYERS {
        println!("{name}:");
        for module in *modules {
            let used: Vec<_> = imports[module].iter().copied().collect();
            println!("  {module:<16} -> {}", used.join(", "));
        }
    }
}
