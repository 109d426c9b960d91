//! What-if for hotplug (since 0.8): the space a container or IOAS will have once another
//! IOMMU group is attached, predicted from sysfs before the attach (the core's
//! `what_if_attach`), with the kernel's refusal of the attach given the caller's live
//! mappings.

use std::ffi::{c_char, c_int};

use ::vfio_iommu_info::json::what_if_to_json;
use ::vfio_iommu_info::query::container::HostPaths;
use ::vfio_iommu_info::{what_if_attach, Mapping, NewAperture};

use crate::args::{self, Out, Sized32};
use crate::guest::backend;
use crate::info::{json_string, vfio_iommu_info_range};
use crate::result::{guard, Failure};
use crate::space::{emit_handle, vfio_iommu_info_space};

/// `vfio_iommu_info_what_if.aperture_source`: the group sits behind an IOMMU that already
/// serves one of the attached groups; the space's aperture stays (since 0.8).
pub const VFIO_IOMMU_INFO_APERTURE_SHARED: u32 = 1;
/// From the IOMMU's registers in sysfs (VT-d's SAGAW and MGAW): `aperture` and
/// `aperture_bits` say it (since 0.8).
pub const VFIO_IOMMU_INFO_APERTURE_REGISTERS: u32 = 2;
/// Not known (AMD, SMMUv3, virtio-iommu, or no IOMMU link in sysfs): the prediction keeps
/// the space's aperture, and the kernel's ranges may end up narrower (since 0.8).
pub const VFIO_IOMMU_INFO_APERTURE_UNKNOWN: u32 = 3;

/// What attaching a group makes of a space (since 0.8).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_what_if {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_what_if)`; on success, the
    /// number of bytes the library filled.
    pub size: u32,
    /// 1 when the prediction is exact (the aperture is known); 0 when the kernel's ranges
    /// after the attach may be narrower than the predicted ones (never wider).
    pub exact: u32,
    /// 1 when the attach changes the usable ranges.
    pub changes: u32,
    /// `VFIO_IOMMU_INFO_APERTURE_*`.
    pub aperture_source: u32,
    /// The new domain's address width with `VFIO_IOMMU_INFO_APERTURE_REGISTERS`, else 0.
    pub aperture_bits: u32,
    /// The positive errno the kernel refuses the attach with, given the live mappings
    /// (type1: EINVAL; iommufd: EADDRINUSE), or 0 when it accepts it.
    pub refusal_errno: i32,
    /// The new domain's aperture with `VFIO_IOMMU_INFO_APERTURE_REGISTERS`, else zeros.
    pub aperture: vfio_iommu_info_range,
    /// The index in `live` of the first mapping the attach cannot keep, or `SIZE_MAX`.
    pub refused_mapping: usize,
    /// How many pieces the attach takes away from the space (the JSON lists them).
    pub taken_count: usize,
}

impl Sized32 for vfio_iommu_info_what_if {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_what_if { size, ..self }
    }
}

/// Predicts attaching IOMMU group `group` to the container or IOAS whose space is `space`
/// and whose groups (those with a domain already) are `attached[0..n_attached]`, holding
/// the mappings `live[0..n_live]` (IOVA ranges, ends inclusive): the group's reserved
/// regions and its IOMMU come from sysfs (`/sys`), nothing is opened or attached. The
/// refusal is the kernel's on `space`'s backend (type1 when it has none).
///
/// Returns 0 and fills `*out` (up to `out->size` bytes); when `after` is not NULL, stores
/// the space after the attach there (freed with `vfio_iommu_info_space_free()`); when
/// `json` is not NULL, the whole prediction as `vfio-iommu-info plan --attach --json`
/// prints it under `what_if` (freed with `vfio_iommu_info_string_free()`). On failure,
/// nothing is stored and the code is a negative errno (a sysfs file of the group cannot be
/// read: `-ENOENT` for a group that does not exist), `VFIO_IOMMU_INFO_E_SYSFS_FORMAT`,
/// `VFIO_IOMMU_INFO_E_NULL` or `VFIO_IOMMU_INFO_E_INVALID` (`out->size` too small, or a
/// live range covering all 2^64 addresses); the last error names the file. `attached`
/// and `live` may be NULL when their count is 0. Since 0.8.
///
/// # Safety
/// `space` must be a live space of this library; `attached` must point to `n_attached`
/// readable numbers and `live` to `n_live` readable ranges; `out` must point to
/// `out->size` writable bytes; `after` and `json` must each be NULL or point to writable
/// storage for a pointer.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn vfio_iommu_info_space_what_if_attach(
    space: *const vfio_iommu_info_space,
    attached: *const u32,
    n_attached: usize,
    group: u32,
    live: *const vfio_iommu_info_range,
    n_live: usize,
    out: *mut vfio_iommu_info_what_if,
    after: *mut *mut vfio_iommu_info_space,
    json: *mut *mut c_char,
) -> c_int {
    const F: &str = "vfio_iommu_info_space_what_if_attach";
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        let out = Out::new(out, "out")?.check_size("out")?;
        // SAFETY: the caller guarantees `n_attached` readable numbers at `attached`.
        let attached = unsafe { args::array(attached, n_attached, "attached") }?;
        // SAFETY: the caller guarantees `n_live` readable ranges at `live`.
        let live = unsafe { args::array(live, n_live, "live") }?;
        let live: Vec<Mapping> = live
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let len = r
                    .end
                    .checked_sub(r.start)
                    .and_then(|d| d.checked_add(1))
                    .ok_or_else(|| {
                        Failure::invalid(format_args!(
                            "live[{i}] is {:#x}-{:#x}: a mapping's end is at or above its start and it covers less than 2^64 bytes",
                            r.start, r.end
                        ))
                    })?;
                Ok(Mapping { iova: r.start, len })
            })
            .collect::<Result<_, Failure>>()?;
        let w = what_if_attach(&s.space, attached, group, &HostPaths::default().sysfs)
            .map_err(|e| Failure::from_error(&e))?;
        let refusal = w.refusal(backend(0, s)?, &live);
        let (source, bits, aperture) = match &w.aperture {
            NewAperture::Shared { .. } => (VFIO_IOMMU_INFO_APERTURE_SHARED, 0, None),
            NewAperture::Registers { bits, range, .. } => (
                VFIO_IOMMU_INFO_APERTURE_REGISTERS,
                u32::from(*bits),
                Some(*range),
            ),
            // `Given` is the Rust API's (a caller's own aperture); this call never makes it.
            _ => (VFIO_IOMMU_INFO_APERTURE_UNKNOWN, 0, None),
        };
        let text = match json {
            p if p.is_null() => None,
            _ => Some(what_if_to_json(&w, refusal.as_ref()).to_string()),
        };
        let summary = vfio_iommu_info_what_if {
            size: 0,
            exact: u32::from(w.exact()),
            changes: u32::from(w.changes()),
            aperture_source: source,
            aperture_bits: bits,
            refusal_errno: refusal.as_ref().map_or(0, |r| r.errno().0),
            aperture: aperture.map_or(
                vfio_iommu_info_range { start: 0, end: 0 },
                vfio_iommu_info_range::from,
            ),
            refused_mapping: match &refusal {
                Some(::vfio_iommu_info::AttachRefusal::Mapping(r)) => r.index,
                _ => usize::MAX,
            },
            taken_count: w.taken.len(),
        };
        // Everything that can fail is done: store the outputs.
        let text = text.map(json_string).transpose()?;
        if let Some(after_out) = Out::optional(after) {
            let mut handle = vfio_iommu_info_space::new(w.after);
            handle.backend = s.backend;
            if let Err(e) = emit_handle(handle, after_out) {
                if let Some(t) = text {
                    // SAFETY: `t` came from `json_string` (CString::into_raw) just above
                    // and was handed to no one.
                    drop(unsafe { std::ffi::CString::from_raw(t) });
                }
                return Err(e);
            }
        }
        if let (Some(t), Some(json_out)) = (text, Out::optional(json)) {
            json_out.write(t);
        }
        out.write_sized(summary);
        Ok(())
    })
}

symbol_versions!(
    "VFIO_IOMMU_INFO_0.8":
    vfio_iommu_info_space_what_if_attach,
);
