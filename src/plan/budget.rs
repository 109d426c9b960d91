//! Budgets: how much memory the kernel lets a process pin for DMA and how many mappings a
//! container still accepts, who is charged, and what a user can change when a plan does
//! not fit. The figures are the kernel's own arithmetic, checked in the lab (a limit set to
//! [`MemlockBudget::required_limit`] lets the maps succeed; one page less fails them with
//! [`MemlockBudget::errno`]).
//!
//! What the kernel charges (Linux 6.1 to 7.3):
//! - **type1** (`drivers/vfio/vfio_iommu_type1.c`): `vfio_pin_pages_remote` counts each
//!   page it pins for a `VFIO_IOMMU_MAP_DMA` and refuses with ENOMEM once
//!   `mm->locked_vm` + the pages counted > `RLIMIT_MEMLOCK >> PAGE_SHIFT` of the mapping
//!   process; `vfio_lock_acct` / `mm_lock_acct` (`__account_locked_vm`) then add them to
//!   that process's `locked_vm` (`VmLck`). A thread with `CAP_IPC_LOCK` when it maps
//!   (`vfio_dma_do_map`: `dma->lock_cap = capable(CAP_IPC_LOCK)`) is not limited.
//!   Reserved and PFNMAP pages (a device's BAR mapped peer-to-peer) are not counted
//!   (`is_invalid_reserved_pfn`); the same memory mapped at two IOVAs is two `vfio_dma`s and
//!   is counted twice. Every mapping also takes one of `dma_avail` (the `dma_entry_limit`
//!   module parameter, default 65535, read by `vfio_iommu_type1_open` when a container is
//!   opened): at 0 `vfio_dma_do_map` refuses with ENOSPC.
//! - **iommufd** (`drivers/iommu/iommufd/pages.c`): `iopt_alloc_pages` picks the account
//!   mode per mapping: none with `CAP_IPC_LOCK`, else the user's. `do_update_pinned`
//!   charges either the user (`incr_user_locked_vm`: `user->locked_vm`, shared by all of
//!   that user's processes, against the mapping process's `RLIMIT_MEMLOCK`, ENOMEM) or, in
//!   process mode (`IOMMU_OPTION_RLIMIT_MODE` = 1, `iopt_map_common` switches the pages to
//!   `IOPT_PAGES_ACCOUNT_MM`), the process (`update_mm_locked_vm`: `mm->locked_vm`,
//!   ENOMEM); every mode adds to `mm->pinned_vm` (`VmPin`). Pages are pinned (and charged)
//!   only once a domain is attached (`iopt_area_fill_domains`). Each `IOMMU_IOAS_MAP` has
//!   its own pages, so memory mapped twice is charged twice. iommufd counts no mappings.
//! - **iommufd's VFIO compat container**: `iommufd_fops_open` starts a context opened
//!   through `/dev/vfio/vfio` in process mode, as type1 charges; `/dev/iommu` starts in
//!   user mode. `iommufd_option_rlimit_mode` changes it only with `CAP_SYS_RESOURCE`
//!   (EPERM) and before any object exists (EBUSY).
//! - **sPAPR TCE v2** (`arch/powerpc/mm/book3s64/iommu_api.c`, not run in the lab):
//!   `mm_iommu_do_alloc` charges the memory registered with
//!   `VFIO_IOMMU_SPAPR_REGISTER_MEMORY` to the process (`account_locked_vm`, which
//!   `CAP_IPC_LOCK` bypasses; ENOMEM), when it is registered rather than when it is mapped.

use std::fmt;

use crate::error::Errno;
use crate::facts::Backend;
use crate::iova::format_size;
use crate::sys::limits;

/// Who the kernel charges pinned memory to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChargedTo {
    /// The mapping process's `mm->locked_vm` (`VmLck`), against its `RLIMIT_MEMLOCK`:
    /// type1, iommufd's compat container, iommufd in process mode.
    Process,
    /// The user's `locked_vm`, shared by all of that user's processes (iommufd's default
    /// on `/dev/iommu`), against the mapping process's `RLIMIT_MEMLOCK`.
    User,
    /// Nobody: the mapping thread has `CAP_IPC_LOCK`.
    Nobody,
}

impl ChargedTo {
    /// A stable name: `process`, `user`, `nobody`.
    pub fn name(self) -> &'static str {
        match self {
            ChargedTo::Process => "process",
            ChargedTo::User => "user",
            ChargedTo::Nobody => "nobody",
        }
    }
}

/// What the process knows about its own pinning limits ([`MemlockFacts::current`] reads
/// them; a plan for another process or host fills them in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemlockFacts {
    /// `RLIMIT_MEMLOCK`'s soft limit in bytes; `None` is unlimited.
    pub soft_limit: Option<u64>,
    /// The mapping thread has `CAP_IPC_LOCK` in its effective set.
    pub cap_ipc_lock: bool,
    /// `VmLck` in bytes: what the process has locked already (`mm->locked_vm`).
    pub locked: Option<u64>,
    /// `VmPin` in bytes (`mm->pinned_vm`: what iommufd pinned, in every mode).
    pub pinned: Option<u64>,
    /// iommufd's `IOMMU_OPTION_RLIMIT_MODE`: `Some(true)` process mode, `Some(false)` user
    /// mode, `None` not asked (then each backend's default: process for the compat
    /// container, user for `/dev/iommu`).
    pub iommufd_process_mode: Option<bool>,
    /// The kernel's `PAGE_SIZE`: the limit and the charges are whole pages.
    pub page_size: u64,
}

impl Default for MemlockFacts {
    /// Nothing known, 4 KiB pages: unlimited, no capability.
    fn default() -> MemlockFacts {
        MemlockFacts {
            soft_limit: None,
            cap_ipc_lock: false,
            locked: None,
            pinned: None,
            iommufd_process_mode: None,
            page_size: 4096,
        }
    }
}

impl MemlockFacts {
    /// This process and the calling thread, now: `RLIMIT_MEMLOCK`, `CAP_IPC_LOCK`
    /// (capget), `VmLck`/`VmPin`, the running kernel's page size. The rlimit mode is left
    /// `None`: ask an iommufd fd ([`crate::query::iommufd::rlimit_mode`]).
    pub fn current() -> MemlockFacts {
        MemlockFacts::of(&limits::ProcessMemlock::current(), crate::sys::page_size())
    }

    /// The facts of a process whose limits are `process`, on a kernel of `page_size`
    /// (what [`MemlockFacts::current`] reads, or what a snapshot recorded). A capability
    /// `capget` could not tell is taken as absent; the rlimit mode is left `None`.
    pub fn of(process: &limits::ProcessMemlock, page_size: u64) -> MemlockFacts {
        MemlockFacts {
            soft_limit: process.rlimit.and_then(|r| r.soft),
            cap_ipc_lock: process.cap_ipc_lock.unwrap_or(false),
            locked: process.locked.locked,
            pinned: process.locked.pinned,
            iommufd_process_mode: None,
            page_size,
        }
    }

    fn page(&self) -> u64 {
        if self.page_size.is_power_of_two() {
            self.page_size
        } else {
            4096
        }
    }
}

/// Why a budget does not limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotLimited {
    /// The mapping thread has `CAP_IPC_LOCK`: nothing is charged.
    CapIpcLock,
    /// `RLIMIT_MEMLOCK` is unlimited.
    Unlimited,
    /// iommufd (and its compat container) counts no mappings.
    NoEntryLimit,
}

/// Whether the need fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// It fits, with `spare` left (bytes for memory, entries for mappings).
    Fits {
        /// What is left after the need.
        spare: u64,
    },
    /// It does not: the kernel refuses once `by` more than allowed is asked for.
    Exceeds {
        /// The shortfall (bytes for memory, entries for mappings).
        by: u64,
    },
    /// Nothing limits it.
    NotLimited(NotLimited),
    /// The kernel does not say (type1 before 5.10 reports no DMA_AVAIL; sPAPR maps into
    /// windows whose size, not a count, limits it).
    Unknown(&'static str),
}

impl Verdict {
    /// `fits`, `exceeds`, `not-limited`, `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Fits { .. } => "fits",
            Verdict::Exceeds { .. } => "exceeds",
            Verdict::NotLimited(_) => "not-limited",
            Verdict::Unknown(_) => "unknown",
        }
    }
}

/// Something a user can change, with the value the budget computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// Set `RLIMIT_MEMLOCK` (soft, and hard if lower) to at least `bytes`.
    MemlockLimit {
        /// The limit in bytes (a whole number of pages).
        bytes: u64,
    },
    /// Give the mapping process `CAP_IPC_LOCK`.
    CapIpcLock,
    /// Set iommufd's `IOMMU_OPTION_RLIMIT_MODE` (`process` true: charge this process).
    RlimitMode {
        /// Process mode.
        process: bool,
    },
    /// Set `vfio_iommu_type1`'s `dma_entry_limit` (then open a new container).
    DmaEntryLimit {
        /// How many more entries are needed.
        raise_by: u64,
        /// The value to write, when the current limit is known.
        value: Option<u64>,
    },
    /// Map in larger pages (a vIOMMU guest's mappings are its page size: guest huge
    /// pages, or a VMM that maps whole RAM blocks).
    PageSize {
        /// The page size in bytes.
        page: u64,
        /// The mappings the need takes in pages of that size.
        entries: u64,
    },
}

impl fmt::Display for Change {
    /// What to type or set, in one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Change::MemlockLimit { bytes } => write!(
                f,
                "ulimit -l {} (KiB; LimitMEMLOCK={bytes} in a systemd unit, or setrlimit(RLIMIT_MEMLOCK, {bytes}))",
                bytes.div_ceil(1024)
            ),
            Change::CapIpcLock => f.write_str(
                "give the VMM CAP_IPC_LOCK (AmbientCapabilities=CAP_IPC_LOCK in a systemd unit, or keep it when dropping root)",
            ),
            Change::RlimitMode { process } => write!(
                f,
                "IOMMU_OPTION RLIMIT_MODE={} right after opening /dev/iommu (needs CAP_SYS_RESOURCE)",
                u8::from(process)
            ),
            Change::DmaEntryLimit { raise_by, value } => match value {
                Some(v) => write!(
                    f,
                    "echo {v} > /sys/module/vfio_iommu_type1/parameters/dma_entry_limit (or vfio_iommu_type1.dma_entry_limit={v}), then open a new container"
                ),
                None => write!(
                    f,
                    "raise vfio_iommu_type1's dma_entry_limit by {raise_by} (/sys/module/vfio_iommu_type1/parameters/dma_entry_limit), then open a new container"
                ),
            },
            Change::PageSize { page, entries } => write!(
                f,
                "map in {} pages: {entries} mappings",
                format_size(u128::from(page))
            ),
        }
    }
}

/// A [`Change`] and the fact it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// What to change.
    pub change: Change,
    /// Why that helps, in the kernel's terms.
    pub fact: String,
}

/// Pinned memory: who pays, how much is allowed and used, and whether the need fits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemlockBudget {
    /// The backend the maps go through.
    pub backend: Backend,
    /// Who is charged.
    pub charged_to: ChargedTo,
    /// Bytes the plan pins (rounded up to pages by the kernel).
    pub needed: u64,
    /// `RLIMIT_MEMLOCK`'s soft limit; `None` unlimited.
    pub allowed: Option<u64>,
    /// What the charged account holds already; `None` when not visible (a user's
    /// `locked_vm` is in no `/proc` file) or not known.
    pub used: Option<u64>,
    /// The smallest `RLIMIT_MEMLOCK` with which the need fits (used + needed in whole
    /// pages, an unknown use counted as 0); `None` when nothing is charged.
    pub required_limit: Option<u64>,
    /// Fits, exceeds by N bytes, or not limited and why.
    pub verdict: Verdict,
    /// What the map that crosses the limit fails with (ENOMEM); `None` when not limited.
    pub errno: Option<Errno>,
    /// What a user can change.
    pub changes: Vec<Suggestion>,
}

/// Mappings: how many the container still accepts and whether the need fits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingBudget {
    /// The backend the maps go through.
    pub backend: Backend,
    /// Mappings the plan makes.
    pub needed: u64,
    /// `DMA_AVAIL`: mappings the container accepts before refusing (type1).
    pub available: Option<u32>,
    /// Mappings the container holds, when the limit is known (limit - available).
    pub used: Option<u64>,
    /// Fits, exceeds by N entries, not limited, or unknown.
    pub verdict: Verdict,
    /// What the map past the limit fails with (ENOSPC); `None` when not limited.
    pub errno: Option<Errno>,
    /// What a user can change.
    pub changes: Vec<Suggestion>,
}

fn charged_to(backend: Backend, facts: &MemlockFacts) -> ChargedTo {
    if facts.cap_ipc_lock {
        return ChargedTo::Nobody;
    }
    match backend {
        Backend::Type1 | Backend::SpaprTce => ChargedTo::Process,
        Backend::IommufdCompat => match facts.iommufd_process_mode {
            Some(false) => ChargedTo::User,
            _ => ChargedTo::Process,
        },
        Backend::Iommufd => match facts.iommufd_process_mode {
            Some(true) => ChargedTo::Process,
            _ => ChargedTo::User,
        },
    }
}

fn human(b: u64) -> String {
    format_size(u128::from(b))
}

/// The pinned-memory budget of `needed` bytes mapped through `backend` by a process with
/// `facts`: who is charged, allowed, used, the verdict, ENOMEM, and the changes that make
/// it fit. Never panics; sizes near 2^64 saturate.
pub fn memlock_budget(backend: Backend, facts: &MemlockFacts, needed: u64) -> MemlockBudget {
    let page = facts.page();
    let charged = charged_to(backend, facts);
    let used = match charged {
        ChargedTo::Process | ChargedTo::Nobody => facts.locked,
        ChargedTo::User => None,
    };
    // In u128: whole pages of use and need can exceed 2^64 bytes; results saturate.
    let sat = |v: u128| u64::try_from(v).unwrap_or(u64::MAX);
    let page128 = u128::from(page);
    let total_pages =
        u128::from(used.unwrap_or(0)).div_ceil(page128) + u128::from(needed).div_ceil(page128);
    let required = (charged != ChargedTo::Nobody).then(|| sat(total_pages * page128));
    let verdict = match (charged, facts.soft_limit) {
        (ChargedTo::Nobody, _) => Verdict::NotLimited(NotLimited::CapIpcLock),
        (_, None) => Verdict::NotLimited(NotLimited::Unlimited),
        (_, Some(limit)) => {
            // The kernel compares whole pages: RLIMIT_MEMLOCK >> PAGE_SHIFT.
            let limit_pages = u128::from(limit / page);
            if total_pages <= limit_pages {
                Verdict::Fits {
                    spare: sat((limit_pages - total_pages) * page128),
                }
            } else {
                Verdict::Exceeds {
                    by: sat((total_pages - limit_pages) * page128),
                }
            }
        }
    };
    let errno = match verdict {
        Verdict::NotLimited(_) => None,
        _ => Some(Errno(libc::ENOMEM)),
    };
    let mut changes = Vec::new();
    if let Some(bytes) = required {
        let limit = facts.soft_limit.map_or("unlimited".to_owned(), human);
        let account = match charged {
            ChargedTo::User => format!(
                "charged to the user's locked_vm (incr_user_locked_vm), shared by all of this user's processes and not shown in /proc: {} needed plus what they pin already",
                human(needed)
            ),
            _ => format!(
                "charged to this process's locked_vm (VmLck {} + {} needed)",
                human(used.unwrap_or(0)),
                human(needed)
            ),
        };
        changes.push(Suggestion {
            change: Change::MemlockLimit { bytes },
            fact: format!(
                "RLIMIT_MEMLOCK is {limit}; pins are {account}; the kernel compares whole pages"
            ),
        });
        changes.push(Suggestion {
            change: Change::CapIpcLock,
            fact: match backend {
                Backend::Type1 => "vfio_dma_do_map records capable(CAP_IPC_LOCK) per mapping (dma->lock_cap) and vfio_pin_pages_remote then skips RLIMIT_MEMLOCK".to_owned(),
                Backend::SpaprTce => "account_locked_vm (mm_iommu_do_alloc, at VFIO_IOMMU_SPAPR_REGISTER_MEMORY) skips RLIMIT_MEMLOCK with CAP_IPC_LOCK".to_owned(),
                Backend::Iommufd | Backend::IommufdCompat => "iopt_alloc_pages: with CAP_IPC_LOCK the pages of a map are not accounted (IOPT_PAGES_ACCOUNT_NONE)".to_owned(),
            },
        });
    }
    if charged == ChargedTo::User {
        changes.push(Suggestion {
            change: Change::RlimitMode { process: true },
            fact: "user mode adds every process of this user to one count (incr_user_locked_vm); process mode charges only this process's locked_vm, as VFIO does (update_mm_locked_vm); the kernel allows the switch only before the context holds an object".to_owned(),
        });
    }
    MemlockBudget {
        backend,
        charged_to: charged,
        needed,
        allowed: facts.soft_limit,
        used,
        required_limit: required,
        verdict,
        errno,
        changes,
    }
}

/// The mapping budget of `needed` mappings through `backend` whose container reports
/// `dma_avail` (type1's `DMA_AVAIL`). See [`mapping_budget_with_limit`] when the
/// `dma_entry_limit` the container was opened with is known.
pub fn mapping_budget(backend: Backend, dma_avail: Option<u32>, needed: u64) -> MappingBudget {
    mapping_budget_with_limit(backend, dma_avail, None, needed)
}

/// [`mapping_budget`] knowing `entry_limit`, the `dma_entry_limit` the container was
/// opened with (read from `/sys/module/vfio_iommu_type1/parameters/dma_entry_limit`
/// before opening it): then the container's use is `entry_limit - dma_avail` and the
/// [`Change::DmaEntryLimit`] carries the exact value to write.
pub fn mapping_budget_with_limit(
    backend: Backend,
    dma_avail: Option<u32>,
    entry_limit: Option<u32>,
    needed: u64,
) -> MappingBudget {
    let mut b = MappingBudget {
        backend,
        needed,
        available: dma_avail,
        used: None,
        verdict: Verdict::NotLimited(NotLimited::NoEntryLimit),
        errno: None,
        changes: Vec::new(),
    };
    match backend {
        Backend::Iommufd | Backend::IommufdCompat => return b,
        Backend::SpaprTce => {
            b.verdict = Verdict::Unknown(
                "sPAPR TCE maps into fixed DMA windows: their size, not a count of mappings, limits it",
            );
            return b;
        }
        Backend::Type1 => {}
    }
    let Some(avail) = dma_avail else {
        b.verdict = Verdict::Unknown(
            "this kernel reports no DMA_AVAIL (before 5.10); dma_entry_limit (default 65535) still applies",
        );
        b.errno = Some(Errno(libc::ENOSPC));
        return b;
    };
    let avail64 = u64::from(avail);
    b.used = entry_limit
        .and_then(|l| l.checked_sub(avail))
        .map(u64::from);
    b.errno = Some(Errno(libc::ENOSPC));
    b.verdict = if needed <= avail64 {
        Verdict::Fits {
            spare: avail64 - needed,
        }
    } else {
        Verdict::Exceeds {
            by: needed - avail64,
        }
    };
    let raise_by = needed.saturating_sub(avail64);
    let value = b.used.map(|u| u.saturating_add(needed));
    b.changes.push(Suggestion {
        change: Change::DmaEntryLimit { raise_by, value },
        fact: format!(
            "DMA_AVAIL is {avail}: dma_entry_limit minus the mappings the container holds{}; vfio_dma_do_map refuses with ENOSPC at 0, and vfio_iommu_type1_open reads the parameter when a container is opened",
            match (entry_limit, b.used) {
                (Some(l), Some(u)) => format!(" ({l} - {u})"),
                _ => String::new(),
            }
        ),
    });
    b
}

/// The mapping budget of `bytes` mapped one `page` at a time (as a vIOMMU guest's
/// mappings reach the host: each guest IOMMU mapping is one host mapping), with what
/// larger pages (2 MiB, 1 GiB) would take.
pub fn mapping_budget_for_bytes(
    backend: Backend,
    dma_avail: Option<u32>,
    entry_limit: Option<u32>,
    bytes: u64,
    page: u64,
) -> MappingBudget {
    let page = if page.is_power_of_two() { page } else { 4096 };
    let mut b = mapping_budget_with_limit(backend, dma_avail, entry_limit, bytes.div_ceil(page));
    if matches!(b.verdict, Verdict::Exceeds { .. } | Verdict::Fits { .. }) {
        for larger in [2u64 << 20, 1 << 30] {
            if larger > page {
                b.changes.push(Suggestion {
                    change: Change::PageSize {
                        page: larger,
                        entries: bytes.div_ceil(larger),
                    },
                    fact: format!(
                        "each mapping is one entry of dma_entry_limit, whatever its size: {} in {} pages is {} entries",
                        human(bytes),
                        human(page),
                        bytes.div_ceil(page)
                    ),
                });
            }
        }
    }
    b
}

fn write_verdict(
    f: &mut fmt::Formatter<'_>,
    v: Verdict,
    unit: &dyn Fn(u64) -> String,
) -> fmt::Result {
    match v {
        Verdict::Fits { spare } => write!(f, "fits, {} to spare", unit(spare)),
        Verdict::Exceeds { by } => write!(f, "exceeds the limit by {}", unit(by)),
        Verdict::NotLimited(NotLimited::CapIpcLock) => {
            f.write_str("not limited: the mapping thread has CAP_IPC_LOCK")
        }
        Verdict::NotLimited(NotLimited::Unlimited) => {
            f.write_str("not limited: RLIMIT_MEMLOCK is unlimited")
        }
        Verdict::NotLimited(NotLimited::NoEntryLimit) => {
            f.write_str("not limited: iommufd counts no mappings")
        }
        Verdict::Unknown(why) => write!(f, "unknown: {why}"),
    }
}

impl fmt::Display for MemlockBudget {
    /// Who pays, allowed, used, the verdict with its errno, then one line per change.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "locked memory ({}): charged to {}, needed {}, allowed {}, used {}: ",
            self.backend.name(),
            self.charged_to.name(),
            human(self.needed),
            self.allowed.map_or("unlimited".to_owned(), human),
            self.used.map_or("unknown".to_owned(), human),
        )?;
        write_verdict(f, self.verdict, &|b| human(b))?;
        if let (Verdict::Exceeds { .. }, Some(e)) = (self.verdict, self.errno) {
            write!(f, " (the map that crosses it fails with {})", e.name())?;
        }
        for s in &self.changes {
            write!(f, "\n  - {}: {}", s.change, s.fact)?;
        }
        Ok(())
    }
}

impl fmt::Display for MappingBudget {
    /// Available, needed, the verdict with its errno, then one line per change.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "mappings ({}): needed {}, left {}: ",
            self.backend.name(),
            self.needed,
            self.available
                .map_or("unreported".to_owned(), |a| a.to_string()),
        )?;
        write_verdict(f, self.verdict, &|n| format!("{n} mappings"))?;
        if let (Verdict::Exceeds { .. }, Some(e)) = (self.verdict, self.errno) {
            write!(f, " (the map past it fails with {})", e.name())?;
        }
        for s in &self.changes {
            write!(f, "\n  - {}: {}", s.change, s.fact)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn facts(limit: Option<u64>, locked: u64) -> MemlockFacts {
        MemlockFacts {
            soft_limit: limit,
            locked: Some(locked),
            ..MemlockFacts::default()
        }
    }

    #[test]
    fn type1_charges_the_process_and_counts_whole_pages() {
        let b = memlock_budget(Backend::Type1, &facts(Some(64 << 10), 8 << 10), 56 << 10);
        assert_eq!(b.charged_to, ChargedTo::Process);
        assert_eq!(b.verdict, Verdict::Fits { spare: 0 });
        assert_eq!(b.required_limit, Some(64 << 10));
        // One byte more is one page more.
        let b = memlock_budget(
            Backend::Type1,
            &facts(Some(64 << 10), 8 << 10),
            (56 << 10) + 1,
        );
        assert_eq!(b.verdict, Verdict::Exceeds { by: 4096 });
        assert_eq!(b.errno, Some(Errno(libc::ENOMEM)));
        assert_eq!(b.required_limit, Some(68 << 10));
        assert_eq!(
            b.changes[0].change,
            Change::MemlockLimit { bytes: 68 << 10 }
        );
        assert!(b.changes[0].change.to_string().starts_with("ulimit -l 68 "));
        // A limit that is not a whole number of pages rounds down, as >> PAGE_SHIFT does.
        let b = memlock_budget(Backend::Type1, &facts(Some((64 << 10) + 4095), 0), 65 << 10);
        assert_eq!(b.verdict, Verdict::Exceeds { by: 4096 });
        assert!(b.to_string().contains("fails with ENOMEM"), "{b}");
    }

    #[test]
    fn cap_ipc_lock_and_unlimited_are_not_limited() {
        let f = MemlockFacts {
            cap_ipc_lock: true,
            soft_limit: Some(0),
            ..MemlockFacts::default()
        };
        for backend in [Backend::Type1, Backend::Iommufd, Backend::IommufdCompat] {
            let b = memlock_budget(backend, &f, 1 << 30);
            assert_eq!(b.charged_to, ChargedTo::Nobody);
            assert_eq!(b.verdict, Verdict::NotLimited(NotLimited::CapIpcLock));
            assert_eq!((b.errno, b.required_limit), (None, None));
            assert!(b.changes.is_empty());
        }
        let b = memlock_budget(Backend::Type1, &facts(None, 0), u64::MAX);
        assert_eq!(b.verdict, Verdict::NotLimited(NotLimited::Unlimited));
        assert!(b.required_limit.is_some());
    }

    #[test]
    fn iommufd_charges_the_user_by_default_and_the_compat_container_the_process() {
        let f = facts(Some(1 << 20), 512 << 10);
        let b = memlock_budget(Backend::Iommufd, &f, 1 << 20);
        assert_eq!(b.charged_to, ChargedTo::User);
        // The process's VmLck is not what user mode counts.
        assert_eq!(b.used, None);
        assert_eq!(b.verdict, Verdict::Fits { spare: 0 });
        assert!(b
            .changes
            .iter()
            .any(|s| s.change == Change::RlimitMode { process: true }));
        let c = memlock_budget(Backend::IommufdCompat, &f, 1 << 20);
        assert_eq!(c.charged_to, ChargedTo::Process);
        assert_eq!(c.verdict, Verdict::Exceeds { by: 512 << 10 });
        let p = MemlockFacts {
            iommufd_process_mode: Some(true),
            ..f
        };
        assert_eq!(
            memlock_budget(Backend::Iommufd, &p, 1).charged_to,
            ChargedTo::Process
        );
        let u = MemlockFacts {
            iommufd_process_mode: Some(false),
            ..f
        };
        assert_eq!(
            memlock_budget(Backend::IommufdCompat, &u, 1).charged_to,
            ChargedTo::User
        );
    }

    #[test]
    fn type1_mappings_are_dma_avail_and_enospc() {
        let b = mapping_budget(Backend::Type1, Some(7), 7);
        assert_eq!(b.verdict, Verdict::Fits { spare: 0 });
        let b = mapping_budget(Backend::Type1, Some(7), 8);
        assert_eq!(b.verdict, Verdict::Exceeds { by: 1 });
        assert_eq!(b.errno, Some(Errno(libc::ENOSPC)));
        assert_eq!(
            b.changes[0].change,
            Change::DmaEntryLimit {
                raise_by: 1,
                value: None
            }
        );
        let b = mapping_budget_with_limit(Backend::Type1, Some(5), Some(7), 8);
        assert_eq!(b.used, Some(2));
        assert_eq!(
            b.changes[0].change,
            Change::DmaEntryLimit {
                raise_by: 3,
                value: Some(10)
            }
        );
        assert!(b.to_string().contains("fails with ENOSPC"), "{b}");
        let b = mapping_budget(Backend::IommufdCompat, Some(u32::MAX), u64::MAX);
        assert_eq!(b.verdict, Verdict::NotLimited(NotLimited::NoEntryLimit));
        assert!(matches!(
            mapping_budget(Backend::Type1, None, 1).verdict,
            Verdict::Unknown(_)
        ));
    }

    #[test]
    fn larger_pages_take_fewer_entries() {
        let b = mapping_budget_for_bytes(Backend::Type1, Some(65535), None, 1 << 30, 4096);
        assert_eq!(b.needed, 262_144);
        assert_eq!(
            b.verdict,
            Verdict::Exceeds {
                by: 262_144 - 65535
            }
        );
        assert!(b.changes.contains(&Suggestion {
            change: Change::PageSize {
                page: 2 << 20,
                entries: 512
            },
            fact: b.changes[1].fact.clone(),
        }));
    }

    fn backend() -> impl Strategy<Value = Backend> {
        prop_oneof![
            Just(Backend::Type1),
            Just(Backend::IommufdCompat),
            Just(Backend::Iommufd),
            Just(Backend::SpaprTce)
        ]
    }

    proptest! {
        #[test]
        fn memlock_verdict_agrees_with_the_required_limit(
            backend in backend(),
            limit in proptest::option::of(any::<u64>()),
            cap in any::<bool>(),
            locked in proptest::option::of(any::<u64>()),
            mode in proptest::option::of(any::<bool>()),
            shift in 0u32..70,
            needed in any::<u64>(),
        ) {
            let f = MemlockFacts {
                soft_limit: limit,
                cap_ipc_lock: cap,
                locked,
                pinned: None,
                iommufd_process_mode: mode,
                page_size: 1u64.checked_shl(shift).unwrap_or(3),
            };
            let b = memlock_budget(backend, &f, needed);
            let _ = b.to_string();
            match b.verdict {
                Verdict::Fits { .. } | Verdict::Exceeds { .. } => {
                    let (lim, page) = (u128::from(limit.unwrap()), u128::from(f.page()));
                    let used = u128::from(b.used.unwrap_or(0));
                    // Independently, in u128: whole pages of use and need against whole
                    // pages of limit.
                    let total = used.div_ceil(page) + u128::from(needed).div_ceil(page);
                    let fits = total <= lim / page;
                    prop_assert_eq!(matches!(b.verdict, Verdict::Fits { .. }), fits);
                    if let Verdict::Exceeds { by } = b.verdict {
                        let want = (total - lim / page) * page;
                        prop_assert_eq!(u128::from(by), want.min(u128::from(u64::MAX)));
                    }
                    if total * page <= u128::from(u64::MAX) {
                        prop_assert_eq!(u128::from(b.required_limit.unwrap()), total * page);
                    }
                    prop_assert_eq!(b.errno, Some(Errno(libc::ENOMEM)));
                }
                Verdict::NotLimited(NotLimited::CapIpcLock) => prop_assert!(cap),
                Verdict::NotLimited(NotLimited::Unlimited) => prop_assert!(limit.is_none()),
                other => prop_assert!(false, "{:?}", other),
            }
        }

        #[test]
        fn mapping_verdict_is_avail_against_needed(
            backend in backend(),
            avail in proptest::option::of(any::<u32>()),
            limit in proptest::option::of(any::<u32>()),
            needed in any::<u64>(),
            page in any::<u64>(),
        ) {
            let b = mapping_budget_with_limit(backend, avail, limit, needed);
            let _ = b.to_string();
            if let (Backend::Type1, Some(a)) = (backend, avail) {
                prop_assert_eq!(
                    matches!(b.verdict, Verdict::Fits { .. }),
                    needed <= u64::from(a)
                );
            }
            let _ = mapping_budget_for_bytes(backend, avail, limit, needed, page).to_string();
        }
    }
}
