//! Shell-style name patterns: `*` matches any run of characters, `?` any one character.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob(String);

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        Glob(pattern.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let pattern: Vec<char> = self.0.chars().collect();
        let text: Vec<char> = text.chars().collect();
        let (mut p, mut t) = (0, 0);
        // Where the last `*` was, and the text position it currently swallows up to.
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match pattern.get(p) {
                Some('*') => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(&c) if c == '?' || c == text[t] => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        p = sp + 1;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        pattern[p..].iter().all(|&c| c == '*')
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    #[test]
    fn stars_and_question_marks() {
        let cases = [
            ("orders-*", "orders-api", true),
            ("orders-*", "orders-", true),
            ("orders-*", "order-api", false),
            ("*-canary", "checkout-canary", true),
            ("*-canary", "checkout-canary-2", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("img-??", "img-01", true),
            ("img-??", "img-1", false),
            ("*", "", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("python3.*", "python3.12", true),
        ];
        for (pattern, text, expect) in cases {
            assert_eq!(
                Glob::new(pattern).matches(text),
                expect,
                "{pattern} vs {text}"
            );
        }
    }
}
