//! The layout's rules, checked: imports point down the data flow or into the leaves, never
//! back (the graph in `docs/architecture.md`), and no source file grows past what one reader
//! holds in mind. A new top-level module must be added to [`ALLOWED`] (and to the map).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Shared leaves: every module may import them; they import nothing of the crate.
const LEAVES: [&str; 6] = ["clock", "backoff", "log_budget", "h264", "audio", "config"];

/// Each top-level module and the non-leaf modules it may import. `app` wires everything.
const ALLOWED: &[(&str, &[&str])] = &[
    ("clock", &[]),
    ("backoff", &[]),
    ("log_budget", &[]),
    ("h264", &[]),
    ("audio", &[]),
    ("config", &[]),
    ("capture", &[]),
    ("encode", &["capture"]),
    ("fanout", &["encode", "capture"]),
    ("peer", &["fanout"]),
    ("talkback", &["peer"]),
    ("publish", &["peer"]),
    ("signaling", &[]),
    ("http", &[]),
    ("broker", &[]),
    ("probe", &["capture"]),
    ("systemd", &[]),
    ("telemetry", &[]),
    (
        "app",
        &[
            "capture",
            "encode",
            "fanout",
            "peer",
            "talkback",
            "publish",
            "signaling",
            "http",
            "broker",
            "probe",
            "systemd",
            "telemetry",
        ],
    ),
];

/// Longest source file, in lines.
const MAX_LINES: usize = 400;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under `src/` belongs to (`None`: the crate root files).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// What `crate::NAME` refers to, by top-level module; root items count as leaves.
fn target_of(name: &str) -> Option<&str> {
    match name {
        "VERSION" | "install_crypto_provider" | "shutdown_signal" => None,
        "Config" => Some("config"),
        "run" | "Error" => Some("app"),
        other => Some(other),
    }
}

/// The `crate::x` paths of code lines (comments are skipped: a doc link is no import).
fn crate_refs(text: &str) -> Vec<(usize, String)> {
    let mut refs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `$crate::` in macros and `use crate::{a, b}` are not used here; a group would
            // show up as an empty name and fail loudly below.
            refs.push((n + 1, name));
            rest = after;
        }
    }
    refs
}

#[test]
fn imports_point_down_the_flow_or_into_leaves() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut broken = Vec::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        // This file's own strings name modules: it is the checker, not a module of the flow.
        if module == "layout_tests" {
            continue;
        }
        let Some(may) = allowed.get(module.as_str()) else {
            broken.push(format!(
                "{}: module `{module}` is not in the layout (add it to ALLOWED and docs/architecture.md)",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read source");
        for (line, name) in crate_refs(&text) {
            let Some(target) = target_of(&name) else {
                continue;
            };
            let leaf = LEAVES.contains(&target) && !LEAVES.contains(&module.as_str());
            let ok = target == module || leaf || may.contains(&target);
            if !ok {
                broken.push(format!(
                    "{}:{line}: `{module}` imports `crate::{name}`, against the flow",
                    file.display()
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports that break docs/architecture.md:\n{}",
        broken.join("\n")
    );
}

#[test]
fn source_files_stay_small() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "examples"] {
        rust_files(&root.join(dir), &mut files);
    }
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).ok()?.lines().count();
            (n > MAX_LINES).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines: split them by job:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_checker_sees_imports_and_skips_comments() {
    let text = "use crate::fanout::Fanout;\n/// see [`crate::app`]\nlet x = crate::VERSION;\n";
    let refs: Vec<String> = crate_refs(text).into_iter().map(|(_, n)| n).collect();
    assert_eq!(refs, vec!["fanout".to_string(), "VERSION".to_string()]);
}
