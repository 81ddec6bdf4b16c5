//! The explorer page (`GET /`) in headless Chromium: opened on `quiver serve --demo`, it runs
//! the customer-360 query, shows exactly the expected answer, and draws one node per object
//! of it. A screenshot is left in target/explorer-customer360.png.
//!
//! Chromium comes from Debian's `chromium` package; when it is missing this test installs it
//! with apt-get (as `.ci/run` does).
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{Server, expected, fixture, http};

fn chromium() -> PathBuf {
    let found = |p: &str| Path::new(p).exists().then(|| PathBuf::from(p));
    if let Some(p) = found("/usr/bin/chromium") {
        return p;
    }
    let status = Command::new("sh")
        .args(["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium"])
        .status()
        .expect("apt-get is needed to install chromium");
    assert!(status.success(), "installing chromium failed");
    found("/usr/bin/chromium").expect("chromium is installed at /usr/bin/chromium")
}

/// Runs headless Chromium on `url` with `what` (`--dump-dom` or `--screenshot=...`).
fn headless(url: &str, what: &str, profile: &Path) -> String {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,800",
            "--virtual-time-budget=15000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(what)
        .arg(url)
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn unescape(html: &str) -> String {
    html.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// The text between `<tag id="id"...>` and `</tag>`.
fn element<'a>(dom: &'a str, tag: &str, id: &str) -> &'a str {
    let start = dom.find(&format!("<{tag} id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in {dom}"));
    let open_end = start + dom[start..].find('>').unwrap() + 1;
    let close = open_end + dom[open_end..].find(&format!("</{tag}>")).unwrap();
    &dom[open_end..close]
}

fn attribute(tag_text: &str, name: &str) -> String {
    let at = tag_text.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    tag_text[at..at + tag_text[at..].find('"').unwrap()].to_string()
}

/// Objects in an answer's data (every object but `data` itself): the nodes the page draws.
fn objects(v: &Value) -> usize {
    match v {
        Value::Object(m) => 1 + m.values().map(objects).sum::<usize>(),
        Value::Array(items) => items.iter().map(objects).sum(),
        _ => 0,
    }
}

#[test]
fn the_explorer_runs_the_customer360_query_and_draws_its_graph() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("demo"), &["--demo"]);
    let page = http(&server.http, "GET", "/", &[], b"");
    assert_eq!((page.status, page.header("content-type")), (200, Some("text/html; charset=utf-8")));
    assert!(page.body.contains("<title>Quiver explorer</title>"));

    let url =
        format!("http://{}/?run=1&query={}", server.http, support::urlencode(&fixture("query.graphql")));
    let dom = headless(&url, "--dump-dom", &dir.path().join("profile-1"));
    assert!(dom.contains("data-state=\"done\""), "the page did not finish: {dom}");
    let answer: Value = serde_json::from_str(&unescape(element(&dom, "pre", "answer"))).unwrap();
    assert_eq!(serde_json::to_string(&answer).unwrap(), expected());

    let svg_at = dom.find("<svg id=\"graph\"").unwrap();
    let svg_tag = &dom[svg_at..svg_at + dom[svg_at..].find('>').unwrap()];
    let want = objects(&answer["data"]) - 1;
    assert_eq!(attribute(svg_tag, "data-nodes"), want.to_string());
    assert_eq!(want, 18);
    assert_eq!(dom.matches("<circle ").count(), want);
    // One edge per object below the customer.
    assert_eq!(attribute(svg_tag, "data-edges"), (want - 1).to_string());
    // The schema panel lists the stored types (each a bold name; nothing else is bold).
    let schema = &dom[dom.find("<div id=\"schema\"").unwrap()..];
    for t in [
        "Customer",
        "LoyaltyProgram",
        "Order",
        "Product",
        "Review",
        "SiteData",
        "SocialMedia",
        "SupportTicket",
    ] {
        assert!(schema.contains(&format!(">{t}</b>")), "{t} missing from the schema panel");
    }

    // Expanding the customer (a link may ask for it) adds its neighbours, by id.
    let neighbours = support::graphql(
        &server.http,
        None,
        "{ getCustomer(id: \"0x28caba09\") { loyaltyPrograms { id } orders { id } products { id } supportTickets { id } reviews { id } siteDataResults { id } socialMediaPosts { id } } }",
        Value::Null,
    );
    let neighbours: Value = serde_json::from_str(&neighbours.body).unwrap();
    let added = objects(&neighbours["data"]["getCustomer"]) - 1;
    assert!(added > 5, "{neighbours}");
    let expanded = headless(&format!("{url}&expand=0x28caba09"), "--dump-dom", &dir.path().join("profile-3"));
    assert!(expanded.contains("data-state=\"done\""), "the page did not finish: {expanded}");
    let svg_at = expanded.find("<svg id=\"graph\"").unwrap();
    let svg_tag = &expanded[svg_at..svg_at + expanded[svg_at..].find('>').unwrap()];
    assert_eq!(attribute(svg_tag, "data-nodes"), (want + added).to_string());
    assert_eq!(attribute(svg_tag, "data-edges"), (want - 1 + added).to_string());
    assert!(expanded.contains("<div id=\"inspector\">"), "the expanded node is shown");

    let shot = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/explorer-customer360.png");
    std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&shot);
    headless(&url, &format!("--screenshot={}", shot.display()), &dir.path().join("profile-2"));
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000, "no screenshot at {}", shot.display());
}

#[test]
fn the_explorer_page_needs_no_token_but_its_requests_do() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "read:reader-token\n").unwrap();
    let server = Server::start(&dir.path().join("db"), &["--tokens", tokens.to_str().unwrap()]);
    assert_eq!(http(&server.http, "GET", "/", &[], b"").status, 200);
    let r = support::graphql(&server.http, None, "{ __typename }", Value::Null);
    assert_eq!(r.status, 401);
}
