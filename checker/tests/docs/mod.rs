//! The README and the book as the docs tests read them: which pages there are, and their
//! code blocks, links and headings, as a Markdown parser sees them.
// Each test binary uses its own part of these helpers.
#![allow(dead_code)]

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use std::path::{Path, PathBuf};

/// The repository's root, where the docs' relative paths start.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the checker package sits in the workspace")
        .to_path_buf()
}

/// The book's pages, under the root.
pub const BOOK: &str = "docs/src";

/// `README.md` and every Markdown page of the book, relative to the root, the README
/// first and the pages in name order.
pub fn pages() -> Vec<PathBuf> {
    let mut pages = Vec::new();
    collect_markdown(&root(), Path::new(BOOK), &mut pages);
    pages.sort();
    pages.insert(0, PathBuf::from("README.md"));
    pages
}

fn collect_markdown(root: &Path, dir: &Path, into: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(root.join(dir))
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = dir.join(entry.unwrap().file_name());
        if root.join(&path).is_dir() {
            collect_markdown(root, &path, into);
        } else if path.extension().is_some_and(|e| e == "md") {
            into.push(path);
        }
    }
}

/// The text of `page`, a path relative to the root.
pub fn read(page: &Path) -> String {
    std::fs::read_to_string(root().join(page))
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", page.display()))
}

/// A code block: its language (the fence's info string, empty for none or for an indented
/// block), the line its text starts on, and its text.
pub struct CodeBlock {
    pub lang: String,
    pub line: usize,
    pub text: String,
}

/// The parser mdBook uses, with the extensions the pages use.
fn parse(text: &str) -> impl Iterator<Item = (Event<'_>, std::ops::Range<usize>)> {
    Parser::new_ext(text, Options::ENABLE_TABLES).into_offset_iter()
}

/// The line of `text` that byte `offset` is on, counting from 1.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// Every code block of `text`, in order.
pub fn code_blocks(text: &str) -> Vec<CodeBlock> {
    let mut blocks = Vec::new();
    let mut open: Option<CodeBlock> = None;
    for (event, range) in parse(text) {
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => info.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                let line = line_of(text, range.start) + 1;
                open = Some(CodeBlock {
                    lang,
                    line,
                    text: String::new(),
                });
            }
            Event::Text(t) => {
                if let Some(block) = &mut open {
                    block.text.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => blocks.extend(open.take()),
            _ => {}
        }
    }
    blocks
}

/// Every link of `text`: its destination and its line.
pub fn links(text: &str) -> Vec<(String, usize)> {
    parse(text)
        .filter_map(|(event, range)| match event {
            Event::Start(Tag::Link { dest_url, .. }) => {
                Some((dest_url.to_string(), line_of(text, range.start)))
            }
            _ => None,
        })
        .collect()
}

/// The anchor of every heading of `text`, as mdBook (and GitHub) make them: the heading's
/// text in lower case, spaces as hyphens, other punctuation dropped.
pub fn heading_anchors(text: &str) -> Vec<String> {
    let mut anchors = Vec::new();
    let mut open: Option<String> = None;
    for (event, _) in parse(text) {
        match event {
            Event::Start(Tag::Heading { .. }) => open = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(heading) = &mut open {
                    heading.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => anchors.extend(open.take().map(|h| anchor(&h))),
            _ => {}
        }
    }
    anchors
}

fn anchor(heading: &str) -> String {
    (heading.chars())
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_ascii_lowercase())
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}
