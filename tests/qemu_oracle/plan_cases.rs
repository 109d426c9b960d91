//! The guest plans (issue 23) held against QEMU: the settings `plan_guest` gives, written
//! by `qemu_args`, start QEMU, whose maps are the ones the plan predicted; one bad setting
//! per case fails as the plan says:
//!
//! - `plan-start`: the plan for 64 MiB starts QEMU, and QEMU's maps and unmaps (its traces)
//!   are exactly [`GuestPlan::maps`];
//! - `plan-memlock`: without CAP_IPC_LOCK and with RLIMIT_MEMLOCK at the plan's figure QEMU
//!   starts; one page below, the map [`GuestPlan::first_over_memlock`] names fails with
//!   ENOMEM (on iommufd's compat container, the device's open, which pins); on a kernel
//!   that charges the ROM QEMU has not written as the zero page, free (Linux 6.1), the
//!   same with [`GuestPlan::memlock_zero_page`];
//! - `plan-mappings`: with type1's `dma_entry_limit`, as many pc-dimms as make the plan's
//!   mappings equal DMA_AVAIL start QEMU; one more, and the plan refuses `mappings` with
//!   ENOSPC, where QEMU fails;
//! - `plan-hole`, `plan-aperture`: a pc-dimm over the first hole above 4 GiB, or just past
//!   the aperture, with phys-bits raised so that QEMU accepts it: the plan refuses both
//!   settings, and QEMU fails at that pc-dimm with the refusal's errno;
//! - `plan-inspect` (issue 24): `inspect` of the running QEMU the plan started, paused
//!   before launch: its one container with the device's group, DMA_AVAIL = the container's
//!   before QEMU minus the mappings the plan says are live, the bytes the plan says stay
//!   pinned ([`GuestPlan::memlock_live`]) charged to it (VmLck on type1, VmPin on
//!   iommufd); on iommufd, its IOAS with the device's ranges.

use std::os::unix::process::CommandExt as _;
use std::process::Command;

use vfio_iommu_info::facts::Backend;
use vfio_iommu_info::plan::settings::{qemu_args, shell_line, Accel, QemuTarget};
use vfio_iommu_info::query::inspect::{inspect, Inspection};
use vfio_iommu_info::{
    live_after, plan_guest, FixedRam, GuestPlan, GuestRequest, HostFacts, HostPaths, Mapping,
};

use super::{
    harness_args, row, said, status, verdict, wanted, Oracle, Qemu, Route, Run, View, MIB2, TOP,
};

const RAM: u64 = 64 << 20;
const PAGE: u64 = 4096;
/// CAP_IPC_LOCK (linux/capability.h), which lifts RLIMIT_MEMLOCK off pinning.
const CAP_IPC_LOCK: libc::c_ulong = 14;
/// Where the bad cases put phys-bits so that QEMU takes a pc-dimm anywhere below 2^50.
const WIDE: u8 = 52;

/// Makes `cmd`'s process run without CAP_IPC_LOCK (dropped from the bounding set, so root's
/// execve does not grant it) and with RLIMIT_MEMLOCK `limit`.
pub(super) fn limit_memlock(cmd: &mut Command, limit: u64) {
    // SAFETY: the closure runs in the child between fork and exec and calls only prctl and
    // setrlimit, which are async-signal-safe system calls; it touches no lock or allocation.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_CAPBSET_DROP, CAP_IPC_LOCK, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Whether this process's inheritable set holds CAP_IPC_LOCK (then a child would keep it).
fn inherits_ipc_lock() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapInh:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << CAP_IPC_LOCK) != 0)
}

impl Oracle {
    pub(super) fn plan_cases(&mut self, qemu: &Qemu, route: Route, view: &View, prefix: &str) {
        let host = HostFacts {
            backend: view.backend,
            dma_avail: view.dma_avail,
            cpu_phys_bits: vfio_iommu_info::sys::cpu::phys_bits(),
            memlock: None,
        };
        let good = match plan_guest(&view.space, host, &GuestRequest::new(RAM)) {
            Ok(p) => p,
            Err(e) => {
                row(
                    &format!("{prefix}-plan-start"),
                    "fail",
                    &format!("plan_guest: {e}"),
                );
                return;
            }
        };
        if wanted("plan-start") {
            self.plan_start(qemu, route, &good, prefix);
        }
        if wanted("plan-memlock") {
            self.plan_memlock(qemu, route, &good, prefix);
        }
        if wanted("plan-inspect") {
            self.plan_inspect(qemu, route, view, &good, prefix);
        }
        if wanted("plan-mappings") {
            self.plan_mappings(qemu, route, view, host, &good, prefix);
        }
        let first_hole = view
            .space
            .holes()
            .iter()
            .map(|h| h.range)
            .find(|h| h.start >= 4 << 30 && h.end < TOP && h.end - h.start + 1 >= MIB2);
        if wanted("plan-hole") {
            match first_hole {
                Some(h) => self.plan_bad(
                    qemu,
                    route,
                    view,
                    host,
                    prefix,
                    "plan-hole",
                    h.start / MIB2 * MIB2,
                ),
                None => row(
                    &format!("{prefix}-plan-hole"),
                    "skip",
                    "no hole between 4 GiB and 2^50 (the HyperTransport hole is AMD's)",
                ),
            }
        }
        if wanted("plan-aperture") {
            let past = view
                .space
                .aperture()
                .and_then(|a| a.end.checked_add(1))
                .filter(|&a| ((4 << 30)..TOP).contains(&a));
            match past {
                Some(at) => self.plan_bad(qemu, route, view, host, prefix, "plan-aperture", at),
                None => row(
                    &format!("{prefix}-plan-aperture"),
                    "skip",
                    "the aperture ends below 4 GiB or above 2^50, where q35 puts no pc-dimm past it",
                ),
            }
        }
    }

    /// QEMU with the plan's own arguments (and the harness's: no defaults, no display,
    /// paused, the monitor on stdio, the VFIO listener's traces).
    fn plan_run(
        &mut self,
        qemu: &Qemu,
        route: Route,
        plan: &GuestPlan,
        name: &str,
        memlock: Option<u64>,
    ) -> (Run, String) {
        self.plan_run_paused(qemu, route, plan, name, memlock, None)
    }

    /// [`Oracle::plan_run`], calling `paused` with QEMU's PID while it is paused.
    fn plan_run_paused(
        &mut self,
        qemu: &Qemu,
        route: Route,
        plan: &GuestPlan,
        name: &str,
        memlock: Option<u64>,
        paused: Option<&mut dyn FnMut(u32)>,
    ) -> (Run, String) {
        let target = QemuTarget {
            accel: Accel::Tcg,
            // An Intel vendor: with an AMD one and phys-bits >= 40 QEMU moves RAM above 4 GiB
            // to 1 TiB (pc_memory_init, enforce_amd_1tb_hole), which the plan does not model.
            cpu: "qemu64,vendor=GenuineIntel".into(),
            devices: vec![self.bdf],
        };
        let plan_args = qemu_args(plan, &target);
        debug_assert_eq!(
            route == Route::Iommufd,
            plan.host.backend == Backend::Iommufd
        );
        let mut args = harness_args(qemu);
        args.extend(plan_args.iter().cloned());
        let run = self.spawn_paused(qemu, name, &args, memlock, paused);
        (run, shell_line("qemu-system-x86_64", &plan_args))
    }

    fn plan_inspect(
        &mut self,
        qemu: &Qemu,
        route: Route,
        view: &View,
        plan: &GuestPlan,
        prefix: &str,
    ) {
        let check = format!("{prefix}-plan-inspect");
        let paths = HostPaths::default();
        let group = paths.sysfs.group_of_device(&self.bdf).ok();
        let mut seen: Option<Result<Inspection, String>> = None;
        let mut look =
            |pid: u32| seen = Some(inspect(pid as i32, &paths).map_err(|e| e.to_string()));
        let (run, _) = self.plan_run_paused(qemu, route, plan, &check, None, Some(&mut look));
        let found = match seen {
            Some(Ok(found)) => found,
            Some(Err(e)) => return row(&check, "fail", &format!("inspect: {e}")),
            None => {
                return row(
                    &check,
                    "fail",
                    &format!("qemu never paused to be inspected: {}", said(&run)),
                )
            }
        };
        let live = live_after(&plan.maps).len() as u64;
        let pinned = [plan.memlock_live, plan.memlock_live_zero_page];
        let (ok, detail) = match route {
            Route::Type1 => {
                let Some(c) = found.containers.first() else {
                    return row(&check, "fail", &format!("no container in {found:?}"));
                };
                let avail = c
                    .info
                    .as_ref()
                    .ok()
                    .and_then(|i| i.dma_avail.present().copied());
                let compat = view.backend == Backend::IommufdCompat;
                let want_avail = if compat {
                    view.dma_avail
                } else {
                    view.dma_avail.and_then(|a| a.checked_sub(live as u32))
                };
                // iommufd charges VmPin (VmLck too in process mode, but not with QEMU's
                // CAP_IPC_LOCK); type1 charges VmLck, with the capability too.
                let charged = if compat {
                    found.locked.pinned
                } else {
                    found.locked.locked
                };
                let ok = found.containers.len() == 1
                    && c.groups_known
                    && group.is_some_and(|g| c.groups == [g])
                    && avail.is_some()
                    && avail == want_avail
                    && charged.is_some_and(|b| pinned.contains(&b));
                (
                    ok,
                    format!(
                        "qemu {}: {} container(s), groups {:?}; DMA_AVAIL {avail:?}, expected {want_avail:?} ({} before qemu, {live} live mappings in the plan); {} {charged:?} bytes, the plan leaves {} pinned (or {} with the zero page free)",
                        said(&run),
                        found.containers.len(),
                        c.groups,
                        view.dma_avail.map_or("none".to_owned(), |a| a.to_string()),
                        if compat { "VmPin" } else { "VmLck" },
                        plan.memlock_live,
                        plan.memlock_live_zero_page
                    ),
                )
            }
            Route::Iommufd => {
                let ioas: Vec<_> = found.iommufds.iter().flat_map(|d| &d.ioas).collect();
                let ok = ioas
                    .iter()
                    .any(|a| a.ranges.ranges.as_slice() == view.space.ranges())
                    && found.locked.pinned.is_some_and(|b| pinned.contains(&b));
                (
                    ok,
                    format!(
                        "qemu {}: {} iommufd(s), IOAS {:?}; the device's ranges {:?}; VmPin {:?} bytes, the plan leaves {} pinned (or {})",
                        said(&run),
                        found.iommufds.len(),
                        ioas.iter().map(|a| (a.id, a.ranges.ranges.clone())).collect::<Vec<_>>(),
                        view.space.ranges(),
                        found.locked.pinned,
                        plan.memlock_live,
                        plan.memlock_live_zero_page
                    ),
                )
            }
        };
        row(&check, status(ok), &format!("{detail}; {}", verdict(ok)));
    }

    fn plan_start(&mut self, qemu: &Qemu, route: Route, plan: &GuestPlan, prefix: &str) {
        let check = format!("{prefix}-plan-start");
        let (run, line) = self.plan_run(qemu, route, plan, &check, None);
        let same = run.ops == plan.maps;
        let ok = plan.fits() && run.started && same;
        row(
            &check,
            status(ok),
            &format!(
                "plan: fits {}, phys-bits {}, {} mappings, {} bytes pinned; {line}; qemu: {}; its maps {} the plan's ({} steps vs {}); {}",
                plan.fits(),
                plan.phys_bits,
                plan.mappings,
                plan.memlock,
                said(&run),
                if same { "equal" } else { "differ from" },
                run.ops.len(),
                plan.maps.len(),
                verdict(ok)
            ),
        );
    }

    /// The plan's pinned-memory figures: the kernel must let QEMU start at one of them and
    /// refuse a page less with ENOMEM where the plan says. [`GuestPlan::memlock`] (every
    /// page charged) is tried first; when QEMU starts a page below it, the kernel charges
    /// less, and [`GuestPlan::memlock_zero_page`] (unwritten ROM free) must be exact.
    fn plan_memlock(&mut self, qemu: &Qemu, route: Route, plan: &GuestPlan, prefix: &str) {
        let check = format!("{prefix}-plan-memlock");
        if inherits_ipc_lock() {
            row(&check, "fail", "this process's inheritable capabilities hold CAP_IPC_LOCK: QEMU would keep it and no limit would apply");
            return;
        }
        let (ok, mut detail, charged_less) = self.memlock_model(
            qemu,
            route,
            plan,
            &check,
            "every page",
            plan.memlock,
            GuestPlan::first_over_memlock,
        );
        let ok = if !ok && charged_less && plan.memlock_zero_page < plan.memlock {
            let (ok, zero, _) = self.memlock_model(
                qemu,
                route,
                plan,
                &format!("{check}-zero-page"),
                "the zero page free",
                plan.memlock_zero_page,
                GuestPlan::first_over_memlock_zero_page,
            );
            detail = format!("{detail}; this kernel charges less: {zero}");
            ok
        } else {
            ok
        };
        row(
            &check,
            status(ok),
            &format!("{}; {detail}; {}", plan.host.backend.name(), verdict(ok)),
        );
    }

    /// QEMU at RLIMIT_MEMLOCK `figure` and a page less, held against `predict`: whether it
    /// started at the figure and failed a page less where predicted, what it said, and
    /// whether it started a page less (the kernel charged less than the figure).
    #[allow(clippy::too_many_arguments)]
    fn memlock_model(
        &mut self,
        qemu: &Qemu,
        route: Route,
        plan: &GuestPlan,
        name: &str,
        model: &str,
        figure: u64,
        predict: fn(&GuestPlan, u64) -> Option<Mapping>,
    ) -> (bool, String, bool) {
        let (fit, _) = self.plan_run(qemu, route, plan, &format!("{name}-fit"), Some(figure));
        let below = figure - PAGE;
        let (short, _) = self.plan_run(qemu, route, plan, name, Some(below));
        // Where the kernel refuses: the map that crosses the limit, or (compat) the device's
        // open, which pins what QEMU mapped before it.
        let compat = plan.host.backend == Backend::IommufdCompat;
        let predicted = predict(plan, below);
        let refused = if compat {
            short.attach_failed == Some(-libc::ENOMEM)
        } else {
            predicted.is_some() && short.failed == predicted.map(|m| (m, -libc::ENOMEM))
        };
        let ok = fit.started && !short.started && refused;
        let detail = format!(
            "{figure} bytes pinned ({model}): RLIMIT_MEMLOCK {figure} without CAP_IPC_LOCK: qemu {}; {below} (a page less): qemu {}, the plan predicts ENOMEM {}",
            said(&fit),
            said(&short),
            if compat {
                "at the device's open".to_owned()
            } else {
                predicted.map_or("nowhere".into(), |m| format!("at map [{:#x}, +{:#x}]", m.iova, m.len))
            },
        );
        (ok, detail, short.started)
    }

    /// type1's mapping budget: the plan's count at DMA_AVAIL starts, one over fails.
    fn plan_mappings(
        &mut self,
        qemu: &Qemu,
        route: Route,
        view: &View,
        host: HostFacts,
        good: &GuestPlan,
        prefix: &str,
    ) {
        let check = format!("{prefix}-plan-mappings");
        let avail = match (host.backend, host.dma_avail) {
            (Backend::Type1, Some(a)) if u64::from(a) < good.mappings + 64 => u64::from(a),
            (Backend::Type1, Some(a)) => {
                row(&check, "skip", &format!("DMA_AVAIL {a}: more than 64 pc-dimms (linux-6.12-intel-aw48-dma-limit sets dma_entry_limit=7)"));
                return;
            }
            (b, _) => {
                row(
                    &check,
                    "skip",
                    &format!("{}: no mapping budget (DMA_AVAIL)", b.name()),
                );
                return;
            }
        };
        let plan_with = |n: u64| {
            let mut req = GuestRequest::new(RAM);
            req.fixed = (0..n)
                .map(|i| FixedRam {
                    at: (4 << 30) + i * MIB2,
                    size: MIB2,
                })
                .collect();
            plan_guest(&view.space, host, &req)
        };
        let spare = avail.saturating_sub(good.mappings);
        let (Ok(fit), Ok(over)) = (plan_with(spare), plan_with(spare + 1)) else {
            row(&check, "fail", "plan_guest refused the request");
            return;
        };
        let (a, _) = self.plan_run(qemu, route, &fit, &format!("{check}-fit"), None);
        let (b, _) = self.plan_run(qemu, route, &over, &check, None);
        let refusal = over.refusals.iter().find(|r| r.item == "mappings");
        let ok = fit.fits()
            && fit.mappings == avail
            && a.started
            && refusal.is_some_and(|r| r.errno == Some(libc::ENOSPC))
            && !b.started
            && b.failed.is_some_and(|(_, e)| e == -libc::ENOSPC);
        row(
            &check,
            status(ok),
            &format!(
                "DMA_AVAIL {avail}: {spare} pc-dimms, the plan needs {} mappings and fits {}: qemu {}; {} pc-dimms, the plan refuses: {}; qemu {}; {}",
                fit.mappings,
                fit.fits(),
                said(&a),
                spare + 1,
                refusal.map_or("nothing".to_owned(), ToString::to_string),
                said(&b),
                verdict(ok)
            ),
        );
    }

    /// A pc-dimm at `at` with phys-bits raised: the plan refuses it, QEMU fails as it says.
    #[allow(clippy::too_many_arguments)]
    fn plan_bad(
        &mut self,
        qemu: &Qemu,
        route: Route,
        view: &View,
        host: HostFacts,
        prefix: &str,
        case: &str,
        at: u64,
    ) {
        let check = format!("{prefix}-{case}");
        let mut req = GuestRequest::new(RAM);
        req.fixed.push(FixedRam { at, size: MIB2 });
        req.phys_bits = Some(WIDE);
        let plan = match plan_guest(&view.space, host, &req) {
            Ok(p) => p,
            Err(e) => {
                row(&check, "fail", &format!("plan_guest: {e}"));
                return;
            }
        };
        let Some(refusal) = plan.refusals.iter().find(|r| r.item == "fixed[0]") else {
            row(
                &check,
                "fail",
                &format!(
                    "the plan does not refuse the pc-dimm at {at:#x}: {:?}",
                    plan.refusals
                ),
            );
            return;
        };
        let (run, line) = self.plan_run(qemu, route, &plan, &check, None);
        let errno = refusal.errno.unwrap_or(0);
        let matched = match plan.host.backend {
            Backend::IommufdCompat => run.attach_failed == Some(-errno),
            _ => run
                .failed
                .is_some_and(|(m, e)| m.iova == at && m.len == MIB2 && e == -errno),
        };
        let ok = !run.started && matched;
        row(
            &check,
            status(ok),
            &format!(
                "{line}; plan refuses: {}; qemu: {}; {}",
                plan.refusals
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" | "),
                said(&run),
                verdict(ok)
            ),
        );
    }
}
