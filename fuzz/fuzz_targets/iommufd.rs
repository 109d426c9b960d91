//! What iommufd answers: `IOMMU_GET_HW_INFO` and `IOMMU_IOAS_IOVA_RANGES`.
//!
//! The input first drives a `HwInfo` built the way `Iommufd::hw_info` builds one from the
//! kernel's answer (a type, a `data_len`, the bytes that fit the buffer of the first call
//! or of the bounded second one, the capabilities, the PASID width): then `truncated`,
//! `decode`, every register accessor, the JSON form. The rest drives a fake kernel under
//! the retry logic of `Iommufd::iova_ranges` (`iova_ranges_using`, exposed with
//! `--cfg fuzzing`): each call's range count, the ranges it writes, its alignment, and
//! whether it answers success, EMSGSIZE (correctly or not) or another errno. The logic
//! must stop within its bounded attempts and never size its array past `MAX_RANGES`;
//! its answer then becomes the facts (with and without the hardware info), their JSON
//! form, and an `IovaSpace` (see `exercise_space`), the last two for answers of up to
//! 1024 ranges (they are linear in the ranges and took most of the time of larger ones).
#![no_main]

use std::mem::size_of;
use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vfio_iommu_info::facts::DmaFacts;
use vfio_iommu_info::hw_info::{HwData, HwInfo};
use vfio_iommu_info::iommufd::{Iommufd, MAX_RANGES};
use vfio_iommu_info::uapi::{self, IommuIoasIovaRanges};
use vfio_iommu_info::{json, Errno, IovaSpace};
use vfio_iommu_info_fuzz::{exercise_space, Input};

/// The retries `iova_ranges_using` may make (`RANGE_ATTEMPTS` in src/iommufd.rs).
const MAX_CALLS: u32 = 4;

/// The largest answer whose facts go through the JSON form and `exercise_space`.
const JSON_RANGES: usize = 1024;

/// An `Iommufd` for the error messages only: the fake kernel answers every call (the
/// library itself refuses to open /dev/null as iommufd).
fn iommufd() -> &'static Iommufd {
    static FD: OnceLock<Iommufd> = OnceLock::new();
    FD.get_or_init(|| {
        let null = Path::new("/dev/null");
        Iommufd::fuzz_unchecked(std::fs::File::open(null).expect("/dev/null"), null)
    })
}

/// A `HwInfo` as `Iommufd::hw_info` makes it: a 64-byte buffer, one more call with up to
/// 4096 bytes when `data_len` says the data did not fit, the data cut to what fit.
fn hw_info(p: &mut Input<'_>) -> HwInfo {
    let data_type = match p.u8() % 8 {
        0 => uapi::IOMMU_HW_INFO_TYPE_NONE,
        1 | 2 => uapi::IOMMU_HW_INFO_TYPE_INTEL_VTD,
        3 => uapi::IOMMU_HW_INFO_TYPE_ARM_SMMUV3,
        4 => uapi::IOMMU_HW_INFO_TYPE_AMD,
        5 => uapi::IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV,
        _ => p.u32(),
    };
    let data_len = match p.u8() % 4 {
        0 => u32::from(p.u8()),
        1 => u32::from(p.u16()),
        2 => [0, 16, 24, 40, 64, 65, 4096, 4097][usize::from(p.u8() % 8)],
        _ => p.u32(),
    };
    let mut len = 64u32;
    if data_len > len {
        len = data_len.min(4096);
    }
    let n = data_len.min(len) as usize;
    let mut data = vec![0u8; n];
    let got = p.bytes(n);
    data[..got.len()].copy_from_slice(got);
    HwInfo {
        data_type,
        data_len,
        data,
        capabilities: p.bool().then(|| p.u64()),
        max_pasid_log2: p.u8(),
    }
}

fn exercise_hw(hw: &HwInfo) {
    let _ = (hw.truncated(), hw.dirty_tracking(), hw.type_name());
    match hw.decode() {
        Ok(d) => {
            assert!(!hw.truncated(), "a truncated HwInfo decoded");
            let _ = (d.address_width(), d.page_sizes(), format!("{d:?}"));
            match d {
                HwData::IntelVtd(v) => {
                    let _ = (v.address_width(), v.supported_address_widths());
                    let _ = (v.second_stage_page_sizes(), v.first_stage_page_sizes());
                    let _ = (v.scalable_mode(), v.dirty_tracking_hardware(), v.nested());
                    let _ = (v.interrupt_remapping(), v.errata_772415());
                }
                HwData::ArmSmmuV3(s) => {
                    let _ = (s.output_address_bits(), s.page_sizes(), s.stages());
                    let _ = s.dirty_tracking_hardware();
                }
                HwData::Amd(a) => {
                    let _ = (a.host_address_bits(), a.dirty_tracking_hardware());
                    let _ = a.pasid_max_bits();
                }
                _ => {}
            }
        }
        Err(e) => {
            let _ = (e.to_string(), format!("{e:?}"));
        }
    }
    let _ = json::hw_info_to_json(hw).to_string();
}

fuzz_target!(|data: &[u8]| {
    let mut p = Input::new(data);
    let hw = hw_info(&mut p);
    exercise_hw(&hw);

    let ioas = p.u32();
    let mut calls = 0u32;
    let result = iommufd().fuzz_iova_ranges_using(ioas, |arg, array| {
        calls += 1;
        assert!(
            calls <= MAX_CALLS,
            "IOMMU_IOAS_IOVA_RANGES called {calls} times"
        );
        assert!(
            array.len() <= MAX_RANGES as usize + MAX_CALLS as usize,
            "an array of {} ranges",
            array.len()
        );
        assert_eq!(arg.num_iovas as usize, array.len());
        assert_eq!(arg.ioas_id, ioas);
        assert_eq!(arg.size as usize, size_of::<IommuIoasIovaRanges>());
        let room = arg.num_iovas;
        let mode = p.u8();
        // Mostly counts around the inline array, sometimes large or absurd ones.
        let n = match mode % 8 {
            0..=4 => u32::from(p.u8() % 32),
            5 => u32::from(p.u16()),
            6 => p.u32(),
            _ => room.wrapping_add(u32::from(p.u8() % 4)),
        };
        // Ascending ranges usually, anything sometimes.
        let mut at = 0u64;
        for slot in array.iter_mut().take(n as usize) {
            if p.is_empty() {
                break;
            }
            if p.u8().is_multiple_of(8) {
                slot.start = p.u64();
                slot.last = p.u64();
            } else {
                slot.start = at.saturating_add(p.size());
                slot.last = slot.start.saturating_add(p.size());
            }
            at = slot.last.saturating_add(1);
        }
        arg.num_iovas = n;
        arg.out_iova_alignment = if p.bool() { 4096 } else { p.u64() };
        match (mode / 8) % 8 {
            0..=4 if n > room => Err(Errno(libc::EMSGSIZE)),
            0..=4 => Ok(0),
            5 => Ok(0),
            6 => Err(Errno(libc::EMSGSIZE)),
            _ => Err(Errno(i32::from(p.u8()))),
        }
    });
    assert!(calls <= MAX_CALLS);
    match result {
        Ok(r) => {
            assert_eq!(r.calls, calls);
            for w in &r.ranges {
                assert!(w.start <= w.end);
            }
            for hw in [None, Some(&hw)] {
                let facts = DmaFacts::from_iommufd(&r, hw);
                // The JSON form and the planning are linear in the ranges: past
                // JSON_RANGES (answers the fake kernel mostly pads with zeroes) they
                // would take most of the time for nothing new.
                if r.ranges.len() <= JSON_RANGES {
                    let _ = json::facts_to_json(&facts).to_string();
                }
            }
            if r.ranges.len() <= JSON_RANGES {
                let pgsizes = hw.decode().ok().and_then(|d| d.page_sizes());
                exercise_space(&IovaSpace::new(&r.ranges, pgsizes), &mut p);
            }
        }
        Err(e) => {
            let _ = (e.to_string(), format!("{e:?}"), e.errno());
        }
    }
});
