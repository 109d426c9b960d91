//! `vfio-iommu-info generate`: the man pages (one per command) and the shell completions,
//! made from the command's own definition, so they never drift from `--help`. `make
//! install` and packagers call it; the pages are created new in the directory named (an
//! existing file is refused, as `output::write_new` refuses it).

use std::path::Path;

use clap::Command;
use clap_complete::Shell;

use crate::output::write_new;
use crate::{Failure, EXIT_FAILURE};

/// The pages: `NAME.1` for the command and `NAME-SUB.1` for each visible subcommand.
fn pages(cmd: &Command) -> Vec<(String, Command)> {
    let mut cmd = cmd.clone();
    cmd.build();
    let name = cmd.get_name().to_owned();
    let mut out = vec![(format!("{name}.1"), cmd.clone())];
    // `help` is clap's own, described in the command's page.
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let page = format!("{name}-{}", sub.get_name());
        let sub = sub
            .clone()
            .name(page.clone())
            .version(cmd.get_version().unwrap_or_default().to_owned());
        out.push((format!("{page}.1"), sub));
    }
    out
}

/// Writes every man page into `dir` (which must exist), each created new or, with
/// `force`, replacing a regular file; returns their file names.
pub fn man(cmd: &Command, dir: &Path, force: bool) -> Result<Vec<String>, Failure> {
    let mut names = Vec::new();
    for (file, page) in pages(cmd) {
        let mut roff = Vec::new();
        clap_mangen::Man::new(page)
            .render(&mut roff)
            .map_err(|e| Failure::new(format!("rendering {file}: {e}"), EXIT_FAILURE))?;
        write_new(&dir.join(&file), &roff, force).map_err(|e| Failure::new(e, EXIT_FAILURE))?;
        names.push(file);
    }
    Ok(names)
}

/// The completion script for `shell`, on standard output.
pub fn completions(cmd: &Command, shell: Shell) -> Vec<u8> {
    let mut cmd = cmd.clone();
    let name = cmd.get_name().to_owned();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut out);
    out
}
