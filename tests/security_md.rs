//! SECURITY.md lists every crate of the workspace's and the fuzzing workspace's lock files
//! with why it is there: a new dependency fails here until it is listed.

use std::path::Path;

/// The package names of a `Cargo.lock`, the workspace's own crates left out.
fn locked_crates(lock: &str) -> Vec<String> {
    let mut names: Vec<String> = lock
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| !n.starts_with("vfio-iommu-info"))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn every_locked_crate_is_listed_with_a_reason() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let security = std::fs::read_to_string(root.join("SECURITY.md")).unwrap();
    let mut missing = Vec::new();
    let mut count = 0;
    for lock in ["Cargo.lock", "fuzz/Cargo.lock"] {
        let text = std::fs::read_to_string(root.join(lock)).unwrap();
        for name in locked_crates(&text) {
            count += 1;
            if !security.contains(&format!("`{name}`")) {
                missing.push(format!("{name} ({lock})"));
            }
        }
    }
    assert!(
        count > 50,
        "only {count} crates read: is the lock format still `name = \"...\"`?"
    );
    assert!(
        missing.is_empty(),
        "SECURITY.md does not list {missing:?}: add each to its Dependencies tables with why it is there"
    );
}

#[test]
fn the_lock_reader_finds_names_and_skips_our_own() {
    let lock = "[[package]]\nname = \"libc\"\nversion = \"0.2\"\n\n[[package]]\nname = \"vfio-iommu-info\"\n";
    assert_eq!(locked_crates(lock), ["libc"]);
}
