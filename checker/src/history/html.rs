//! `coord history check FILE --html OUT`: one self-contained page (inline CSS, script and
//! SVG, nothing fetched) that draws the history as a timeline per client and, per key,
//! the longest prefix that linearizes, the operation that cannot be placed after it and
//! the operations concurrent with that one, as Porcupine's visualizer and Knossos's
//! linear.svg do.

use coord_specs::history::{Analysis, History, HistorySpec, PartVerdict, Verdict};
use serde::Serialize;

/// The page, with `/*DATA*/` where the drawing's data goes.
const TEMPLATE: &str = include_str!("page.html");

/// One operation as the page draws it.
#[derive(Serialize)]
struct Op {
    id: usize,
    client: u64,
    key: String,
    op: String,
    /// `None` for an unknown outcome.
    result: Option<String>,
    start: u64,
    /// `None` for an unknown outcome: drawn to the end of the history.
    end: Option<u64>,
}

/// One partition as the page draws it.
#[derive(Serialize)]
struct Part {
    key: String,
    verdict: String,
    ops: usize,
    /// The operations in the order that explains them (for a failing key: the longest
    /// prefix that linearizes).
    order: Vec<usize>,
    culprit: Option<usize>,
    /// The operations of the key concurrent with the culprit.
    concurrent: Vec<usize>,
}

#[derive(Serialize)]
struct Drawing {
    title: String,
    verdict: String,
    ops: Vec<Op>,
    parts: Vec<Part>,
}

/// The page for `history` and what the check found, `analysis`.
pub fn page<S: HistorySpec>(title: &str, history: &History<S>, analysis: &Analysis) -> String {
    let key_of = |i: usize| {
        let part = analysis.parts.iter().find(|part| part.ops.contains(&i));
        part.and_then(|part| part.key.as_deref())
            .unwrap_or("")
            .to_string()
    };
    let ops = (history.iter().enumerate())
        .map(|(id, op)| Op {
            id,
            client: op.client,
            key: key_of(id),
            op: op.op.to_string(),
            result: op.ret().map(ToString::to_string),
            start: op.invoked,
            end: op.returned(),
        })
        .collect();
    let parts = (analysis.parts.iter())
        .map(|part| {
            let (verdict, order, culprit) = match &part.verdict {
                PartVerdict::Linearizable { order } => ("linearizable".into(), order.clone(), None),
                PartVerdict::NotLinearizable { order, culprit, .. } => {
                    ("not linearizable".into(), order.clone(), Some(*culprit))
                }
                PartVerdict::Unknown(reason) => (format!("unknown: {reason}"), Vec::new(), None),
            };
            let concurrent = culprit.map_or_else(Vec::new, |culprit| {
                let overlaps = |i: usize| {
                    let (a, b) = (&history[i], &history[culprit]);
                    let b_end = b.returned().unwrap_or(u64::MAX);
                    i != culprit
                        && a.invoked <= b_end
                        && a.returned().is_none_or(|end| end >= b.invoked)
                };
                part.ops.iter().copied().filter(|&i| overlaps(i)).collect()
            });
            Part {
                key: part.key.as_deref().unwrap_or("").to_string(),
                verdict,
                ops: part.ops.len(),
                order,
                culprit,
                concurrent,
            }
        })
        .collect();
    let verdict = match &analysis.verdict {
        Verdict::Linearizable => "linearizable".to_string(),
        Verdict::NotLinearizable(_) => "NOT linearizable".to_string(),
        Verdict::Unknown(undecided) => undecided.to_string(),
    };
    let drawing = Drawing {
        title: title.to_string(),
        verdict,
        ops,
        parts,
    };
    let json = serde_json::to_string(&drawing).expect("the drawing serializes");
    // Inside a script element, "</script>" would end it: escape every '<' (JSON allows it).
    TEMPLATE.replace("/*DATA*/", &json.replace('<', "\\u003c"))
}
