//! The JSON Schemas of `schemas/` (one per subcommand's `--json` document, and the error
//! document), held against real outputs: `cli/tests/schemas.rs` on the captures of
//! `tests/fixtures/` and hand-built buffers, `cli/tests/lab_cli.rs` on the live outputs
//! in the lab's guests.

#![allow(dead_code)] // each test binary uses its part

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The subcommands with a schema (`schemas/SUBCOMMAND.schema.json`).
pub const SUBCOMMANDS: [&str; 9] = [
    "list", "query", "decode", "device", "explain", "plan", "guest", "budget", "inspect",
];

pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas")
}

/// `schemas/NAME.schema.json`, parsed.
pub fn schema(name: &str) -> Value {
    let path = dir().join(format!("{name}.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Why `doc` is not what `name`'s schema says, one line per violation (empty: valid).
pub fn violations(name: &str, doc: &Value) -> Vec<String> {
    let schema = schema(name);
    let validator = jsonschema::draft202012::new(&schema)
        .unwrap_or_else(|e| panic!("schemas/{name}.schema.json is no valid schema: {e}"));
    validator
        .iter_errors(doc)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect()
}

/// The schema a document of `subcommand` answers to: the error document's when it is
/// one (a failure, `{"schema_version", "error": {...}}`), else the subcommand's.
pub fn schema_of(subcommand: &str, doc: &Value) -> &'static str {
    let is_error = doc.as_object().is_some_and(|o| {
        o.len() == 2 && o.contains_key("schema_version") && o["error"].is_object()
    });
    if is_error {
        return "error";
    }
    SUBCOMMANDS
        .into_iter()
        .find(|s| *s == subcommand)
        .unwrap_or_else(|| panic!("no schema for the subcommand {subcommand:?}"))
}

/// Panics, naming the command and each violation, unless `doc` (what `args` printed)
/// is valid against its schema.
pub fn assert_valid(args: &[&str], doc: &Value) {
    let name = schema_of(args[0], doc);
    let v = violations(name, doc);
    assert!(
        v.is_empty(),
        "`vfio-iommu-info {}` drifted from schemas/{name}.schema.json (add the key to the schema, or restore the output):\n  {}\n{doc:#}",
        args.join(" "),
        v.join("\n  ")
    );
}
