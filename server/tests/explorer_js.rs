#![allow(missing_docs)]
//! The explorer page's logic (server/src/explorer/core.js) under node's test runner: schema
//! reading, field-name completion, the graph made of an answer, the expand request.

#[test]
fn the_explorer_logic_passes_its_node_tests() {
    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/explorer/core.test.js");
    let out = std::process::Command::new("node")
        .arg("--test")
        .arg(&tests)
        .output()
        .unwrap_or_else(|e| panic!("node is needed to run {}: {e}", tests.display()));
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{report}");
    assert!(report.contains("# pass 4"), "{report}");
    assert!(report.contains("# fail 0"), "{report}");
}
