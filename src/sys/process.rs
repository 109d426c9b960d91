//! Another process's open files and memory limits, read without disturbing it.
//!
//! A VMM's container fd answers `VFIO_IOMMU_GET_INFO` (DMA_AVAIL: the mappings it still
//! accepts) only to whoever holds it. Linux 5.6+ lets a process that may ptrace another
//! (`PTRACE_MODE_ATTACH_REALCREDS`) take a duplicate of one of its fds: `pidfd_open`, then
//! `pidfd_getfd`. The duplicate is this process's own (closing it closes nothing of the
//! other's); the library only reads through it. `/proc/PID/fd` names the fds to borrow,
//! `/proc/PID/status` and `/proc/PID/limits` give the locked memory and its limit.

use std::ffi::c_long;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use crate::error::{Errno, Error};
use crate::sys::limits::{parse_status, LockedMemory, MemlockRlimit};

/// `pidfd_open(pid, 0)`: a fd that refers to the process `pid`, whatever PID it is reused
/// for later (`ESRCH` when there is no such process; `ENOSYS` before Linux 5.3).
pub fn pidfd_open(pid: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: pidfd_open takes a PID and flags, no pointer; the result is checked.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, c_long::from(pid), 0 as c_long) };
    owned(r)
}

/// `pidfd_getfd(pidfd, fd, 0)`: a duplicate, in this process and close-on-exec, of the
/// fd `fd` of the process `pidfd` refers to. `EPERM` without ptrace access to it, `EBADF`
/// when it has no such fd (any more), `ENOSYS` before Linux 5.6.
pub fn pidfd_getfd(pidfd: BorrowedFd<'_>, fd: RawFd) -> Result<OwnedFd, Errno> {
    // SAFETY: pidfd_getfd takes two fds and flags, no pointer; the result is checked.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_getfd,
            c_long::from(pidfd.as_raw_fd()),
            c_long::from(fd),
            0 as c_long,
        )
    };
    owned(r)
}

/// A system call's fd result as an owned fd, or its errno.
fn owned(r: c_long) -> Result<OwnedFd, Errno> {
    if r < 0 {
        return Err(Errno::last());
    }
    let fd = RawFd::try_from(r).map_err(|_| Errno(libc::EOVERFLOW))?;
    // SAFETY: the kernel just returned this fd to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// One open fd of a process: its number and what `/proc/PID/fd/N` links to
/// (`/dev/vfio/vfio`, `anon_inode:[vfio-device]`, `socket:[123]`...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessFd {
    /// The fd number in that process.
    pub fd: RawFd,
    /// The link's target.
    pub target: PathBuf,
}

/// What to do when `/proc/PID/...` cannot be read.
fn proc_hint(pid: i32, errno: Errno) -> Option<String> {
    match errno.0 {
        libc::ENOENT | libc::ESRCH => Some(format!("there is no process {pid}")),
        libc::EACCES | libc::EPERM => Some(format!(
            "reading another process's fds needs ptrace access to it: run as root (CAP_SYS_PTRACE), or as process {pid}'s user"
        )),
        _ => None,
    }
}

fn proc_error(pid: i32, path: &Path, e: io::Error) -> Error {
    let errno = Errno::from(e);
    Error::Open {
        path: path.to_owned(),
        errno,
        hint: proc_hint(pid, errno),
    }
}

/// The open fds of process `pid` (`/proc/PID/fd` under `proc`), ascending. An fd closed
/// while the directory is read is passed over.
pub fn process_fds(proc: &Path, pid: i32) -> Result<Vec<ProcessFd>, Error> {
    let dir = proc.join(pid.to_string()).join("fd");
    let mut fds = Vec::new();
    for entry in fs::read_dir(&dir).map_err(|e| proc_error(pid, &dir, e))? {
        let entry = entry.map_err(|e| proc_error(pid, &dir, e))?;
        let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        match fs::read_link(entry.path()) {
            Ok(target) => fds.push(ProcessFd { fd, target }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(proc_error(pid, &entry.path(), e)),
        }
    }
    fds.sort_by_key(|f| f.fd);
    Ok(fds)
}

/// The process's command name (`/proc/PID/comm`), `None` when unreadable.
pub fn process_comm(proc: &Path, pid: i32) -> Option<String> {
    let text = fs::read_to_string(proc.join(pid.to_string()).join("comm")).ok()?;
    Some(text.trim_end_matches('\n').to_owned())
}

/// `VmLck` and `VmPin` of process `pid` (`/proc/PID/status`).
pub fn process_locked_memory(proc: &Path, pid: i32) -> Result<LockedMemory, Error> {
    let path = proc.join(pid.to_string()).join("status");
    fs::read_to_string(&path)
        .map(|t| parse_status(&t))
        .map_err(|e| proc_error(pid, &path, e))
}

/// Whether process `pid`'s main thread has `CAP_IPC_LOCK` in its effective set (the
/// `CapEff:` line of `/proc/PID/status`), which lifts RLIMIT_MEMLOCK off what it pins;
/// `None` when unreadable.
pub fn process_has_cap_ipc_lock(proc: &Path, pid: i32) -> Option<bool> {
    let text = fs::read_to_string(proc.join(pid.to_string()).join("status")).ok()?;
    let caps = parse_cap_eff(&text)?;
    Some(caps & (1 << crate::sys::limits::CAP_IPC_LOCK) != 0)
}

/// The `CapEff:` line of a `/proc/PID/status` text (16 hex digits).
pub fn parse_cap_eff(text: &str) -> Option<u64> {
    let hex = text.lines().find_map(|l| l.strip_prefix("CapEff:"))?.trim();
    if hex.is_empty() || hex.len() > 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// `RLIMIT_MEMLOCK` of process `pid`, from `/proc/PID/limits`.
pub fn process_memlock_rlimit(proc: &Path, pid: i32) -> Result<MemlockRlimit, Error> {
    let path = proc.join(pid.to_string()).join("limits");
    let text = fs::read_to_string(&path).map_err(|e| proc_error(pid, &path, e))?;
    parse_memlock_limits(&text).map_err(|(line, text)| Error::SysfsFormat {
        path,
        line,
        text,
        problem: "expected \"Max locked memory\" with a soft and a hard limit (bytes or unlimited)"
            .to_owned(),
    })
}

/// The `Max locked memory  SOFT  HARD  bytes` line of a `/proc/PID/limits` text; an error
/// names the line (1-based) and its text, or line 0 when there is none.
pub fn parse_memlock_limits(text: &str) -> Result<MemlockRlimit, (usize, String)> {
    let Some((i, line)) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.starts_with("Max locked memory"))
    else {
        return Err((0, String::new()));
    };
    let bad = || (i + 1, line.to_owned());
    let mut words = line["Max locked memory".len()..].split_whitespace();
    let mut value = || -> Result<Option<u64>, (usize, String)> {
        match words.next() {
            Some("unlimited") => Ok(None),
            Some(n) => n.parse().map(Some).map_err(|_| bad()),
            None => Err(bad()),
        }
    };
    let soft = value()?;
    let hard = value()?;
    Ok(MemlockRlimit { soft, hard })
}

/// Yama's `kernel.yama.ptrace_scope` (`/proc/sys/kernel/yama/ptrace_scope`), `None`
/// without Yama.
pub fn ptrace_scope(proc: &Path) -> Option<u32> {
    fs::read_to_string(proc.join("sys/kernel/yama/ptrace_scope"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memlock_limits_parse_bytes_and_unlimited_and_name_a_bad_line() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max cpu time              unlimited            unlimited            seconds   \n\
                    Max locked memory         8388608              unlimited            bytes     \n";
        assert_eq!(
            parse_memlock_limits(text),
            Ok(MemlockRlimit {
                soft: Some(8 << 20),
                hard: None
            })
        );
        assert_eq!(
            parse_memlock_limits("Max locked memory  x  1 bytes\n"),
            Err((1, "Max locked memory  x  1 bytes".to_owned()))
        );
        assert_eq!(
            parse_memlock_limits("Max cpu time 1 1\n"),
            Err((0, String::new()))
        );
        assert_eq!(
            parse_memlock_limits("Max locked memory 5\n"),
            Err((1, "Max locked memory 5".to_owned()))
        );
    }

    #[test]
    fn cap_eff_is_the_effective_set_in_hex() {
        let status = "Name:\tqemu\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n";
        assert_eq!(parse_cap_eff(status), Some(0x1ff_ffff_ffff));
        assert_eq!(parse_cap_eff("CapEff:\t0000000000000000\n"), Some(0));
        for bad in [
            "CapEff:\n",
            "CapEff:\txyz\n",
            "CapEff:\t00000000000000000\n",
            "Name: x\n",
        ] {
            assert_eq!(parse_cap_eff(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn this_process_can_borrow_its_own_fd_and_read_its_own_proc() {
        let pidfd = pidfd_open(std::process::id() as i32).expect("pidfd_open on Linux 5.3+");
        let file = fs::File::open("/proc/self/status").unwrap();
        let dup = pidfd_getfd(std::os::fd::AsFd::as_fd(&pidfd), file.as_raw_fd())
            .expect("pidfd_getfd on Linux 5.6+");
        assert!(crate::sys::ioctl::same_open_file(
            std::os::fd::AsFd::as_fd(&dup),
            std::os::fd::AsFd::as_fd(&file)
        )
        .unwrap());
        let fds = process_fds(Path::new("/proc"), std::process::id() as i32).unwrap();
        assert!(fds.iter().any(|f| f.fd == file.as_raw_fd()));
        assert_eq!(
            pidfd_getfd(std::os::fd::AsFd::as_fd(&pidfd), 1 << 30).map(|_| ()),
            Err(Errno(libc::EBADF))
        );
        assert_eq!(pidfd_open(-5).map(|_| ()), Err(Errno(libc::EINVAL)));
        let missing = process_fds(Path::new("/proc"), i32::MAX).unwrap_err();
        assert!(
            missing.to_string().contains("there is no process"),
            "{missing}"
        );
    }
}
