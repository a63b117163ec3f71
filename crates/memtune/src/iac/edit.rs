//! Byte-range edits on a file's text (nothing is re-serialised), and the unified diff of the
//! result.

use std::ops::Range;

/// Replace `range` with `text` (an empty range inserts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub text: String,
}

/// `text` with non-overlapping `edits` applied.
pub fn apply(text: &str, edits: &[Edit]) -> String {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for edit in sorted {
        out.push_str(&text[at..edit.range.start]);
        out.push_str(&edit.text);
        at = edit.range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// A unified diff with `a/` and `b/` headers, as git prints.
pub fn unified_diff(path: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_in_order_of_position() {
        let text = "a: 1\nb: 2\n";
        let edits = [
            Edit {
                range: 8..9,
                text: "20".into(),
            },
            Edit {
                range: 0..0,
                text: "z: 0\n".into(),
            },
        ];
        assert_eq!(apply(text, &edits), "z: 0\na: 1\nb: 20\n");
        let diff = unified_diff("f.yaml", text, &apply(text, &edits));
        assert!(diff.contains("--- a/f.yaml\n+++ b/f.yaml\n"), "{diff}");
        assert!(diff.contains("-b: 2\n+b: 20\n"), "{diff}");
    }
}
