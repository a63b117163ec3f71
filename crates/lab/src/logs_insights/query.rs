//! A parser for the subset of the CloudWatch Logs Insights query language the lab evaluates:
//! `fields`/`display`, `filter`, one `stats ... by ...`, `sort` and `limit`, with arithmetic,
//! comparisons, `like "text"`, `and`/`or`/`not`, `ispresent(field)`, `strcontains(expr, "text")`
//! and the aggregates
//! `count`, `sum`, `avg`, `min`, `max` and `pct`/`percentile`. Anything else is a compile error
//! that says what the lab supports, never a silently wrong answer.

use std::fmt;

/// A query that does not compile, with the character offset Insights would point at.
#[derive(Debug, Clone, PartialEq)]
pub struct CompileError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.offset)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub commands: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Fields(Vec<Projection>),
    Filter(Expr),
    Stats(Stats),
    Sort(Vec<SortKey>),
    Limit(usize),
}

/// An output column: an expression and the name it is shown under.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub expr: Expr,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub aggregates: Vec<Aggregate>,
    pub by: Vec<GroupKey>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub function: AggregateFn,
    /// None for `count(*)`.
    pub arg: Option<Expr>,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AggregateFn {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    /// pct(field, N): the fraction N/100.
    Pct(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum GroupKey {
    /// bin(5m): the start of the bin holding @timestamp.
    Bin {
        width_ms: i64,
        name: String,
    },
    Expr(Projection),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub field: String,
    pub descending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Field(String),
    Number(f64),
    Text(String),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    IsPresent(String),
    /// 1 when the text contains the string, else 0 (Insights' `strcontains`).
    StrContains(Box<Expr>, String),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
}

impl Query {
    pub fn stats(&self) -> Option<&Stats> {
        self.commands.iter().find_map(|c| match c {
            Command::Stats(s) => Some(s),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Field(String),
    Number(f64),
    Text(String),
    Symbol(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
struct Spanned {
    token: Token,
    start: usize,
    end: usize,
}

const SYMBOLS: [&str; 15] = [
    "!=", "<=", ">=", "=~", "|", ",", "(", ")", "=", "<", ">", "+", "-", "*", "/",
];

fn error<T>(offset: usize, message: impl Into<String>) -> Result<T, CompileError> {
    Err(CompileError {
        offset,
        message: message.into(),
    })
}

fn tokenize(text: &str) -> Result<Vec<Spanned>, CompileError> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let end_of = |j: usize| chars.get(j).map_or(text.len(), |c| c.0);
        let (token, next) = if c == '"' || c == '\'' {
            let close = (i + 1..chars.len()).find(|&j| chars[j].1 == c);
            let Some(close) = close else {
                return error(start, "unterminated string");
            };
            (
                Token::Text(text[end_of(i + 1)..chars[close].0].to_string()),
                close + 1,
            )
        } else if c == '`' {
            let close = (i + 1..chars.len()).find(|&j| chars[j].1 == '`');
            let Some(close) = close else {
                return error(start, "unterminated `field name`");
            };
            (
                Token::Field(text[end_of(i + 1)..chars[close].0].to_string()),
                close + 1,
            )
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(|d| d.1.is_ascii_digit()))
        {
            let mut j = i;
            while j < chars.len() && (chars[j].1.is_ascii_alphanumeric() || chars[j].1 == '.') {
                j += 1;
            }
            let word = &text[start..end_of(j)];
            match word.parse::<f64>() {
                Ok(n) => (Token::Number(n), j),
                // A duration such as 5m, only meaningful inside bin().
                Err(_) => (Token::Word(word.to_string()), j),
            }
        } else if c == '@' || c.is_alphabetic() || c == '_' {
            let mut j = i + 1;
            while j < chars.len()
                && (chars[j].1.is_alphanumeric() || matches!(chars[j].1, '_' | '.' | '@'))
            {
                j += 1;
            }
            let word = text[start..end_of(j)].to_string();
            let token = if c == '@' || word.contains('.') {
                Token::Field(word)
            } else {
                Token::Word(word)
            };
            (token, j)
        } else if let Some(sym) = SYMBOLS.iter().find(|s| text[start..].starts_with(**s)) {
            if *sym == "=~" {
                return error(
                    start,
                    "the lab does not support regular expressions (=~ /.../)",
                );
            }
            (Token::Symbol(sym), i + sym.chars().count())
        } else {
            return error(start, format!("unexpected character '{c}'"));
        };
        tokens.push(Spanned {
            token,
            start,
            end: end_of(next),
        });
        i = next;
    }
    Ok(tokens)
}

pub fn parse(text: &str) -> Result<Query, CompileError> {
    let mut parser = Parser {
        text,
        tokens: tokenize(text)?,
        pos: 0,
    };
    let mut commands = Vec::new();
    loop {
        commands.push(parser.command()?);
        if !parser.eat_symbol("|") {
            break;
        }
    }
    if let Some(t) = parser.peek() {
        return error(t.start, "expected '|' between commands");
    }
    if commands
        .iter()
        .filter(|c| matches!(c, Command::Stats(_)))
        .count()
        > 1
    {
        return error(0, "the lab evaluates at most one stats command per query");
    }
    Ok(Query { commands })
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Spanned>,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Spanned> {
        self.tokens.get(self.pos)
    }

    fn offset(&self) -> usize {
        self.peek().map_or(self.text.len(), |t| t.start)
    }

    fn next(&mut self) -> Option<Spanned> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn eat_symbol(&mut self, sym: &str) -> bool {
        if matches!(self.peek(), Some(Spanned { token: Token::Symbol(s), .. }) if *s == sym) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_symbol(&mut self, sym: &str) -> Result<(), CompileError> {
        if self.eat_symbol(sym) {
            Ok(())
        } else {
            error(self.offset(), format!("expected '{sym}'"))
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Spanned { token: Token::Word(w), .. }) if w.eq_ignore_ascii_case(word))
        {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// The source text from token `from` up to the current position.
    fn source_since(&self, from: usize) -> String {
        let start = self.tokens[from].start;
        let end = self.tokens[self.pos - 1].end;
        self.text[start..end].trim().to_string()
    }

    fn command(&mut self) -> Result<Command, CompileError> {
        let offset = self.offset();
        let Some(Spanned {
            token: Token::Word(word),
            ..
        }) = self.next()
        else {
            return error(
                offset,
                "expected a command: fields, filter, stats, sort or limit",
            );
        };
        match word.to_ascii_lowercase().as_str() {
            "fields" | "display" => Ok(Command::Fields(self.list(Self::projection)?)),
            "filter" => Ok(Command::Filter(self.expr()?)),
            "stats" => self.stats(),
            "sort" => Ok(Command::Sort(self.list(Self::sort_key)?)),
            "limit" => match self.next() {
                Some(Spanned {
                    token: Token::Number(n),
                    ..
                }) if n >= 1.0 && n.fract() == 0.0 => Ok(Command::Limit(n as usize)),
                _ => error(offset, "limit needs a positive whole number"),
            },
            other => error(
                offset,
                format!(
                    "the lab does not support the '{other}' command; it supports fields, display, \
                     filter, stats, sort and limit"
                ),
            ),
        }
    }

    fn list<T>(
        &mut self,
        item: fn(&mut Self) -> Result<T, CompileError>,
    ) -> Result<Vec<T>, CompileError> {
        let mut items = vec![item(self)?];
        while self.eat_symbol(",") {
            items.push(item(self)?);
        }
        Ok(items)
    }

    fn alias(&mut self, default: String) -> Result<String, CompileError> {
        if !self.eat_word("as") {
            return Ok(default);
        }
        match self.next() {
            Some(Spanned {
                token: Token::Word(w) | Token::Field(w),
                ..
            }) => Ok(w),
            _ => error(self.offset(), "expected a name after 'as'"),
        }
    }

    fn projection(&mut self) -> Result<Projection, CompileError> {
        let from = self.pos;
        let expr = self.expr()?;
        let name = self.alias(self.source_since(from))?;
        Ok(Projection { expr, name })
    }

    fn sort_key(&mut self) -> Result<SortKey, CompileError> {
        let offset = self.offset();
        let field = match self.next() {
            Some(Spanned {
                token: Token::Word(w) | Token::Field(w),
                ..
            }) => w,
            _ => return error(offset, "sort needs a field name"),
        };
        let descending = if self.eat_word("desc") {
            true
        } else {
            self.eat_word("asc");
            false
        };
        Ok(SortKey { field, descending })
    }

    fn stats(&mut self) -> Result<Command, CompileError> {
        let aggregates = self.list(Self::aggregate)?;
        let by = if self.eat_word("by") {
            self.list(Self::group_key)?
        } else {
            Vec::new()
        };
        Ok(Command::Stats(Stats { aggregates, by }))
    }

    fn aggregate(&mut self) -> Result<Aggregate, CompileError> {
        let from = self.pos;
        let offset = self.offset();
        let Some(Spanned {
            token: Token::Word(name),
            ..
        }) = self.next()
        else {
            return error(
                offset,
                "expected an aggregate function such as count(*) or avg(@duration)",
            );
        };
        self.expect_symbol("(")?;
        let lower = name.to_ascii_lowercase();
        let (function, arg) = match lower.as_str() {
            "count" if self.eat_symbol("*") => (AggregateFn::Count, None),
            "count" => (AggregateFn::Count, Some(self.expr()?)),
            "sum" => (AggregateFn::Sum, Some(self.expr()?)),
            "avg" => (AggregateFn::Avg, Some(self.expr()?)),
            "min" => (AggregateFn::Min, Some(self.expr()?)),
            "max" => (AggregateFn::Max, Some(self.expr()?)),
            "pct" | "percentile" => {
                let arg = self.expr()?;
                self.expect_symbol(",")?;
                let at = self.offset();
                match self.next() {
                    Some(Spanned {
                        token: Token::Number(p),
                        ..
                    }) if (0.0..=100.0).contains(&p) => (AggregateFn::Pct(p / 100.0), Some(arg)),
                    _ => return error(at, "pct needs a percentile between 0 and 100"),
                }
            }
            _ => {
                return error(
                    offset,
                    format!(
                        "the lab does not support the aggregate '{name}'; it supports count, sum, \
                         avg, min, max and pct"
                    ),
                )
            }
        };
        self.expect_symbol(")")?;
        let name = self.alias(self.source_since(from))?;
        Ok(Aggregate {
            function,
            arg,
            name,
        })
    }

    fn group_key(&mut self) -> Result<GroupKey, CompileError> {
        let from = self.pos;
        if self.eat_word("bin") {
            self.expect_symbol("(")?;
            let offset = self.offset();
            let width_ms = match self.next() {
                Some(Spanned {
                    token: Token::Word(w),
                    ..
                }) => bin_width(&w),
                _ => None,
            };
            let Some(width_ms) = width_ms else {
                return error(
                    offset,
                    "bin needs a period of whole minutes or more, such as 5m, 1h or 1d",
                );
            };
            self.expect_symbol(")")?;
            let name = self.alias(self.source_since(from))?;
            return Ok(GroupKey::Bin { width_ms, name });
        }
        Ok(GroupKey::Expr(self.projection()?))
    }

    fn expr(&mut self) -> Result<Expr, CompileError> {
        let mut left = self.and()?;
        while self.eat_word("or") {
            left = Expr::Binary(BinaryOp::Or, Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, CompileError> {
        let mut left = self.not()?;
        while self.eat_word("and") {
            left = Expr::Binary(BinaryOp::And, Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, CompileError> {
        if self.eat_word("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, CompileError> {
        let left = self.sum()?;
        let op = match self.peek().map(|t| &t.token) {
            Some(Token::Symbol("=")) => BinaryOp::Eq,
            Some(Token::Symbol("!=")) => BinaryOp::Ne,
            Some(Token::Symbol("<")) => BinaryOp::Lt,
            Some(Token::Symbol("<=")) => BinaryOp::Le,
            Some(Token::Symbol(">")) => BinaryOp::Gt,
            Some(Token::Symbol(">=")) => BinaryOp::Ge,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("like") => BinaryOp::Like,
            _ => return Ok(left),
        };
        self.pos += 1;
        let offset = self.offset();
        let right = self.sum()?;
        if op == BinaryOp::Like && !matches!(right, Expr::Text(_)) {
            return error(
                offset,
                "the lab supports like with a quoted string only, not /regex/",
            );
        }
        Ok(Expr::Binary(op, Box::new(left), Box::new(right)))
    }

    fn sum(&mut self) -> Result<Expr, CompileError> {
        let mut left = self.product()?;
        loop {
            let op = if self.eat_symbol("+") {
                BinaryOp::Add
            } else if self.eat_symbol("-") {
                BinaryOp::Sub
            } else {
                return Ok(left);
            };
            left = Expr::Binary(op, Box::new(left), Box::new(self.product()?));
        }
    }

    fn product(&mut self) -> Result<Expr, CompileError> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat_symbol("*") {
                BinaryOp::Mul
            } else if self.eat_symbol("/") {
                BinaryOp::Div
            } else {
                return Ok(left);
            };
            left = Expr::Binary(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, CompileError> {
        if self.eat_symbol("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, CompileError> {
        let offset = self.offset();
        match self.next().map(|t| t.token) {
            Some(Token::Number(n)) => Ok(Expr::Number(n)),
            Some(Token::Text(s)) => Ok(Expr::Text(s)),
            Some(Token::Field(f)) => Ok(Expr::Field(f)),
            Some(Token::Symbol("(")) => {
                let e = self.expr()?;
                self.expect_symbol(")")?;
                Ok(e)
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("ispresent") => {
                self.expect_symbol("(")?;
                let at = self.offset();
                let field = match self.next().map(|t| t.token) {
                    Some(Token::Field(f) | Token::Word(f)) => f,
                    _ => return error(at, "ispresent needs a field name"),
                };
                self.expect_symbol(")")?;
                Ok(Expr::IsPresent(field))
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("strcontains") => {
                self.expect_symbol("(")?;
                let text = self.expr()?;
                self.expect_symbol(",")?;
                let at = self.offset();
                let needle = match self.next().map(|t| t.token) {
                    Some(Token::Text(t)) => t,
                    _ => return error(at, "strcontains needs a quoted string to look for"),
                };
                self.expect_symbol(")")?;
                Ok(Expr::StrContains(Box::new(text), needle))
            }
            Some(Token::Word(w)) if self.eat_symbol("(") => error(
                offset,
                format!(
                    "the lab does not support the function '{w}'; it supports ispresent() and \
                     strcontains()"
                ),
            ),
            Some(Token::Word(w)) => Ok(Expr::Field(w)),
            _ => error(offset, "expected a field, a number or a quoted string"),
        }
    }
}

/// `5m`, `1h`, `1d`, `30s` (when a whole number of minutes) as milliseconds.
fn bin_width(text: &str) -> Option<i64> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let n: i64 = text[..split].parse().ok()?;
    let unit_ms = match &text[split..] {
        "s" | "sec" | "second" | "seconds" => 1000,
        "m" | "min" | "minute" | "minutes" => 60_000,
        "h" | "hr" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        _ => return None,
    };
    let ms = n.checked_mul(unit_ms)?;
    (ms >= 60_000 && ms % 60_000 == 0).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_lambda_report_query() {
        let q = parse(
            "filter @type = \"REPORT\" and ispresent(@initDuration)\n\
             | stats count(*) as n, avg(@duration), pct(@duration, 99) as p99 by bin(1h), @memorySize\n\
             | sort n desc | limit 5",
        )
        .unwrap();
        assert_eq!(q.commands.len(), 4);
        let Command::Filter(Expr::Binary(BinaryOp::And, left, right)) = &q.commands[0] else {
            panic!("{:?}", q.commands[0]);
        };
        assert_eq!(
            **left,
            Expr::Binary(
                BinaryOp::Eq,
                Box::new(Expr::Field("@type".into())),
                Box::new(Expr::Text("REPORT".into()))
            )
        );
        assert_eq!(**right, Expr::IsPresent("@initDuration".into()));
        let stats = q.stats().unwrap();
        let names: Vec<&str> = stats.aggregates.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["n", "avg(@duration)", "p99"]);
        assert_eq!(stats.aggregates[2].function, AggregateFn::Pct(0.99));
        assert_eq!(
            stats.by[0],
            GroupKey::Bin {
                width_ms: 3_600_000,
                name: "bin(1h)".into()
            }
        );
        assert_eq!(
            q.commands[2],
            Command::Sort(vec![SortKey {
                field: "n".into(),
                descending: true
            }])
        );
        assert_eq!(q.commands[3], Command::Limit(5));
    }

    #[test]
    fn arithmetic_binds_tighter_than_comparison() {
        let q = parse("filter @maxMemoryUsed / 1000 / 1000 > 64 or not @duration < 3").unwrap();
        let Command::Filter(Expr::Binary(BinaryOp::Or, left, right)) = &q.commands[0] else {
            panic!()
        };
        assert!(matches!(**left, Expr::Binary(BinaryOp::Gt, _, _)));
        assert!(matches!(**right, Expr::Not(_)));
    }

    #[test]
    fn errors_point_at_what_is_wrong() {
        let e = parse("stats count(*) by bin(5x)").unwrap_err();
        assert_eq!(e.offset, 22);
        assert!(parse("stats median(@duration)")
            .unwrap_err()
            .message
            .contains("median"));
        assert!(parse("parse @message /x/")
            .unwrap_err()
            .message
            .contains("parse"));
        assert!(parse("filter @message like /x/").is_err());
        assert!(parse("fields @timestamp |").is_err());
        assert!(parse("filter @x = \"open")
            .unwrap_err()
            .message
            .contains("unterminated"));
        assert!(parse("stats count(*) | stats count(*)").is_err());
    }
}
