//! The filter parser: a tokenizer and a recursive-descent parser for the complete grammar of
//! RFC 7644 §3.4.2.2 (with errata 7319 and 7322: `not` may be followed by a space, and a
//! value filter may group with parentheses but never nests another value filter).
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"
//! attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//! logExp    = FILTER SP ("and" / "or") SP FILTER
//! compValue = false / null / true / number / string
//! ```
//!
//! Precedence, loosest first: `or`, `and`, `not`, then grouping and attribute expressions.
//! Keywords (operators, `and`, `or`, `not`, `true`, `false`, `null`) are case-insensitive.
//! Whitespace between tokens is free-form (spaces, tabs, line breaks), and may be left out
//! where a token ends unambiguously (`not(…)`, `userName eq"x"`).
//!
//! A chain of the same logical operator (`a or b or c or …`) is built as a balanced tree,
//! left-leaning: `a or b` and `a or b or c` are left-associated as usual, longer chains
//! split in halves. The operators are associative, so the meaning is unchanged, and the
//! depth of the tree grows with the logarithm of the chain's length; parentheses, `not` and
//! value filters nest at most [`MAX_NESTING`] deep. Together these bound the recursion of
//! every consumer of the AST (evaluator, SQL translation, `Drop`) on hostile input.
//!
//! Errors are [`ScimError::InvalidFilter`] whose detail names the offending token and its
//! position, counted in characters from 0.

use serde_json::Number;

use super::ast::{CompValue, CompareOp, Filter};
use crate::error::ScimError;
use crate::path::{AttrPath, is_valid_name};

/// How deep parentheses, `not (…)` and value filters may nest.
pub const MAX_NESTING: usize = 64;

/// Longest excerpt of a string literal quoted in an error message, in characters.
const EXCERPT_CHARS: usize = 32;

/// Parses a filter expression.
///
/// Paths inside a value filter (`emails[type eq "work"]`) are sub-attribute names, stored as
/// `AttrPath { urn: None, attr: <sub name>, sub: None }`. A value filter followed by a
/// sub-attribute comparison (`emails[type eq "work"].value eq "x"`, as Entra ID sends it,
/// though RFC 7644's grammar has no such form) reads as the value filter of both terms
/// (`emails[type eq "work" and value eq "x"]`). The result is syntactically valid only:
/// [`check`](super::check) validates it against the schema.
pub fn parse(text: &str) -> Result<Filter, ScimError> {
    let mut parser = Parser::new(tokenize(text)?);
    if parser.at_end() {
        return Err(invalid("the filter is empty".to_owned()));
    }
    let filter = parser.or_expr(None)?;
    if !parser.at_end() {
        return Err(parser.expected("'and', 'or' or the end of the filter"));
    }
    Ok(filter)
}

fn invalid(detail: String) -> ScimError {
    ScimError::InvalidFilter(detail)
}

// ---------------------------------------------------------------------------------------
// Tokens

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// An attribute path or a keyword; only ASCII word characters.
    Word(String),
    /// A string literal, escapes decoded.
    Str(String),
    /// A number literal and its text as written.
    Number(Number, String),
    End,
}

#[derive(Debug, Clone, PartialEq)]
struct Token {
    tok: Tok,
    /// Character offset of the token's first character.
    pos: usize,
}

impl Tok {
    /// How an error message names the token.
    fn describe(&self) -> String {
        match self {
            Self::LParen => "'('".to_owned(),
            Self::RParen => "')'".to_owned(),
            Self::LBracket => "'['".to_owned(),
            Self::RBracket => "']'".to_owned(),
            Self::Word(word) => format!("'{word}'"),
            Self::Str(text) => format!("the string {}", excerpt(text)),
            Self::Number(_, text) => format!("the number {text}"),
            Self::End => "the end of the filter".to_owned(),
        }
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self, Self::Word(word) if word.eq_ignore_ascii_case(keyword))
    }
}

/// A string literal as JSON, shortened to [`EXCERPT_CHARS`] characters.
fn excerpt(text: &str) -> String {
    let mut short: String = text.chars().take(EXCERPT_CHARS).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    serde_json::Value::String(short).to_string()
}

/// Characters of attribute paths and keywords: `ATTRNAME` characters, `$` (of `$ref`), and
/// the `.` and `:` that separate sub-attributes and schema URNs.
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '$')
}

/// A word never starts like a number.
fn is_word_start(c: char) -> bool {
    is_word_char(c) && !c.is_ascii_digit() && c != '-'
}

fn tokenize(text: &str) -> Result<Vec<Token>, ScimError> {
    let mut lexer = Lexer {
        chars: text.chars().collect(),
        pos: 0,
    };
    let mut tokens = Vec::new();
    loop {
        lexer.skip_whitespace();
        let pos = lexer.pos;
        let Some(c) = lexer.peek() else {
            tokens.push(Token { tok: Tok::End, pos });
            return Ok(tokens);
        };
        let tok = match c {
            '(' => lexer.single(Tok::LParen),
            ')' => lexer.single(Tok::RParen),
            '[' => lexer.single(Tok::LBracket),
            ']' => lexer.single(Tok::RBracket),
            '"' => Tok::Str(lexer.string()?),
            '-' | '0'..='9' => lexer.number()?,
            c if is_word_start(c) => Tok::Word(lexer.word()),
            other => {
                return Err(invalid(format!(
                    "unexpected character '{}' at position {pos}",
                    other.escape_debug()
                )));
            }
        };
        tokens.push(Token { tok, pos });
    }
}

/// The value of a well-formed JSON number: an integer when it fits `i64` or `u64`, else the
/// nearest `f64` (correctly rounded, so that rendering and parsing round-trip); `None` when
/// it is beyond the range of `f64`.
fn json_number(text: &str) -> Option<Number> {
    if let Ok(n) = text.parse::<u64>() {
        return Some(n.into());
    }
    if let Ok(n) = text.parse::<i64>() {
        return Some(n.into());
    }
    text.parse::<f64>().ok().and_then(Number::from_f64)
}

/// A cursor over the characters of the filter; positions are character offsets, so no
/// string is ever sliced at a byte offset.
struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    /// Consumes the one-character token `tok`.
    fn single(&mut self, tok: Tok) -> Tok {
        self.pos += 1;
        tok
    }

    fn skip_whitespace(&mut self) {
        while self
            .peek()
            .is_some_and(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
        {
            self.pos += 1;
        }
    }

    fn text(&self, start: usize, end: usize) -> String {
        self.chars
            .get(start..end)
            .map(|chars| chars.iter().collect())
            .unwrap_or_default()
    }

    fn word(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(is_word_char) {
            self.pos += 1;
        }
        self.text(start, self.pos)
    }

    /// Counts and skips ASCII digits.
    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// A number by the JSON grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Result<Tok, ScimError> {
        let start = self.pos;
        let well_formed = self.number_body() && !self.peek().is_some_and(is_word_char);
        if !well_formed {
            while self.peek().is_some_and(|c| is_word_char(c) || c == '+') {
                self.pos += 1;
            }
            let text = self.text(start, self.pos);
            return Err(invalid(format!(
                "malformed number '{text}' at position {start}"
            )));
        }
        let text = self.text(start, self.pos);
        match json_number(&text) {
            Some(number) => Ok(Tok::Number(number, text)),
            None => Err(invalid(format!(
                "the number {text} at position {start} is out of range"
            ))),
        }
    }

    /// Consumes a number; false when it breaks the grammar.
    fn number_body(&mut self) -> bool {
        if self.peek() == Some('-') {
            self.pos += 1;
        }
        match self.peek() {
            Some('0') => self.pos += 1,
            Some('1'..='9') => {
                self.digits();
            }
            _ => return false,
        }
        if self.peek() == Some('.') {
            self.pos += 1;
            if self.digits() == 0 {
                return false;
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return false;
            }
        }
        true
    }

    /// A JSON string literal; the cursor is on its opening quote.
    fn string(&mut self) -> Result<String, ScimError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let pos = self.pos;
            match self.bump() {
                None => {
                    return Err(invalid(format!(
                        "the string starting at position {start} is not terminated"
                    )));
                }
                Some('"') => return Ok(out),
                Some('\\') => match self.escape(pos)? {
                    // No stored text holds NUL (validation refuses it), and PostgreSQL
                    // cannot even compare with it.
                    '\0' => {
                        return Err(invalid(format!(
                            "the string starting at position {start} holds U+0000 (NUL), which \
                             SCIM text cannot contain"
                        )));
                    }
                    c => out.push(c),
                },
                Some(c) if c < ' ' => {
                    return Err(invalid(format!(
                        "control character U+{:04X} at position {pos} must be escaped in a \
                         string",
                        u32::from(c)
                    )));
                }
                Some(c) => out.push(c),
            }
        }
    }

    /// The character of an escape sequence whose backslash is at `start`.
    fn escape(&mut self, start: usize) -> Result<char, ScimError> {
        Ok(match self.bump() {
            Some('"') => '"',
            Some('\\') => '\\',
            Some('/') => '/',
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('u') => return self.unicode_escape(start),
            Some(other) => {
                return Err(invalid(format!(
                    "invalid escape '\\{}' at position {start}",
                    other.escape_debug()
                )));
            }
            None => {
                return Err(invalid(format!(
                    "the escape at position {start} ends the filter"
                )));
            }
        })
    }

    /// `\uXXXX`, and the low half of a surrogate pair when `XXXX` is a high surrogate.
    fn unicode_escape(&mut self, start: usize) -> Result<char, ScimError> {
        let unit = self.hex4(start)?;
        let code = match unit {
            0xD800..=0xDBFF => {
                let low_start = self.pos;
                if self.peek() != Some('\\') || self.peek_at(1) != Some('u') {
                    return Err(invalid(format!(
                        "the high surrogate '\\u{unit:04X}' at position {start} is not followed \
                         by a low surrogate"
                    )));
                }
                self.pos += 2;
                let low = self.hex4(low_start)?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(invalid(format!(
                        "the high surrogate '\\u{unit:04X}' at position {start} is followed by \
                         '\\u{low:04X}', which is not a low surrogate"
                    )));
                }
                0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => {
                return Err(invalid(format!(
                    "the low surrogate '\\u{unit:04X}' at position {start} has no high \
                     surrogate before it"
                )));
            }
            _ => unit,
        };
        char::from_u32(code).ok_or_else(|| {
            invalid(format!(
                "'\\u{unit:04X}' at position {start} is not a Unicode scalar value"
            ))
        })
    }

    /// Four hexadecimal digits of a `\u` escape whose backslash is at `start`.
    fn hex4(&mut self, start: usize) -> Result<u32, ScimError> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = self.peek().and_then(|c| c.to_digit(16)).ok_or_else(|| {
                invalid(format!(
                    "the '\\u' escape at position {start} needs four hexadecimal digits"
                ))
            })?;
            self.pos += 1;
            value = value * 16 + digit;
        }
        Ok(value)
    }
}

// ---------------------------------------------------------------------------------------
// Parser

/// The attribute whose value filter is being parsed (`None` outside brackets).
type Scope<'a> = Option<&'a AttrPath>;

struct Parser {
    tokens: Vec<Token>,
    index: usize,
    /// Open parentheses and brackets.
    depth: usize,
    /// Returned by `peek` past the last token (the tokenizer always ends with `End`).
    end: Token,
}

impl Parser {
    fn new(tokens: Vec<Token>) -> Self {
        let end_pos = tokens.last().map_or(0, |t| t.pos);
        Self {
            tokens,
            index: 0,
            depth: 0,
            end: Token {
                tok: Tok::End,
                pos: end_pos,
            },
        }
    }

    fn peek(&self) -> &Token {
        self.tokens.get(self.index).unwrap_or(&self.end)
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if self.index < self.tokens.len() {
            self.index += 1;
        }
        token
    }

    fn at_end(&self) -> bool {
        self.peek().tok == Tok::End
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = self.peek().tok.is_keyword(keyword);
        if found {
            self.advance();
        }
        found
    }

    /// "expected `what` at position N, found X", about the current token.
    fn expected(&self, what: &str) -> ScimError {
        self.expected_closing(what, "")
    }

    /// Like [`Self::expected`], with `note` (e.g. which bracket is open) after the position.
    fn expected_closing(&self, what: &str, note: &str) -> ScimError {
        let token = self.peek();
        invalid(format!(
            "expected {what} at position {}{note}, found {}",
            token.pos,
            token.tok.describe()
        ))
    }

    /// The previous token, as an error message names it.
    fn previous(&self) -> Option<String> {
        self.index
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map(|t| t.tok.describe())
    }

    /// Enters a parenthesis or bracket opened at `pos`.
    fn enter(&mut self, pos: usize) -> Result<(), ScimError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(invalid(format!(
                "the filter nests deeper than {MAX_NESTING} levels at position {pos}"
            )));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// `and_expr ("or" and_expr)*`
    fn or_expr(&mut self, scope: Scope<'_>) -> Result<Filter, ScimError> {
        let first = self.and_expr(scope)?;
        let mut rest = Vec::new();
        while self.eat_keyword("or") {
            rest.push(self.and_expr(scope)?);
        }
        Ok(join_balanced(first, rest, Filter::or))
    }

    /// `unary ("and" unary)*`
    fn and_expr(&mut self, scope: Scope<'_>) -> Result<Filter, ScimError> {
        let first = self.unary(scope)?;
        let mut rest = Vec::new();
        while self.eat_keyword("and") {
            rest.push(self.unary(scope)?);
        }
        Ok(join_balanced(first, rest, Filter::and))
    }

    /// `"not" "(" or_expr ")"`, `"(" or_expr ")"` or an attribute expression.
    fn unary(&mut self, scope: Scope<'_>) -> Result<Filter, ScimError> {
        match &self.peek().tok {
            tok if tok.is_keyword("not") => {
                self.advance();
                if self.peek().tok != Tok::LParen {
                    return Err(self.expected("'(' after 'not'"));
                }
                Ok(Filter::not(self.group(scope)?))
            }
            Tok::LParen => self.group(scope),
            Tok::Word(_) => self.attr_expr(scope),
            _ => {
                let what = "an attribute path, '(' or 'not'";
                Err(match self.previous() {
                    Some(previous) => self.expected(&format!("{what} after {previous}")),
                    None => self.expected(what),
                })
            }
        }
    }

    /// `"(" or_expr ")"`; the current token is the `(`.
    fn group(&mut self, scope: Scope<'_>) -> Result<Filter, ScimError> {
        let open = self.advance().pos;
        self.enter(open)?;
        let inner = self.or_expr(scope)?;
        if self.peek().tok != Tok::RParen {
            let note = format!(" (closing the '(' at position {open})");
            return Err(self.expected_closing("'and', 'or' or ')'", &note));
        }
        self.advance();
        self.leave();
        Ok(inner)
    }

    /// `attrPath "pr"`, `attrPath compareOp compValue` or `attrPath "[" valFilter "]"`.
    fn attr_expr(&mut self, scope: Scope<'_>) -> Result<Filter, ScimError> {
        let token = self.advance();
        let Tok::Word(word) = &token.tok else {
            return Err(self.expected("an attribute path"));
        };
        let path = attr_path(word, token.pos, scope)?;
        let next = &self.peek().tok;
        if *next == Tok::LBracket {
            return self.value_path(path, scope);
        }
        if next.is_keyword("pr") {
            self.advance();
            return Ok(Filter::Present(path));
        }
        let op = match next {
            Tok::Word(word) => CompareOp::parse(word),
            _ => None,
        };
        let Some(op) = op else {
            return Err(self.expected(&format!("an operator after '{word}'")));
        };
        self.advance();
        let value = self.comp_value(op)?;
        Ok(Filter::compare(path, op, value))
    }

    /// `"[" valFilter "]"` after `path`; the current token is the `[`.
    fn value_path(&mut self, path: AttrPath, scope: Scope<'_>) -> Result<Filter, ScimError> {
        let open = self.peek().pos;
        if let Some(parent) = scope {
            return Err(invalid(format!(
                "value filters cannot be nested: '[' at position {open} inside '{parent}[…]'"
            )));
        }
        self.advance();
        self.enter(open)?;
        let inner = self.or_expr(Some(&path))?;
        if self.peek().tok != Tok::RBracket {
            let note = format!(" (closing the '[' at position {open})");
            return Err(self.expected_closing("'and', 'or' or ']'", &note));
        }
        self.advance();
        self.leave();
        if let Token {
            tok: Tok::Word(word),
            pos,
        } = self.peek()
            && word.starts_with('.')
        {
            // Entra ID's `emails[type eq "work"].value eq "x"` (outside RFC 7644's grammar):
            // read as `emails[type eq "work" and value eq "x"]`, an element that satisfies
            // both, which is what it asks.
            let (word, pos) = (word.clone(), *pos);
            let sub = word[1..].to_owned();
            if !is_valid_name(&sub) {
                return Err(invalid(format!(
                    "'{word}' at position {pos} after the value filter '{path}[…]' is not a \
                     sub-attribute of '{path}'"
                )));
            }
            self.advance();
            let sub = AttrPath::new(&sub);
            let term = if self.peek().tok.is_keyword("pr") {
                self.advance();
                Filter::Present(sub)
            } else {
                let op = match &self.peek().tok {
                    Tok::Word(word) => CompareOp::parse(word),
                    _ => None,
                };
                let Some(op) = op else {
                    return Err(self.expected(&format!("an operator after '{path}[…]{word}'")));
                };
                self.advance();
                Filter::compare(sub, op, self.comp_value(op)?)
            };
            return Ok(Filter::value_path(path, Filter::and(inner, term)));
        }
        Ok(Filter::value_path(path, inner))
    }

    /// `compValue` after the operator `op`.
    fn comp_value(&mut self, op: CompareOp) -> Result<CompValue, ScimError> {
        let value = match &self.peek().tok {
            Tok::Str(text) => CompValue::Str(text.clone()),
            Tok::Number(number, _) => CompValue::Number(number.clone()),
            tok if tok.is_keyword("true") => CompValue::Bool(true),
            tok if tok.is_keyword("false") => CompValue::Bool(false),
            tok if tok.is_keyword("null") => CompValue::Null,
            _ => {
                let what = format!("a value (a string, number, true, false or null) after '{op}'");
                return Err(self.expected(&what));
            }
        };
        self.advance();
        Ok(value)
    }
}

/// The path `word` at `pos`: a full attribute path outside brackets, a sub-attribute name
/// of the bracketed attribute inside.
fn attr_path(word: &str, pos: usize, scope: Scope<'_>) -> Result<AttrPath, ScimError> {
    match scope {
        Some(_) if is_valid_name(word) => Ok(AttrPath::new(word)),
        Some(parent) => Err(invalid(format!(
            "inside '{parent}[…]' a filter names sub-attributes of '{parent}'; '{word}' at \
             position {pos} is not a sub-attribute name"
        ))),
        // `word` holds ASCII characters only, which `AttrPath::parse` may slice anywhere.
        None => {
            AttrPath::parse(word).map_err(|err| invalid(format!("{} (at position {pos})", err.0)))
        }
    }
}

/// Joins `first` and `rest` with `join` as a balanced tree whose left half is never smaller
/// than its right half: two or three operands associate to the left.
fn join_balanced(
    first: Filter,
    mut rest: Vec<Filter>,
    join: fn(Filter, Filter) -> Filter,
) -> Filter {
    if rest.is_empty() {
        return first;
    }
    let left_len = (rest.len() + 1).div_ceil(2);
    let right = rest.split_off(left_len - 1);
    let left = join_balanced(first, rest, join);
    let mut right = right.into_iter();
    match right.next() {
        Some(right_first) => join(left, join_balanced(right_first, right.collect(), join)),
        None => left,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn path(text: &str) -> AttrPath {
        AttrPath::parse(text).unwrap()
    }

    fn cmp(p: &str, op: CompareOp, value: impl Into<CompValue>) -> Filter {
        Filter::compare(path(p), op, value.into())
    }

    fn pr(p: &str) -> Filter {
        Filter::Present(path(p))
    }

    fn num(text: &str) -> CompValue {
        CompValue::Number(serde_json::from_str(text).unwrap())
    }

    use CompareOp::{Co, Eq, Ew, Ge, Gt, Le, Lt, Ne, Sw};

    /// Every example filter of RFC 7644 §3.4.2.2 (Figure 2 and the text around it).
    #[test]
    fn entra_sub_attribute_after_a_value_filter_joins_it() {
        let entra = parse("emails[type eq \"work\"].value eq \"x@example.com\"").unwrap();
        let rfc = parse("emails[type eq \"work\" and value eq \"x@example.com\"]").unwrap();
        assert_eq!(entra, rfc);
        let present = parse("emails[type eq \"work\"].value pr").unwrap();
        assert_eq!(
            present,
            parse("emails[type eq \"work\" and value pr]").unwrap()
        );
        // It combines like any other term.
        let both = parse("emails[type eq \"work\"].value eq \"a\" and userName eq \"b\"").unwrap();
        assert_eq!(
            both,
            parse("emails[type eq \"work\" and value eq \"a\"] and userName eq \"b\"").unwrap()
        );
    }

    #[test]
    fn parses_every_rfc_example() {
        let cases: Vec<(&str, Filter)> = vec![
            ("userName eq \"bjensen\"", cmp("userName", Eq, "bjensen")),
            (
                "name.familyName co \"O'Malley\"",
                cmp("name.familyName", Co, "O'Malley"),
            ),
            ("userName sw \"J\"", cmp("userName", Sw, "J")),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"J\"",
                Filter::compare(
                    AttrPath {
                        urn: Some(USER.to_owned()),
                        attr: "userName".to_owned(),
                        sub: None,
                    },
                    Sw,
                    "J".into(),
                ),
            ),
            ("title pr", pr("title")),
            (
                "meta.lastModified gt \"2011-05-13T04:42:34Z\"",
                cmp("meta.lastModified", Gt, "2011-05-13T04:42:34Z"),
            ),
            (
                "meta.lastModified ge \"2011-05-13T04:42:34Z\"",
                cmp("meta.lastModified", Ge, "2011-05-13T04:42:34Z"),
            ),
            (
                "meta.lastModified lt \"2011-05-13T04:42:34Z\"",
                cmp("meta.lastModified", Lt, "2011-05-13T04:42:34Z"),
            ),
            (
                "meta.lastModified le \"2011-05-13T04:42:34Z\"",
                cmp("meta.lastModified", Le, "2011-05-13T04:42:34Z"),
            ),
            (
                "title pr and userType eq \"Employee\"",
                Filter::and(pr("title"), cmp("userType", Eq, "Employee")),
            ),
            (
                "title pr or userType eq \"Intern\"",
                Filter::or(pr("title"), cmp("userType", Eq, "Intern")),
            ),
            (
                "schemas eq \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"",
                cmp("schemas", Eq, ENTERPRISE),
            ),
            (
                "userType eq \"Employee\" and (emails co \"example.com\" or emails.value co \
                 \"example.org\")",
                Filter::and(
                    cmp("userType", Eq, "Employee"),
                    Filter::or(
                        cmp("emails", Co, "example.com"),
                        cmp("emails.value", Co, "example.org"),
                    ),
                ),
            ),
            (
                "userType ne \"Employee\" and not (emails co \"example.com\" or emails.value co \
                 \"example.org\")",
                Filter::and(
                    cmp("userType", Ne, "Employee"),
                    Filter::not(Filter::or(
                        cmp("emails", Co, "example.com"),
                        cmp("emails.value", Co, "example.org"),
                    )),
                ),
            ),
            (
                "userType eq \"Employee\" and (emails.type eq \"work\")",
                Filter::and(
                    cmp("userType", Eq, "Employee"),
                    cmp("emails.type", Eq, "work"),
                ),
            ),
            (
                "userType eq \"Employee\" and emails[type eq \"work\" and value co \
                 \"@example.com\"]",
                Filter::and(
                    cmp("userType", Eq, "Employee"),
                    Filter::value_path(
                        path("emails"),
                        Filter::and(cmp("type", Eq, "work"), cmp("value", Co, "@example.com")),
                    ),
                ),
            ),
            (
                "emails[type eq \"work\" and value co \"@example.com\"] or ims[type eq \"xmpp\" \
                 and value co \"@foo.com\"]",
                Filter::or(
                    Filter::value_path(
                        path("emails"),
                        Filter::and(cmp("type", Eq, "work"), cmp("value", Co, "@example.com")),
                    ),
                    Filter::value_path(
                        path("ims"),
                        Filter::and(cmp("type", Eq, "xmpp"), cmp("value", Co, "@foo.com")),
                    ),
                ),
            ),
            // §3.4.2.2: attribute names and operators are case-insensitive.
            ("userName Eq \"john\"", cmp("userName", Eq, "john")),
            ("Username eq \"john\"", cmp("Username", Eq, "john")),
        ];
        assert_eq!(cases.len(), 19);
        for (text, want) in cases {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn parses_the_rest_of_the_grammar() {
        let cases: Vec<(&str, Filter)> = vec![
            // Keywords in any case; `not` without a space (errata 7319).
            (
                "NOT(userName PR) AND active EQ TRUE",
                Filter::and(Filter::not(pr("userName")), cmp("active", Eq, true)),
            ),
            ("active ne False", cmp("active", Ne, false)),
            ("title eq NULL", cmp("title", Eq, CompValue::Null)),
            ("x ew \"z\"", cmp("x", Ew, "z")),
            // Numbers by the JSON grammar.
            ("n eq 0", cmp("n", Eq, num("0"))),
            ("n gt -12", cmp("n", Gt, num("-12"))),
            ("n lt 1.5e3", cmp("n", Lt, num("1.5e3"))),
            ("n le -0.25E-2", cmp("n", Le, num("-0.25E-2"))),
            (
                "n ge 18446744073709551615",
                cmp("n", Ge, num("18446744073709551615")),
            ),
            // Every JSON escape, surrogate pairs included.
            (
                r#"s eq "\"q\" \\ \/ \b\f\n\r\t \u00e9 \uD83D\uDE00 é""#,
                cmp("s", Eq, "\"q\" \\ / \u{8}\u{c}\n\r\t é 😀 é"),
            ),
            // Extension URN with a dot in `2.0`, sub-attribute, `$ref`.
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \
                 \"x\"",
                Filter::compare(
                    AttrPath {
                        urn: Some(ENTERPRISE.to_owned()),
                        attr: "manager".to_owned(),
                        sub: Some("value".to_owned()),
                    },
                    Eq,
                    "x".into(),
                ),
            ),
            (
                "members[$ref eq \"u\"]",
                Filter::value_path(path("members"), cmp("$ref", Eq, "u")),
            ),
            // Grouping and `not` inside a value filter (errata 7322).
            (
                "emails[type eq \"work\" or not (type eq \"home\" and value ew \"@x.com\")]",
                Filter::value_path(
                    path("emails"),
                    Filter::or(
                        cmp("type", Eq, "work"),
                        Filter::not(Filter::and(
                            cmp("type", Eq, "home"),
                            cmp("value", Ew, "@x.com"),
                        )),
                    ),
                ),
            ),
            // Free-form whitespace.
            (
                "\t( userName eq\"a\" )\r\nor(title pr)",
                Filter::or(cmp("userName", Eq, "a"), pr("title")),
            ),
            // Keywords are attribute names where a path is expected.
            ("and pr or or pr", Filter::or(pr("and"), pr("or"))),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn and_binds_tighter_than_or_and_not_tighter_than_and() {
        let (a, b, c) = (pr("a"), pr("b"), pr("c"));
        let cases = [
            (
                "a pr or b pr and c pr",
                Filter::or(a.clone(), Filter::and(b.clone(), c.clone())),
            ),
            (
                "a pr and b pr or c pr",
                Filter::or(Filter::and(a.clone(), b.clone()), c.clone()),
            ),
            (
                "(a pr or b pr) and c pr",
                Filter::and(Filter::or(a.clone(), b.clone()), c.clone()),
            ),
            (
                "not (a pr) and b pr or c pr",
                Filter::or(Filter::and(Filter::not(a.clone()), b.clone()), c.clone()),
            ),
            (
                "a pr and b pr and c pr",
                Filter::and(Filter::and(a.clone(), b.clone()), c.clone()),
            ),
            (
                "a pr or b pr or c pr",
                Filter::or(Filter::or(a.clone(), b.clone()), c.clone()),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn long_chains_become_balanced_trees() {
        fn depth(filter: &Filter) -> usize {
            match filter {
                Filter::And(l, r) | Filter::Or(l, r) => 1 + depth(l).max(depth(r)),
                Filter::Not(inner) => 1 + depth(inner),
                Filter::ValuePath { filter, .. } => 1 + depth(filter),
                Filter::Compare { .. } | Filter::Present(_) => 0,
            }
        }
        fn leaves(filter: &Filter, out: &mut Vec<String>) {
            match filter {
                Filter::Or(l, r) => {
                    leaves(l, out);
                    leaves(r, out);
                }
                other => out.push(other.to_string()),
            }
        }
        let terms: Vec<String> = (0..10_000).map(|i| format!("id eq \"{i}\"")).collect();
        let filter = parse(&terms.join(" or ")).unwrap();
        assert_eq!(depth(&filter), 14);
        let mut found = Vec::new();
        leaves(&filter, &mut found);
        assert_eq!(found, terms, "operands keep their order");
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!("{}a pr{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert!(parse(&ok).is_ok());
        let deep = format!(
            "{}a pr{}",
            "(".repeat(MAX_NESTING + 1),
            ")".repeat(MAX_NESTING + 1)
        );
        assert_eq!(
            parse(&deep),
            Err(invalid(format!(
                "the filter nests deeper than 64 levels at position {MAX_NESTING}"
            )))
        );
        let hostile = "not (".repeat(100_000);
        assert!(parse(&hostile).is_err());
    }

    #[test]
    fn rejects_invalid_filters_with_a_precise_detail() {
        let cases = [
            ("", "the filter is empty"),
            ("   ", "the filter is empty"),
            (
                "userName",
                "expected an operator after 'userName' at position 8, found the end of the filter",
            ),
            (
                "userName foo \"x\"",
                "expected an operator after 'userName' at position 9, found 'foo'",
            ),
            ("userName = \"x\"", "unexpected character '=' at position 9"),
            (
                "userName eq",
                "expected a value (a string, number, true, false or null) after 'eq' at \
                 position 11, found the end of the filter",
            ),
            (
                "userName eq bjensen",
                "expected a value (a string, number, true, false or null) after 'eq' at \
                 position 12, found 'bjensen'",
            ),
            (
                "userName eq 'bjensen'",
                "unexpected character '\\'' at position 12",
            ),
            (
                "userName eq \"bjensen",
                "the string starting at position 12 is not terminated",
            ),
            (
                "userName eq \"a\\qb\"",
                "invalid escape '\\q' at position 14",
            ),
            (
                "userName eq \"\\u12G4\"",
                "the '\\u' escape at position 13 needs four hexadecimal digits",
            ),
            (
                "userName eq \"\\uD83D\"",
                "the high surrogate '\\uD83D' at position 13 is not followed by a low surrogate",
            ),
            (
                "userName eq \"\\uD83D\\u0041\"",
                "the high surrogate '\\uD83D' at position 13 is followed by '\\u0041', which is \
                 not a low surrogate",
            ),
            (
                "userName eq \"\\uDE00\"",
                "the low surrogate '\\uDE00' at position 13 has no high surrogate before it",
            ),
            (
                "userName eq \"a\tb\"",
                "control character U+0009 at position 14 must be escaped in a string",
            ),
            (
                "userName eq \"a\\u0000\"",
                "the string starting at position 12 holds U+0000 (NUL), which SCIM text cannot \
                 contain",
            ),
            ("n eq 01", "malformed number '01' at position 5"),
            ("n eq 1.", "malformed number '1.' at position 5"),
            ("n eq 1e+", "malformed number '1e+' at position 5"),
            ("n eq -", "malformed number '-' at position 5"),
            ("n eq 12abc", "malformed number '12abc' at position 5"),
            (
                "n eq 1e400",
                "the number 1e400 at position 5 is out of range",
            ),
            (
                "userName eq \"x\" userName eq \"y\"",
                "expected 'and', 'or' or the end of the filter at position 16, found 'userName'",
            ),
            (
                "userName pr)",
                "expected 'and', 'or' or the end of the filter at position 11, found ')'",
            ),
            (
                "(userName pr",
                "expected 'and', 'or' or ')' at position 12 (closing the '(' at position 0), found \
                 the end of the filter",
            ),
            (
                "userName pr and",
                "expected an attribute path, '(' or 'not' after 'and' at position 15, found the \
                 end of the filter",
            ),
            (
                "userName pr or ()",
                "expected an attribute path, '(' or 'not' after '(' at position 16, found ')'",
            ),
            (
                "userName pr && title pr",
                "unexpected character '&' at position 12",
            ),
            (
                "not userName pr",
                "expected '(' after 'not' at position 4, found 'userName'",
            ),
            (
                "[type eq \"x\"]",
                "expected an attribute path, '(' or 'not' at position 0, found '['",
            ),
            (
                "userNamé eq \"x\"",
                "unexpected character 'é' at position 7",
            ),
            (
                "a.b.c eq \"x\"",
                "'a.b.c' nests deeper than attribute.subAttribute (at position 0)",
            ),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User: eq \"x\"",
                "'urn:ietf:params:scim:schemas:core:2.0:User:' names a schema but no attribute \
                 (at position 0)",
            ),
            (
                "emails[type eq \"work\"",
                "expected 'and', 'or' or ']' at position 21 (closing the '[' at position 6), found \
                 the end of the filter",
            ),
            (
                "emails[]",
                "expected an attribute path, '(' or 'not' after '[' at position 7, found ']'",
            ),
            (
                "emails[type eq \"work\" and phoneNumbers[type eq \"x\"]]",
                "value filters cannot be nested: '[' at position 38 inside 'emails[…]'",
            ),
            (
                "emails[emails.type eq \"work\"]",
                "inside 'emails[…]' a filter names sub-attributes of 'emails'; 'emails.type' at \
                 position 7 is not a sub-attribute name",
            ),
            (
                "emails[type eq \"work\"].value",
                "expected an operator after 'emails[…].value' at position 28, found the end of \
                 the filter",
            ),
            (
                "emails[type eq \"work\"].a.b eq \"x\"",
                "'.a.b' at position 22 after the value filter 'emails[…]' is not a sub-attribute \
                 of 'emails'",
            ),
            (
                "title pr \"x\"",
                "expected 'and', 'or' or the end of the filter at position 9, found the string \
                 \"x\"",
            ),
            (
                "userName eq \"x\" and 5 eq 5",
                "expected an attribute path, '(' or 'not' after 'and' at position 20, found the \
                 number 5",
            ),
        ];
        for (text, detail) in cases {
            assert_eq!(parse(text), Err(invalid(detail.to_owned())), "{text}");
        }
    }

    #[test]
    fn long_string_literals_are_shortened_in_errors() {
        let long = "x".repeat(100);
        let err = parse(&format!("title pr \"{long}\"")).unwrap_err();
        assert_eq!(
            err.detail(),
            format!(
                "expected 'and', 'or' or the end of the filter at position 9, found the string \
                 \"{}…\"",
                "x".repeat(EXCERPT_CHARS)
            )
        );
    }

    #[test]
    fn never_panics_on_multibyte_input() {
        for text in [
            "é",
            "aé",
            "abcé",
            "urnéx",
            "urn:é",
            "é eq 1",
            "a eq \"é",
            "a eq \"\\u00é\"",
            "a eq 1é",
            "emails[é]",
            "a[b eq \"x\"]é",
            "\u{0}",
            "日本語 eq \"x\"",
            "a eq -é",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }
}
