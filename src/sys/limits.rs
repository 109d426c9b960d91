//! What the process may pin and open: the limits a VFIO or iommufd user meets before the
//! IOMMU does.
//!
//! Pinned memory is limited by `RLIMIT_MEMLOCK` unless the mapping thread has
//! `CAP_IPC_LOCK` in its *effective* set: being root (euid 0) is not enough on its own
//! (a container or a systemd unit may drop the capability), so the capability is read
//! from the kernel, not inferred from the uid.

use crate::sys::sysfs::Sysfs;

/// `CAP_IPC_LOCK`'s bit in the capability sets (`<linux/capability.h>`).
pub const CAP_IPC_LOCK: u32 = 14;

/// How much memory this process may pin (`MAP_DMA` and `IOMMU_IOAS_MAP` pin what they
/// map).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemlockLimit {
    /// The calling thread has `CAP_IPC_LOCK` in its effective set (root normally has):
    /// pinned memory is not limited by `RLIMIT_MEMLOCK`. (The name is kept from 0.x, when
    /// it meant euid 0; root without the capability is now [`MemlockLimit::Bytes`].)
    Root,
    /// `RLIMIT_MEMLOCK` is `RLIM_INFINITY`.
    Unlimited,
    /// `RLIMIT_MEMLOCK`'s soft limit, in bytes.
    Bytes(u64),
}

/// This process's limit on pinned memory, `None` when `getrlimit` fails.
pub fn memlock_limit() -> Option<MemlockLimit> {
    if has_cap_ipc_lock() == Some(true) {
        return Some(MemlockLimit::Root);
    }
    let rl = memlock_rlimit()?;
    Some(match rl.soft {
        None => MemlockLimit::Unlimited,
        Some(b) => MemlockLimit::Bytes(b),
    })
}

/// `RLIMIT_MEMLOCK`'s two values, in bytes; `None` is `RLIM_INFINITY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemlockRlimit {
    /// The soft limit: what the kernel enforces (`task_rlimit`).
    pub soft: Option<u64>,
    /// The hard limit: how far an unprivileged process may raise the soft one.
    pub hard: Option<u64>,
}

fn finite(v: libc::rlim_t) -> Option<u64> {
    (v != libc::RLIM_INFINITY).then_some(v)
}

/// This process's `RLIMIT_MEMLOCK` (`getrlimit`), `None` when the call fails.
pub fn memlock_rlimit() -> Option<MemlockRlimit> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a live, writable rlimit for getrlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) } != 0 {
        return None;
    }
    Some(MemlockRlimit {
        soft: finite(lim.rlim_cur),
        hard: finite(lim.rlim_max),
    })
}

/// Sets this process's `RLIMIT_MEMLOCK` (`setrlimit`; `None` is `RLIM_INFINITY`). Raising
/// the hard limit needs `CAP_SYS_RESOURCE`.
pub fn set_memlock_rlimit(limit: MemlockRlimit) -> Result<(), crate::Errno> {
    let lim = libc::rlimit {
        rlim_cur: limit.soft.unwrap_or(libc::RLIM_INFINITY),
        rlim_max: limit.hard.unwrap_or(libc::RLIM_INFINITY),
    };
    // SAFETY: setrlimit only reads the live `lim` during the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim) } != 0 {
        return Err(crate::Errno::last());
    }
    Ok(())
}

/// `capget(2)`'s header and its two 32-bit data words (`_LINUX_CAPABILITY_VERSION_3`).
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// The calling thread's effective, permitted and inheritable capability sets (`capget`,
/// 64 bits each), `None` when the call fails.
pub fn capabilities() -> Option<[u64; 3]> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget reads `hdr` and, for version 3, writes two `CapData` words to `data`,
    // both live and exclusively borrowed for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut hdr as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if r != 0 {
        return None;
    }
    let w = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    Some([
        w(data[0].effective, data[1].effective),
        w(data[0].permitted, data[1].permitted),
        w(data[0].inheritable, data[1].inheritable),
    ])
}

/// Whether the calling thread has `CAP_IPC_LOCK` in its effective set (`capget`), which
/// is what `capable(CAP_IPC_LOCK)` asks when type1 maps (`vfio_dma_do_map` records it in
/// `dma->lock_cap`) and iommufd allocates its pages (`iopt_alloc_pages`). `None` when
/// `capget` fails.
pub fn has_cap_ipc_lock() -> Option<bool> {
    capabilities().map(|[eff, _, _]| eff & (1 << CAP_IPC_LOCK) != 0)
}

/// Removes `cap` from the calling *thread's* effective and permitted sets (`capset`;
/// irreversible for the thread, other threads keep theirs). What a VMM that keeps only
/// the capabilities it needs does; the lab uses it to meet `RLIMIT_MEMLOCK` as root.
pub fn drop_capability(cap: u32) -> Result<(), crate::Errno> {
    if cap >= 64 {
        return Err(crate::Errno(libc::EINVAL));
    }
    let [eff, perm, inh] = capabilities().ok_or_else(crate::Errno::last)?;
    let bit = 1u64 << cap;
    let (eff, perm) = (eff & !bit, perm & !bit);
    let inh = inh & perm;
    let lo = |v: u64| v as u32;
    let hi = |v: u64| (v >> 32) as u32;
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: lo(eff),
            permitted: lo(perm),
            inheritable: lo(inh),
        },
        CapData {
            effective: hi(eff),
            permitted: hi(perm),
            inheritable: hi(inh),
        },
    ];
    // SAFETY: capset reads `hdr` and two `CapData` words from `data`, both live for the
    // call.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    if r != 0 {
        return Err(crate::Errno::last());
    }
    Ok(())
}

/// Locked and pinned memory of this process as `/proc/self/status` shows it, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockedMemory {
    /// `VmLck`: `mm->locked_vm` (mlock, and what type1 and iommufd's process mode charge).
    pub locked: Option<u64>,
    /// `VmPin`: `mm->pinned_vm` (iommufd adds every page it pins here, in every mode).
    pub pinned: Option<u64>,
}

/// Parses the `VmLck:` and `VmPin:` lines (`N kB`) of a `/proc/PID/status` text; a
/// malformed or overflowing value is `None`.
pub fn parse_status(text: &str) -> LockedMemory {
    let field = |name: &str| {
        text.lines().find_map(|l| {
            let rest = l.strip_prefix(name)?.trim();
            let kb: u64 = rest.strip_suffix("kB")?.trim().parse().ok()?;
            kb.checked_mul(1024)
        })
    };
    LockedMemory {
        locked: field("VmLck:"),
        pinned: field("VmPin:"),
    }
}

/// `VmLck` and `VmPin` of this process (`/proc/self/status`); both `None` when it cannot
/// be read.
pub fn locked_memory() -> LockedMemory {
    std::fs::read_to_string("/proc/self/status")
        .map(|t| parse_status(&t))
        .unwrap_or_default()
}

/// What limits the memory this process may pin, as the kernel answers it: what
/// the budgets' `MemlockFacts` are made of, and what a snapshot records of the
/// process that took it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessMemlock {
    /// `RLIMIT_MEMLOCK`, `None` when `getrlimit` failed.
    pub rlimit: Option<MemlockRlimit>,
    /// Whether the calling thread has `CAP_IPC_LOCK`, `None` when `capget` failed.
    pub cap_ipc_lock: Option<bool>,
    /// `VmLck` and `VmPin` (`/proc/self/status`).
    pub locked: LockedMemory,
}

impl ProcessMemlock {
    /// This process and the calling thread, now.
    pub fn current() -> ProcessMemlock {
        ProcessMemlock {
            rlimit: memlock_rlimit(),
            cap_ipc_lock: has_cap_ipc_lock(),
            locked: locked_memory(),
        }
    }
}

/// `vfio_iommu_type1`'s `dma_entry_limit` module parameter in `sysfs`: the mappings a
/// container opened *now* accepts (`vfio_iommu_type1_open` copies it into `dma_avail`).
/// `None` when the module is not loaded (iommufd's compat container has no such limit)
/// or the value is not a number.
pub fn dma_entry_limit(sysfs: &Sysfs) -> Option<u32> {
    sysfs
        .read_trimmed("module/vfio_iommu_type1/parameters/dma_entry_limit")?
        .parse()
        .ok()
}

/// Whether this process may open `path` read-write (`access(2)` with the real ids): a
/// check for a message, not a promise (the open itself decides). Asked of the live host;
/// [`crate::sys::view::FsView::may_open_rdwr`] asks it of a view.
pub use crate::sys::view::access_rdwr as may_open_rdwr;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_are_read_in_bytes() {
        let t = "Name:\tx\nVmLck:\t      8 kB\nVmPin:\t   2048 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(
            parse_status(t),
            LockedMemory {
                locked: Some(8192),
                pinned: Some(2 << 20)
            }
        );
        assert_eq!(parse_status("VmLck: x kB\n"), LockedMemory::default());
        let huge = format!("VmLck: {} kB\n", u64::MAX);
        assert_eq!(parse_status(&huge).locked, None);
    }

    #[test]
    fn the_capability_answer_agrees_with_proc_status() {
        let caps = capabilities().expect("capget");
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let eff = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
            .unwrap();
        assert_eq!(caps[0], eff);
        assert_eq!(has_cap_ipc_lock(), Some(eff & (1 << 14) != 0));
    }

    #[test]
    fn a_thread_that_drops_cap_ipc_lock_is_limited_even_as_root() {
        std::thread::spawn(|| {
            drop_capability(CAP_IPC_LOCK).unwrap();
            assert_eq!(has_cap_ipc_lock(), Some(false));
            assert_ne!(memlock_limit(), Some(MemlockLimit::Root));
        })
        .join()
        .unwrap();
        assert!(drop_capability(64).is_err());
    }
}
