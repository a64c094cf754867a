//! The modules of `models/src` import one another without a cycle, and the modules every
//! system shares import no system: shared types sit below the systems, the registry above.
//!
//! The graph is read from the sources: module `a` depends on module `b` if a line of `a`
//! (a comment aside) names `crate::b`, or names through `crate::` an item that `lib.rs`
//! re-exports from `b`. A submodule (`znode/lock.rs`) counts as its top module (`znode`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name -> the modules it depends on.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// The modules that hold a system's model and checks.
const SYSTEMS: [&str; 3] = ["raft", "chain", "znode"];

/// The modules every system uses, which must know no system.
const SHARED: [&str; 15] = [
    "build",
    "cfg",
    "check",
    "checkable",
    "dead_messages",
    "history",
    "monotonic",
    "node",
    "restart",
    "run",
    "sim_sizes",
    "simulate",
    "swarm",
    "symmetry",
    "verdict",
];

/// The source of `file` without its comment lines.
fn code(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifiers that follow each `crate::` in `code`: `crate::a::b` gives `a`, and
/// `crate::{a, b::c}` gives `a` and `b`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            names.extend(group.split(',').filter_map(|p| first_ident(p.trim())));
        } else {
            names.extend(first_ident(rest));
        }
    }
    names
}

fn first_ident(s: &str) -> Option<String> {
    let ident: String = s
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!ident.is_empty()).then_some(ident)
}

/// What `lib.rs` declares: its modules, and for each item it re-exports, the module.
fn lib_items(src: &Path) -> (BTreeSet<String>, BTreeMap<String, String>) {
    let lib = code(&src.join("lib.rs"));
    let mut modules = BTreeSet::new();
    let mut reexports = BTreeMap::new();
    for statement in lib.split(';').map(str::trim) {
        if let Some(m) = statement.strip_prefix("pub mod ") {
            modules.insert(m.trim().to_string());
        } else if let Some(path) = statement.strip_prefix("pub use ") {
            let (module, items) = path.split_once("::").expect("pub use names a module");
            let items = items.trim_matches(|c| c == '{' || c == '}');
            for item in items.split(',').filter_map(|i| first_ident(i.trim())) {
                reexports.insert(item, module.to_string());
            }
        }
    }
    (modules, reexports)
}

/// The module graph of the crate whose sources are in `src`.
fn graph(src: &Path) -> Graph {
    let (modules, reexports) = lib_items(src);
    let mut graph = Graph::new();
    for module in &modules {
        let mut files = vec![src.join(format!("{module}.rs"))];
        let dir = src.join(module);
        if dir.is_dir() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        let mut uses = BTreeSet::new();
        for file in files.iter().filter(|f| f.exists()) {
            for name in crate_paths(&code(file)) {
                let target = match reexports.get(&name) {
                    Some(m) => m.clone(),
                    None => name,
                };
                assert!(
                    modules.contains(&target),
                    "{file:?}: crate::{target} is no module"
                );
                if &target != module {
                    uses.insert(target);
                }
            }
        }
        graph.insert(module.clone(), uses);
    }
    graph
}

/// A cycle of `graph`, as the modules along it, if it has one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        OnPath,
        Done,
    }
    fn visit(
        m: &str,
        graph: &Graph,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(m) {
            Some(Mark::Done) => return None,
            Some(Mark::OnPath) => {
                let start = path.iter().position(|p| p == m).unwrap();
                let mut cycle = path[start..].to_vec();
                cycle.push(m.to_string());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(m.to_string(), Mark::OnPath);
        path.push(m.to_string());
        for next in graph.get(m).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(m.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    graph
        .keys()
        .find_map(|m| visit(m, graph, &mut marks, &mut Vec::new()))
}

/// Every module that `module` depends on, directly or not.
fn reachable(graph: &Graph, module: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![module.to_string()];
    while let Some(m) = todo.pop() {
        for next in graph.get(&m).into_iter().flatten() {
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

fn models_graph() -> Graph {
    graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

#[test]
fn the_modules_of_models_import_one_another_without_a_cycle() {
    let graph = models_graph();
    assert!(graph.len() > 10, "read too few modules: {graph:?}");
    assert_eq!(find_cycle(&graph), None, "module graph: {graph:#?}");
}

#[test]
fn shared_modules_know_no_system_and_the_registry_knows_them_all() {
    let graph = models_graph();
    for shared in SHARED {
        let below = reachable(&graph, shared);
        assert!(graph.contains_key(shared), "no module {shared}");
        for system in SYSTEMS.iter().chain(&["registry"]) {
            assert!(!below.contains(*system), "{shared} depends on {system}");
        }
    }
    for system in SYSTEMS {
        assert!(
            graph["registry"].contains(system),
            "the registry skips {system}"
        );
        assert!(!reachable(&graph, system).contains("registry"));
    }
}

#[test]
fn a_cycle_is_found_and_an_acyclic_graph_passes() {
    let edges = |pairs: &[(&str, &str)]| {
        let mut g = Graph::new();
        for (a, b) in pairs {
            g.entry(a.to_string()).or_default().insert(b.to_string());
            g.entry(b.to_string()).or_default();
        }
        g
    };
    let cycle = find_cycle(&edges(&[("registry", "raft"), ("raft", "registry")]));
    assert_eq!(cycle.unwrap(), ["raft", "registry", "raft"]);
    let dag = edges(&[("registry", "raft"), ("raft", "cfg"), ("registry", "cfg")]);
    assert_eq!(find_cycle(&dag), None);
}

#[test]
fn crate_paths_are_read_from_single_and_grouped_imports() {
    let code = "use crate::cfg::{Bounds, ModelCfg};\nuse crate::{chain, raft::Links};\nfn f(b: &crate::Bounds) {}";
    assert_eq!(crate_paths(code), ["cfg", "chain", "raft", "Bounds"]);
}
