//! CloudWatch Logs filter patterns for unstructured events: terms that must all appear
//! (`REPORT "Init Duration"`), optional terms of which one must appear (`?ERROR ?WARN`) and
//! excluded terms (`-START`), matched case-sensitively. JSON (`{ $.x = 1 }`), space-delimited
//! (`[a, b]`) and regex (`%...%`) patterns are refused with a clear error.

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FilterPattern {
    required: Vec<String>,
    any_of: Vec<String>,
    excluded: Vec<String>,
}

impl FilterPattern {
    pub fn parse(text: &str) -> Result<FilterPattern, String> {
        let text = text.trim();
        if let Some(first) = text.chars().next().filter(|c| matches!(c, '{' | '[' | '%')) {
            return Err(format!(
                "The lab supports term filter patterns only (such as REPORT or \"Init Duration\"), \
                 not patterns starting with '{first}'"
            ));
        }
        let mut pattern = FilterPattern::default();
        for raw in split_terms(text)? {
            let (list, term) = match raw.chars().next() {
                Some('?') => (&mut pattern.any_of, &raw[1..]),
                Some('-') if raw.len() > 1 => (&mut pattern.excluded, &raw[1..]),
                _ => (&mut pattern.required, raw.as_str()),
            };
            let term = term
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .unwrap_or(term);
            if !term.is_empty() {
                list.push(term.to_string());
            }
        }
        Ok(pattern)
    }

    pub fn matches(&self, message: &str) -> bool {
        self.required.iter().all(|t| message.contains(t.as_str()))
            && (self.any_of.is_empty() || self.any_of.iter().any(|t| message.contains(t.as_str())))
            && !self.excluded.iter().any(|t| message.contains(t.as_str()))
    }
}

/// Splits on whitespace outside double quotes, keeping the quotes.
fn split_terms(text: &str) -> Result<Vec<String>, String> {
    let mut terms = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    terms.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if quoted {
        return Err("The filter pattern has an unterminated quoted term".into());
    }
    if !current.is_empty() {
        terms.push(current);
    }
    Ok(terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "REPORT RequestId: 1\tDuration: 2.00 ms\tInit Duration: 3.00 ms\t\n";

    #[test]
    fn terms_quotes_options_and_exclusions() {
        let m = |p: &str| FilterPattern::parse(p).unwrap().matches(REPORT);
        assert!(m(""));
        assert!(m("REPORT"));
        assert!(m("\"REPORT\""));
        assert!(m("REPORT \"Init Duration\""));
        assert!(!m("\"Init  Duration\""));
        assert!(!m("report"));
        assert!(m("?START ?REPORT"));
        assert!(!m("?START ?END"));
        assert!(!m("REPORT -Init"));
    }

    #[test]
    fn structured_patterns_are_refused() {
        assert!(FilterPattern::parse("{ $.type = \"x\" }").is_err());
        assert!(FilterPattern::parse("[ip, user]").is_err());
        assert!(FilterPattern::parse("\"open").is_err());
    }
}
