//! `docs/management-api.md` as a product engineer follows it: every `sh` block, in order,
//! in one shell, against a fresh server (`scim-server` being the binary under test on the
//! server's database, `$BASE` the server's origin). A command that fails fails the test.

use std::process::Command;

use crate::helpers::{Server, Store, server_binary};

const GUIDE: &str = include_str!("../docs/management-api.md");

/// The guide's `sh` blocks, in order.
fn shell_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn every_command_runs() {
    let blocks = shell_blocks(GUIDE);
    assert!(
        blocks.len() >= 10,
        "the guide's commands were not found: {}",
        blocks.len()
    );
    let server = Server::start(Store::sqlite());
    let script = format!(
        "set -euo pipefail\nscim-server() {{ \"$SCIM_BIN\" --database-url \"$SCIM_DB\" \"$@\"; }}\n{}",
        blocks.join("\n")
    );
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("SCIM_BIN", server_binary())
        .env("SCIM_DB", server.store.url())
        .env("BASE", &server.base)
        .env("RUST_LOG", "warn")
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "the guide's commands failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("\"scimBaseUrl\""), "{stdout}");
    assert!(stdout.contains("rule "), "{stdout}");
}

#[test]
fn shell_blocks_are_found_in_order() {
    let blocks = shell_blocks("a\n```sh\none\n```\n```json\n{}\n```\n  ```sh\ntwo\n  ```\n");
    assert_eq!(blocks, ["one\n", "two\n"]);
}
