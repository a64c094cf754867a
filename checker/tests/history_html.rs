//! `coord history check FILE --html OUT`: the page opened in headless Chromium draws what
//! the check found: a row per client, a bar per operation, the operation that cannot be
//! placed and those concurrent with it marked, and nothing fetched from elsewhere.
//! Chromium comes from Debian's `chromium` package, which `.ci/run` installs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";

fn coord(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coord"))
        .args(args)
        .output()
        .expect("coord runs")
}

/// Kills the browser if the test ends early (a panic, a timeout).
struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The DOM of `page` after its scripts ran, as headless Chromium serializes it.
fn rendered(page: &Path, profile: &Path) -> String {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: this test needs Debian's chromium package (apt-get install -y chromium; .ci/run installs it)"
    );
    // To a file, not a pipe: a DOM larger than the pipe would stall the browser.
    let dump = profile.with_extension("dom.html");
    let out = std::fs::File::create(&dump).expect("the dump file");
    let child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(page)
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut browser = Browser(child);
    let deadline = Instant::now() + Duration::from_secs(120);
    while browser.0.try_wait().expect("chromium runs").is_none() {
        assert!(
            Instant::now() < deadline,
            "chromium did not finish in 120 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::read_to_string(&dump).expect("the DOM is text")
}

/// The ids of the operations drawn with class `class`.
fn marked(dom: &str, class: &str) -> Vec<usize> {
    (dom.split("<rect id=\"op-").skip(1))
        .filter_map(|rest| {
            let (id, rest) = rest.split_once('"')?;
            let classes = rest.split_once("class=\"")?.1.split_once('"')?.0;
            classes
                .split(' ')
                .any(|c| c == class)
                .then(|| id.parse().ok())?
        })
        .collect()
}

/// The tooltip of operation `id`, as text.
fn title(dom: &str, id: usize) -> String {
    let start = dom.find(&format!("<rect id=\"op-{id}\"")).expect("drawn");
    let rest = &dom[start..];
    let title = rest.split_once("<title>").expect("a tooltip").1;
    let text = title.split_once("</title>").expect("closed").0;
    (text.replace("&gt;", ">").replace("&lt;", "<")).replace("&amp;", "&")
}

#[test]
fn the_page_draws_each_client_each_operation_and_the_one_that_cannot_be_placed() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let history: PathBuf = dir.path().join("stale-read.edn");
    let generated = coord(&[
        "history",
        "generate",
        "--processes",
        "10",
        "--anomaly",
        "stale-read",
    ]);
    assert!(generated.status.success());
    std::fs::write(&history, &generated.stdout).expect("written");
    let page = dir.path().join("check.html");
    let checked = Command::new(env!("CARGO_BIN_EXE_coord"))
        .args(["history", "check"])
        .arg(&history)
        .arg("--html")
        .arg(&page)
        .output()
        .expect("coord runs");
    assert_eq!(checked.status.code(), Some(1), "not linearizable");
    let report = String::from_utf8_lossy(&checked.stdout);
    // The report names the culprit: "client C's OP -> RESULT".
    let culprit_line = (report.lines())
        .find(|line| line.starts_with("client "))
        .expect("the culprit is named");
    let (client, op) = culprit_line["client ".len()..]
        .split_once("'s ")
        .expect("client C's OP");

    let html = std::fs::read_to_string(&page).expect("the page was written");
    for outside in ["<link", " src=", "http://", "https://", "@import"] {
        let outside_uses = html.matches(outside).count();
        // The only URL is the SVG namespace, which is a name, not a fetch.
        let namespace = html.matches("http://www.w3.org/2000/svg").count();
        let allowed = if outside == "http://" { namespace } else { 0 };
        assert_eq!(outside_uses, allowed, "the page refers outside: {outside}");
    }

    let profile = dir.path().join("profile");
    let dom = rendered(&page, &profile);
    assert_eq!(
        dom.matches("class=\"client-row\"").count(),
        10,
        "a row per client"
    );
    assert_eq!(
        dom.matches("<rect id=\"op-").count(),
        400,
        "a bar per operation"
    );
    let culprits = marked(&dom, "culprit");
    assert_eq!(culprits.len(), 1, "one operation cannot be placed");
    let tooltip = title(&dom, culprits[0]);
    assert!(
        tooltip.contains(&format!("client {client}: {op}")),
        "the page's culprit {tooltip:?} is the report's {culprit_line:?}"
    );
    let concurrent = marked(&dom, "concurrent");
    assert!(
        !concurrent.is_empty(),
        "a stale read has concurrent operations"
    );
    assert!(
        !marked(&dom, "linearized").is_empty(),
        "a prefix linearizes"
    );
    assert!(
        dom.contains("cannot be placed after it"),
        "the key's section says so"
    );
    assert!(dom.contains("NOT linearizable"));
}
