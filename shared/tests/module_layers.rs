//! The crate's modules import only downward: each top-level module of `shared/src` sits in one
//! layer (docs/src/architecture.md), and its code (comments and unit tests aside) names with
//! `crate::` only modules of its own layer or below, with no cycle anywhere. A new module must be
//! given a layer here. Prints the picture of the imports, layer by layer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top to bottom.
const LAYERS: &[(&str, &[&str])] = &[
    ("services", &["receiver", "processor", "poller"]),
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
            "tls",
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

/// Every `crate::` path in `code`, whole (`providers::octopus::transactions`), grouped imports
/// expanded (`use crate::{config, keyring::{Keyring, SecretList}}` gives `config`,
/// `keyring::Keyring` and `keyring::SecretList`).
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        expand("", &code[at + "crate::".len()..], &mut found);
    }
    found
}

/// Adds the paths `text` starts with, each after `prefix`; returns how much of `text` it read.
fn expand(prefix: &str, text: &str, found: &mut BTreeSet<String>) -> usize {
    let mut path = prefix.to_string();
    let mut at = 0;
    loop {
        let rest = &text[at..];
        let skipped = rest.len() - rest.trim_start().len();
        let rest = rest.trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            // A group: each item after this path, up to the matching brace.
            let mut read = skipped + 1;
            loop {
                read += expand(&path, &group[read - skipped - 1..], found);
                let after = &text[at + read..];
                let trimmed = after.trim_start();
                read += after.len() - trimmed.len();
                match trimmed.chars().next() {
                    Some(',') => read += 1,
                    Some('}') => return at + read + 1,
                    _ => return at + read,
                }
            }
        }
        let segment: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if segment.is_empty() {
            if !path.is_empty() {
                found.insert(path.trim_end_matches("::").to_string());
            }
            return at + skipped;
        }
        path.push_str(&segment);
        at += skipped + segment.len();
        if text[at..].starts_with("::") {
            path.push_str("::");
            at += 2;
        } else {
            found.insert(path);
            return at;
        }
    }
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
        let named: BTreeSet<String> = crate_paths(&source_of(&src.join(module)))
            .iter()
            .map(|path| path.split("::").next().unwrap_or_default().to_string())
            .collect();
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

#[test]
fn whole_paths_are_read_groups_included() {
    let paths = crate_paths(
        "use crate::{config, keyring::{Keyring, SecretList}};\nlet x = crate::providers::octopus::transactions::cursor_key(1);",
    );
    let expected: BTreeSet<String> = [
        "config",
        "keyring::Keyring",
        "keyring::SecretList",
        "providers::octopus::transactions::cursor_key",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(paths, expected);
}

/// Modules outside `providers/` that name a provider, and why. Each is a debt: the provider's
/// own code should move into its module and be reached through the registry.
const NAMES_A_PROVIDER: &[(&str, &str)] = &[(
    "poller/transactions.rs",
    "the wallet transactions poll exists for Octopus only; it should be an Octopus hook of the registry",
)];

/// What names a provider: its module (`providers::octopus`), its `Provider` variant, or its
/// name as a string (`"octopus"`), all read from `providers/` itself.
fn provider_names(src: &Path) -> Vec<String> {
    let registry = std::fs::read_to_string(src.join("providers/mod.rs")).expect("providers/mod.rs");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(src.join("providers"))
        .expect("providers/")
        .flatten()
    {
        if entry.path().is_dir() {
            let module = entry.file_name().to_string_lossy().into_owned();
            let spec = std::fs::read_to_string(entry.path().join("mod.rs")).unwrap_or_default();
            names.push(format!("providers::{module}"));
            for line in spec.lines() {
                if let Some(name) = line.trim().strip_prefix("name: \"") {
                    names.push(format!("\"{}", name.trim_end_matches(',')));
                }
            }
        }
    }
    let declared = registry
        .split("\nregistry! {")
        .nth(1)
        .and_then(|rest| rest.split('}').next())
        .expect("the registry! invocation");
    for line in declared.lines() {
        if let Some((variant, _)) = line.split_once("=>") {
            names.push(format!("Provider::{}", variant.trim()));
        }
    }
    names
}

/// The registry is the one place that knows the providers: no module outside `providers/` names
/// one (comments and unit tests aside), but the listed debts.
#[test]
fn no_module_outside_the_registry_names_a_provider() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let names = provider_names(&src);
    for expected in ["providers::octopus", "Provider::Octopus", "\"octopus\""] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    let mut found = Vec::new();
    let mut files = vec![src.clone()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            if path == src.join("providers") {
                continue;
            }
            files.extend(
                std::fs::read_dir(&path)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path()),
            );
            continue;
        }
        let relative = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if path.extension().is_none_or(|e| e != "rs")
            || relative == "lib.rs"
            || NAMES_A_PROVIDER
                .iter()
                .any(|(debt, _)| relative == *debt || relative.starts_with(&format!("{debt}/")))
        {
            continue;
        }
        let code = source_of(&path.with_extension(""));
        for name in &names {
            if code.contains(name.as_str()) {
                found.push(format!("{relative}: {name}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "provider named outside providers/: {found:?}"
    );
}
