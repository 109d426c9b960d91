//! A whole guest's plan through the C ABI (0.7): the summary and the texts are the core's
//! `plan_guest` and `plan::settings` for the same request, and bad requests are refused
//! with `*out` untouched.

mod common;

use std::ffi::{c_char, CStr};
use std::ptr;

use ::vfio_iommu_info::facts::Backend;
use ::vfio_iommu_info::json::guest_plan_to_json;
use ::vfio_iommu_info::plan::settings::{libvirt_xml, qemu_args, Accel, QemuTarget};
use ::vfio_iommu_info::{plan_guest, FixedRam, GuestRequest, HostFacts, IovaSpace};
use common::*;
use vfio_iommu_info_ffi::*;

fn text(plan: *const vfio_iommu_info_guest_plan, what: u32) -> String {
    let mut t: *mut c_char = ptr::null_mut();
    // SAFETY: `plan` is live; `t` is a local.
    let rc = unsafe { vfio_iommu_info_guest_plan_text(plan, what, &mut t) };
    assert_eq!(rc, 0, "{}", last_error());
    // SAFETY: a NUL-terminated string of the library, freed once below.
    let s = unsafe { CStr::from_ptr(t) }.to_str().unwrap().to_owned();
    // SAFETY: as above.
    unsafe { vfio_iommu_info_string_free(t) };
    s
}

/// The space of `linux-6.12-amd`'s capture, as the core builds it.
fn core_space() -> IovaSpace {
    let info = ::vfio_iommu_info::decode(&capture("linux-6.12-amd")).unwrap();
    IovaSpace::from_info(&info).unwrap()
}

#[test]
fn the_plan_is_the_cores() {
    let space = space_of("linux-6.12-amd");
    let mut req: vfio_iommu_info_guest_request = sized();
    req.ram = 4 << 30;
    req.cpu_phys_bits = VFIO_IOMMU_INFO_CPU_BITS_UNKNOWN;
    req.dma_avail = 65535;
    req.viommu = VFIO_IOMMU_INFO_VIOMMU_NONE;
    let fixed = vfio_iommu_info_ram_region {
        size: std::mem::size_of::<vfio_iommu_info_ram_region>() as u32,
        flags: VFIO_IOMMU_INFO_RAM_FIXED,
        len: 2 << 20,
        addr: 0x10_0000_0000,
    };
    let nodes = [1u64 << 30, 3 << 30];
    let bars = [1u64 << 34];
    let mut plan: *mut vfio_iommu_info_guest_plan = ptr::null_mut();
    // SAFETY: every pointer is a live local with its count.
    let rc = unsafe {
        vfio_iommu_info_guest_plan_new(
            space,
            &req,
            &fixed,
            1,
            nodes.as_ptr(),
            2,
            bars.as_ptr(),
            1,
            &mut plan,
        )
    };
    assert_eq!(rc, 0, "{}", last_error());

    let mut r = GuestRequest::new(4 << 30);
    r.nodes = nodes.to_vec();
    r.bars = bars.to_vec();
    r.fixed = vec![FixedRam {
        at: 0x10_0000_0000,
        size: 2 << 20,
    }];
    let host = HostFacts {
        backend: Backend::Type1,
        dma_avail: Some(65535),
        cpu_phys_bits: None,
        memlock: None,
    };
    let core = plan_guest(&core_space(), host, &r).unwrap();

    let mut sum: vfio_iommu_info_guest_summary = sized();
    // SAFETY: `plan` is live; `sum` is a local of its size.
    assert_eq!(
        unsafe { vfio_iommu_info_guest_plan_summary(plan, &mut sum) },
        0
    );
    assert_eq!(sum.fits, u32::from(core.fits()));
    assert_eq!(sum.phys_bits, u32::from(core.phys_bits));
    assert_eq!(
        (sum.mmio64.start, sum.mmio64.end),
        (core.mmio64.start, core.mmio64.end)
    );
    assert_eq!((sum.mappings, sum.memlock), (core.mappings, core.memlock));
    assert_eq!(sum.refusal_count, core.refusals.len());
    assert_eq!(
        text(plan, VFIO_IOMMU_INFO_GUEST_TEXT_JSON),
        guest_plan_to_json(&core).to_string()
    );
    let target = QemuTarget {
        accel: Accel::Kvm,
        cpu: "host".into(),
        devices: vec![],
    };
    let args: String = qemu_args(&core, &target)
        .iter()
        .map(|a| format!("{a}\n"))
        .collect();
    assert_eq!(text(plan, VFIO_IOMMU_INFO_GUEST_TEXT_QEMU), args);
    assert_eq!(
        text(plan, VFIO_IOMMU_INFO_GUEST_TEXT_LIBVIRT),
        libvirt_xml(&core, &[])
    );
    // SAFETY: freed once; the space too.
    unsafe {
        vfio_iommu_info_guest_plan_free(plan);
        vfio_iommu_info_space_free(space);
    }
}

#[test]
fn bad_requests_leave_out_untouched() {
    let space = space_of("linux-6.12-amd");
    let good: vfio_iommu_info_guest_request = {
        let mut r: vfio_iommu_info_guest_request = sized();
        r.ram = 1 << 30;
        r.dma_avail = -1;
        r
    };
    let bad = [
        vfio_iommu_info_guest_request { ram: 0, ..good },
        vfio_iommu_info_guest_request { viommu: 5, ..good },
        vfio_iommu_info_guest_request {
            phys_bits: 20,
            ..good
        },
        vfio_iommu_info_guest_request {
            backing_page: 3 << 20,
            ..good
        },
        vfio_iommu_info_guest_request {
            reserved: 1,
            ..good
        },
    ];
    for r in &bad {
        let sentinel = 0x5a5a as *mut vfio_iommu_info_guest_plan;
        let mut out = sentinel;
        // SAFETY: every pointer is a live local.
        let rc = unsafe {
            vfio_iommu_info_guest_plan_new(
                space,
                r,
                ptr::null(),
                0,
                ptr::null(),
                0,
                ptr::null(),
                0,
                &mut out,
            )
        };
        assert_eq!(rc, VFIO_IOMMU_INFO_E_INVALID, "{r:?}");
        assert_eq!(out, sentinel);
        assert!(
            last_error().starts_with("vfio_iommu_info_guest_plan_new: "),
            "{}",
            last_error()
        );
    }
    // SAFETY: freed once.
    unsafe { vfio_iommu_info_space_free(space) };
}
