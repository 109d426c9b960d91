//! The files the command writes (today `query --save-raw`).
//!
//! It runs as root on paths users type, often in directories other users can write to. So
//! a file is only ever created new (`O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0644 before the
//! umask): never written through a symbolic link, never into a FIFO (which would hang),
//! never into an existing file, whoever owns it. `--force` replaces a regular file: the
//! bytes go to a new temporary file in the same directory, which is then renamed over the
//! name, so what the name pointed to before (a link's target, another user's file) is
//! never written into.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// How many temporary names `--force` tries before giving up (each is created with
/// `O_EXCL`, so a name planted in advance is skipped, not used).
const TEMP_TRIES: u32 = 16;

/// Refuses early, before any work, a path `write_new` would refuse: something exists there
/// and `force` is not given, or it is not a regular file.
pub fn check_writable(path: &Path, force: bool) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !force || !meta.file_type().is_file() => Err(refusal(path, &meta, force)),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot write {}: {e}", path.display())),
    }
}

/// Writes `bytes` to a file created new at `path`; with `force`, a regular file already
/// there is replaced (by a rename, never written into).
pub fn write_new(path: &Path, bytes: &[u8], force: bool) -> Result<(), String> {
    if force {
        return replace(path, bytes);
    }
    let mut file = create_new(path).map_err(|e| create_error(path, e, force))?;
    if let Err(e) = file.write_all(bytes).and_then(|()| file.sync_all()) {
        drop(file);
        // The file is ours (O_EXCL created it): do not leave half a capture behind.
        let _ = std::fs::remove_file(path);
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    Ok(())
}

fn create_new(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

fn create_error(path: &Path, e: std::io::Error, force: bool) -> String {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if e.kind() == ErrorKind::AlreadyExists => refusal(path, &meta, force),
        _ => format!("cannot create {}: {e}", path.display()),
    }
}

/// Why an existing `path` is not written, and what to do.
fn refusal(path: &Path, meta: &std::fs::Metadata, force: bool) -> String {
    let ft = meta.file_type();
    let what = if ft.is_symlink() {
        match std::fs::read_link(path) {
            Ok(target) => format!("a symbolic link to {}", target.display()),
            Err(_) => "a symbolic link".to_owned(),
        }
    } else if ft.is_fifo() {
        "a FIFO".to_owned()
    } else if ft.is_dir() {
        "a directory".to_owned()
    } else if ft.is_socket() {
        "a socket".to_owned()
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device node".to_owned()
    } else {
        format!("a file of uid {}", meta.uid())
    };
    let fix = if force || !ft.is_file() {
        "name a new file"
    } else {
        "name a new file, or pass --force to replace it"
    };
    format!(
        "refusing to write {}: it exists ({what}), and the command only creates new files (never through a link, into a FIFO or into an existing file): {fix}",
        path.display()
    )
}

/// `--force`: a new temporary file beside `path`, renamed over it.
fn replace(path: &Path, bytes: &[u8]) -> Result<(), String> {
    check_writable(path, true)?;
    let name = path
        .file_name()
        .ok_or_else(|| format!("cannot write {}: it names no file", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut tried = Vec::new();
    for n in 0..TEMP_TRIES {
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{}.{n}.tmp", std::process::id()));
        let temp: PathBuf = dir.join(temp_name);
        let mut file = match create_new(&temp) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                tried.push(temp);
                continue;
            }
            Err(e) => return Err(format!("cannot create {}: {e}", temp.display())),
        };
        let written = file
            .write_all(bytes)
            .and_then(|()| file.sync_all())
            .and_then(|()| std::fs::rename(&temp, path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(format!("cannot write {}: {e}", path.display()));
        }
        return Ok(());
    }
    Err(format!(
        "cannot write {}: {} temporary names beside it already exist (the last {}); remove them",
        path.display(),
        TEMP_TRIES,
        tried
            .last()
            .map_or(String::new(), |p| p.display().to_string())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    struct Dir(PathBuf);
    impl Dir {
        fn new(name: &str) -> Dir {
            let p = std::env::temp_dir().join(format!(
                "vfio-iommu-info-output-{name}-{}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_new_file_is_created_0644_before_the_umask() {
        let d = Dir::new("new");
        let path = d.0.join("capture.bin");
        write_new(&path, b"abc", false).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"abc");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        // SAFETY: umask is read and restored at once; tests of this binary do not
        // create files concurrently with a mode that depends on it.
        let umask = unsafe {
            let m = libc::umask(0o022);
            libc::umask(m);
            m
        };
        assert_eq!(mode, 0o644 & !umask);
    }

    #[test]
    fn a_symlink_is_never_followed_forced_or_not() {
        let d = Dir::new("symlink");
        let victim = d.0.join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let link = d.0.join("capture.bin");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let e = write_new(&link, b"capture", false).unwrap_err();
        assert!(e.contains("it exists (a symbolic link to "), "{e}");
        assert!(e.contains("name a new file"), "{e}");
        let e = write_new(&link, b"capture", true).unwrap_err();
        assert!(e.contains("a symbolic link"), "{e}");
        // A dangling link: O_EXCL refuses it too (it would create the target).
        let dangling = d.0.join("dangling");
        std::os::unix::fs::symlink(d.0.join("not-yet"), &dangling).unwrap();
        assert!(write_new(&dangling, b"x", false).is_err());
        assert!(!d.0.join("not-yet").exists());
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let d = Dir::new("fifo");
        let fifo = d.0.join("capture.bin");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: `c` is a NUL-terminated path alive for the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0);
        for force in [false, true] {
            let e = write_new(&fifo, b"x", force).unwrap_err();
            assert!(e.contains("(a FIFO)"), "{e}");
        }
    }

    #[test]
    fn an_existing_file_is_kept_unless_forced_and_then_replaced_not_written_into() {
        let d = Dir::new("existing");
        let path = d.0.join("capture.bin");
        std::fs::write(&path, b"old").unwrap();
        // A second name for the same inode: what it holds shows whether the inode was
        // written into.
        let other_name = d.0.join("hardlink");
        std::fs::hard_link(&path, &other_name).unwrap();
        let e = write_new(&path, b"new", false).unwrap_err();
        assert!(e.contains("or pass --force to replace it"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        write_new(&path, b"new", true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(std::fs::read(&other_name).unwrap(), b"old");
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(&d.0)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn a_directory_is_refused() {
        let d = Dir::new("dir");
        for force in [false, true] {
            let e = write_new(&d.0, b"x", force).unwrap_err();
            assert!(e.contains("exists (a directory)"), "{e}");
        }
        assert!(check_writable(&d.0.join("fresh"), false).is_ok());
    }
}
