//! The README's sample outputs, held against real runs of the command.
//!
//! A sample block in README.md is a ```` ```text ```` block right after a marker line
//! `<!-- samples: SOURCE -->`, where SOURCE is `host` (commands on files in the tree,
//! checked by `cargo test`) or a lab scenario (`lab linux-6.12-amd`: live commands,
//! checked inside that scenario's guest by `make lab`). In a block, each
//! `$ vfio-iommu-info ARGS  # comment` line (continued by a trailing `\`) is run from the
//! repository root and its stdout compared with the lines shown under it. A shown line
//! that starts with `...` stands for any number of real lines; every other shown line
//! must equal a real one (trailing spaces aside), in order and contiguous between gaps.
//! On a mismatch the whole real output is written under `target/readme-samples/` (or
//! `LAB_OUT`) to paste from.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One command of a sample block and the output the README shows for it.
pub struct Sample {
    /// 1-based line of the `$` line in README.md.
    pub line: usize,
    pub args: Vec<String>,
    pub shown: Vec<String>,
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

/// The samples of every block marked `<!-- samples: SOURCE -->`.
pub fn samples(readme: &str, source: &str) -> Vec<Sample> {
    let marker = format!("<!-- samples: {source} -->");
    let lines: Vec<&str> = readme.lines().collect();
    let mut out: Vec<Sample> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() != marker {
            i += 1;
            continue;
        }
        assert_eq!(
            lines.get(i + 1).map(|l| l.trim()),
            Some("```text"),
            "README.md:{}: a samples marker must be followed by a ```text block",
            i + 1
        );
        i += 2;
        while i < lines.len() && lines[i].trim() != "```" {
            let line = lines[i];
            if let Some(first) = line.strip_prefix("$ vfio-iommu-info") {
                let start = i;
                let mut command = without_comment(first).to_owned();
                while command.ends_with('\\') && i + 1 < lines.len() {
                    command.pop();
                    i += 1;
                    command.push(' ');
                    command.push_str(without_comment(lines[i]));
                }
                out.push(Sample {
                    line: start + 1,
                    args: command.split_whitespace().map(str::to_owned).collect(),
                    shown: Vec::new(),
                });
            } else {
                let sample = out.last_mut().unwrap_or_else(|| {
                    panic!(
                        "README.md:{}: output before any `$ vfio-iommu-info` line",
                        i + 1
                    )
                });
                sample.shown.push(line.trim_end().to_owned());
            }
            i += 1;
        }
    }
    out
}

/// The command line without its `# comment` (no argument of ours contains `#`).
fn without_comment(line: &str) -> &str {
    line.split_once(" #").map_or(line, |(cmd, _)| cmd).trim()
}

/// Whether `shown` (with `...` gaps) is what `real` printed; the reason when not.
pub fn compare(shown: &[String], real: &str) -> Result<(), String> {
    let real: Vec<&str> = real.lines().map(str::trim_end).collect();
    let mut segments: Vec<&[String]> = Vec::new();
    let mut gaps = Vec::new(); // gaps[k]: whether a gap precedes segment k
    let mut start = 0;
    let mut gap_before = false;
    for (k, line) in shown.iter().enumerate() {
        if line.trim_start().starts_with("...") {
            if start < k {
                segments.push(&shown[start..k]);
                gaps.push(gap_before);
            }
            gap_before = true;
            start = k + 1;
        }
    }
    let trailing_gap = start == shown.len() && gap_before;
    if start < shown.len() {
        segments.push(&shown[start..]);
        gaps.push(gap_before);
    }
    let mut at = 0;
    for (k, segment) in segments.iter().enumerate() {
        let fits = |from: usize| {
            real.len() >= from + segment.len()
                && segment.iter().zip(&real[from..]).all(|(s, r)| s == r)
        };
        let found = if gaps[k] {
            (at..=real.len()).find(|&from| fits(from))
        } else {
            fits(at).then_some(at)
        };
        match found {
            Some(from) => at = from + segment.len(),
            None if gaps[k] => {
                return Err(format!(
                    "the lines from {:?} on are nowhere after the `...` in the real output",
                    segment[0]
                ))
            }
            None => {
                let (shown, real) = segment
                    .iter()
                    .zip(real[at..].iter().map(Some).chain(std::iter::repeat(None)))
                    .find(|(s, r)| r.is_none_or(|r| s != r))
                    .expect("a segment that does not fit differs somewhere");
                return Err(match real {
                    Some(real) => format!("shows {shown:?} where the command printed {real:?}"),
                    None => format!("shows {shown:?} after the command's last line"),
                });
            }
        }
    }
    if !trailing_gap && at != real.len() {
        return Err(format!(
            "the real output goes on after the shown lines with {:?} (end the block with `...` to elide)",
            real[at]
        ));
    }
    Ok(())
}

/// Runs every sample of `source` with `cli` from the repository root and checks each;
/// the real outputs go to `dump_dir/readme-samples-<source>.txt` when one differs.
pub fn check(cli: &Path, source: &str, dump_dir: &Path) -> usize {
    let root = repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let samples = samples(&readme, source);
    let mut failures = Vec::new();
    let mut dump = String::new();
    for sample in &samples {
        let out = Command::new(cli)
            .args(&sample.args)
            .current_dir(&root)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", cli.display()));
        let real = String::from_utf8_lossy(&out.stdout);
        dump.push_str(&format!(
            "$ vfio-iommu-info {}\n{real}",
            sample.args.join(" ")
        ));
        if let Err(why) = compare(&sample.shown, &real) {
            failures.push(format!(
                "README.md:{}: `vfio-iommu-info {}`: {why}",
                sample.line,
                sample.args.join(" ")
            ));
        }
    }
    if !failures.is_empty() {
        let name = format!("readme-samples-{}.txt", source.replace(' ', "-"));
        let _ = std::fs::create_dir_all(dump_dir);
        let path = dump_dir.join(name);
        std::fs::write(&path, dump).expect("write the real outputs");
        panic!(
            "the README's samples drifted from the command ({} of {}):\n  {}\nthe real outputs are in {}",
            failures.len(),
            samples.len(),
            failures.join("\n  "),
            path.display()
        );
    }
    samples.len()
}
