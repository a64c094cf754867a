//! A reader for the part of EDN that Jepsen's histories use: `nil`, booleans, integers,
//! strings, keywords, symbols, vectors, lists and maps (no sets, tags, floats or chars).

use std::iter::Peekable;
use std::str::CharIndices;

/// An EDN value. Keywords and symbols keep their text without the leading `:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Edn {
    Nil,
    Bool(bool),
    Int(i64),
    Str(String),
    Keyword(String),
    Symbol(String),
    Vector(Vec<Edn>),
    Map(Vec<(Edn, Edn)>),
}

impl Edn {
    /// The value under keyword `key` of a map.
    pub(super) fn get(&self, key: &str) -> Option<&Edn> {
        let Edn::Map(entries) = self else { return None };
        (entries.iter())
            .find(|(k, _)| matches!(k, Edn::Keyword(name) if name == key))
            .map(|(_, v)| v)
    }
}

/// Reads every value of `text`, in order. Rule (EDN): commas are whitespace, and `;`
/// starts a comment that runs to the end of the line.
pub(super) fn read_all(text: &str) -> Result<Vec<Edn>, String> {
    let mut reader = Reader {
        text,
        chars: text.char_indices().peekable(),
    };
    let mut values = Vec::new();
    while reader.skip_blank().is_some() {
        values.push(reader.value()?);
    }
    Ok(values)
}

/// A cursor over the text being read.
struct Reader<'a> {
    text: &'a str,
    chars: Peekable<CharIndices<'a>>,
}

impl Reader<'_> {
    /// Skips whitespace, commas and comments; the next character, if any.
    fn skip_blank(&mut self) -> Option<char> {
        while let Some(&(_, c)) = self.chars.peek() {
            if c == ';' {
                while self.chars.next_if(|&(_, c)| c != '\n').is_some() {}
            } else if c.is_whitespace() || c == ',' {
                self.chars.next();
            } else {
                return Some(c);
            }
        }
        None
    }

    fn value(&mut self) -> Result<Edn, String> {
        match self.skip_blank() {
            None => Err("the line ends inside a value".into()),
            Some('"') => self.string(),
            Some('[') => Ok(Edn::Vector(self.sequence(']')?)),
            Some('(') => Ok(Edn::Vector(self.sequence(')')?)),
            Some('{') => {
                let items = self.sequence('}')?;
                if items.len() % 2 == 1 {
                    return Err("a map with an odd number of forms".into());
                }
                let mut items = items.into_iter();
                let pairs = std::iter::from_fn(|| Some((items.next()?, items.next()?)));
                Ok(Edn::Map(pairs.collect()))
            }
            Some(c) if "]})".contains(c) => Err(format!("unexpected `{c}`")),
            Some(_) => self.atom(),
        }
    }

    /// The forms up to `close`, after the opening bracket.
    fn sequence(&mut self, close: char) -> Result<Vec<Edn>, String> {
        self.chars.next();
        let mut items = Vec::new();
        loop {
            match self.skip_blank() {
                Some(c) if c == close => {
                    self.chars.next();
                    return Ok(items);
                }
                None => return Err(format!("missing `{close}`")),
                Some(_) => items.push(self.value()?),
            }
        }
    }

    fn string(&mut self) -> Result<Edn, String> {
        self.chars.next();
        let mut out = String::new();
        loop {
            match self.chars.next().map(|(_, c)| c) {
                None => return Err("unterminated string".into()),
                Some('"') => return Ok(Edn::Str(out)),
                Some('\\') => out.push(match self.chars.next().map(|(_, c)| c) {
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('r') => '\r',
                    Some(c @ ('"' | '\\')) => c,
                    other => return Err(format!("unknown string escape {other:?}")),
                }),
                Some(c) => out.push(c),
            }
        }
    }

    /// A token up to the next delimiter: nil, a boolean, an integer, a keyword or a symbol.
    fn atom(&mut self) -> Result<Edn, String> {
        let start = self.chars.peek().map_or(self.text.len(), |&(i, _)| i);
        let delimiter = |c: char| c.is_whitespace() || ",\"[]{}()".contains(c);
        while self.chars.next_if(|&(_, c)| !delimiter(c)).is_some() {}
        let end = self.chars.peek().map_or(self.text.len(), |&(i, _)| i);
        let token = &self.text[start..end];
        Ok(match token {
            "nil" => Edn::Nil,
            "true" => Edn::Bool(true),
            "false" => Edn::Bool(false),
            _ if token.starts_with(':') && token.len() > 1 => Edn::Keyword(token[1..].into()),
            _ if token.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') => {
                match token.parse() {
                    Ok(n) => Edn::Int(n),
                    Err(_) if token.len() == 1 => Edn::Symbol(token.into()),
                    Err(_) => return Err(format!("not an integer: `{token}`")),
                }
            }
            _ => Edn::Symbol(token.into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_jepsen_history_line() {
        let line = r#"{:process 0, :type :ok, :f :get, :key "k", :value "a \"b\""} ; done"#;
        let values = read_all(line).unwrap();
        assert_eq!(values.len(), 1);
        let map = &values[0];
        assert_eq!(map.get("process"), Some(&Edn::Int(0)));
        assert_eq!(map.get("type"), Some(&Edn::Keyword("ok".into())));
        assert_eq!(map.get("value"), Some(&Edn::Str("a \"b\"".into())));
        assert_eq!(map.get("missing"), None);
    }

    #[test]
    fn reads_log_fields_and_vectors() {
        let values = read_all("3\t:invoke\t:cas\t[1 -4] nil").unwrap();
        let expected = [
            Edn::Int(3),
            Edn::Keyword("invoke".into()),
            Edn::Keyword("cas".into()),
            Edn::Vector(vec![Edn::Int(1), Edn::Int(-4)]),
            Edn::Nil,
        ];
        assert_eq!(values, expected);
    }

    #[test]
    fn reports_broken_input() {
        assert!(read_all("{:a 1").is_err());
        assert!(read_all("{:a}").is_err());
        assert!(read_all("\"open").is_err());
        assert!(read_all("]").is_err());
        assert!(read_all("12x").is_err());
    }
}
