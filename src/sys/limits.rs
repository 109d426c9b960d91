//! What the process may pin and open: the limits a VFIO or iommufd user meets before the
//! IOMMU does.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// How much memory this process may pin (`MAP_DMA` and `IOMMU_IOAS_MAP` pin what they
/// map).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemlockLimit {
    /// Running as root: pinned memory is not limited.
    Root,
    /// `RLIMIT_MEMLOCK` is `RLIM_INFINITY`.
    Unlimited,
    /// `RLIMIT_MEMLOCK`'s soft limit, in bytes.
    Bytes(u64),
}

/// This process's limit on pinned memory, `None` when `getrlimit` fails.
pub fn memlock_limit() -> Option<MemlockLimit> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return Some(MemlockLimit::Root);
    }
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a live, writable rlimit for getrlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) } != 0 {
        return None;
    }
    Some(if lim.rlim_cur == libc::RLIM_INFINITY {
        MemlockLimit::Unlimited
    } else {
        MemlockLimit::Bytes(lim.rlim_cur)
    })
}

/// Whether this process may open `path` read-write (`access(2)` with the real ids): a
/// check for a message, not a promise (the open itself decides).
pub fn may_open_rdwr(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a NUL-terminated path that outlives the call; access(2) only reads it.
    unsafe { libc::access(c.as_ptr(), libc::R_OK | libc::W_OK) == 0 }
}
