//! Every version the tree states is the workspace's, `[workspace.package] version` in the
//! root Cargo.toml: the newest CHANGELOG.md heading (the headings newest first, each dated),
//! the members' manifests and the versions on their path dependencies, both lock files,
//! the C library's newest ELF version node, the Python package's metadata and, once it
//! exists, debian/changelog. A bump that forgets one of them fails here, naming the file
//! and both values. Plain string handling: the files' forms are simple and ours.

use std::path::Path;

/// The disagreements found, one line each.
struct Check {
    version: String,
    problems: Vec<String>,
}

impl Check {
    fn expect(&mut self, file: &str, what: &str, found: &str, want: &str) {
        if found != want {
            self.problems.push(format!(
                "{file}: {what} is {found}, not {want} (the workspace's version is {}, \
                 Cargo.toml [workspace.package])",
                self.version
            ));
        }
    }

    fn problem(&mut self, file: &str, what: String) {
        self.problems.push(format!("{file}: {what}"));
    }
}

fn read(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `MAJOR.MINOR.PATCH` as numbers; `None` for anything else (pre-releases included).
fn semver(s: &str) -> Option<(u64, u64, u64)> {
    let mut parts = s.split('.').map(|p| p.parse::<u64>().ok());
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(Some(a)), Some(Some(b)), Some(Some(c)), None) => Some((a, b, c)),
        _ => None,
    }
}

/// `YYYY-MM-DD`, month 01-12, day 01-31.
fn is_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let number = |i: usize, len: usize, max: u32| {
        parts.get(i).is_some_and(|p| {
            p.len() == len
                && p.bytes().all(|b| b.is_ascii_digit())
                && (1..=max).contains(&p.parse().unwrap_or(0))
        })
    };
    parts.len() == 3 && number(0, 4, 9999) && number(1, 2, 12) && number(2, 2, 31)
}

/// The value of a `key = "value"` line.
fn quoted<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line.trim().strip_prefix(key)?.trim_start();
    rest.strip_prefix('=')?
        .trim()
        .strip_prefix('"')?
        .strip_suffix('"')
}

/// The body of a TOML table (`[name]`): its lines up to the next table.
fn table<'a>(toml: &'a str, name: &str) -> Vec<&'a str> {
    let header = format!("[{name}]");
    toml.lines()
        .skip_while(|l| l.trim() != header)
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .collect()
}

/// A quoted value of the root Cargo.toml's `[workspace.package]`.
fn workspace_package(toml: &str, key: &str) -> String {
    table(toml, "workspace.package")
        .into_iter()
        .find_map(|l| quoted(l, key))
        .unwrap_or_else(|| panic!("Cargo.toml: no {key} in [workspace.package]"))
        .to_owned()
}

/// The root Cargo.toml: the workspace's version and its members' folders.
fn workspace() -> (String, Vec<String>) {
    let toml = read("Cargo.toml");
    let version = workspace_package(&toml, "version");
    let ws = table(&toml, "workspace").join("\n");
    let list = ws
        .split_once("members")
        .and_then(|(_, r)| r.split_once('['))
        .and_then(|(_, r)| r.split_once(']'))
        .expect("Cargo.toml: no members = [...] in [workspace]")
        .0;
    let members = list
        .split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect();
    (version, members)
}

/// CHANGELOG.md: every `## ` heading is a release, `## X.Y.Z - YYYY-MM-DD`, newest first
/// (versions strictly decreasing, dates never later than the one above); the newest is
/// the workspace's version. Above them, and only there, one `## Unreleased` section may
/// collect what the next release will bring.
fn changelog(c: &mut Check) {
    let file = "CHANGELOG.md";
    let want = c.version.clone();
    let text = read(file);
    let mut releases = Vec::new();
    let headings: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("## ")).collect();
    let headings = match headings.split_first() {
        Some((&"Unreleased", rest)) => rest,
        _ => &headings[..],
    };
    for &heading in headings {
        let parsed = heading
            .split_once(" - ")
            .filter(|(_, date)| is_date(date))
            .and_then(|(v, date)| Some((semver(v)?, v, date)));
        match parsed {
            Some(release) => releases.push(release),
            None => c.problem(
                file,
                format!("heading `## {heading}` is not a release `## X.Y.Z - YYYY-MM-DD`"),
            ),
        }
    }
    match releases.first() {
        Some((_, v, _)) => c.expect(file, "the newest release heading", v, &want),
        None => c.problem(file, "no release heading `## X.Y.Z - YYYY-MM-DD`".into()),
    }
    for pair in releases.windows(2) {
        let ((new, nv, nd), (old, ov, od)) = (pair[0], pair[1]);
        if new <= old {
            c.problem(
                file,
                format!("release {nv} is above {ov}: newest first, each version once"),
            );
        }
        if nd < od {
            c.problem(
                file,
                format!("release {nv} ({nd}) is dated before {ov} ({od})"),
            );
        }
    }
}

/// The members' Cargo.toml and fuzz/'s: a member's own `[package]` version, if it states
/// one, and the `version` on every path dependency on a workspace crate (inline tables,
/// `name = { version = "...", path = "..." }`). Returns the members' crate names.
fn manifests(c: &mut Check, members: &[String]) -> Vec<String> {
    let want = c.version.clone();
    let file_of = |m: &str| {
        format!("{m}/Cargo.toml")
            .trim_start_matches("./")
            .to_owned()
    };
    let mut names = Vec::new();
    for file in members.iter().map(|m| file_of(m)) {
        let text = read(&file);
        let package = table(&text, "package");
        let name = package.iter().find_map(|l| quoted(l, "name"));
        names.push(
            name.unwrap_or_else(|| panic!("{file}: no name in [package]"))
                .to_owned(),
        );
        if let Some(v) = package.iter().find_map(|l| quoted(l, "version")) {
            c.expect(&file, "[package] version", v, &want);
        }
    }
    let mut deps = 0;
    for file in members.iter().map(|m| file_of(m)).chain([file_of("fuzz")]) {
        for line in read(&file).lines() {
            let Some((dep, value)) = line.split_once('=') else {
                continue;
            };
            let dep = dep.trim();
            if !names.iter().any(|n| n == dep) || !value.contains("path") {
                continue;
            }
            if let Some((_, v)) = value.split_once("version = \"") {
                let v = v.split('"').next().unwrap_or_default();
                let what = format!("the version on its path dependency {dep}");
                c.expect(&file, &what, v, &want);
                deps += 1;
            }
        }
    }
    if deps == 0 {
        let form = "name = { version = \"...\", path = \"...\" }";
        c.problem(
            "*/Cargo.toml",
            format!("no path dependency read as `{form}`"),
        );
    }
    names
}

/// Cargo.lock and fuzz/Cargo.lock: the entry of each workspace crate they hold (the root
/// lock holds them all).
fn locks(c: &mut Check, names: &[String]) {
    let want = c.version.clone();
    for file in ["Cargo.lock", "fuzz/Cargo.lock"] {
        let text = read(file);
        let lines: Vec<&str> = text.lines().collect();
        let mut seen = Vec::new();
        for pair in lines.windows(2) {
            let Some(name) = quoted(pair[0], "name") else {
                continue;
            };
            if names.iter().any(|n| n == name) {
                let v = quoted(pair[1], "version").unwrap_or("no version line");
                c.expect(file, &format!("the locked version of {name}"), v, &want);
                seen.push(name);
            }
        }
        let missing: Vec<&String> = names
            .iter()
            .filter(|n| !seen.contains(&n.as_str()))
            .collect();
        if file == "Cargo.lock" && !missing.is_empty() {
            c.problem(file, format!("no entry for {missing:?}"));
        } else if seen.is_empty() {
            c.problem(file, "no entry for any workspace crate".into());
        }
    }
}

/// The C library's newest ELF version node, in the linker script and in the symbol list
/// (nodes are appended, so the last is the newest): the node of the workspace's
/// major.minor, `VFIO_IOMMU_INFO_0` for 0.1.
///
/// While CHANGELOG.md opens with `## Unreleased`, the newest node may be the next minor
/// release's instead: the node its new exports already have (packaging/check-elf allows
/// their versions then too).
fn abi_nodes(c: &mut Check) {
    let (major, minor, _) = semver(&c.version).expect("the workspace's version is X.Y.Z");
    let unreleased = read("CHANGELOG.md")
        .lines()
        .find(|l| l.starts_with("## "))
        .is_some_and(|l| l == "## Unreleased");
    let node = |minor| match (major, minor) {
        (0, 1) => "VFIO_IOMMU_INFO_0".to_owned(),
        _ => format!("VFIO_IOMMU_INFO_{major}.{minor}"),
    };
    let next = node(minor + 1);
    let want_of = |newest: Option<&str>| match newest {
        Some(n) if unreleased && n == next => next.clone(),
        _ => node(minor),
    };
    let file = "packaging/libvfio_iommu_info.map";
    let map = read(file);
    let mut nodes = map.lines().filter_map(|l| l.trim().strip_suffix(" {"));
    let newest = nodes.rfind(|n| n.starts_with("VFIO_IOMMU_INFO_"));
    let want = want_of(newest);
    c.expect(
        file,
        "the newest version node",
        newest.unwrap_or("none"),
        &want,
    );
    let file = "packaging/libvfio_iommu_info.symbols";
    let symbols = read(file);
    let last = symbols
        .lines()
        .rfind(|l| !l.trim().is_empty() && !l.starts_with('#'));
    // A dpkg-gensymbols template line: ` NAME@NODE VERSION`.
    let newest = last
        .and_then(|l| l.split_whitespace().next())
        .map(|name| name.split_once('@').map_or(name, |(_, node)| node));
    let want = want_of(newest);
    c.expect(
        file,
        "the newest version node",
        newest.unwrap_or("none"),
        &want,
    );
}

/// python/pyproject.toml: a version of its own, or `dynamic = ["version"]` (maturin takes
/// the binding crate's, which is the workspace's).
fn pyproject(c: &mut Check) {
    let file = "python/pyproject.toml";
    let text = read(file);
    let project = table(&text, "project");
    if let Some(v) = project.iter().find_map(|l| quoted(l, "version")) {
        c.expect(file, "[project] version", v, &c.version.clone());
    } else if !project
        .iter()
        .any(|l| l.trim_start().starts_with("dynamic") && l.contains("\"version\""))
    {
        c.problem(
            file,
            "[project] states no version and no dynamic = [\"version\"]".into(),
        );
    }
}

/// debian/changelog, if there is one: the upstream part of its first entry's version
/// (`vfio-iommu-info (0.4.0-1) ...`, or `(0.4.0)` for a native package).
fn debian(c: &mut Check) {
    let file = "debian/changelog";
    if !Path::new(env!("CARGO_MANIFEST_DIR")).join(file).exists() {
        return;
    }
    let text = read(file);
    let first = text.lines().next().unwrap_or_default();
    let Some(full) = first.split_once('(').and_then(|(_, r)| r.split_once(')')) else {
        return c.problem(file, format!("first line `{first}` has no (version)"));
    };
    let no_epoch = full.0.split_once(':').map_or(full.0, |(_, v)| v);
    let upstream = no_epoch.rsplit_once('-').map_or(no_epoch, |(u, _)| u);
    c.expect(
        file,
        "the upstream version of the first entry",
        upstream,
        &c.version.clone(),
    );
}

#[test]
fn every_version_in_the_tree_is_the_workspace_version() {
    let (version, members) = workspace();
    assert!(
        semver(&version).is_some(),
        "Cargo.toml: version {version} is not X.Y.Z"
    );
    let mut c = Check {
        version,
        problems: Vec::new(),
    };
    changelog(&mut c);
    let names = manifests(&mut c, &members);
    locks(&mut c, &names);
    abi_nodes(&mut c);
    pyproject(&mut c);
    debian(&mut c);
    assert!(c.problems.is_empty(), "\n{}\n", c.problems.join("\n"));
}

/// The project's one address, `[workspace.package] documentation`, is the one every
/// package names: Python's project URLs, Debian's Homepage and the `.pc` file (filled in
/// by `make install` from the manifest).
#[test]
fn every_package_names_the_workspace_address() {
    let url = workspace_package(&read("Cargo.toml"), "documentation");
    let mut problems = Vec::new();
    let mut expect = |file: &str, what: &str, got: Option<&str>| {
        if got != Some(url.as_str()) {
            problems.push(format!("{file}: {what} is {got:?}, not {url:?} (Cargo.toml [workspace.package] documentation)"));
        }
    };
    let py = read("python/pyproject.toml");
    let urls = table(&py, "project.urls");
    expect(
        "python/pyproject.toml",
        "[project.urls] Documentation",
        urls.iter().find_map(|l| quoted(l, "Documentation")),
    );
    let control = read("debian/control");
    expect(
        "debian/control",
        "Homepage",
        control
            .lines()
            .find_map(|l| l.strip_prefix("Homepage:"))
            .map(str::trim),
    );
    let pc = read("packaging/vfio-iommu-info.pc.in");
    expect(
        "packaging/vfio-iommu-info.pc.in",
        "URL",
        pc.lines().find_map(|l| l.strip_prefix("URL:")).map(|v| {
            if v.trim() == "@URL@" {
                url.as_str()
            } else {
                v.trim()
            }
        }),
    );
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}
