//! Properties of the guest plan (issue 23): a plan the host meets puts no RAM and no part
//! of the 64-bit PCI window in a hole or beyond the aperture, and leaves the guest no
//! address there to use; every piece of RAM the space refuses is a refusal; the QEMU and
//! cloud-hypervisor settings it writes parse back to the plan; no request panics.

use proptest::prelude::*;
use vfio_iommu_info::facts::Backend;
use vfio_iommu_info::plan::guest::{FixedRam, GuestPlan, GuestRequest, HostFacts, RamKind, Viommu};
use vfio_iommu_info::plan::settings::{cloud_hypervisor_args, qemu_args, Accel, QemuTarget};
use vfio_iommu_info::{plan_guest, IovaRange, IovaSpace, PageSizes, PciAddress};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// An x86-like space: an aperture ending at 2^39, 2^48, 2^64 or elsewhere, minus up to
/// four holes (the MSI window among them, often).
fn space() -> impl Strategy<Value = IovaSpace> {
    (
        prop_oneof![
            Just((1u64 << 39) - 1),
            Just((1u64 << 48) - 1),
            Just(u64::MAX),
            (33u64..64).prop_map(|b| (1u64 << b) - 1),
        ],
        prop::collection::vec((0u64..1 << 42, 1u64..1 << 30), 0..3),
        any::<bool>(),
    )
        .prop_map(|(end, holes, msi)| {
            let mut cut: Vec<IovaRange> = holes
                .into_iter()
                .map(|(s, len)| {
                    let s = s & !0xfff;
                    IovaRange {
                        start: s,
                        end: s.saturating_add(len | 0xfff),
                    }
                })
                .collect();
            if msi {
                cut.push(IovaRange {
                    start: 0xfee0_0000,
                    end: 0xfeef_ffff,
                });
            }
            let ranges = vfio_iommu_info::iova::subtract(IovaRange { start: 0, end }, &cut);
            IovaSpace::new(&ranges, Some(PageSizes(0x4020_1000)))
        })
}

fn request() -> impl Strategy<Value = GuestRequest> {
    (
        1u64..1 << 14,
        prop::collection::vec(0u64..256, 0..3),
        prop::collection::vec(0u32..30, 0..3),
        prop::sample::select(vec![
            Viommu::None,
            Viommu::None,
            Viommu::Intel,
            Viommu::Virtio,
            Viommu::Virtio,
            Viommu::Amd,
        ]),
        prop::option::weighted(0.2, 32u8..53),
        prop::sample::select(vec![4096u64, 2 * MIB]),
        any::<bool>(),
    )
        .prop_map(|(ram_2m, dimms, bars, viommu, phys_bits, page, numa)| {
            let mut r = GuestRequest::new(ram_2m * 2 * MIB);
            if numa && ram_2m > 1 {
                let first = ram_2m / 2 * 2 * MIB;
                r.nodes = vec![first, r.ram - first];
            }
            r.fixed = dimms
                .into_iter()
                .map(|d| FixedRam {
                    at: (4 << 30) + d * 2 * MIB * 256,
                    size: 2 * MIB,
                })
                .collect();
            r.fixed.sort_by_key(|f| f.at);
            r.fixed.dedup_by_key(|f| f.at);
            r.bars = bars.into_iter().map(|b| 1u64 << (b + 12)).collect();
            r.viommu = viommu;
            r.phys_bits = phys_bits;
            r.backing_page = page;
            r
        })
}

fn host() -> impl Strategy<Value = HostFacts> {
    (
        prop::sample::select(vec![
            Backend::Type1,
            Backend::Iommufd,
            Backend::IommufdCompat,
        ]),
        prop::option::of(any::<u32>()),
        prop::option::of(36u8..53),
    )
        .prop_map(|(backend, dma_avail, cpu_phys_bits)| HostFacts {
            backend,
            dma_avail,
            cpu_phys_bits,
            memlock: None,
        })
}

/// A QEMU size (`64M`, `4096B`, `1033280M`) in bytes.
fn qemu_size(s: &str) -> u64 {
    let (n, unit) = s.split_at(s.len() - 1);
    let shift = match unit {
        "B" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        "P" => 50,
        "E" => 60,
        _ => panic!("no unit in {s:?}"),
    };
    n.parse::<u64>().unwrap() << shift
}

/// `key=value` of a comma-separated option list.
fn opt<'a>(list: &'a str, key: &str) -> Option<&'a str> {
    list.split(',')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

/// What QEMU's arguments say, read back.
#[derive(Debug, PartialEq, Eq)]
struct Parsed {
    ram: u64,
    phys_bits: u8,
    max_ram_below_4g: Option<u64>,
    hole64: u64,
    dimms: Vec<(u64, u64)>,
    slots_maxmem: Option<(u32, u64)>,
    nodes: Vec<u64>,
    aw_bits: Option<u8>,
    hugetlbsize: Option<u64>,
}

fn parse_qemu(args: &[String]) -> Parsed {
    let mut p = Parsed {
        ram: 0,
        phys_bits: 0,
        max_ram_below_4g: None,
        hole64: 0,
        dimms: Vec::new(),
        slots_maxmem: None,
        nodes: Vec::new(),
        aw_bits: None,
        hugetlbsize: None,
    };
    let mut objects: Vec<(String, u64)> = Vec::new();
    for pair in args.chunks(2) {
        let (flag, v) = (pair[0].as_str(), pair[1].as_str());
        match flag {
            "-machine" => p.max_ram_below_4g = opt(v, "max-ram-below-4g").map(qemu_size),
            "-cpu" => {
                p.phys_bits = opt(v, "phys-bits")
                    .or_else(|| opt(v, "host-phys-bits-limit"))
                    .unwrap()
                    .parse()
                    .unwrap()
            }
            "-m" => {
                p.ram = qemu_size(v.split(',').next().unwrap());
                if let (Some(s), Some(m)) = (opt(v, "slots"), opt(v, "maxmem")) {
                    p.slots_maxmem = Some((s.parse().unwrap(), qemu_size(m)));
                }
            }
            "-object" if v.starts_with("memory-backend") => {
                objects.push((
                    opt(v, "id").unwrap().to_owned(),
                    qemu_size(opt(v, "size").unwrap()),
                ));
                if let Some(h) = opt(v, "hugetlbsize") {
                    p.hugetlbsize = Some(qemu_size(h));
                }
            }
            "-numa" => {
                let id = opt(v, "memdev").unwrap();
                p.nodes.push(objects.iter().find(|o| o.0 == id).unwrap().1);
            }
            "-device" if v.starts_with("pc-dimm") => {
                let id = opt(v, "memdev").unwrap();
                let size = objects.iter().find(|o| o.0 == id).unwrap().1;
                let addr =
                    u64::from_str_radix(opt(v, "addr").unwrap().trim_start_matches("0x"), 16)
                        .unwrap();
                p.dimms.push((addr, size));
            }
            "-device" if v.starts_with("intel-iommu") || v.starts_with("virtio-iommu") => {
                p.aw_bits = opt(v, "aw-bits").map(|b| b.parse().unwrap())
            }
            "-global" => p.hole64 = qemu_size(opt(v, "q35-pcihost.pci-hole64-size").unwrap()),
            _ => {}
        }
    }
    p
}

fn expected(plan: &GuestPlan) -> Parsed {
    let req = &plan.request;
    Parsed {
        ram: req.ram,
        phys_bits: plan.phys_bits,
        max_ram_below_4g: plan.max_ram_below_4g,
        hole64: plan.hole64_size(),
        dimms: plan
            .ram
            .iter()
            .filter(|p| matches!(p.kind, RamKind::Fixed(_)))
            .map(|p| (p.range.start, p.range.end - p.range.start + 1))
            .collect(),
        slots_maxmem: plan.dimms.map(|d| (d.slots, d.maxmem)),
        nodes: req.nodes.clone(),
        aw_bits: plan.viommu.as_ref().and_then(|v| match v.kind {
            Viommu::Intel | Viommu::Virtio => v.aw_bits,
            _ => None,
        }),
        hugetlbsize: (req.backing_page > 4096).then_some(req.backing_page),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn a_fitting_plan_leaves_the_guest_nothing_unmappable(space in space(), host in host(), req in request()) {
        let Ok(plan) = plan_guest(&space, host, &req) else { return Ok(()) };
        // Every piece of RAM the kernel would refuse is a refusal.
        for piece in &plan.ram {
            let len = piece.range.end - piece.range.start + 1;
            if space.check(piece.range.start, len).is_err() {
                let item = match piece.kind {
                    RamKind::Fixed(i) => format!("fixed[{i}]"),
                    _ => "ram".to_owned(),
                };
                prop_assert!(plan.refusals.iter().any(|r| r.item == item), "{piece:?} unrefused: {:?}", plan.refusals);
            }
        }
        if plan.fits() {
            let top = 1u128 << plan.phys_bits;
            for piece in &plan.ram {
                prop_assert!(space.check(piece.range.start, piece.range.end - piece.range.start + 1).is_ok());
                prop_assert!(u128::from(piece.range.end) < top);
            }
            prop_assert!(u128::from(plan.mmio64.end) < top);
            prop_assert!(space.check(plan.mmio64.start, plan.hole64_size()).is_ok(), "window {} in {:?}", plan.mmio64, space.ranges());
            // Everything the guest can address above 4 GiB is usable: the firmware may put
            // BARs anywhere there.
            if top > 1 << 32 {
                let len = u64::try_from(top - (1 << 32)).unwrap_or(u64::MAX);
                prop_assert!(space.check(4 * GIB, len).is_ok(), "[4G, 2^{}) in {:?}", plan.phys_bits, space.ranges());
            }
            let bars: u128 = plan.request.bars.iter().map(|&b| u128::from(b)).sum();
            prop_assert!(u128::from(plan.hole64_size()) >= bars);
        }
    }

    #[test]
    fn qemu_settings_parse_back_to_the_plan(space in space(), host in host(), req in request(), kvm in any::<bool>()) {
        let Ok(plan) = plan_guest(&space, host, &req) else { return Ok(()) };
        let target = QemuTarget {
            accel: if kvm { Accel::Kvm } else { Accel::Tcg },
            cpu: if kvm { "host".into() } else { "qemu64".into() },
            devices: vec![PciAddress { domain: 0, bus: 3, device: 0, function: 0 }],
        };
        let args = qemu_args(&plan, &target);
        prop_assert_eq!(parse_qemu(&args), expected(&plan));
    }

    #[test]
    fn cloud_hypervisor_settings_parse_back(space in space(), host in host(), req in request()) {
        let Ok(plan) = plan_guest(&space, host, &req) else { return Ok(()) };
        let Ok(args) = cloud_hypervisor_args(&plan, &[]) else { return Ok(()) };
        let get = |flag: &str| args.chunks(2).filter(|p| p[0] == flag).map(|p| p[1].clone()).collect::<Vec<_>>();
        let cpus = get("--cpus");
        prop_assert_eq!(opt(&cpus[0], "max_phys_bits").unwrap().parse::<u8>().unwrap(), plan.phys_bits);
        let size = |s: &str| qemu_size(s);
        let memory: u64 = if plan.request.nodes.is_empty() {
            size(opt(&get("--memory")[0], "size").unwrap())
        } else {
            get("--memory-zone").iter().map(|z| size(opt(z, "size").unwrap())).sum()
        };
        prop_assert_eq!(memory, plan.request.ram);
    }

    #[test]
    fn any_request_is_planned_or_refused_without_panic(
        space in space(),
        host in host(),
        ram in any::<u64>(),
        at in any::<u64>(),
        size in any::<u64>(),
        bar in any::<u64>(),
        page in any::<u64>(),
        pb in any::<u8>(),
    ) {
        let mut req = GuestRequest::new(ram);
        req.fixed.push(FixedRam { at, size });
        req.bars.push(bar);
        req.backing_page = page;
        req.phys_bits = Some(pb);
        let _ = plan_guest(&space, host, &req);
    }
}
