//! `budget`: the memlock and mapping budgets of a container or IOAS this command opens.
//! The core (`vfio_iommu_info::plan::budget`) makes every figure and sentence; this file
//! gathers the facts, and prints the two budgets as text or JSON.

use std::os::fd::AsFd;
use std::process::ExitCode;

use serde_json::{json, Value};
use vfio_iommu_info::cdev::IommufdDevice;
use vfio_iommu_info::facts::{Backend, ContainerBackend};
use vfio_iommu_info::plan::budget::{
    mapping_budget_for_bytes, mapping_budget_with_limit, memlock_budget, Change, MappingBudget,
    MemlockBudget, MemlockFacts, NotLimited, Suggestion, Verdict,
};
use vfio_iommu_info::query::iommufd::rlimit_mode;
use vfio_iommu_info::sys::limits::{dma_entry_limit, memlock_rlimit};
use vfio_iommu_info::{Container, Error, HostPaths, IommuInfo, Snapshot, Target};

use crate::backend::{choose, BackendArg, Chosen};
use crate::{print_json, print_text, Failure, EXIT_FAILURE};

/// What `budget` was asked.
pub struct Request {
    /// Bytes the VMM will pin (guest RAM and buffers), 0 for none.
    pub needed: u64,
    /// Mappings it will make; `None`: `needed` in the IOMMU's smallest pages, as a vIOMMU
    /// guest's mappings arrive.
    pub mappings: Option<u64>,
}

/// The facts and the two budgets.
struct Budgets {
    why: String,
    facts: MemlockFacts,
    hard_limit: Option<u64>,
    entry_limit: Option<u32>,
    memlock: MemlockBudget,
    mappings: MappingBudget,
}

fn fail(e: vfio_iommu_info::Error) -> Failure {
    Failure::lib(e)
}

/// A VFIO container's part of the budgets (type1, or iommufd's compat container whose
/// rlimit mode `rlimit_mode` asks), live or replayed: its backend, DMA_AVAIL and smallest
/// page, with the mode set in `facts`.
fn container_facts(
    info: &IommuInfo,
    backend: ContainerBackend,
    rlimit_mode: impl FnOnce() -> Result<Option<bool>, Failure>,
    facts: &mut MemlockFacts,
) -> Result<(Backend, Option<u32>, u64), Failure> {
    let backend = match backend {
        ContainerBackend::Vfio => Backend::Type1,
        ContainerBackend::IommufdCompat { .. } => {
            facts.iommufd_process_mode = rlimit_mode()?;
            Backend::IommufdCompat
        }
    };
    let page = info
        .iova_pgsizes
        .and_then(|p| p.smallest())
        .unwrap_or(facts.page_size);
    Ok((backend, info.dma_avail.present().copied(), page))
}

/// The budgets' facts as `snapshot` recorded them: the container of the targets' groups
/// and the limits of the process that took it.
fn replayed(
    snapshot: &Snapshot,
    targets: &[Target],
    chosen: Chosen,
    paths: &HostPaths,
    facts: &mut MemlockFacts,
) -> Result<(Backend, String, Option<u32>, u64), Failure> {
    let why = match chosen {
        Chosen::Type1(why) => why,
        Chosen::Iommufd(..) | Chosen::SpaprTce(_) => {
            return Err(fail(Error::NotInSnapshot {
                what: "an iommufd or sPAPR TCE answer".to_owned(),
                why: "a snapshot holds the VFIO container's answers (type1 and iommufd's compat container): ask with --backend type1".to_owned(),
            }))
        }
    };
    let groups = crate::group_numbers(targets, paths)?;
    let container = snapshot.container(&groups).map_err(fail)?;
    let mode = || match container.rlimit_mode() {
        // Never asked: no guess.
        Err(e @ Error::NotInSnapshot { .. }) => Err(fail(e)),
        // Live, an error leaves the mode unknown.
        answer => Ok(answer.ok()),
    };
    let (backend, avail, page) = container_facts(&container.info, container.backend, mode, facts)?;
    Ok((backend, why, avail, page))
}

/// Opens `targets` through the chosen backend (or reads `snapshot`'s answers) and
/// computes both budgets.
fn gather(
    targets: &[Target],
    arg: BackendArg,
    req: &Request,
    snapshot: Option<&Snapshot>,
) -> Result<Budgets, Failure> {
    let paths = snapshot.map_or_else(HostPaths::default, Snapshot::paths);
    let chosen = choose(arg, targets, &paths)?;
    // Read before opening: the container copies the parameter when it is opened.
    let entry_limit = dma_entry_limit(&paths.sysfs);
    let (mut facts, rlimit) = match snapshot {
        Some(s) => (
            s.memlock_facts().map_err(fail)?,
            s.memlock_rlimit().map_err(fail)?,
        ),
        None => (MemlockFacts::current(), memlock_rlimit()),
    };
    let (backend, why, avail, page) = match (snapshot, chosen) {
        (Some(s), chosen) => replayed(s, targets, chosen, &paths, &mut facts)?,
        (None, Chosen::Iommufd(address, why)) => {
            let dev = IommufdDevice::open(&address, &paths).map_err(fail)?;
            facts.iommufd_process_mode = Some(dev.iommufd().rlimit_mode().map_err(fail)?);
            let align = dev.iova_ranges().map_err(fail)?.alignment;
            (Backend::Iommufd, why, None, align.max(facts.page_size))
        }
        (None, Chosen::Type1(why)) => {
            let container = Container::open_targets(targets, &paths).map_err(fail)?;
            let info = container.query().map_err(fail)?;
            let mode = || Ok(rlimit_mode(container.as_fd()).ok());
            let (backend, avail, page) =
                container_facts(&info, container.backend(), mode, &mut facts)?;
            (backend, why, avail, page)
        }
        (None, Chosen::SpaprTce(why)) => {
            let _container = Container::open_targets(targets, &paths).map_err(fail)?;
            (Backend::SpaprTce, why, None, facts.page_size)
        }
    };
    let entry_limit = entry_limit.filter(|_| backend == Backend::Type1);
    let memlock = memlock_budget(backend, &facts, req.needed);
    let mappings = match req.mappings {
        Some(n) => mapping_budget_with_limit(backend, avail, entry_limit, n),
        None => mapping_budget_for_bytes(backend, avail, entry_limit, req.needed, page),
    };
    Ok(Budgets {
        why,
        facts,
        hard_limit: rlimit.and_then(|r| r.hard),
        entry_limit,
        memlock,
        mappings,
    })
}

/// Runs `budget` (on this host, or as `snapshot` recorded one): exit 1 when either budget
/// is exceeded.
pub fn budget(
    targets: &[Target],
    arg: BackendArg,
    req: &Request,
    json: bool,
    snapshot: Option<&Snapshot>,
) -> Result<ExitCode, Failure> {
    let b = gather(targets, arg, req, snapshot)?;
    if json {
        print_json(&to_json(targets, &b))?;
    } else {
        print_text(&render(targets, &b))?;
    }
    let exceeded = |v: Verdict| matches!(v, Verdict::Exceeds { .. });
    Ok(
        if exceeded(b.memlock.verdict) || exceeded(b.mappings.verdict) {
            ExitCode::from(EXIT_FAILURE)
        } else {
            ExitCode::SUCCESS
        },
    )
}

fn render(targets: &[Target], b: &Budgets) -> String {
    let names: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
    format!(
        "{} ({}: {})\n{}\n{}\n",
        names.join(", "),
        b.memlock.backend.name(),
        b.why,
        b.memlock,
        b.mappings
    )
}

fn verdict_json(v: Verdict) -> Value {
    match v {
        Verdict::Fits { spare } => json!({"kind": "fits", "spare": spare}),
        Verdict::Exceeds { by } => json!({"kind": "exceeds", "by": by}),
        Verdict::NotLimited(why) => json!({"kind": "not-limited", "why": match why {
            NotLimited::CapIpcLock => "cap-ipc-lock",
            NotLimited::Unlimited => "unlimited",
            NotLimited::NoEntryLimit => "no-entry-limit",
        }}),
        Verdict::Unknown(why) => json!({"kind": "unknown", "why": why}),
    }
}

fn change_json(s: &Suggestion) -> Value {
    let mut v = match s.change {
        Change::MemlockLimit { bytes } => json!({"kind": "memlock-limit", "bytes": bytes}),
        Change::CapIpcLock => json!({"kind": "cap-ipc-lock"}),
        Change::RlimitMode { process } => json!({"kind": "rlimit-mode", "process": process}),
        Change::DmaEntryLimit { raise_by, value } => {
            json!({"kind": "dma-entry-limit", "raise_by": raise_by, "value": value})
        }
        Change::PageSize { page, entries } => {
            json!({"kind": "page-size", "page": page, "entries": entries})
        }
    };
    v["text"] = json!(s.change.to_string());
    v["fact"] = json!(s.fact);
    v
}

fn to_json(targets: &[Target], b: &Budgets) -> Value {
    let m = &b.memlock;
    let d = &b.mappings;
    json!({
        "targets": targets.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
        "backend": m.backend.name(),
        "backend_reason": b.why,
        "facts": {
            "memlock_soft_limit": b.facts.soft_limit,
            "memlock_hard_limit": b.hard_limit,
            "cap_ipc_lock": b.facts.cap_ipc_lock,
            "vm_lck": b.facts.locked,
            "vm_pin": b.facts.pinned,
            "iommufd_process_mode": b.facts.iommufd_process_mode,
            "page_size": b.facts.page_size,
            "dma_entry_limit": b.entry_limit,
        },
        "memlock": {
            "charged_to": m.charged_to.name(),
            "needed": m.needed,
            "allowed": m.allowed,
            "used": m.used,
            "required_limit": m.required_limit,
            "verdict": verdict_json(m.verdict),
            "errno": m.errno.map(|e| e.name()),
            "changes": m.changes.iter().map(change_json).collect::<Vec<_>>(),
            "text": m.to_string(),
        },
        "mappings": {
            "needed": d.needed,
            "available": d.available,
            "used": d.used,
            "verdict": verdict_json(d.verdict),
            "errno": d.errno.map(|e| e.name()),
            "changes": d.changes.iter().map(change_json).collect::<Vec<_>>(),
            "text": d.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vfio_iommu_info::plan::budget::memlock_budget;

    /// Every backend, with limits and without, fitting and exceeded: the document is what
    /// schemas/budget.schema.json says.
    #[test]
    fn every_budget_is_what_schemas_budget_says() {
        let targets = ["0000:00:03.0".parse::<Target>().unwrap()];
        let mut checked = 0;
        for backend in [
            Backend::Type1,
            Backend::IommufdCompat,
            Backend::Iommufd,
            Backend::SpaprTce,
        ] {
            for (soft, cap, locked, mode) in [
                (Some(64 << 20), false, Some(0), None),
                (None, true, None, Some(true)),
                (Some(u64::MAX), false, Some(1 << 20), Some(false)),
            ] {
                let facts = MemlockFacts {
                    soft_limit: soft,
                    cap_ipc_lock: cap,
                    locked,
                    pinned: locked,
                    iommufd_process_mode: mode,
                    page_size: 4096,
                };
                for (needed, avail, entry) in [
                    (0, Some(65535), Some(65535)),
                    (16 << 30, Some(3), Some(65535)),
                    (16 << 30, None, None),
                ] {
                    let b = Budgets {
                        why: "auto".to_owned(),
                        facts,
                        hard_limit: soft,
                        entry_limit: entry,
                        memlock: memlock_budget(backend, &facts, needed),
                        mappings: mapping_budget_for_bytes(backend, avail, entry, needed, 4096),
                    };
                    crate::testing::assert_schema("budget", to_json(&targets, &b));
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 36);
    }
}
