//! The import rules of docs/architecture.md, checked on the source: every `crate::` path in
//! non-test code (in `use` lines and inline) must be allowed by the module's row of the
//! table; modules and the files of one module must not import each other in a cycle; the
//! tuner's library must not use the lab.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `module -> modules it may import`, from the table under the heading naming `src`.
fn allowed_table(doc: &str, src: &str) -> BTreeMap<String, BTreeSet<String>> {
    let heading = format!("(`{src}`)");
    let mut lines = doc
        .lines()
        .skip_while(|l| !(l.starts_with('#') && l.contains(&heading)));
    assert!(
        lines.next().is_some(),
        "docs/architecture.md has no heading naming `{src}`"
    );
    let rows: Vec<&str> = lines
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // the header and its separator
        .collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
            let names = |cell: &str| -> Vec<String> {
                cell.split(',')
                    .map(|n| n.trim().trim_matches('`').to_string())
                    .filter(|n| !n.is_empty() && n != "-")
                    .collect()
            };
            let module = names(cells[0])
                .pop()
                .expect("a module name in the first column");
            let allowed = names(cells.last().expect("a last column"))
                .into_iter()
                .collect();
            (module, allowed)
        })
        .collect()
}

/// Source with comments removed and string and character literals blanked, newlines kept,
/// so that paths are found in code only and line numbers still match.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |out: &mut String, s: &[u8]| {
        for &c in s {
            out.push(if c == b'\n' { '\n' } else { ' ' });
        }
    };
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            let end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            blank(&mut out, &rest[..end]);
            i += end;
        } else if rest.starts_with(b"/*") {
            let end = src[i + 2..].find("*/").map_or(rest.len(), |e| e + 4);
            blank(&mut out, &rest[..end]);
            i += end;
        } else if let Some(hashes) = raw_string_start(rest) {
            let close = format!("\"{}", "#".repeat(hashes));
            let open = hashes + 2;
            let end = src[i + open..]
                .find(&close)
                .map_or(rest.len(), |e| open + e + close.len());
            blank(&mut out, &rest[..end]);
            i += end;
        } else if rest[0] == b'"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(rest.len());
            blank(&mut out, &rest[..end]);
            i += end;
        } else if let Some(len) = char_literal(&src[i..]) {
            blank(&mut out, &rest[..len]);
            i += len;
        } else {
            let c = src[i..].chars().next().expect("in bounds");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `r"`, `r#"`, `br"`...: the number of `#`.
fn raw_string_start(s: &[u8]) -> Option<usize> {
    let s = s.strip_prefix(b"b").unwrap_or(s);
    let s = s.strip_prefix(b"r")?;
    let hashes = s.iter().take_while(|&&c| c == b'#').count();
    (s.get(hashes) == Some(&b'"')).then_some(hashes)
}

/// A character literal (`'x'`, `'\n'`, `'\''`; not a lifetime): its length in bytes.
fn char_literal(s: &str) -> Option<usize> {
    let rest = s.strip_prefix('\'')?;
    if let Some(escaped) = rest.strip_prefix('\\') {
        return Some(escaped.get(1..)?.find('\'')? + 4);
    }
    let c = rest.chars().next()?;
    rest[c.len_utf8()..]
        .starts_with('\'')
        .then_some(c.len_utf8() + 2)
}

/// Blanks every item marked `#[cfg(test)]` (a `mod tests { ... }`, a `mod sample;`, a `use`).
fn without_test_items(code: &str) -> String {
    let mut out: Vec<char> = code.chars().collect();
    let text: String = out.iter().collect();
    let mut from = 0;
    while let Some(at) = text[from..].find("#[cfg(test)]") {
        let start = from + at;
        let mut depth = 0;
        let mut end = text.len();
        for (k, c) in text[start..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = start + k + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = start + k + 1;
                    break;
                }
                _ => {}
            }
        }
        let (s, e) = (text[..start].chars().count(), text[..end].chars().count());
        for c in &mut out[s..e] {
            if *c != '\n' {
                *c = ' ';
            }
        }
        from = end;
    }
    out.into_iter().collect()
}

/// Files declared `#[cfg(test)] mod name;` by their parent: test code as a whole.
fn test_only_files(files: &BTreeMap<PathBuf, String>) -> BTreeSet<PathBuf> {
    let mut tests = BTreeSet::new();
    for (path, code) in files {
        let dir =
            if path.ends_with("mod.rs") || path.ends_with("lib.rs") || path.ends_with("main.rs") {
                path.parent().expect("a parent").to_path_buf()
            } else {
                path.with_extension("")
            };
        let lines: Vec<&str> = code.lines().collect();
        for pair in lines.windows(2) {
            if pair[0].trim() != "#[cfg(test)]" {
                continue;
            }
            let words: Vec<&str> = pair[1].trim().trim_end_matches(';').split(' ').collect();
            if let [.., "mod", name] = words.as_slice() {
                tests.insert(dir.join(format!("{name}.rs")));
                tests.insert(dir.join(name).join("mod.rs"));
            }
        }
    }
    tests
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file's module path under `src`: `tune/adaptive.rs` -> [tune, adaptive], `tune/mod.rs`
/// -> [tune], `lib.rs` -> [].
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file
        .strip_prefix(src)
        .expect("under src")
        .with_extension("");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// One import: where it is and the module path it names, from the crate root.
struct Import {
    line: usize,
    target: Vec<String>,
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths after `prefix` (`crate::`, `super::`) at byte `at`: one, or each of a `{...}`
/// group's first segments (`crate::{fit, tune::plan}` -> [fit], [tune, plan]).
fn paths_after(code: &str, at: usize) -> Vec<Vec<String>> {
    let rest = &code[at..];
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 0;
        let end = group
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => return true,
                    '}' => depth -= 1,
                    _ => {}
                }
                false
            })
            .map_or(group.len(), |(k, _)| k);
        let mut items = Vec::new();
        let (mut depth, mut item) = (0, String::new());
        for c in group[..end].chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => items.push(std::mem::take(&mut item)),
                _ => item.push(c),
            }
        }
        items.push(item);
        return items
            .iter()
            .filter_map(|i| {
                let segments: Vec<String> = i
                    .trim()
                    .split("::")
                    .map(|s| s.trim().to_string())
                    .take_while(|s| !s.is_empty() && s.chars().all(is_ident))
                    .collect();
                (!segments.is_empty()).then_some(segments)
            })
            .collect();
    }
    let mut segments = Vec::new();
    let mut tail = rest;
    loop {
        let len = tail.find(|c: char| !is_ident(c)).unwrap_or(tail.len());
        if len == 0 {
            break;
        }
        segments.push(tail[..len].to_string());
        match tail[len..].strip_prefix("::") {
            Some(next) if next.starts_with(is_ident) => tail = next,
            _ => break,
        }
    }
    vec![segments]
}

/// Every `crate::` and `super::` path of a file, resolved from the crate root.
fn imports(code: &str, module: &[String]) -> Vec<Import> {
    // `super` in `a/b.rs` is `a`; in `a/mod.rs` (module `a`) it is the crate root.
    let parent = &module[..module.len().saturating_sub(1)];
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = next_path(code, at) {
        let (base, after) = if code[start..].starts_with("crate::") {
            (Vec::new(), start + "crate::".len())
        } else {
            let mut base = parent.to_vec();
            let mut after = start + "super::".len();
            while code[after..].starts_with("super::") {
                base.pop();
                after += "super::".len();
            }
            (base, after)
        };
        let preceded = code[..start].chars().next_back().is_some_and(is_ident);
        if !preceded {
            let line = code[..start].matches('\n').count() + 1;
            for path in paths_after(code, after) {
                let mut target = base.clone();
                target.extend(path);
                found.push(Import { line, target });
            }
        }
        at = after;
    }
    found
}

/// Where the next `crate::` or `super::` starts, from byte `at`.
fn next_path(code: &str, at: usize) -> Option<usize> {
    let find = |prefix: &str| code[at..].find(prefix).map(|k| at + k);
    match (find("crate::"), find("super::")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The first cycle in a graph, as its nodes in order.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut found = stack[at..].to_vec();
            found.push(node.to_string());
            return Some(found);
        }
        if !done.insert(node.to_string()) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, stack, done) {
                return Some(found);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

/// What is wrong with the imports of the crate at `src`, per the table in the doc.
fn violations(doc: &str, src_name: &str) -> Vec<String> {
    let src = root().join(src_name);
    let table = allowed_table(doc, src_name);
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    let files: BTreeMap<PathBuf, String> = paths
        .into_iter()
        .map(|p| {
            let code = code_only(&std::fs::read_to_string(&p).expect("readable source"));
            (p, code)
        })
        .collect();
    let tests = test_only_files(&files);
    let mut wrong = Vec::new();
    let mut modules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // Per directory, which of its files (siblings) import which.
    let mut siblings: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (full, code) in files.iter().filter(|(p, _)| !tests.contains(*p)) {
        let module = module_path(&src, full);
        let path = full.strip_prefix(root()).unwrap_or(full);
        let is_mod_file = path.file_stem().is_some_and(|s| s == "mod");
        let Some(top) = module.first() else {
            continue; // lib.rs and main.rs declare the modules
        };
        let code = without_test_items(code);
        if src_name.starts_with("crates/memtune") {
            for (n, line) in code.lines().enumerate() {
                if line.contains("memtune_lab") {
                    wrong.push(format!(
                        "{}:{}: the tuner's library uses the lab",
                        path.display(),
                        n + 1
                    ));
                }
            }
        }
        let Some(allowed) = table.get(top) else {
            wrong.push(format!(
                "{}: module `{top}` has no row in docs/architecture.md",
                path.display()
            ));
            continue;
        };
        for import in imports(&code, &module) {
            let Some(target) = import.target.first() else {
                continue;
            };
            if !table.contains_key(target) {
                continue; // an item of the crate root, not a module
            }
            if target != top {
                modules
                    .entry(top.clone())
                    .or_default()
                    .insert(target.clone());
                if !allowed.contains(target) {
                    wrong.push(format!(
                        "{}:{}: `{top}` imports `{target}`, which docs/architecture.md does not allow",
                        path.display(),
                        import.line
                    ));
                }
            } else if !is_mod_file && module.len() >= 2 {
                // A sibling file of the same directory.
                let dir = module[..module.len() - 1].to_vec();
                let me = module[module.len() - 1].clone();
                if let Some(other) = import.target.get(dir.len()) {
                    if import.target.starts_with(&dir) && *other != me {
                        siblings
                            .entry(dir)
                            .or_default()
                            .entry(me)
                            .or_default()
                            .insert(other.clone());
                    }
                }
            }
        }
    }
    if let Some(c) = cycle(&modules) {
        wrong.push(format!(
            "modules import each other in a cycle: {}",
            c.join(" -> ")
        ));
    }
    if let Some(c) = cycle(&table) {
        wrong.push(format!(
            "docs/architecture.md allows a cycle: {}",
            c.join(" -> ")
        ));
    }
    for (dir, graph) in &siblings {
        if let Some(c) = cycle(graph) {
            wrong.push(format!(
                "files of `{}` import each other in a cycle: {}",
                dir.join("::"),
                c.join(" -> ")
            ));
        }
    }
    wrong
}

fn doc() -> String {
    std::fs::read_to_string(root().join("docs/architecture.md")).expect("docs/architecture.md")
}

#[test]
fn the_library_imports_only_what_docs_architecture_allows() {
    let wrong = violations(&doc(), "crates/memtune/src");
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn the_binary_imports_only_what_docs_architecture_allows() {
    let wrong = violations(&doc(), "src");
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn the_library_does_not_depend_on_the_lab() {
    let manifest = std::fs::read_to_string(root().join("crates/memtune/Cargo.toml"))
        .expect("crates/memtune/Cargo.toml");
    assert!(
        !manifest.contains("memtune-lab"),
        "crates/memtune/Cargo.toml names memtune-lab"
    );
}
