//! A YAML (or JSON, a subset of YAML 1.2) document as a tree whose nodes know their byte range
//! in the source, built from saphyr-parser's spanned events. Custom tags (`!Ref`, `!Sub`) are
//! kept as tags; aliases stay aliases (their text, e.g. `*mem`), so nothing is resolved away.

use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Scalar(Scalar),
    Map(Map),
    Seq(Seq),
    /// `*name`: the value is defined at an anchor elsewhere.
    Alias(Pos),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pos {
    /// Byte range in the source.
    pub bytes: Range<usize>,
    /// 1-based line of the start.
    pub line: usize,
    /// 0-based column (in characters) of the start.
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    pub value: String,
    pub quoted: bool,
    /// `!Ref`, `!Sub`, ... as written.
    pub tag: Option<String>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Map {
    pub entries: Vec<(Node, Node)>,
    pub tag: Option<String>,
    /// `{ ... }` rather than an indented block.
    pub flow: bool,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Seq {
    pub items: Vec<Node>,
    pub tag: Option<String>,
    pub pos: Pos,
}

/// Where the source is not valid YAML/JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

impl Node {
    pub fn pos(&self) -> &Pos {
        match self {
            Node::Scalar(s) => &s.pos,
            Node::Map(m) => &m.pos,
            Node::Seq(s) => &s.pos,
            Node::Alias(p) => p,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Node::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value of an untagged scalar.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(s) if s.tag.is_none() => Some(&s.value),
            _ => None,
        }
    }
}

impl Map {
    /// The value under a plain string key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, v)| (k, v))
    }
}

/// Parses the first document of `text`. An empty document is an empty map.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let offsets = CharOffsets::new(text);
    let mut stack: Vec<Building> = Vec::new();
    let mut root = None;
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| SyntaxError {
            line: e.marker().line(),
            message: e.info().to_string(),
        })?;
        let node = match event {
            Event::Scalar(value, style, _, tag) => Some(Node::Scalar(Scalar {
                value: value.into_owned(),
                quoted: matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted),
                tag: tag.map(|t| t.to_string()),
                pos: offsets.pos(span),
            })),
            Event::Alias(_) => Some(Node::Alias(offsets.pos(span))),
            Event::MappingStart(_, tag) => {
                let pos = offsets.pos(span);
                let flow = text[pos.bytes.start..].starts_with('{');
                let map = Map {
                    entries: Vec::new(),
                    tag: tag.map(|t| t.to_string()),
                    flow,
                    pos,
                };
                stack.push(Building::Map(map, None));
                None
            }
            Event::SequenceStart(_, tag) => {
                stack.push(Building::Seq(Seq {
                    items: Vec::new(),
                    tag: tag.map(|t| t.to_string()),
                    pos: offsets.pos(span),
                }));
                None
            }
            Event::MappingEnd | Event::SequenceEnd => stack.pop().map(|b| b.finish(&offsets, span)),
            Event::DocumentEnd if root.is_some() => break,
            _ => None,
        };
        if let Some(node) = node {
            match stack.last_mut() {
                Some(parent) => parent.push(node),
                None => root = Some(node),
            }
        }
    }
    Ok(root.unwrap_or_else(|| {
        Node::Map(Map {
            entries: Vec::new(),
            tag: None,
            flow: false,
            pos: Pos {
                bytes: 0..0,
                line: 1,
                col: 0,
            },
        })
    }))
}

enum Building {
    /// Keys and values alternate: a key waits here for its value.
    Map(Map, Option<Node>),
    Seq(Seq),
}

impl Building {
    fn push(&mut self, node: Node) {
        match self {
            Building::Seq(s) => s.items.push(node),
            Building::Map(m, key) => match key.take() {
                Some(k) => m.entries.push((k, node)),
                None => *key = Some(node),
            },
        }
    }

    fn finish(self, offsets: &CharOffsets, end: Span) -> Node {
        let end = offsets.byte(end.end.index());
        match self {
            Building::Map(mut m, _) => {
                m.pos.bytes.end = end.max(m.pos.bytes.end);
                Node::Map(m)
            }
            Building::Seq(mut s) => {
                s.pos.bytes.end = end.max(s.pos.bytes.end);
                Node::Seq(s)
            }
        }
    }
}

/// saphyr's markers count characters; edits need bytes.
struct CharOffsets(Vec<usize>);

impl CharOffsets {
    fn new(text: &str) -> CharOffsets {
        CharOffsets(
            text.char_indices()
                .map(|(b, _)| b)
                .chain([text.len()])
                .collect(),
        )
    }

    fn byte(&self, char_index: usize) -> usize {
        self.0
            .get(char_index)
            .copied()
            .unwrap_or(*self.0.last().unwrap_or(&0))
    }

    fn pos(&self, span: Span) -> Pos {
        Pos {
            bytes: self.byte(span.start.index())..self.byte(span.end.index()),
            line: span.start.line(),
            col: span.start.col(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar_text<'a>(text: &'a str, node: &Node) -> &'a str {
        &text[node.pos().bytes.clone()]
    }

    #[test]
    fn scalar_ranges_cover_the_written_value() {
        let text = "a: 512 # comment\nb: \"1024\"\nc: !Ref Mem\nd: 'é'\ne: 3008\n";
        let root = parse(text).unwrap();
        let m = root.as_map().unwrap();
        assert_eq!(scalar_text(text, m.get("a").unwrap()), "512");
        assert_eq!(scalar_text(text, m.get("b").unwrap()), "\"1024\"");
        let Node::Scalar(c) = m.get("c").unwrap() else {
            panic!()
        };
        assert_eq!(c.tag.as_deref(), Some("!Ref"));
        assert_eq!(c.value, "Mem");
        assert_eq!(scalar_text(text, m.get("c").unwrap()), "!Ref Mem");
        assert_eq!(scalar_text(text, m.get("e").unwrap()), "3008");
        assert_eq!(m.get("e").unwrap().pos().line, 5);
    }

    #[test]
    fn json_with_tabs_parses() {
        let text = "{\n\t\"A\": {\n\t\t\"MemorySize\": 256,\n\t\t\"B\": [1, 2]\n\t}\n}\n";
        let root = parse(text).unwrap();
        let a = root.as_map().unwrap().get("A").unwrap().as_map().unwrap();
        assert!(a.flow);
        assert_eq!(scalar_text(text, a.get("MemorySize").unwrap()), "256");
    }

    #[test]
    fn aliases_and_anchors_keep_their_place() {
        let text = "x: &m 512\ny: *m\nz:\n  <<: &base {k: 1}\n  w: 2\n";
        let root = parse(text).unwrap();
        let m = root.as_map().unwrap();
        // A scalar's range includes its properties (anchor, tag).
        assert_eq!(scalar_text(text, m.get("x").unwrap()), "&m 512");
        assert!(matches!(m.get("y"), Some(Node::Alias(_))));
        assert_eq!(scalar_text(text, m.get("y").unwrap()), "*m");
        let z = m.get("z").unwrap().as_map().unwrap();
        assert_eq!(z.entries.len(), 2);
        assert_eq!(z.pos.col, 2);
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let err = parse("a: 1\nb: [1, 2\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
    }
}
