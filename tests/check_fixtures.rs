//! Every check has a fixture under `tests/fixtures/check/` that violates it; this test
//! runs each one as `gcc check` does (check, then the plan's refusals: the HA proof, a
//! release with no chart) and asserts the exact diagnostics: code, file, line and column.
//!
//! Fixture format (`*.case`):
//! - header lines before the first file: `# text` is a comment; `#! CODE PATH:LINE:COL`
//!   expects a diagnostic at an explicit place;
//! - `=== PATH` starts a file of the fixture's source tree; the environment is `test`;
//! - inside a file, a comment line `#   ^ CODE` expects a diagnostic at the column of the
//!   caret on the nearest line above that is not such a caret line.
//!
//! The expected list must equal the produced list exactly (errors and warnings), so a
//! fixture also proves that nothing else is reported.

use std::path::Path;

use gcc::compile::vet;
use gcc::diag::render_text;
use gcc::load::load;
use gcc::source::MemSource;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Expect {
    code: String,
    path: String,
    line: usize,
    column: usize,
}

fn parse_case(text: &str) -> (MemSource, Vec<Expect>) {
    let mut src = MemSource::new();
    let mut expects = Vec::new();
    let mut current: Option<(String, Vec<String>)> = None;
    let flush = |cur: &mut Option<(String, Vec<String>)>,
                 src: &mut MemSource,
                 expects: &mut Vec<Expect>| {
        if let Some((path, lines)) = cur.take() {
            let mut last_line = 0;
            for (i, line) in lines.iter().enumerate() {
                let trimmed = line.trim_start();
                if let Some(rest) = trimmed.strip_prefix('#') {
                    let rest_trim = rest.trim_start();
                    if let Some(code) = rest_trim.strip_prefix('^') {
                        let column = line[..line.find('^').unwrap()].chars().count() + 1;
                        expects.push(Expect {
                            code: code.trim().to_string(),
                            path: path.clone(),
                            line: last_line,
                            column,
                        });
                        continue;
                    }
                }
                last_line = i + 1;
            }
            let mut body = lines.join("\n");
            body.push('\n');
            src.insert(path, body);
        }
    };
    for line in text.lines() {
        if let Some(path) = line.strip_prefix("=== ") {
            flush(&mut current, &mut src, &mut expects);
            current = Some((path.trim().to_string(), Vec::new()));
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(line.to_string());
        } else if let Some(spec) = line.strip_prefix("#!") {
            let mut parts = spec.split_whitespace();
            let code = parts.next().expect("code").to_string();
            let place = parts.next().expect("PATH:LINE:COL");
            let mut p = place.rsplitn(3, ':');
            let column = p.next().unwrap().parse().unwrap();
            let line = p.next().unwrap().parse().unwrap();
            let path = p.next().unwrap().to_string();
            expects.push(Expect {
                code,
                path,
                line,
                column,
            });
        }
    }
    flush(&mut current, &mut src, &mut expects);
    expects.sort();
    (src, expects)
}

/// Runs one fixture; returns its diagnostics rendered as text (message, labels, help).
fn run_case(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).unwrap();
    let (src, expected) = parse_case(&text);
    if expected.is_empty()
        && !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("ok-")
    {
        return Err("fixture expects nothing; name valid fixtures ok-*.case".into());
    }
    let loaded = load(&src, "test").map_err(|f| format!("fatal: {:?}", f.0))?;
    let checked = vet(&loaded);
    let mut actual: Vec<Expect> = checked
        .diagnostics
        .iter()
        .map(|d| match d.primary.as_ref() {
            Some(l) => {
                let (line, column) = loaded.files.line_col(l.file, l.span.start);
                Expect {
                    code: d.code.to_string(),
                    path: loaded.files.get(l.file).path.clone(),
                    line,
                    column,
                }
            }
            // Every diagnostic of an input points into it; one that does not fails here.
            None => Expect {
                code: d.code.to_string(),
                path: "<nowhere>".into(),
                line: 0,
                column: 0,
            },
        })
        .collect();
    actual.sort();
    if actual != expected {
        return Err(format!(
            "expected {expected:#?}\nactual {actual:#?}\n{}",
            render_text(&loaded.files, &checked.diagnostics, false)
        ));
    }
    let has_error = checked.diagnostics.iter().any(|d| d.is_error());
    if has_error == checked.model.is_some() {
        return Err("a model must be produced exactly when there is no error".into());
    }
    Ok(render_text(&loaded.files, &checked.diagnostics, false))
}

fn cases() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "case"))
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_fixture_reports_exactly_what_it_expects() {
    let mut failures = Vec::new();
    let cases = cases();
    let mut rendered = Vec::new();
    for case in &cases {
        match run_case(case) {
            Ok(text) => rendered.push((case, text)),
            Err(e) => failures.push(format!("{}:\n{e}", case.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing fixtures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // Code and place are not all a user reads: the message, labels and help of every
    // fixture are snapshots (tests/snapshots/check_fixtures__<fixture>.snap).
    for (case, text) in rendered {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(name, text);
    }
    assert!(cases.len() > 40, "fixtures missing: only {}", cases.len());
}

/// Whether `line` names a diagnostic constant of the crate (`gcc::compile::RENDER`): a
/// line comparing a constant with its own text proves nothing about what gcc reports.
fn names_a_constant(line: &str) -> bool {
    line.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| t.starts_with("gcc::"))
        .any(|t| {
            let last = t.rsplit("::").next().unwrap_or("");
            !last.is_empty() && last.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        })
}

/// Every diagnostic code defined in `src/` is registered in `gcc::codes::ALL`, and
/// produced by a fixture (whose expectations
/// the test above proves are exactly what check reports) or asserted on by a test that
/// reads gcc's output: a line naming the code's text, not the constant that holds it.
#[test]
fn every_code_has_a_fixture_or_test() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut corpus = String::new();
    for case in cases() {
        for line in std::fs::read_to_string(case).unwrap().lines() {
            let t = line.trim_start();
            if t.starts_with("#!") || t.trim_start_matches('#').trim_start().starts_with('^') {
                corpus.push_str(line);
                corpus.push('\n');
            }
        }
    }
    for entry in std::fs::read_dir(root.join("tests")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "rs") && p.file_name().unwrap() != "check_fixtures.rs"
        {
            for line in std::fs::read_to_string(p).unwrap().lines() {
                if !names_a_constant(line) {
                    corpus.push_str(line);
                    corpus.push('\n');
                }
            }
        }
    }
    // Every code defined in src/ is in the registry (gcc::codes::ALL), and only those.
    let mut defined = std::collections::BTreeSet::new();
    let mut stack = vec![root.join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for line in text.lines() {
                let line = line.trim();
                let constant = ["pub const ", "pub(crate) const "]
                    .iter()
                    .any(|p| line.starts_with(p));
                if constant && line.contains(": &str = \"gcc::") {
                    defined.insert(line.split('"').nth(1).unwrap().to_string());
                }
            }
        }
    }
    let registered: std::collections::BTreeSet<String> =
        gcc::codes::ALL.iter().map(|c| c.name.to_string()).collect();
    assert_eq!(defined, registered, "src/ codes vs gcc::codes::ALL");
    let mut missing: Vec<&str> = gcc::codes::ALL
        .iter()
        .map(|c| c.name)
        .filter(|code| !corpus.contains(code))
        .collect();
    missing.sort();
    assert!(
        missing.is_empty(),
        "codes without a fixture or test: {missing:?}"
    );
}
