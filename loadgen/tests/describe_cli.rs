//! `loadgen describe` as a user runs it: on a document where pieces cannot be inferred it still
//! writes the rest, lists what is missing on stderr and exits 2; a file that is not OpenAPI exits
//! 2 with one line.

mod common;

use std::time::Duration;

async fn describe(args: &[&str]) -> std::process::Output {
    tokio::time::timeout(
        Duration::from_secs(60),
        common::binary().arg("describe").args(args).output(),
    )
    .await
    .expect("loadgen finishes")
    .expect("loadgen runs")
}

#[tokio::test]
async fn missing_pieces_are_listed_the_rest_written_and_exit_2() {
    let dir = common::temp_dir("describe");
    let out = dir.join("api.toml");
    let document = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/openapi/incomplete.yaml"
    );
    let output = describe(&["--openapi", document, "-o", out.to_str().unwrap()]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "missing pieces exit 2: {stderr}"
    );
    assert!(
        stderr.contains("2 piece(s) could not be inferred")
            && stderr.contains("- accounts.register-path:")
            && stderr.contains("- login.token:"),
        "stderr lists each missing piece: {stderr}"
    );
    assert!(
        stderr.contains("records are the `notes` collection"),
        "the collection picked is named: {stderr}"
    );
    let text = std::fs::read_to_string(&out).expect("the rest is written");
    assert!(
        text.contains("collection = \"/notes\"") && text.contains("# token = ?"),
        "the file holds the inferred keys and the placeholders:\n{text}"
    );
}

#[tokio::test]
async fn a_file_that_is_not_openapi_exits_2() {
    let dir = common::temp_dir("describe-bad");
    let file = dir.join("not.json");
    std::fs::write(&file, r#"{"swagger": "2.0", "paths": {}}"#).unwrap();
    let output = describe(&["--openapi", file.to_str().unwrap()]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is not an OpenAPI 3 document"),
        "the reason is one line: {stderr}"
    );
}
