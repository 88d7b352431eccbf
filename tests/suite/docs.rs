//! The README and the pages in `docs/` name only paths that exist and show only commands the
//! binary takes: every repository path they name (in backticks, or as a link) is a file or
//! folder of this checkout, and every `plastic-zoo` command they show (in a shell block, or
//! inline) names a real subcommand and model, and each of its flags is one that
//! subcommand's `--help` lists.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::common::*;

/// Where the repository's own paths start.
const ROOTS: &[&str] = &[
    "src/",
    "models/",
    "tasks/",
    "tests/",
    "docs/",
    "checkpoints/zoo/",
    "tools/",
    "assets/",
    "plans/",
    ".ci/",
    "Cargo.toml",
];

/// The subcommands a command shown in the docs may start with.
const SUBCOMMANDS: &[&str] = &[
    "train", "eval", "export", "import", "bench", "compare", "list", "backends", "sweep", "collect",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The README and every page of `docs/`, with their text.
fn documents() -> Vec<(PathBuf, String)> {
    let mut paths = vec![root().join("README.md")];
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    paths.extend(pages);
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path, text)
        })
        .collect()
}

/// The code of a document: each inline `span`, and each line of a fenced block (a shell
/// line's trailing `# comment` cut off).
fn code_of(text: &str) -> Vec<String> {
    let mut code = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            let line = match line.find(" # ") {
                Some(at) => &line[..at],
                None => line,
            };
            if !line.trim_start().starts_with('#') {
                code.push(line.trim().to_string());
            }
            continue;
        }
        code.extend(
            line.split('`')
                .skip(1)
                .step_by(2)
                .map(|span| span.trim().to_string()),
        );
    }
    code
}

/// The relative links of a document, `[text](target)`, without their anchors.
fn links_of(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|target| target.split('#').next().unwrap_or("").to_string())
        .filter(|target| !target.is_empty() && !target.contains("://"))
        .collect()
}

/// A span that names a path of this repository, or None for anything else (placeholders
/// such as `<model>`, globs and commands included).
fn repository_path(span: &str) -> Option<String> {
    let path = span.trim_end_matches([':', ',', '.', ';']);
    let path = path.split('#').next().unwrap_or(path);
    let named = ROOTS.iter().any(|root| path.starts_with(root));
    let concrete = !path.contains([' ', '<', '>', '*', '{', '}', '…', '|', '[', '$']);
    (named && concrete).then(|| path.to_string())
}

#[test]
fn every_path_the_readme_and_docs_name_exists() {
    let mut missing = Vec::new();
    let mut checked = 0;
    for (document, text) in documents() {
        let name = document.strip_prefix(root()).unwrap().display().to_string();
        for path in code_of(&text).iter().filter_map(|s| repository_path(s)) {
            checked += 1;
            if !root().join(&path).exists() {
                missing.push(format!("{name}: `{path}`"));
            }
        }
        let folder = document.parent().unwrap();
        for link in links_of(&text) {
            checked += 1;
            if !folder.join(&link).exists() {
                missing.push(format!("{name}: link ({link})"));
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} paths found: is the parser blind?"
    );
    assert!(
        missing.is_empty(),
        "paths named but not here:\n{}",
        missing.join("\n")
    );
}

/// The words of a `plastic-zoo` command in `code`, from its subcommand on (global flags
/// before it kept), or None when `code` shows no such command.
fn command_words(code: &str) -> Option<Vec<String>> {
    let words: Vec<&str> = code.split_whitespace().collect();
    let start = if let Some(at) = words.iter().position(|w| *w == "plastic-zoo") {
        at + 1
    } else if words.first() == Some(&"cargo") && words.get(1) == Some(&"run") {
        words.iter().position(|w| *w == "--")? + 1
    } else if words.first().is_some_and(|w| SUBCOMMANDS.contains(w)) {
        0
    } else {
        return None;
    };
    let words: Vec<String> = words[start..]
        .iter()
        .take_while(|w| !w.starts_with(['#', '&', '>', '|']))
        .map(|w| w.trim_matches(['[', ']', '(', ')', ',']).to_string())
        .collect();
    words
        .iter()
        .any(|w| SUBCOMMANDS.contains(&w.as_str()))
        .then_some(words)
}

/// Checks one command against the binary's own help; returns what is wrong with it.
fn check_command(words: &[String], help_of: &mut HashMap<Vec<String>, String>) -> Option<String> {
    let mut rest = words
        .iter()
        .skip_while(|w| w.starts_with('-') || *w == "wgpu" || *w == "flex" || *w == "ndarray");
    let subcommand = rest.next()?.clone();
    if !SUBCOMMANDS.contains(&subcommand.as_str()) {
        return Some(format!("unknown subcommand `{subcommand}`"));
    }
    let mut path = vec![subcommand.clone()];
    if subcommand == "train" || subcommand == "bench" {
        let model = rest.next()?.clone();
        if model.starts_with('<') || model.starts_with('-') {
            return None;
        }
        path.push(model);
    }
    let help = help_of.entry(path.clone()).or_insert_with(|| {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = zoo(&args);
        if out.status.success() {
            stdout(&out)
        } else {
            String::new()
        }
    });
    if help.is_empty() {
        return Some(format!("`{}` is not a command", path.join(" ")));
    }
    let unknown: Vec<&str> = words
        .iter()
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.split('=').next().unwrap())
        .filter(|flag| {
            !help.match_indices(flag).any(|(at, _)| {
                let next = help[at + flag.len()..].chars().next();
                !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
            })
        })
        .collect();
    (!unknown.is_empty())
        .then(|| format!("`{}` does not take {}", path.join(" "), unknown.join(", ")))
}

#[test]
fn every_command_the_readme_and_docs_show_parses() {
    let mut wrong = Vec::new();
    let mut help_of = HashMap::new();
    let mut checked = 0;
    for (document, text) in documents() {
        let name = document.strip_prefix(root()).unwrap().display().to_string();
        for code in code_of(&text) {
            let Some(words) = command_words(&code) else {
                continue;
            };
            checked += 1;
            if let Some(problem) = check_command(&words, &mut help_of) {
                wrong.push(format!("{name}: {problem}: {code}"));
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} commands found: is the parser blind?"
    );
    assert!(
        wrong.is_empty(),
        "commands the binary does not take:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_checker_catches_a_flag_and_a_path_that_do_not_exist() {
    let mut help_of = HashMap::new();
    let words = command_words("plastic-zoo train hopfield --neurons 50 --bogus-flag 1").unwrap();
    let problem = check_command(&words, &mut help_of).expect("a wrong flag is caught");
    assert!(
        problem.contains("--bogus-flag") && !problem.contains("--patterns"),
        "{problem}"
    );
    let words = command_words("cargo run --release -- --json train hopfield --neurons 50").unwrap();
    assert_eq!(check_command(&words, &mut help_of), None);
    let words = command_words("plastic-zoo train no-such-model").unwrap();
    assert!(check_command(&words, &mut help_of).is_some());
    assert_eq!(
        repository_path("src/no_such_file.rs:"),
        Some("src/no_such_file.rs".into())
    );
    assert_eq!(repository_path("tests/<name>/main.rs"), None);
}
