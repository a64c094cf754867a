//! The links of the README and of the book lead somewhere: every relative link to a file
//! that exists and, with an anchor, to a heading of that page; and `SUMMARY.md` names every
//! page, so that none is left out of the built book. mdBook itself checks neither.

mod docs;

use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn every_relative_link_leads_to_a_file_and_its_anchor_to_a_heading() {
    let root = docs::root();
    let mut broken = Vec::new();
    for page in docs::pages() {
        for (dest, line) in docs::links(&docs::read(&page)) {
            if dest.contains("://") || dest.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = dest.split_once('#').unwrap_or((&dest, ""));
            let target = if file.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap_or(Path::new("")).join(file)
            };
            let at = format!("{}:{line}: {dest}", page.display());
            if !root.join(&target).exists() {
                broken.push(format!("{at}: no file {}", target.display()));
            } else if !anchor.is_empty() {
                let anchors = docs::heading_anchors(&docs::read(&target));
                if !anchors.iter().any(|a| a == anchor) {
                    broken.push(format!("{at}: no heading with anchor #{anchor}"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// mdBook numbers a repeated anchor (`#open-work-1`), which a link written by hand would
/// not expect: each page's headings must differ.
#[test]
fn no_page_has_two_headings_with_one_anchor() {
    for page in docs::pages() {
        let mut seen = BTreeSet::new();
        for anchor in docs::heading_anchors(&docs::read(&page)) {
            assert!(
                seen.insert(anchor.clone()),
                "{}: two headings with the anchor #{anchor}",
                page.display()
            );
        }
    }
}

#[test]
fn the_summary_names_every_page_of_the_book() {
    let book = Path::new(docs::BOOK);
    let summary = docs::read(&book.join("SUMMARY.md"));
    let named: BTreeSet<String> = docs::links(&summary).into_iter().map(|(d, _)| d).collect();
    for page in docs::pages() {
        let Ok(in_book) = page.strip_prefix(book) else {
            continue;
        };
        let in_book = in_book.to_string_lossy().to_string();
        if in_book != "SUMMARY.md" {
            assert!(
                named.contains(&in_book),
                "SUMMARY.md does not name {in_book}: the built book would leave it out"
            );
        }
    }
}
