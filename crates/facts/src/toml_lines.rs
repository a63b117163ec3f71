//! Line numbers for errors in TOML files, so messages can say `file:line`.

/// 1-based line number of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line of the first `key =` at or after byte `from`, else the line of `from`.
pub fn key_line(text: &str, from: usize, key: &str) -> usize {
    let first = line_of(text, from);
    text.lines()
        .enumerate()
        .skip(first - 1)
        .find(|(_, l)| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|(i, _)| i + 1)
        .unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_lines_and_keys() {
        let text = "a = 1\n[t]\nb = 2\nbb = 3\n";
        assert_eq!(line_of(text, 0), 1);
        assert_eq!(line_of(text, 6), 2);
        assert_eq!(key_line(text, 6, "bb"), 4);
        assert_eq!(key_line(text, 6, "b"), 3);
        assert_eq!(key_line(text, 6, "zz"), 2);
    }
}
