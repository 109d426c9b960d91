//! QEMU as the oracle (issue 22): in a lab guest, a nested QEMU 10 takes the guest's edu
//! device on vfio-pci (the legacy type1 container, and iommufd where the kernel has it)
//! with `-S`, which is enough for it to map its RAM into the container, and its view is
//! held against the library's:
//!
//! - `resv`: the reserved regions QEMU derives from the host's IOVA ranges for a
//!   virtio-iommu (trace `virtio_iommu_host_resv_regions`) equal [`IovaSpace::reserved`];
//! - `usable`: RAM (pc-dimms) at the edges of every usable range QEMU can put RAM in starts;
//! - `hole-first`, `hole-last`: RAM over the first and the last 2 MiB of the first hole
//!   above 4 GiB fails, at that mapping, with the errno [`predict_dma`] gives for the maps
//!   and unmaps QEMU made (traces `vfio_listener_region_add_ram`, `vfio_listener_region_del`);
//! - `aperture`: RAM just past the aperture, likewise;
//! - `limit`: with type1's `dma_entry_limit`, the mapping at which QEMU fails is the one
//!   the budget (DMA_AVAIL) gives, counting QEMU's own mappings of its low RAM (which it
//!   maps whole, then unmaps and maps again in pieces at reset).
//!
//! Every QEMU of `target/lab/qemu.list` and `target/lab/qemu-*.list` (`NAME BIN DATADIRS
//! MODDIR`, lab/README.md "The QEMU oracle") runs every case. A QEMU other than `stock` is
//! one built with `clients/qemu/` (it links the library): where it fails a map for the
//! span's sake, its error must also carry [`IovaSpace::explain`]'s words. Each case is one row of the
//! lab's protocol on stdout, `@@LAB oracle-ROUTE-CASE` (`oracle-NAME-ROUTE-CASE` for a QEMU
//! other than `stock`) with what QEMU said, what the library said, and MATCH or DIFF; a
//! case a scenario cannot have (no hole above 4 GiB, no iommufd, no mapping limit) is a
//! `skip` with the reason. Each QEMU's command line and output: `$LAB_OUT/oracle/`.
//!
//! `LAB_ORACLE_CASES` (space-separated case names) runs only those. Outside the lab
//! (`cargo test` on a host) it prints that it skipped.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "qemu_oracle/plan_cases.rs"]
mod plan_cases;

use vfio_iommu_info::facts::Backend;
use vfio_iommu_info::query::report::IommufdReport;
use vfio_iommu_info::{
    live_after, predict_attach, predict_dma, Container, DmaOp, Errno, HostPaths, IovaRange,
    IovaSpace, MapRefusal, Mapping, PageSizes, PciAddress, Prediction, Refused, Target,
};

const MIB2: u64 = 2 << 20;
const GIB: u64 = 1 << 30;
/// Where q35 starts hotpluggable memory for a guest with all its RAM below 4 GiB (and an
/// Intel CPU, so that QEMU does not move it above 1 TiB for AMD's HyperTransport hole).
const DEVICE_MEMORY_BASE: u64 = 4 * GIB;
/// The nested guest's CPU: 52 physical address bits let pc-dimms sit anywhere below 2^52.
const PHYS_BITS: u32 = 52;
/// Where the cases put pc-dimms at most: hotpluggable memory reaches 1 GiB per slot past
/// the highest pc-dimm, and must end below 2^PHYS_BITS.
const TOP: u64 = 1 << 50;
const QEMU_TIMEOUT: Duration = Duration::from_secs(120);
/// q35's limit of memory slots.
const MAX_DIMMS: usize = 256;

/// One QEMU to hold against the library (a line of a qemu list).
struct Qemu {
    name: String,
    bin: PathBuf,
    datadirs: Vec<PathBuf>,
    moddir: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Type1,
    Iommufd,
}

impl Route {
    fn name(self) -> &'static str {
        match self {
            Route::Type1 => "type1",
            Route::Iommufd => "iommufd",
        }
    }
}

/// What the library says about the device's container or IOAS.
struct View {
    space: IovaSpace,
    backend: Backend,
    dma_avail: Option<u32>,
}

/// What one QEMU run showed.
struct Run {
    /// It reached the monitor, paused before launch, and quit cleanly.
    started: bool,
    /// Its exit status, or how it ended.
    status: String,
    /// The maps and unmaps it attempted, in order (traces `vfio_listener_region_add_ram`
    /// and `vfio_listener_region_del`).
    ops: Vec<DmaOp>,
    /// The failed mapping it reported: `vfio_container_dma_map(.., IOVA, SIZE, ..) = -ERRNO`.
    failed: Option<(Mapping, i32)>,
    /// The device's open it reported failing, after its maps (`error getting device from
    /// group N: TEXT`, as -errno).
    attach_failed: Option<i32>,
    /// The reserved regions it derived for virtio-iommu (trace
    /// `virtio_iommu_host_resv_regions`).
    resv: Vec<IovaRange>,
    /// Its `qemu-system-x86_64:` error lines.
    errors: Vec<String>,
}

struct Oracle {
    bdf: PciAddress,
    out: PathBuf,
    runs: usize,
}

/// The whole oracle, one libtest test so that the crate needs no `[[test]]` entry (its
/// packages leave `tests/` out). `lab/guest/checks.sh` runs it with `--nocapture`: its rows
/// are the result, printed as they come; the test itself fails only when the oracle cannot
/// run at all.
#[test]
fn qemu_oracle() {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if env("LAB").as_deref() != Some("1") {
        println!("qemu_oracle: skipped: not in the lab (make lab runs it inside the x86 guests)");
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env("LAB_OUT").expect("LAB_OUT")).join("oracle");
    let _ = fs::remove_dir_all(&out);
    fs::create_dir_all(&out).expect("LAB_OUT/oracle");
    let first = |k: &str| env(k).and_then(|v| v.split_whitespace().next().map(str::to_owned));
    let bdf: PciAddress = first("LAB_EDU_BDFS")
        .expect("LAB_EDU_BDFS")
        .parse()
        .expect("LAB_EDU_BDFS");
    let group: u32 = first("LAB_EDU_GROUPS")
        .expect("LAB_EDU_GROUPS")
        .parse()
        .expect("LAB_EDU_GROUPS");
    let iommufd = env("LAB_IOMMUFD").as_deref() == Some("1");
    let qemus = match qemu_list(&root.join("target/lab")) {
        Ok(q) => q,
        Err(e) => {
            row("oracle", "fail", &e);
            return;
        }
    };
    let mut oracle = Oracle { bdf, out, runs: 0 };
    let started = Instant::now();
    for qemu in &qemus {
        for route in [Route::Type1, Route::Iommufd] {
            let prefix = if qemu.name == "stock" {
                format!("oracle-{}", route.name())
            } else {
                format!("oracle-{}-{}", qemu.name, route.name())
            };
            if route == Route::Iommufd && !iommufd {
                for case in CASES.into_iter().filter(|c| wanted(c)) {
                    row(
                        &format!("{prefix}-{case}"),
                        "skip",
                        "this kernel has no iommufd and VFIO device cdev (LAB_IOMMUFD=0)",
                    );
                }
                continue;
            }
            let view = match library_view(route, group, &bdf) {
                Ok(v) => v,
                Err(e) => {
                    for case in CASES.into_iter().filter(|c| wanted(c)) {
                        row(
                            &format!("{prefix}-{case}"),
                            "fail",
                            &format!("the library: {e}"),
                        );
                    }
                    continue;
                }
            };
            oracle.cases(qemu, route, &view, &prefix);
        }
    }
    println!(
        "qemu_oracle: {} QEMU runs in {:.1} s",
        oracle.runs,
        started.elapsed().as_secs_f64()
    );
}

const CASES: [&str; 12] = [
    "resv",
    "usable",
    "hole-first",
    "hole-last",
    "aperture",
    "limit",
    "plan-start",
    "plan-memlock",
    "plan-mappings",
    "plan-hole",
    "plan-aperture",
    "plan-inspect",
];

/// Whether to run `case`: all of them, or those `LAB_ORACLE_CASES` names (space-separated;
/// `make demo` shows one).
fn wanted(case: &str) -> bool {
    match std::env::var("LAB_ORACLE_CASES") {
        Ok(only) if !only.trim().is_empty() => only.split_whitespace().any(|c| c == case),
        _ => true,
    }
}

/// Prints one row of the lab's protocol.
fn row(check: &str, status: &str, detail: &str) {
    let detail = detail.replace('\n', " ");
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "@@LAB {check} {status} {detail}");
    let _ = stdout.flush();
}

/// The QEMUs to run: `qemu.list` (lab/run writes the stock one) and every `qemu-*.list`.
fn qemu_list(dir: &Path) -> Result<Vec<Qemu>, String> {
    let mut files = vec![dir.join("qemu.list")];
    let mut more: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("qemu-") && n.ends_with(".list"))
        })
        .collect();
    more.sort();
    files.extend(more);
    let mut qemus = Vec::new();
    for f in files {
        let text = fs::read_to_string(&f).map_err(|e| {
            format!(
                "{}: {e} (lab/run writes it from lab/qemu10; run make lab)",
                f.display()
            )
        })?;
        for (n, line) in text.lines().enumerate() {
            let w: Vec<&str> = line.split_whitespace().collect();
            if w.is_empty() || w[0].starts_with('#') {
                continue;
            }
            let [name, bin, datadirs, moddir] = w[..] else {
                return Err(format!(
                    "{}:{}: expected NAME BIN DATADIRS MODDIR, got {line:?}",
                    f.display(),
                    n + 1
                ));
            };
            let stock_datadirs = || {
                qemus
                    .iter()
                    .find(|q: &&Qemu| q.name == "stock")
                    .map(|q| q.datadirs.clone())
            };
            qemus.push(Qemu {
                name: name.to_owned(),
                bin: PathBuf::from(bin),
                // "-": the stock QEMU's firmware (a QEMU built from source ships none).
                datadirs: if datadirs == "-" {
                    stock_datadirs().ok_or_else(|| {
                        format!(
                            "{}:{}: DATADIRS '-' needs the stock QEMU listed first",
                            f.display(),
                            n + 1
                        )
                    })?
                } else {
                    datadirs.split(':').map(PathBuf::from).collect()
                },
                moddir: (moddir != "-").then(|| PathBuf::from(moddir)),
            });
        }
    }
    if qemus.is_empty() {
        return Err("no QEMU listed in target/lab/qemu.list".to_owned());
    }
    Ok(qemus)
}

/// The library's view of the device's container (type1) or IOAS (iommufd), through its own
/// open path; everything is closed again before QEMU opens the device.
fn library_view(route: Route, group: u32, bdf: &PciAddress) -> Result<View, String> {
    let paths = HostPaths::default();
    match route {
        Route::Type1 => {
            let c = Container::open_targets(&[Target::Group(group)], &paths)
                .map_err(|e| e.to_string())?;
            let info = c.query().map_err(|e| e.to_string())?;
            let space = c
                .space(&paths)
                .map_err(|e| e.to_string())?
                .ok_or("the container reported no IOVA ranges")?;
            let backend = match c.backend() {
                vfio_iommu_info::facts::ContainerBackend::Vfio => Backend::Type1,
                vfio_iommu_info::facts::ContainerBackend::IommufdCompat { .. } => {
                    Backend::IommufdCompat
                }
            };
            Ok(View {
                space,
                backend,
                dma_avail: info.dma_avail.present().copied(),
            })
        }
        Route::Iommufd => {
            let (_device, report) = IommufdReport::open(bdf, &paths).map_err(|e| e.to_string())?;
            // Each hole's regions with the group that lists them, as a VMM holding the
            // IOAS fd and knowing its device's group would ask (and clients/qemu does).
            let space = report
                .space()
                .with_groups(&paths.sysfs, &[group])
                .map_err(|e| e.to_string())?;
            Ok(View {
                space,
                backend: Backend::Iommufd,
                dma_avail: None,
            })
        }
    }
}

/// What a case is meant to show, checked beside the agreement: a case whose QEMU did
/// something else did not test what it says.
enum Intent {
    /// QEMU starts.
    Start,
    /// QEMU's mapping at this IOVA fails with this errno.
    Refuse(u64, i32),
}

impl Oracle {
    fn cases(&mut self, qemu: &Qemu, route: Route, view: &View, prefix: &str) {
        // QEMU's own maps and unmaps: its low RAM and BIOS, then at reset the low RAM again,
        // split by what overlays it.
        let base = self.run(qemu, route, &format!("{prefix}-base"), &[], false);
        if !base.started {
            let detail = format!(
                "QEMU with no pc-dimm did not start ({}): {}",
                base.status,
                base.errors.join(" | ")
            );
            for case in CASES.into_iter().filter(|c| wanted(c)) {
                row(&format!("{prefix}-{case}"), "fail", &detail);
            }
            return;
        }
        let own_peak = peak(&base.ops);
        if wanted("resv") {
            self.resv(qemu, route, view, prefix);
        }
        if wanted("usable") {
            self.usable(qemu, route, view, prefix, own_peak);
        }
        self.holes(qemu, route, view, prefix);
        if wanted("aperture") {
            self.aperture(qemu, route, view, prefix);
        }
        if wanted("limit") {
            self.limit(qemu, route, view, prefix, own_peak);
        }
        // The guest plans (issue 23), on stock QEMU: the patched one maps the same.
        if qemu.name == "stock" {
            self.plan_cases(qemu, route, view, prefix);
        } else {
            for case in CASES
                .into_iter()
                .filter(|c| c.starts_with("plan-") && wanted(c))
            {
                row(
                    &format!("{prefix}-{case}"),
                    "skip",
                    "the guest plans run on stock QEMU (the patched one maps the same)",
                );
            }
        }
    }

    /// resv: the reserved regions QEMU derives for a virtio-iommu.
    fn resv(&mut self, qemu: &Qemu, route: Route, view: &View, prefix: &str) {
        let space = &view.space;
        // resv: what QEMU tells a virtio-iommu.
        let resv = self.run(qemu, route, &format!("{prefix}-resv"), &[], true);
        // On compat QEMU reads the ranges before it opens the device (see `case`): those of
        // an IOAS without a domain, with nothing reserved. The library's answer for the
        // container once a device is open is in the row too.
        let compat = view.backend == Backend::IommufdCompat;
        let want = if compat {
            compat_before_device().reserved()
        } else {
            space.reserved()
        };
        let same = resv.started && resv.resv == want;
        let after = if compat {
            format!(
                " (QEMU 10 reads the compat container's IOVA ranges before it opens the device, when its IOAS has no domain; with the device open the library reports reserved {}, which a guest behind this virtio-iommu is not told: QEMU's error, not the kernel's)",
                ranges(&space.reserved())
            )
        } else {
            String::new()
        };
        row(
            &format!("{prefix}-resv"),
            status(same),
            &format!(
                "qemu: {}; library: reserved {}; {}{after}",
                if resv.started {
                    format!("host-resv-regions {}", ranges(&resv.resv))
                } else {
                    format!(
                        "did not start ({}): {}",
                        resv.status,
                        resv.errors.join(" | ")
                    )
                },
                ranges(&want),
                verdict(same)
            ),
        );
    }

    /// usable: RAM at both edges of every usable range above 4 GiB.
    fn usable(&mut self, qemu: &Qemu, route: Route, view: &View, prefix: &str, own_peak: usize) {
        let space = &view.space;
        // usable: RAM at both edges of every usable range above 4 GiB, as many as the
        // mapping budget leaves beside QEMU's own.
        let mut edges: Vec<u64> = Vec::new();
        for r in space.ranges() {
            let Some(lo) = r
                .start
                .max(DEVICE_MEMORY_BASE)
                .checked_next_multiple_of(MIB2)
            else {
                continue;
            };
            let end = r.end.min(TOP - 1);
            if lo > end || end - lo + 1 < MIB2 {
                continue;
            }
            let hi = (end + 1 - MIB2) / MIB2 * MIB2;
            edges.push(lo);
            if hi != lo {
                edges.push(hi);
            }
        }
        let room = budget(view)
            .map_or(MAX_DIMMS, |a| (a as usize).saturating_sub(own_peak))
            .min(MAX_DIMMS);
        let note = if edges.len() > room {
            format!(
                "{} usable edges, {room} of them (the mapping budget): ",
                edges.len()
            )
        } else {
            String::new()
        };
        edges.truncate(room);
        self.case_row(
            qemu,
            route,
            view,
            &format!("{prefix}-usable"),
            &edges,
            Intent::Start,
            &note,
        );
    }

    /// hole-first, hole-last: RAM over the first hole above 4 GiB.
    fn holes(&mut self, qemu: &Qemu, route: Route, view: &View, prefix: &str) {
        let space = &view.space;
        // hole-first, hole-last: the first hole QEMU can put RAM in.
        let hole =
            space.holes().iter().map(|h| h.range).find(|h| {
                h.start >= DEVICE_MEMORY_BASE && h.end < TOP && h.end - h.start + 1 >= MIB2
            });
        match hole {
            Some(h) => {
                let first = h.start / MIB2 * MIB2;
                let last = (h.end + 1 - MIB2) / MIB2 * MIB2;
                for (case, at) in [("hole-first", first), ("hole-last", last)] {
                    if !wanted(case) {
                        continue;
                    }
                    let intent = Intent::Refuse(at, libc::EINVAL);
                    self.case_row(
                        qemu,
                        route,
                        view,
                        &format!("{prefix}-{case}"),
                        &[at],
                        intent,
                        "",
                    );
                }
            }
            None => {
                let holes: Vec<IovaRange> = space.holes().iter().map(|h| h.range).collect();
                let why = format!(
                    "no hole between 4 GiB and 2^50, where this q35 puts hotpluggable RAM (holes: {})",
                    ranges(&holes)
                );
                for case in ["hole-first", "hole-last"] {
                    if wanted(case) {
                        row(&format!("{prefix}-{case}"), "skip", &why);
                    }
                }
            }
        }
    }

    /// aperture: RAM just past the aperture.
    fn aperture(&mut self, qemu: &Qemu, route: Route, view: &View, prefix: &str) {
        let space = &view.space;
        let aperture = space
            .aperture()
            .expect("a space with ranges has an aperture");
        // aperture: RAM just past its end.
        match aperture.end.checked_add(1).filter(|&a| (DEVICE_MEMORY_BASE..TOP).contains(&a)) {
            Some(past) => {
                let intent = Intent::Refuse(past, libc::EINVAL);
                self.case_row(qemu, route, view, &format!("{prefix}-aperture"), &[past], intent, "");
            }
            None => row(
                &format!("{prefix}-aperture"),
                "skip",
                &format!("the aperture {aperture} ends where this q35 cannot put RAM past it (below 4 GiB or above 2^50)"),
            ),
        }
    }

    /// limit: type1's mapping budget.
    fn limit(&mut self, qemu: &Qemu, route: Route, view: &View, prefix: &str, own_peak: usize) {
        // limit: with the budget's last mapping QEMU starts, with one more it fails.
        let check = format!("{prefix}-limit");
        match budget(view) {
            Some(avail) if (avail as usize) < own_peak + MAX_DIMMS => {
                let fit = (avail as usize).saturating_sub(own_peak);
                let addrs: Vec<u64> = (0..=fit as u64).map(|i| DEVICE_MEMORY_BASE + i * MIB2).collect();
                let (a, fits) = self.case(qemu, route, view, &format!("{check}-fit"), &addrs[..fit], Intent::Start);
                let (b, over) = self.case(qemu, route, view, &check, &addrs, Intent::Refuse(0, libc::ENOSPC));
                row(
                    &check,
                    status(a && b),
                    &format!(
                        "DMA_AVAIL {avail}, QEMU's own mappings {own_peak} at most. {fit} pc-dimms: {fits}. {}: {over}",
                        fit + 1
                    ),
                );
            }
            Some(avail) => row(
                &check,
                "skip",
                &format!("DMA_AVAIL {avail}: more mappings than {MAX_DIMMS} pc-dimms make (linux-6.12-intel-aw48-dma-limit sets dma_entry_limit=7)"),
            ),
            None => row(
                &check,
                "skip",
                &format!("{}: no mapping budget (DMA_AVAIL) to exhaust", view.backend.name()),
            ),
        }
    }

    /// One case: QEMU with pc-dimms at `addrs`, and the library's prediction for the maps and
    /// unmaps QEMU made. Returns whether they agree (and QEMU did what the case intends),
    /// and the row's detail.
    fn case(
        &mut self,
        qemu: &Qemu,
        route: Route,
        view: &View,
        name: &str,
        addrs: &[u64],
        intent: Intent,
    ) -> (bool, String) {
        let run = self.run(qemu, route, name, addrs, false);
        // On iommufd's compat container QEMU's legacy path maps before it opens the device,
        // into an IOAS without the device's domain; the device's reserved regions and
        // aperture are enforced when it opens.
        let compat = view.backend == Backend::IommufdCompat;
        let before = if compat {
            compat_before_device()
        } else {
            view.space.clone()
        };
        let predicted = predict_dma(&before, view.backend, view.dma_avail, &run.ops);
        let attach = match (&predicted, compat) {
            (Prediction::AllMapped, true) => {
                predict_attach(&view.space, view.backend, &live_after(&run.ops))
            }
            _ => None,
        };
        let (said, mut agree) = judge(&run, &predicted, attach.as_ref());
        // A QEMU built with clients/qemu links the library: a map it fails for the span's
        // sake carries the library's own explanation, word for word.
        let mut words = String::new();
        if qemu.name != "stock" {
            if let Prediction::Refused(Refused {
                mapping,
                why: MapRefusal::Span(_),
                ..
            }) = &predicted
            {
                let text = view
                    .space
                    .explain(mapping.iova, mapping.len)
                    .map(|r| r.to_string())
                    .unwrap_or_default();
                let said_it = !text.is_empty() && run.errors.iter().any(|l| l.contains(&text));
                agree &= said_it;
                words = if said_it {
                    format!("; its error carries the library's explanation: \"{text}\"")
                } else {
                    format!("; its error lacks the library's explanation \"{text}\"")
                };
            }
        }
        let library = match (&predicted, &attach) {
            (Prediction::AllMapped, Some(r)) => format!(
                "maps all {} into the compat IOAS before the device opens, then refuses the device's open with {}: [{:#x}, +{:#x}] is mapped {}",
                maps(&run.ops),
                r.errno.name(),
                r.mapping.iova,
                r.mapping.len,
                r.why
            ),
            (Prediction::AllMapped, None) => format!("maps all {}", maps(&run.ops)),
            (Prediction::Refused(r), _) => format!(
                "after {}, refuses [{:#x}, +{:#x}] with {} ({})",
                maps(&run.ops[..r.index]),
                r.mapping.iova,
                r.mapping.len,
                r.errno.name(),
                r.why
            ),
            (Prediction::Unknown(why), _) => format!("cannot tell: {why}"),
        };
        let meant = match intent {
            Intent::Start => run.started,
            // The limit case fails wherever the budget runs out (address 0: any).
            Intent::Refuse(at, errno) if !compat => run
                .failed
                .is_some_and(|(m, e)| (at == 0 || m.iova == at) && e == -errno),
            // On compat the pc-dimm's mapping is refused at the device's open.
            Intent::Refuse(at, _) => {
                run.attach_failed == Some(-libc::EADDRINUSE)
                    && attach.as_ref().is_some_and(|r| r.mapping.iova == at)
            }
        };
        let missed = if meant {
            ""
        } else {
            " (not what the case is for: QEMU was meant to "
        };
        let intent_text = match intent {
            Intent::Start => "start)".to_owned(),
            Intent::Refuse(0, e) => format!("fail with {})", Errno(e).name()),
            Intent::Refuse(at, e) => format!("fail at {at:#x} with {})", Errno(e).name()),
        };
        (
            agree && meant,
            format!(
                "pc-dimms {}; qemu: {said}; library: {library}{words}; {}{missed}{}",
                list(addrs),
                verdict(agree),
                if meant { "" } else { &intent_text }
            ),
        )
    }

    /// [`Oracle::case`], printed as its row (with `note` before the detail).
    #[allow(clippy::too_many_arguments)]
    fn case_row(
        &mut self,
        qemu: &Qemu,
        route: Route,
        view: &View,
        check: &str,
        addrs: &[u64],
        intent: Intent,
        note: &str,
    ) {
        let (ok, detail) = self.case(qemu, route, view, check, addrs, intent);
        row(check, status(ok), &format!("{note}{detail}"));
    }

    /// Runs QEMU with the device on `route`, pc-dimms at `addrs` (2 MiB each) placed before
    /// the device on the command line (so a failed mapping fails the device's realize, as
    /// at boot, rather than a running machine), optionally behind a virtio-iommu.
    fn run(&mut self, qemu: &Qemu, route: Route, name: &str, addrs: &[u64], viommu: bool) -> Run {
        let ram_mib = 64u64;
        let max_addr = addrs
            .iter()
            .map(|a| a.saturating_add(MIB2))
            .max()
            .unwrap_or(DEVICE_MEMORY_BASE);
        // Hotpluggable memory spans [4 GiB, 4 GiB + maxmem - ram) (plus slack per slot).
        let maxmem = (ram_mib << 20)
            + max_addr
                .saturating_sub(DEVICE_MEMORY_BASE)
                .next_multiple_of(GIB)
            + GIB;
        let mut args = harness_args(qemu);
        args.extend(["-machine", "q35", "-accel", "tcg"].map(String::from));
        args.extend([
            "-cpu".into(),
            format!("qemu64,vendor=GenuineIntel,phys-bits={PHYS_BITS}"),
        ]);
        args.extend([
            "-m".into(),
            format!(
                "{ram_mib}M,slots={},maxmem={}M",
                addrs.len().max(1),
                maxmem >> 20
            ),
        ]);
        for (i, a) in addrs.iter().enumerate() {
            args.extend([
                "-object".into(),
                format!("memory-backend-ram,id=m{i},size={MIB2}"),
            ]);
            args.extend([
                "-device".into(),
                format!("pc-dimm,id=d{i},memdev=m{i},addr={a:#x}"),
            ]);
        }
        if viommu {
            args.extend(["-device".into(), "virtio-iommu-pci".into()]);
            args.extend(["-trace".into(), "virtio_iommu_host_resv_regions".into()]);
        }
        let dev = format!("vfio-pci,host={}", self.bdf);
        match route {
            Route::Type1 => args.extend(["-device".into(), dev]),
            Route::Iommufd => {
                args.extend(["-object".into(), "iommufd,id=ifd0".into()]);
                args.extend(["-device".into(), format!("{dev},iommufd=ifd0")]);
            }
        }
        self.spawn(qemu, name, &args, None)
    }

    /// Runs QEMU with `args` (and, with `memlock`, without CAP_IPC_LOCK and with that
    /// RLIMIT_MEMLOCK), its monitor asked `info status` then `quit`; reads what it did.
    fn spawn(&mut self, qemu: &Qemu, name: &str, args: &[String], memlock: Option<u64>) -> Run {
        self.spawn_paused(qemu, name, args, memlock, None)
    }

    /// [`Oracle::spawn`], and with `paused`, calls it with QEMU's PID once the monitor has
    /// answered `info status` (QEMU is up, paused before launch, its maps made) and
    /// before `quit`; not when QEMU ends first.
    fn spawn_paused(
        &mut self,
        qemu: &Qemu,
        name: &str,
        args: &[String],
        memlock: Option<u64>,
        mut paused: Option<&mut dyn FnMut(u32)>,
    ) -> Run {
        self.runs += 1;
        let stdout_path = self.out.join(format!("{name}.out"));
        let stderr_path = self.out.join(format!("{name}.err"));
        let _ = fs::write(
            self.out.join(format!("{name}.cmd")),
            format!("{} {}\n", qemu.bin.display(), args.join(" ")),
        );
        let mut cmd = Command::new(&qemu.bin);
        if let Some(limit) = memlock {
            plan_cases::limit_memlock(&mut cmd, limit);
        }
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(File::create(&stdout_path).expect("oracle stdout file"))
            .stderr(File::create(&stderr_path).expect("oracle stderr file"));
        if let Some(m) = &qemu.moddir {
            cmd.env("QEMU_MODULE_DIR", m);
        }
        let status = match cmd.spawn() {
            Err(e) => format!("could not start {}: {e}", qemu.bin.display()),
            Ok(mut child) => {
                let deadline = Instant::now() + QEMU_TIMEOUT;
                if let Some(mut stdin) = child.stdin.take() {
                    // It may have exited already (a failed realize): EPIPE is its answer.
                    let _ = stdin.write_all(b"info status\n");
                    if let Some(f) = paused.as_mut() {
                        let up = || {
                            fs::read_to_string(&stdout_path).is_ok_and(|o| o.contains("VM status"))
                        };
                        while !up()
                            && Instant::now() < deadline
                            && child.try_wait().is_ok_and(|s| s.is_none())
                        {
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        if up() {
                            f(child.id());
                        }
                    }
                    let _ = stdin.write_all(b"quit\n");
                }
                loop {
                    match child.try_wait() {
                        Ok(Some(s)) => break s.to_string(),
                        Ok(None) if Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(50))
                        }
                        Ok(None) => {
                            let _ = child.kill();
                            let _ = child.wait();
                            break format!("killed after {} s", QEMU_TIMEOUT.as_secs());
                        }
                        Err(e) => break format!("wait failed: {e}"),
                    }
                }
            }
        };
        let stdout = fs::read_to_string(&stdout_path).unwrap_or_default();
        let stderr = fs::read_to_string(&stderr_path).unwrap_or_default();
        parse_run(&stdout, &stderr, status)
    }
}

/// The arguments every run starts with: `qemu`'s firmware directories, no defaults and no
/// display, paused with the monitor on stdio, and the VFIO listener's traces.
fn harness_args(qemu: &Qemu) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    for d in &qemu.datadirs {
        args.extend(["-L".into(), d.display().to_string()]);
    }
    args.extend(
        [
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-S",
            "-monitor",
            "stdio",
            "-trace",
            "vfio_listener_region_add_ram",
            "-trace",
            "vfio_listener_region_del",
        ]
        .map(String::from),
    );
    args
}

/// What QEMU did, in a few words: started, the map it failed with its errno, the device's
/// open it failed, or why it did not start.
fn said(run: &Run) -> String {
    match (&run.failed, run.attach_failed) {
        _ if run.started => "started".to_owned(),
        (Some((m, e)), _) => format!(
            "map [{:#x}, +{:#x}] = {e} ({})",
            m.iova,
            m.len,
            Errno(-e).name()
        ),
        (None, Some(e)) => format!("the device's open = {e} ({})", Errno(-e).name()),
        (None, None) => format!("did not start ({}): {}", run.status, run.errors.join(" | ")),
    }
}

/// Reads a run's monitor output and stderr.
fn parse_run(stdout: &str, stderr: &str, status: String) -> Run {
    let mut ops = Vec::new();
    let mut resv = Vec::new();
    let mut failed = None;
    let mut attach_failed = None;
    let mut errors = Vec::new();
    for line in stderr.lines() {
        if let Some(rest) = after(line, "vfio_listener_region_add_ram ") {
            // region_add [ram] 0xSTART - 0xEND [0xHOST]
            ops.extend(trace_span(rest, 2).map(DmaOp::Map));
        } else if let Some(rest) = after(line, "vfio_listener_region_del ") {
            // region_del 0xSTART - 0xEND
            ops.extend(trace_span(rest, 1).map(DmaOp::Unmap));
        } else if let Some(rest) = after(line, "virtio_iommu_host_resv_regions ") {
            // mr=NAME host-resv-reg[I] = [0xLOB,0xUPB]
            if let Some(body) = rest.rsplit_once('[').and_then(|(_, b)| b.strip_suffix(']')) {
                if let Some((lo, hi)) = body.split_once(',') {
                    if let (Some(start), Some(end)) = (hex(lo), hex(hi)) {
                        resv.push(IovaRange { start, end });
                    }
                }
            }
        } else if line.starts_with("qemu-system-x86_64:") || line.contains("qemu-system-x86_64: ") {
            errors.push(line.to_owned());
            if let Some(rest) = after(line, "error getting device from group ") {
                let text = rest.split_once(": ").map_or("", |(_, t)| t.trim());
                attach_failed = [
                    libc::EADDRINUSE,
                    libc::EINVAL,
                    libc::EBUSY,
                    libc::EPERM,
                    libc::ENOMEM,
                ]
                .into_iter()
                .find(|&e| {
                    !text.is_empty()
                        && std::io::Error::from_raw_os_error(e)
                            .to_string()
                            .starts_with(text)
                })
                .map(|e| -e);
            }
            if let Some(rest) = after(line, "vfio_container_dma_map(") {
                // PTR, 0xIOVA, 0xSIZE, PTR) = -ERRNO (TEXT)
                let args: Vec<&str> = rest.split(", ").collect();
                let errno = rest
                    .split(") = ")
                    .nth(1)
                    .and_then(|t| t.split_whitespace().next())
                    .and_then(|n| n.parse::<i32>().ok());
                if let (Some(iova), Some(len), Some(errno)) = (
                    args.get(1).and_then(|s| hex(s)),
                    args.get(2).and_then(|s| hex(s)),
                    errno,
                ) {
                    failed = Some((Mapping { iova, len }, errno));
                }
            }
        }
    }
    resv.sort_unstable();
    // A device whose realize failed unmaps what it mapped: the steps judged end at the
    // failed map.
    if let Some((m, _)) = failed {
        if let Some(i) = ops.iter().rposition(|o| *o == DmaOp::Map(m)) {
            ops.truncate(i + 1);
        }
    } else if attach_failed.is_some() {
        // Likewise a device that failed to open after the maps: it unmaps them all.
        while matches!(ops.last(), Some(DmaOp::Unmap(_))) {
            ops.pop();
        }
    }
    Run {
        started: stdout.contains("VM status: paused (prelaunch)") && status == "exit status: 0",
        status,
        ops,
        failed,
        attach_failed,
        resv,
        errors,
    }
}

/// The span `0xSTART - 0xEND` (inclusive) that starts at word `first` of a trace line.
fn trace_span(rest: &str, first: usize) -> Option<Mapping> {
    let w: Vec<&str> = rest.split_whitespace().collect();
    let start = hex(w.get(first)?)?;
    let end = hex(w.get(first + 2)?)?;
    let len = end.checked_sub(start)?.checked_add(1)?;
    Some(Mapping { iova: start, len })
}

fn after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.find(key).map(|i| &line[i + key.len()..])
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim().strip_prefix("0x")?, 16).ok()
}

/// What QEMU said, and whether the library predicted it: QEMU started and every step
/// succeeds; or QEMU's last step is the map it reports failing, and that is the step the
/// library refuses, with QEMU's errno.
fn judge(run: &Run, predicted: &Prediction, attach: Option<&Refused>) -> (String, bool) {
    let said = match (&run.failed, run.attach_failed, run.started) {
        (_, _, true) => format!("started after {}", maps(&run.ops)),
        (Some((m, e)), _, false) => format!(
            "after {}, map [{:#x}, +{:#x}] = {e} ({}), {}",
            maps(&run.ops[..run.ops.len().saturating_sub(1)]),
            m.iova,
            m.len,
            Errno(-e).name(),
            run.status
        ),
        (None, Some(e), false) => format!(
            "after {}, the device's open = {e} ({}), {}",
            maps(&run.ops),
            Errno(-e).name(),
            run.status
        ),
        (None, None, false) => {
            format!("did not start ({}): {}", run.status, run.errors.join(" | "))
        }
    };
    let agree = match (predicted, attach) {
        (Prediction::AllMapped, None) => run.started,
        (Prediction::AllMapped, Some(r)) => {
            !run.started && run.failed.is_none() && run.attach_failed == Some(-r.errno.0)
        }
        (Prediction::Refused(r), _) => {
            !run.started
                && r.index + 1 == run.ops.len()
                && run.failed == Some((r.mapping, -r.errno.0))
                && run.ops.last() == Some(&DmaOp::Map(r.mapping))
        }
        (Prediction::Unknown(_), _) => false,
    };
    (said, agree)
}

/// The space QEMU's legacy container meets on iommufd's compat container before it opens
/// the device: an IOAS without the device's domain takes any IOVA (lab/README.md, "Linux
/// 7.3": GET_INFO then answers all 64 bits, page sizes 0xfffffffffffff000, no hole).
fn compat_before_device() -> IovaSpace {
    IovaSpace::new(&[IovaRange::FULL], Some(PageSizes(0xffff_ffff_ffff_f000)))
}

/// "N maps (M unmaps)": the count of the steps.
fn maps(ops: &[DmaOp]) -> String {
    let m = ops.iter().filter(|o| matches!(o, DmaOp::Map(_))).count();
    match ops.len() - m {
        0 => format!("{m} maps"),
        u => format!("{m} maps ({u} unmaps)"),
    }
}

/// The most mappings live at once in a sequence (each unmap ends what it covers).
fn peak(ops: &[DmaOp]) -> usize {
    (0..=ops.len())
        .map(|i| live_after(&ops[..i]).len())
        .max()
        .unwrap_or(0)
}

/// type1's mapping budget; iommufd has none.
fn budget(view: &View) -> Option<u32> {
    view.dma_avail.filter(|_| view.backend == Backend::Type1)
}

fn status(matched: bool) -> &'static str {
    if matched {
        "pass"
    } else {
        "fail"
    }
}

fn verdict(matched: bool) -> &'static str {
    if matched {
        "MATCH"
    } else {
        "DIFF"
    }
}

fn ranges(r: &[IovaRange]) -> String {
    let mut s = String::new();
    for (i, x) in r.iter().enumerate() {
        let _ = write!(s, "{}{x}", if i > 0 { " " } else { "" });
    }
    if s.is_empty() {
        s.push_str("none");
    }
    s
}

fn list(addrs: &[u64]) -> String {
    if addrs.is_empty() {
        return "none".to_owned();
    }
    addrs
        .iter()
        .map(|a| format!("{a:#x}"))
        .collect::<Vec<_>>()
        .join(",")
}
