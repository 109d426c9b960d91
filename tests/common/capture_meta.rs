//! Reading the lab's foreign captures (tests/s390x.rs, tests/foreign.rs,
//! tests/arm64_iommufd.rs, tests/spapr_lab.rs): where the capture directory is (the
//! lab's fresh one named by an environment variable, or the committed fixtures), its
//! files, and the meta.txt the guest's capture program wrote: `key: value` fields and
//! `KIND k=v k=v ...` records.

// Each test binary uses a part of these.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// One `KIND k=v ...` record's fields.
pub type Record = BTreeMap<String, String>;

/// A parsed meta.txt (or outcome.txt): `key: value` lines, and `KIND k=v k=v ...` records.
pub struct Meta {
    /// Which capture, for messages (its directory or scenario).
    pub what: String,
    pub fields: BTreeMap<String, String>,
    pub records: Vec<(String, Record)>,
}

impl Meta {
    pub fn parse(what: impl Into<String>, text: &str) -> Meta {
        let mut m = Meta {
            what: what.into(),
            fields: BTreeMap::new(),
            records: Vec::new(),
        };
        m.add(text);
        m
    }

    /// Adds TEXT's lines; a later `key:` replaces an earlier one.
    pub fn add(&mut self, text: &str) {
        for line in text.lines() {
            let Some((first, rest)) = line.split_once(' ') else {
                continue;
            };
            if let Some(key) = first.strip_suffix(':') {
                self.fields.insert(key.to_owned(), rest.to_owned());
            } else {
                let kv = rest
                    .split_whitespace()
                    .filter_map(|w| w.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                self.records.push((first.to_owned(), kv));
            }
        }
    }

    pub fn field(&self, key: &str) -> &str {
        self.fields
            .get(key)
            .unwrap_or_else(|| panic!("{}: meta.txt has no '{key}:' line", self.what))
    }

    pub fn num(&self, key: &str) -> u64 {
        num(self.field(key))
    }

    /// A `key: k=v ...` line's value of `k`.
    pub fn field_kv(&self, key: &str, k: &str) -> u64 {
        let line = self.field(key);
        let v = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix(k)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("{}: meta.txt '{key}:' has no {k}= ({line})", self.what));
        num(v)
    }

    pub fn records<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Record> {
        self.records
            .iter()
            .filter(move |(k, _)| k == kind)
            .map(|(_, r)| r)
    }
}

/// `0x`-prefixed hex or decimal.
pub fn num(s: &str) -> u64 {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    }
    .unwrap_or_else(|e| panic!("meta.txt: '{s}' is not a number: {e}"))
}

/// A record's `k=` as a number.
pub fn get(r: &Record, k: &str) -> u64 {
    num(r
        .get(k)
        .unwrap_or_else(|| panic!("meta.txt record {r:?} has no {k}=")))
}

/// The lab's fresh capture directory, when the environment variable VAR names one.
pub fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).map(PathBuf::from)
}

/// tests/fixtures of the crate.
pub fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The committed capture tests/fixtures/NAME.
pub fn fixture(name: &str) -> PathBuf {
    fixtures_root().join(name)
}

/// Every directory under tests/fixtures that KEEP accepts, sorted.
pub fn fixture_dirs(keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let root = fixtures_root();
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|d| keep(d))
        .collect();
    dirs.sort();
    dirs
}

/// NAME of the capture directory DIR, which PROGRAM (the guest's capture program)
/// should have written.
pub fn read(dir: &Path, name: &str, program: &str) -> Vec<u8> {
    let path = dir.join(name);
    fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} ({program} did not write it, or it did not survive the console)",
            path.display()
        )
    })
}
