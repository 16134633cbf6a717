//! docs/user-guide.md shows real screens: each capture in it, marked
//! `<!-- screen: NAME -->` before a ```text block, must be the snapshot
//! `tests/screens/snapshots/NAME.snap` exactly, so the guide cannot drift
//! from what the terminal draws.

use std::path::Path;

/// The captures the guide shows at least (a guide that lost them fails).
const CAPTURES_MIN: usize = 12;
/// Most captures read (the guide is a document, not a database).
const CAPTURES_MAX: usize = 200;

fn snapshot_contents(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/screens/snapshots").join(format!("{name}.snap"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    // Header: "---", metadata lines, "---"; then the contents.
    let mut parts = text.splitn(3, "---\n");
    let (Some(""), Some(_header), Some(contents)) = (parts.next(), parts.next(), parts.next()) else {
        panic!("{} is not an insta snapshot", path.display());
    };
    contents.trim_end().to_owned()
}

/// Every `(name, capture)` in the guide.
fn captures(guide: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = guide;
    while let Some(start) = rest.find("<!-- screen: ") {
        assert!(found.len() < CAPTURES_MAX, "more than {CAPTURES_MAX} captures");
        rest = &rest[start + "<!-- screen: ".len()..];
        let end = rest.find(" -->").expect("a screen marker ends with -->");
        let name = rest[..end].trim().to_owned();
        let fence = rest.find("```text\n").expect("a ```text block follows the marker");
        let body = &rest[fence + "```text\n".len()..];
        let close = body.find("\n```").expect("the block is closed");
        found.push((name, body[..close].trim_end().to_owned()));
        rest = &body[close..];
    }
    found
}

#[test]
fn the_user_guide_shows_the_screens_as_the_terminal_draws_them() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/user-guide.md");
    let guide = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let captures = captures(&guide);
    assert!(captures.len() >= CAPTURES_MIN, "the guide shows only {} screens", captures.len());
    for (name, capture) in captures {
        assert_eq!(
            capture,
            snapshot_contents(&name),
            "docs/user-guide.md shows an old {name}: copy tests/screens/snapshots/{name}.snap into it"
        );
    }
}
