//! The one way the library opens a VFIO or iommufd node, and the one check of a caller's
//! descriptor before an ioctl.
//!
//! Opening a device node can act on its own (opening `/dev/watchdog` arms it), and the
//! command runs as root on paths users type. So a node is first opened with `O_PATH`
//! (which opens nothing: no driver code runs, a FIFO does not block), its device number is
//! checked against what the kernel registered for VFIO and iommufd (`/proc/devices`,
//! `/proc/misc`), and only then is that same inode opened read-write through
//! `/proc/self/fd` — never `stat` then `open` on the path, which a rename in between could
//! turn into an open of something else.
//!
//! | node | device number |
//! |---|---|
//! | container `/dev/vfio/vfio` | misc 10:196 (`VFIO_MINOR`), named `vfio` |
//! | group `/dev/vfio/N`, `/dev/vfio/noiommu-N` | major `vfio` in `/proc/devices` |
//! | device `/dev/vfio/devices/vfioN` | major `vfio-dev` in `/proc/devices` |
//! | iommufd `/dev/iommu` | misc 10:M, `M iommu` in `/proc/misc` |

use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Errno, Error};

/// The misc character devices' major number.
const MISC_MAJOR: u32 = 10;
/// `VFIO_MINOR`: the container's fixed misc minor (`include/linux/miscdevice.h`).
const VFIO_MINOR: u32 = 196;

/// A kind of node the library opens or accepts from a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// The VFIO container, `/dev/vfio/vfio` (VFIO's own or iommufd's compat one).
    Container,
    /// A VFIO group, `/dev/vfio/N`.
    Group,
    /// A VFIO device's character device, `/dev/vfio/devices/vfioN` (Linux 6.6+).
    DeviceCdev,
    /// iommufd, `/dev/iommu`.
    Iommufd,
    /// A VFIO device fd: what `VFIO_GROUP_GET_DEVICE_FD` returns (an anonymous inode the
    /// kernel names `[vfio-device]`), or a device cdev. Only for a caller's descriptor.
    DeviceFd,
}

impl NodeKind {
    /// What the node is, for messages ("a VFIO group node").
    pub fn describe(self) -> &'static str {
        match self {
            NodeKind::Container => "a VFIO container (/dev/vfio/vfio, misc 10:196)",
            NodeKind::Group => "a VFIO group node (/dev/vfio/N, the vfio major)",
            NodeKind::DeviceCdev => {
                "a VFIO device node (/dev/vfio/devices/vfioN, the vfio-dev major)"
            }
            NodeKind::Iommufd => "iommufd's node (/dev/iommu, misc 10:N named iommu)",
            NodeKind::DeviceFd => {
                "a VFIO device fd (from VFIO_GROUP_GET_DEVICE_FD, or a /dev/vfio/devices/vfioN)"
            }
        }
    }
}

/// The device numbers the running kernel gave VFIO and iommufd, read from procfs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeNumbers {
    /// `/proc/devices`' character majors, by name.
    majors: Vec<(u32, String)>,
    /// `/proc/misc`'s minors, by name.
    misc: Vec<(u32, String)>,
}

impl NodeNumbers {
    /// Reads `devices` and `misc` under `proc` (`/proc`). A missing file reads as empty
    /// (a kernel without misc devices has no `/proc/misc`).
    pub fn read(proc: &Path) -> Result<NodeNumbers, Error> {
        let read = |name: &str| -> Result<String, Error> {
            let path = proc.join(name);
            match std::fs::read(&path) {
                Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
                Err(e) => Err(Error::Sysfs {
                    errno: Errno(e.raw_os_error().unwrap_or(libc::EIO)),
                    path,
                    hint: Some(
                        "procfs tells which device numbers are VFIO's: mount /proc".to_owned(),
                    ),
                }),
            }
        };
        Ok(NodeNumbers::parse(&read("devices")?, &read("misc")?))
    }

    /// Parses the texts of `/proc/devices` (only its "Character devices:" part counts)
    /// and `/proc/misc`. Lines that are not `NUMBER NAME` are skipped.
    pub fn parse(devices: &str, misc: &str) -> NodeNumbers {
        fn pair(line: &str) -> Option<(u32, String)> {
            let mut words = line.split_whitespace();
            let n = words.next()?.parse().ok()?;
            Some((n, words.next()?.to_owned()))
        }
        let mut majors = Vec::new();
        let mut in_char = false;
        for line in devices.lines() {
            if line.ends_with(':') {
                in_char = line.trim() == "Character devices:";
            } else if in_char {
                majors.extend(pair(line));
            }
        }
        NodeNumbers {
            majors,
            misc: misc.lines().filter_map(pair).collect(),
        }
    }

    fn major(&self, name: &str) -> Option<u32> {
        self.majors.iter().find(|(_, n)| n == name).map(|(m, _)| *m)
    }

    fn misc_minor(&self, name: &str) -> Option<u32> {
        self.misc.iter().find(|(_, n)| n == name).map(|(m, _)| *m)
    }

    /// Whether character device `major:minor` is a node of `kind`.
    pub fn is(&self, kind: NodeKind, major: u32, minor: u32) -> bool {
        match kind {
            NodeKind::Container => major == MISC_MAJOR && minor == VFIO_MINOR,
            NodeKind::Iommufd => major == MISC_MAJOR && self.misc_minor("iommu") == Some(minor),
            NodeKind::Group => self.major("vfio") == Some(major),
            NodeKind::DeviceCdev | NodeKind::DeviceFd => self.major("vfio-dev") == Some(major),
        }
    }

    /// The name the kernel registered for `major:minor`, when it says.
    fn name(&self, major: u32, minor: u32) -> Option<&str> {
        let list = if major == MISC_MAJOR {
            &self.misc
        } else {
            &self.majors
        };
        let key = if major == MISC_MAJOR { minor } else { major };
        list.iter()
            .find(|(n, _)| *n == key)
            .map(|(_, s)| s.as_str())
    }
}

/// A file's type and device number: all the checks look at.
#[derive(Debug, Clone, Copy)]
struct FileId {
    mode: u32,
    rdev: u64,
}

impl FileId {
    fn of_stat(st: &libc::stat) -> FileId {
        FileId {
            mode: st.st_mode,
            rdev: st.st_rdev,
        }
    }

    fn is(self, format: libc::mode_t) -> bool {
        self.mode & libc::S_IFMT == format
    }

    fn numbers(self) -> (u32, u32) {
        (libc::major(self.rdev), libc::minor(self.rdev))
    }

    /// What the file is, in words ("a regular file", "a character device 10:130
    /// (watchdog)").
    fn describe(self, numbers: Option<&NodeNumbers>) -> String {
        let (major, minor) = self.numbers();
        match self.mode & libc::S_IFMT {
            libc::S_IFCHR => match numbers.and_then(|n| n.name(major, minor)) {
                Some(name) => format!("a character device {major}:{minor} ({name})"),
                None => format!("a character device {major}:{minor}"),
            },
            libc::S_IFBLK => format!("a block device {major}:{minor}"),
            libc::S_IFDIR => "a directory".to_owned(),
            libc::S_IFIFO => "a FIFO".to_owned(),
            libc::S_IFSOCK => "a socket".to_owned(),
            libc::S_IFREG => "a regular file".to_owned(),
            libc::S_IFLNK => "a symbolic link".to_owned(),
            _ => "neither a file nor a device (an anonymous inode)".to_owned(),
        }
    }
}

/// How a file reached [`check`]: a path about to be opened, or a caller's descriptor
/// about to receive an ioctl. It sets the errno a refusal carries: what the open
/// (`EISDIR` for a directory) or the ioctl (`ENOTTY`) would have answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Path,
    Fd,
}

/// Checks `id` is a node of one of `kinds`; otherwise the [`Error::WrongNode`] naming
/// `what` (a path or `fd N`).
fn check(what: &Path, via: Via, id: FileId, kinds: &[NodeKind], proc: &Path) -> Result<(), Error> {
    let wrong = |numbers: Option<&NodeNumbers>, hint: Option<String>| Error::WrongNode {
        what: what.to_owned(),
        expected: kinds.first().map_or("a VFIO node", |k| k.describe()),
        found: id.describe(numbers),
        errno: Errno(if via == Via::Path && id.is(libc::S_IFDIR) {
            libc::EISDIR
        } else {
            libc::ENOTTY
        }),
        hint,
    };
    // What to name instead, whatever the file turned out to be.
    let fix = match (kinds.first(), via) {
        (Some(NodeKind::Container), Via::Fd) => {
            Some("pass the /dev/vfio/vfio fd a group was attached to (or an iommufd fd)")
        }
        (Some(NodeKind::Group), Via::Path) => {
            Some("name an IOMMU group number, its node /dev/vfio/N, or a PCI address")
        }
        (Some(NodeKind::DeviceFd), Via::Fd) => Some(
            "pass the fd VFIO_GROUP_GET_DEVICE_FD returned, or an opened /dev/vfio/devices/vfioN",
        ),
        _ => None,
    }
    .map(str::to_owned);
    if !id.is(libc::S_IFCHR) {
        return Err(wrong(None, fix));
    }
    let numbers = NodeNumbers::read(proc)?;
    let (major, minor) = id.numbers();
    if kinds.iter().any(|k| numbers.is(*k, major, minor)) {
        return Ok(());
    }
    // A kernel without the node's driver explains a device number nobody claims.
    let missing = match kinds.first() {
        Some(NodeKind::Group) if numbers.major("vfio").is_none() => Some(format!(
            "{}/devices has no vfio major: is the vfio module loaded?",
            proc.display()
        )),
        Some(NodeKind::DeviceCdev) if numbers.major("vfio-dev").is_none() => Some(format!(
            "{}/devices has no vfio-dev major: the kernel lacks CONFIG_VFIO_DEVICE_CDEV",
            proc.display()
        )),
        Some(NodeKind::Iommufd) if numbers.misc_minor("iommu").is_none() => Some(format!(
            "{}/misc has no iommu: the kernel has no iommufd (CONFIG_IOMMUFD)",
            proc.display()
        )),
        _ => None,
    };
    let hint = match (missing, fix) {
        (Some(m), Some(f)) => Some(format!("{m}; {f}")),
        (m, f) => m.or(f),
    };
    Err(wrong(Some(&numbers), hint))
}

/// Opens the node at `path` read-write (`O_CLOEXEC`) after checking, on the inode
/// itself, that it is a node of `kind` (see the module's table). Anything else is
/// refused with [`Error::WrongNode`] before it is opened; a path that cannot be reached
/// is [`Error::Open`] with the kernel's errno, which `hint` may explain.
pub fn open_node(
    path: &Path,
    kind: NodeKind,
    proc: &Path,
    hint: impl Fn(Errno) -> Option<String>,
) -> Result<OwnedFd, Error> {
    let open_error = |errno: Errno| Error::Open {
        path: path.to_owned(),
        errno,
        hint: hint(errno),
    };
    let io_errno = |e: std::io::Error| Errno(e.raw_os_error().unwrap_or(libc::EIO));
    // O_PATH: resolves the path (symlinks too: what counts is the inode reached) without
    // opening the file; only O_CLOEXEC, which std always adds, is kept with it.
    let located = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH)
        .open(path)
        .map_err(|e| open_error(io_errno(e)))?;
    let st = crate::sys::ioctl::fstat(located.as_fd()).map_err(open_error)?;
    check(path, Via::Path, FileId::of_stat(&st), &[kind], proc)?;
    reopen_rdwr(&located).map_err(open_error)
}

/// Opens the inode `located` (an `O_PATH` descriptor) refers to read-write, through
/// `/proc/self/fd`: the same inode, whatever the path names now.
fn reopen_rdwr(located: &File) -> Result<OwnedFd, Errno> {
    let magic = PathBuf::from(format!("/proc/self/fd/{}", located.as_raw_fd()));
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(magic)
        .map(OwnedFd::from)
        .map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::EIO)))
}

/// Checks a caller's descriptor is a node of one of `kinds` before the library sends it
/// an ioctl: VFIO's ioctl numbers carry no size, and the same number means other things
/// to other drivers. A closed descriptor is an `fstat` error (EBADF).
pub fn check_fd(fd: BorrowedFd<'_>, kinds: &[NodeKind], proc: &Path) -> Result<(), Error> {
    let name = format!("fd {}", fd.as_raw_fd());
    let st = crate::sys::ioctl::fstat(fd).map_err(|errno| Error::Ioctl {
        ioctl: "fstat",
        target: name.clone(),
        errno,
        hint: (errno.0 == libc::EBADF).then(|| format!("{name} is not an open file descriptor")),
    })?;
    let id = FileId::of_stat(&st);
    if kinds.contains(&NodeKind::DeviceFd) && !id.is(libc::S_IFCHR) {
        // A device fd from a group is an anonymous inode: only its name tells it apart
        // from an eventfd or an epoll fd (which VFIO's ioctl numbers must not reach).
        let link = proc.join("self/fd").join(fd.as_raw_fd().to_string());
        if std::fs::read_link(link).is_ok_and(|l| l == Path::new(VFIO_DEVICE_ANON_INODE)) {
            return Ok(());
        }
    }
    check(Path::new(&name), Via::Fd, id, kinds, proc)
}

/// How `/proc/self/fd/N` reads for a device fd from `VFIO_GROUP_GET_DEVICE_FD`.
const VFIO_DEVICE_ANON_INODE: &str = "anon_inode:[vfio-device]";

/// The kind of node an open descriptor is, if any.
/// What ENOTTY and EBADF mean for a fd given as a VFIO container.
pub(crate) fn not_a_container_hint(raw: i32, errno: Errno) -> Option<String> {
    match errno.0 {
        libc::ENOTTY => Some(format!(
            "fd {raw} is not a VFIO container (a group fd, a device fd, or another file?): open /dev/vfio/vfio and attach a group to it"
        )),
        libc::EBADF => Some(format!("fd {raw} is not an open file descriptor")),
        _ => None,
    }
}

/// What kind of VFIO or iommufd node an open descriptor is (a device fd from a group
/// last), by the same checks as [`check_fd`]; `None` for anything else.
pub fn kind_of(fd: impl AsFd, proc: &Path) -> Option<NodeKind> {
    [
        NodeKind::Container,
        NodeKind::Group,
        NodeKind::DeviceCdev,
        NodeKind::Iommufd,
        NodeKind::DeviceFd,
    ]
    .into_iter()
    .find(|k| check_fd(fd.as_fd(), &[*k], proc).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEVICES: &str = "Character devices:\n  1 mem\n 10 misc\n245 vfio\n246 vfio-dev\n\nBlock devices:\n245 vfio-block-impostor\n";
    const MISC: &str = "196 vfio\n122 iommu\n130 watchdog\n";

    fn fake_proc(devices: &str, misc: &str) -> tempdir::Dir {
        let d = tempdir::Dir::new();
        std::fs::write(d.path().join("devices"), devices).unwrap();
        std::fs::write(d.path().join("misc"), misc).unwrap();
        d
    }

    /// A private temporary directory (no tempfile crate in the core's dependencies).
    mod tempdir {
        pub struct Dir(std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
                let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let p = std::env::temp_dir()
                    .join(format!("vfio-iommu-info-node-{}-{n}", std::process::id()));
                let _ = std::fs::remove_dir_all(&p);
                std::fs::create_dir(&p).unwrap();
                Dir(p)
            }
            pub fn path(&self) -> &std::path::Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn the_tables_name_each_kind() {
        let n = NodeNumbers::parse(DEVICES, MISC);
        assert!(n.is(NodeKind::Container, 10, 196));
        assert!(n.is(NodeKind::Iommufd, 10, 122));
        assert!(n.is(NodeKind::Group, 245, 7));
        assert!(n.is(NodeKind::DeviceCdev, 246, 0));
        assert!(!n.is(NodeKind::Group, 246, 0));
        assert!(!n.is(NodeKind::Container, 10, 130));
        assert!(!n.is(NodeKind::Iommufd, 10, 196));
        // Block majors never count.
        assert_eq!(n.major("vfio-block-impostor"), None);
        // A kernel without iommufd has no such minor: nothing is iommufd.
        let none = NodeNumbers::parse(DEVICES, "196 vfio\n");
        assert!(!none.is(NodeKind::Iommufd, 10, 122));
        assert_eq!(
            NodeNumbers::parse("garbage\n:\n", "x y\n"),
            NodeNumbers::default()
        );
    }

    #[test]
    fn a_non_vfio_device_is_refused_without_being_opened() {
        let proc = fake_proc(DEVICES, MISC);
        for kind in [
            NodeKind::Container,
            NodeKind::Group,
            NodeKind::DeviceCdev,
            NodeKind::Iommufd,
        ] {
            let err = open_node(Path::new("/dev/null"), kind, proc.path(), |_| None)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("/dev/null is a character device 1:3 (mem), not ")
                    && err.contains(kind.describe()),
                "{err}"
            );
        }
    }

    #[test]
    fn files_fifos_and_directories_are_named_and_refused() {
        let dir = tempdir::Dir::new();
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: `c` is a NUL-terminated path alive for the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for (path, found, errno) in [
            (&file, "a regular file", libc::ENOTTY),
            (&fifo, "a FIFO", libc::ENOTTY),
            (&dir.path().to_owned(), "a directory", libc::EISDIR),
        ] {
            // A FIFO with no writer would block an open for reading: O_PATH does not.
            let err = open_node(path, NodeKind::Group, Path::new("/proc"), |_| None).unwrap_err();
            assert_eq!(err.errno(), Some(Errno(errno)), "{err}");
            assert!(
                err.to_string()
                    .contains(&format!("is {found}, not a VFIO group node")),
                "{err}"
            );
        }
        let missing = open_node(
            &dir.path().join("nope"),
            NodeKind::Group,
            Path::new("/proc"),
            |e| Some(format!("hint for {e}")),
        )
        .unwrap_err();
        assert!(
            matches!(
                missing,
                Error::Open {
                    errno: Errno(libc::ENOENT),
                    hint: Some(_),
                    ..
                }
            ),
            "{missing}"
        );
    }

    #[test]
    fn a_node_with_the_right_number_is_opened_read_write() {
        // /dev/null plays a VFIO group when /proc/devices says its major is vfio's.
        let proc = fake_proc("Character devices:\n  1 vfio\n", "");
        let fd = open_node(Path::new("/dev/null"), NodeKind::Group, proc.path(), |_| {
            None
        })
        .unwrap();
        // SAFETY: F_GETFL reads the descriptor's flags; no memory is shared.
        let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
        assert_eq!(flags & libc::O_ACCMODE, libc::O_RDWR);
        assert_eq!(flags & libc::O_PATH, 0);
        // SAFETY: as above.
        let fdflags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
        assert_ne!(fdflags & libc::FD_CLOEXEC, 0);
        assert_eq!(kind_of(&fd, proc.path()), Some(NodeKind::Group));
    }

    #[test]
    fn a_callers_descriptor_is_checked_before_any_ioctl() {
        let proc = fake_proc(DEVICES, MISC);
        let null = File::open("/dev/null").unwrap();
        let err = check_fd(
            null.as_fd(),
            &[NodeKind::Container, NodeKind::Iommufd],
            proc.path(),
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "fd {} is a character device 1:3 (mem), not a VFIO container",
                null.as_raw_fd()
            )),
            "{err}"
        );
        assert_eq!(err.errno(), Some(Errno(libc::ENOTTY)));
        // A directory fd is refused with what an ioctl on it would say (a path: EISDIR).
        let dir = File::open("/").unwrap();
        let err = check_fd(dir.as_fd(), &[NodeKind::Container], proc.path()).unwrap_err();
        assert_eq!(err.errno(), Some(Errno(libc::ENOTTY)), "{err}");
        assert!(
            err.to_string()
                .contains("is a directory, not a VFIO container"),
            "{err}"
        );
        // SAFETY: i32::MAX is above any RLIMIT_NOFILE, so never open; only fstat sees it.
        let closed = unsafe { BorrowedFd::borrow_raw(i32::MAX) };
        let err = check_fd(closed, &[NodeKind::Container], proc.path()).unwrap_err();
        assert_eq!(err.errno(), Some(Errno(libc::EBADF)), "{err}");
        assert!(
            err.to_string().contains("not an open file descriptor"),
            "{err}"
        );
    }
}
