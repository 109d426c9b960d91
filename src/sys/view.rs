//! What the library reads from files (sysfs, the existence of `/dev` nodes, pci.ids): the
//! live filesystem; the live filesystem with every answer recorded (for a snapshot); or a
//! snapshot's recorded answers, replayed with nothing read from the host.
//!
//! Every read of a host file above this layer goes through one [`FsView`], so a snapshot
//! holds exactly what the library read, and a command replayed from it asks the same
//! questions and gets the same answers. A question the snapshot holds no answer for is an
//! error ([`not_recorded`]), never a guess, unless the answer follows from what was
//! recorded (a name missing from a directory listing the snapshot holds does not exist).

use std::collections::BTreeMap;
use std::ffi::{CString, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

/// One path's recorded answers: each question asked of it, with what the host said.
/// A question never asked is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordedNode {
    /// Whether it exists (`Path::exists`: following links).
    pub exists: Option<bool>,
    /// Its contents, or the errno of reading them.
    pub file: Option<Result<Vec<u8>, i32>>,
    /// Where the symbolic link points, or the errno of `readlink`.
    pub link: Option<Result<String, i32>>,
    /// The directory's entries (sorted), or the errno of listing them.
    pub dir: Option<Result<Vec<String>, i32>>,
    /// Whether the process that asked may open it read-write (`access(2)`).
    pub rdwr: Option<bool>,
}

/// Recorded answers by path: the key is the absolute path without its leading `/`
/// (`sys/kernel/iommu_groups/4/reserved_regions`), made only of plain components.
pub type RecordedTree = BTreeMap<String, RecordedNode>;

/// The key of an absolute path made of plain components, `None` for any other (relative,
/// `..`, `.`, not UTF-8): such a path is never recorded nor answered from a snapshot.
pub fn key_of(path: &Path) -> Option<String> {
    // Built in place: every question a replay answers starts here.
    let mut key = String::with_capacity(path.as_os_str().len());
    let mut components = path.components();
    if components.next() != Some(Component::RootDir) {
        return None;
    }
    for c in components {
        match c {
            Component::Normal(name) => {
                if !key.is_empty() {
                    key.push('/');
                }
                key.push_str(name.to_str()?);
            }
            _ => return None,
        }
    }
    (!key.is_empty()).then_some(key)
}

/// Whether `key` is one [`key_of`] makes: plain UTF-8 components joined by `/`, none
/// empty, `.` or `..`, no NUL. What a snapshot file names is checked with this.
pub fn is_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains('\0'))
}

/// Whether this process may open `path` read-write on the live host (`access(2)` with the
/// real ids): a check for a message, not a promise (the open itself decides).
pub fn access_rdwr(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a NUL-terminated path that outlives the call; access(2) only reads it.
    unsafe { libc::access(c.as_ptr(), libc::R_OK | libc::W_OK) == 0 }
}

/// The marker inside an [`io::Error`] for a question a replayed snapshot holds no
/// answer for.
#[derive(Debug)]
pub struct NotRecorded {
    /// The path asked about.
    pub path: PathBuf,
    /// The question (`read`, `readlink`, `list`, `exists`).
    pub question: &'static str,
}

impl std::fmt::Display for NotRecorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the snapshot holds no answer to {} {}: it was not read when the snapshot was taken (take it again with this version)",
            self.question,
            self.path.display()
        )
    }
}

impl std::error::Error for NotRecorded {}

/// The error for a question the snapshot holds no answer for.
pub fn not_recorded(path: &Path, question: &'static str) -> io::Error {
    io::Error::other(NotRecorded {
        path: path.to_owned(),
        question,
    })
}

/// The [`NotRecorded`] inside `e`, if that is what it is.
pub fn as_not_recorded(e: &io::Error) -> Option<&NotRecorded> {
    e.get_ref()?.downcast_ref::<NotRecorded>()
}

/// What a recording view keeps, and under which names.
#[derive(Debug, Default)]
pub struct Recorder {
    tree: Mutex<RecordedTree>,
    /// Directories recorded under the live host's names (a test's fake sysfs at
    /// `/tmp/x/sys` is recorded as `sys`), so a snapshot always names the host's paths.
    mounts: Vec<(PathBuf, String)>,
}

impl Recorder {
    /// The key `path` is recorded under: its mount's name and the rest, else its own.
    fn key(&self, path: &Path) -> Option<String> {
        for (dir, name) in &self.mounts {
            if let Ok(rest) = path.strip_prefix(dir) {
                let rest = key_of(&Path::new("/").join(rest));
                return Some(match rest {
                    Some(rest) => format!("{name}/{rest}"),
                    None if rest_is_empty(path, dir) => name.clone(),
                    None => return None,
                });
            }
        }
        key_of(path)
    }
}

fn rest_is_empty(path: &Path, dir: &Path) -> bool {
    path.components().count() == dir.components().count()
}

/// Where reads go. `Live` by default.
#[derive(Debug, Clone, Default)]
pub enum FsView {
    /// The running host.
    #[default]
    Live,
    /// The running host, every answer kept for a snapshot.
    Recording(Arc<Recorder>),
    /// A snapshot's answers; nothing is read from the host.
    Replay(Arc<RecordedTree>),
}

impl PartialEq for FsView {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (FsView::Live, FsView::Live) => true,
            (FsView::Recording(a), FsView::Recording(b)) => Arc::ptr_eq(a, b),
            (FsView::Replay(a), FsView::Replay(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for FsView {}

fn errno_of(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

impl FsView {
    /// A view that records every answer of the live host under its own paths.
    pub fn recording() -> FsView {
        FsView::Recording(Arc::default())
    }

    /// A view that records every answer of the live host, the directories of `mounts`
    /// under the names given (`("/tmp/x/sys", "sys")`): names are keys ([`is_key`]).
    pub fn recording_at(mounts: Vec<(PathBuf, String)>) -> FsView {
        FsView::Recording(Arc::new(Recorder {
            tree: Mutex::default(),
            mounts,
        }))
    }

    /// Whether answers come from a snapshot.
    pub fn is_replay(&self) -> bool {
        matches!(self, FsView::Replay(_))
    }

    /// What a recording view has recorded so far (empty for the others).
    pub fn recorded(&self) -> RecordedTree {
        match self {
            FsView::Recording(r) => r.tree.lock().map(|t| t.clone()).unwrap_or_default(),
            FsView::Replay(tree) => (**tree).clone(),
            FsView::Live => RecordedTree::new(),
        }
    }

    fn record(&self, path: &Path, put: impl FnOnce(&mut RecordedNode)) {
        let FsView::Recording(recorder) = self else {
            return;
        };
        if let Some(key) = recorder.key(path) {
            // A poisoned lock means a panic elsewhere mid-record: the snapshot is then
            // incomplete, which replay reports question by question.
            if let Ok(mut tree) = recorder.tree.lock() {
                put(tree.entry(key).or_default());
            }
        }
    }

    /// The recorded node of `path` (replay only).
    fn node<'t>(tree: &'t RecordedTree, path: &Path) -> Option<&'t RecordedNode> {
        tree.get(&key_of(path)?)
    }

    /// Whether what the snapshot holds shows `path` absent: its directory's listing lacks
    /// it, or its directory (or one above) is itself absent. Then every question about
    /// `path` is answered ENOENT without having been asked.
    fn listed_absent(tree: &RecordedTree, path: &Path) -> bool {
        let mut path = path;
        while let (Some(parent), Some(name)) = (path.parent(), path.file_name()) {
            let Some(name) = name.to_str() else {
                return false;
            };
            let node = Self::node(tree, parent);
            match node.and_then(|n| n.dir.as_ref()) {
                Some(Ok(entries)) => {
                    return entries.binary_search_by(|e| e.as_str().cmp(name)).is_err()
                }
                Some(Err(_)) => return true,
                None if node.and_then(|n| n.exists) == Some(false) => return true,
                None => path = parent,
            }
        }
        false
    }

    fn replayed<T: Clone>(
        tree: &RecordedTree,
        path: &Path,
        question: &'static str,
        pick: impl Fn(&RecordedNode) -> Option<&Result<T, i32>>,
    ) -> io::Result<T> {
        match Self::node(tree, path).and_then(pick) {
            Some(Ok(v)) => Ok(v.clone()),
            Some(Err(errno)) => Err(io::Error::from_raw_os_error(*errno)),
            None if Self::listed_absent(tree, path)
                || Self::node(tree, path).and_then(|n| n.exists) == Some(false) =>
            {
                Err(io::Error::from_raw_os_error(libc::ENOENT))
            }
            None => Err(not_recorded(path, question)),
        }
    }

    /// The contents of the file `path`.
    pub fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        match self {
            FsView::Replay(tree) => Self::replayed(tree, path, "read", |n| n.file.as_ref()),
            _ => {
                let r = fs::read(path);
                self.record(path, |n| {
                    n.file = Some(r.as_ref().map(Clone::clone).map_err(errno_of))
                });
                r
            }
        }
    }

    /// The contents of the file `path` as text (not UTF-8: `InvalidData`, as
    /// `fs::read_to_string`).
    pub fn read_to_string(&self, path: &Path) -> io::Result<String> {
        String::from_utf8(self.read(path)?)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Where the symbolic link `path` points.
    pub fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        match self {
            FsView::Replay(tree) => {
                Self::replayed(tree, path, "readlink", |n| n.link.as_ref()).map(PathBuf::from)
            }
            _ => {
                let r = fs::read_link(path);
                self.record(path, |n| {
                    n.link = Some(match &r {
                        Ok(t) => t.to_str().map(str::to_owned).ok_or(libc::EILSEQ),
                        Err(e) => Err(errno_of(e)),
                    })
                });
                r
            }
        }
    }

    /// The names in the directory `path`, sorted (entries that cannot be read, and names
    /// that are not UTF-8, are left out: nothing the library reads has such names).
    pub fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        match self {
            FsView::Replay(tree) => Self::replayed(tree, path, "list", |n| n.dir.as_ref())
                .map(|names| names.into_iter().map(OsString::from).collect()),
            _ => {
                let r = fs::read_dir(path).map(|entries| {
                    let mut names: Vec<String> = entries
                        .filter_map(|e| e.ok()?.file_name().into_string().ok())
                        .collect();
                    names.sort_unstable();
                    names
                });
                self.record(path, |n| {
                    n.dir = Some(r.as_ref().map(Clone::clone).map_err(errno_of))
                });
                r.map(|names| names.into_iter().map(OsString::from).collect())
            }
        }
    }

    /// Whether this process may open `path` read-write (`access(2)` with the real ids; in
    /// a replay, the answer the process that took the snapshot got), or [`NotRecorded`].
    pub fn may_open_rdwr(&self, path: &Path) -> io::Result<bool> {
        match self {
            FsView::Replay(tree) => match Self::node(tree, path).and_then(|n| n.rdwr) {
                Some(answer) => Ok(answer),
                None if Self::listed_absent(tree, path) => Ok(false),
                None => Err(not_recorded(path, "access")),
            },
            _ => {
                let answer = access_rdwr(path);
                self.record(path, |n| n.rdwr = Some(answer));
                Ok(answer)
            }
        }
    }

    /// Whether `path` exists (following symbolic links); `false` also when a replayed
    /// snapshot cannot say. Where that difference matters, ask [`FsView::exists_checked`].
    pub fn exists(&self, path: &Path) -> bool {
        self.exists_checked(path).unwrap_or(false)
    }

    /// Whether `path` exists, or [`NotRecorded`] when a replayed snapshot cannot say.
    pub fn exists_checked(&self, path: &Path) -> io::Result<bool> {
        match self {
            FsView::Replay(tree) => {
                if let Some(node) = Self::node(tree, path) {
                    if let Some(e) = node.exists {
                        return Ok(e);
                    }
                    if matches!(node.file, Some(Ok(_))) || matches!(node.dir, Some(Ok(_))) {
                        return Ok(true);
                    }
                }
                if Self::listed_absent(tree, path) {
                    return Ok(false);
                }
                Err(not_recorded(path, "exists"))
            }
            _ => {
                let e = path.exists();
                self.record(path, |n| n.exists = Some(e));
                Ok(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(entries: &[(&str, RecordedNode)]) -> FsView {
        FsView::Replay(Arc::new(
            entries
                .iter()
                .map(|(k, n)| ((*k).to_owned(), n.clone()))
                .collect(),
        ))
    }

    #[test]
    fn keys_are_plain_absolute_paths() {
        assert_eq!(key_of(Path::new("/sys/a/b")).as_deref(), Some("sys/a/b"));
        assert_eq!(key_of(Path::new("/sys/a/../b")), None);
        assert_eq!(key_of(Path::new("sys/a")), None);
        assert_eq!(key_of(Path::new("/")), None);
        assert!(is_key("sys/a/b"));
        for bad in ["", "/sys", "sys/", "sys//a", "sys/../etc", "./sys", "a/\0"] {
            assert!(!is_key(bad), "{bad:?}");
        }
    }

    #[test]
    fn recording_names_mounted_directories_as_the_host_does() {
        let rec = FsView::recording_at(vec![
            (PathBuf::from("/tmp/fake/sys"), "sys".to_owned()),
            (PathBuf::from("/tmp/fake/dev/vfio"), "dev/vfio".to_owned()),
        ]);
        let _ = rec.read(Path::new("/tmp/fake/sys/kernel/iommu_groups/4/type"));
        let _ = rec.exists(Path::new("/tmp/fake/dev/vfio"));
        let _ = rec.exists(Path::new("/tmp/fake/dev/vfio/../../etc"));
        let _ = rec.read(Path::new("/proc/sys/kernel/osrelease"));
        let keys: Vec<String> = rec.recorded().into_keys().collect();
        assert_eq!(
            keys,
            [
                "dev/vfio",
                "proc/sys/kernel/osrelease",
                "sys/kernel/iommu_groups/4/type"
            ]
        );
    }

    #[test]
    fn recording_keeps_what_was_read_and_replay_answers_it() {
        let dir = std::env::temp_dir().join(format!("vii-view-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("d")).unwrap();
        fs::write(dir.join("d/f"), b"0x8086\n").unwrap();
        std::os::unix::fs::symlink("../x/7", dir.join("d/l")).unwrap();
        let rec = FsView::recording();
        assert_eq!(rec.read(&dir.join("d/f")).unwrap(), b"0x8086\n");
        assert_eq!(
            rec.read_link(&dir.join("d/l")).unwrap(),
            Path::new("../x/7")
        );
        assert_eq!(rec.read_dir(&dir.join("d")).unwrap(), ["f", "l"]);
        assert!(rec.read(&dir.join("d/missing")).is_err());
        assert!(!rec.exists(&dir.join("nothing")));
        let replay = FsView::Replay(Arc::new(rec.recorded()));
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(replay.read(&dir.join("d/f")).unwrap(), b"0x8086\n");
        assert_eq!(
            replay.read_link(&dir.join("d/l")).unwrap(),
            Path::new("../x/7")
        );
        assert_eq!(replay.read_dir(&dir.join("d")).unwrap(), ["f", "l"]);
        assert_eq!(
            replay
                .read(&dir.join("d/missing"))
                .unwrap_err()
                .raw_os_error(),
            Some(libc::ENOENT)
        );
        assert!(!replay.exists_checked(&dir.join("nothing")).unwrap());
        // Known absent from the listing, though never asked:
        assert_eq!(
            replay
                .read_link(&dir.join("d/other"))
                .unwrap_err()
                .raw_os_error(),
            Some(libc::ENOENT)
        );
        // Listed but never read: no guess.
        let e = replay.read(&dir.join("d/l")).unwrap_err();
        assert!(as_not_recorded(&e).is_some(), "{e}");
        assert!(e.to_string().contains("holds no answer to read"), "{e}");
    }

    #[test]
    fn replay_answers_recorded_errors_and_refuses_unknown_questions() {
        let view = tree(&[
            (
                "sys/g",
                RecordedNode {
                    dir: Some(Err(libc::EACCES)),
                    ..RecordedNode::default()
                },
            ),
            (
                "sys/f",
                RecordedNode {
                    file: Some(Ok(b"x".to_vec())),
                    ..RecordedNode::default()
                },
            ),
        ]);
        assert_eq!(
            view.read_dir(Path::new("/sys/g"))
                .unwrap_err()
                .raw_os_error(),
            Some(libc::EACCES)
        );
        assert!(view.exists_checked(Path::new("/sys/f")).unwrap());
        assert!(as_not_recorded(&view.read(Path::new("/proc/x")).unwrap_err()).is_some());
        assert!(view.exists_checked(Path::new("/dev/vfio/vfio")).is_err());
        assert!(!view.exists(Path::new("/dev/vfio/vfio")));
        assert!(
            as_not_recorded(&view.read(Path::new("/sys/../etc/passwd")).unwrap_err()).is_some()
        );
    }
}
