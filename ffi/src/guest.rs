//! A whole guest's plan as an opaque object (since 0.7): the core's `plan_guest` on a
//! space, its summary (phys-bits, the 64-bit PCI window, the vIOMMU's width, the mappings
//! and pinned memory), and its texts (refusals, reasons, JSON, the settings for QEMU,
//! libvirt and cloud-hypervisor).

use std::ffi::{c_char, c_int, CString};

use ::vfio_iommu_info::facts::Backend;
use ::vfio_iommu_info::json::guest_plan_to_json;
use ::vfio_iommu_info::plan::settings::{self, Accel, QemuTarget};
use ::vfio_iommu_info::{plan_guest, FixedRam, GuestPlan, GuestRequest, HostFacts, Viommu};

use crate::args::{self, Out, Sized32};
use crate::info::{json_string, vfio_iommu_info_range};
use crate::iommufd::{
    VFIO_IOMMU_INFO_BACKEND_IOMMUFD, VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT,
    VFIO_IOMMU_INFO_BACKEND_TYPE1,
};
use crate::layout::{
    vfio_iommu_info_ram_region, VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN, VFIO_IOMMU_INFO_RAM_FIXED,
};
use crate::result::{guard, Failure};
use crate::space::vfio_iommu_info_space;

/// `vfio_iommu_info_guest_request.viommu`: none (since 0.7).
pub const VFIO_IOMMU_INFO_VIOMMU_NONE: u32 = 0;
/// QEMU's intel-iommu (since 0.7).
pub const VFIO_IOMMU_INFO_VIOMMU_INTEL: u32 = 1;
/// QEMU's amd-iommu (since 0.7).
pub const VFIO_IOMMU_INFO_VIOMMU_AMD: u32 = 2;
/// virtio-iommu (since 0.7).
pub const VFIO_IOMMU_INFO_VIOMMU_VIRTIO: u32 = 3;
/// Arm's SMMUv3 (since 0.7).
pub const VFIO_IOMMU_INFO_VIOMMU_SMMUV3: u32 = 4;

/// `vfio_iommu_info_guest_request.cpu_phys_bits`: the host CPU's width is not known (0
/// reads `/proc/cpuinfo`) (since 0.7).
pub const VFIO_IOMMU_INFO_CPU_BITS_UNKNOWN: u32 = u32::MAX;

/// `vfio_iommu_info_guest_plan_text()`: the refusals, one per line (empty when the plan
/// fits) (since 0.7).
pub const VFIO_IOMMU_INFO_GUEST_TEXT_REFUSALS: u32 = 1;
/// Each decision's reason and fact, one per line (since 0.7).
pub const VFIO_IOMMU_INFO_GUEST_TEXT_REASONS: u32 = 2;
/// The plan as `vfio-iommu-info guest --json` prints it, without `settings` (since 0.7).
pub const VFIO_IOMMU_INFO_GUEST_TEXT_JSON: u32 = 3;
/// The QEMU arguments (KVM, `-cpu host`, no device: add your own `-device vfio-pci`), one
/// per line (since 0.7).
pub const VFIO_IOMMU_INFO_GUEST_TEXT_QEMU: u32 = 4;
/// A libvirt domain XML fragment (no hostdev) (since 0.7).
pub const VFIO_IOMMU_INFO_GUEST_TEXT_LIBVIRT: u32 = 5;
/// cloud-hypervisor arguments, one per line, or the reason it cannot take the plan on
/// one line starting with `none: ` (since 0.7).
pub const VFIO_IOMMU_INFO_GUEST_TEXT_CLOUD_HYPERVISOR: u32 = 6;

/// What the guest is, for `vfio_iommu_info_guest_plan_new()` (since 0.7).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct vfio_iommu_info_guest_request {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_guest_request)`. Read, never
    /// written.
    pub size: u32,
    /// 0 (other values are `VFIO_IOMMU_INFO_E_INVALID`).
    pub flags: u32,
    /// Boot RAM in bytes (QEMU's `-m`), a whole number of `backing_page`.
    pub ram: u64,
    /// The page backing guest RAM; 0 for 4 KiB.
    pub backing_page: u64,
    /// How many devices are passed through; 0 for 1.
    pub devices: u32,
    /// `VFIO_IOMMU_INFO_VIOMMU_*`.
    pub viommu: u32,
    /// The phys-bits to check; 0 to let the plan choose.
    pub phys_bits: u32,
    /// The host CPU's physical address bits; 0 reads `/proc/cpuinfo`,
    /// `VFIO_IOMMU_INFO_CPU_BITS_UNKNOWN` when not known.
    pub cpu_phys_bits: u32,
    /// The backend the VMM maps through (`VFIO_IOMMU_INFO_BACKEND_TYPE1`, `_IOMMUFD_COMPAT`,
    /// `_IOMMUFD`); 0 for the space's own, type1 when it has none.
    pub backend: u32,
    /// Always 0 (padding).
    pub reserved: u32,
    /// The container's DMA_AVAIL, or `VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN`.
    pub dma_avail: i64,
}

impl Sized32 for vfio_iommu_info_guest_request {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_guest_request { size, ..self }
    }
}

/// A plan's decisions and budgets (since 0.7).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct vfio_iommu_info_guest_summary {
    /// Set by the caller to `sizeof(struct vfio_iommu_info_guest_summary)`; on success, the
    /// number of bytes the library filled.
    pub size: u32,
    /// 1 when the host meets the whole plan, 0 when not (the refusals say why).
    pub fits: u32,
    /// The guest's phys-bits.
    pub phys_bits: u32,
    /// The vIOMMU's `aw-bits`, 0 without one.
    pub aw_bits: u32,
    /// `max-ram-below-4g` when the plan lowers it, else 0.
    pub max_ram_below_4g: u64,
    /// The 64-bit PCI window (`pci-hole64-size` is its size).
    pub mmio64: vfio_iommu_info_range,
    /// The most mappings live at once (what DMA_AVAIL must allow).
    pub mappings: u64,
    /// The bytes the backend pins at most.
    pub memlock: u64,
    /// The number of refusals.
    pub refusal_count: usize,
}

impl Sized32 for vfio_iommu_info_guest_summary {
    fn with_size(self, size: u32) -> Self {
        vfio_iommu_info_guest_summary { size, ..self }
    }
}

/// A guest's plan: an opaque object from `vfio_iommu_info_guest_plan_new()`, freed by
/// `vfio_iommu_info_guest_plan_free()`. Immutable: it may be read from several threads.
pub struct vfio_iommu_info_guest_plan {
    plan: GuestPlan,
}

fn viommu(code: u32) -> Result<Viommu, Failure> {
    Ok(match code {
        VFIO_IOMMU_INFO_VIOMMU_NONE => Viommu::None,
        VFIO_IOMMU_INFO_VIOMMU_INTEL => Viommu::Intel,
        VFIO_IOMMU_INFO_VIOMMU_AMD => Viommu::Amd,
        VFIO_IOMMU_INFO_VIOMMU_VIRTIO => Viommu::Virtio,
        VFIO_IOMMU_INFO_VIOMMU_SMMUV3 => Viommu::Smmuv3,
        other => {
            return Err(Failure::invalid(format_args!(
                "viommu {other} is no VFIO_IOMMU_INFO_VIOMMU_* (0 to 4)"
            )))
        }
    })
}

pub(crate) fn backend(code: u32, space: &vfio_iommu_info_space) -> Result<Backend, Failure> {
    let code = if code == 0 { space.backend } else { code };
    Ok(match code {
        0 | VFIO_IOMMU_INFO_BACKEND_TYPE1 => Backend::Type1,
        VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT => Backend::IommufdCompat,
        VFIO_IOMMU_INFO_BACKEND_IOMMUFD => Backend::Iommufd,
        other => {
            return Err(Failure::invalid(format_args!(
                "backend {other}: a guest plan maps through VFIO_IOMMU_INFO_BACKEND_TYPE1, _IOMMUFD_COMPAT or _IOMMUFD"
            )))
        }
    })
}

/// Plans a whole guest for a VMM mapping through `space` (QEMU's q35 memory map; see
/// `vfio-iommu-info guest`): `req`'s RAM, vIOMMU and host facts, RAM at fixed addresses
/// (`fixed[0..n_fixed]`, each with `VFIO_IOMMU_INFO_RAM_FIXED` set), NUMA node sizes
/// (`nodes[0..n_nodes]`, adding up to `req->ram`, or none) and 64-bit BAR sizes
/// (`bars[0..n_bars]`). The arrays may be NULL when their count is 0; none is kept.
///
/// What the host cannot meet is an answer, not an error: the plan's refusals say why, with
/// the nearest setting that fits. On success, returns 0 and stores a new plan in `*out`,
/// freed with `vfio_iommu_info_guest_plan_free()` (independent of `space`). On failure,
/// `*out` is untouched and the code is `VFIO_IOMMU_INFO_E_INVALID` (a request that is no
/// guest: no RAM, sizes not whole pages, nodes that do not add up, an unknown code or
/// flag, `size` too small) or `VFIO_IOMMU_INFO_E_NULL`; the last error says which.
///
/// Since 0.7.
///
/// # Safety
/// `space` must be a live space of this library; `req` must point to `req->size` readable
/// bytes; `fixed` to `n_fixed` elements of `fixed[0].size` bytes; `nodes` and `bars` to
/// their counts of numbers; `out` must point to writable storage for a pointer.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn vfio_iommu_info_guest_plan_new(
    space: *const vfio_iommu_info_space,
    req: *const vfio_iommu_info_guest_request,
    fixed: *const vfio_iommu_info_ram_region,
    n_fixed: usize,
    nodes: *const u64,
    n_nodes: usize,
    bars: *const u64,
    n_bars: usize,
    out: *mut *mut vfio_iommu_info_guest_plan,
) -> c_int {
    const F: &str = "vfio_iommu_info_guest_plan_new";
    guard(F, || {
        // SAFETY: per the contract, `space` is NULL or a live space.
        let s = unsafe { args::object(space, "space") }?;
        let out = Out::new(out, "out")?;
        // SAFETY: the caller guarantees `req->size` readable bytes.
        let r = unsafe { args::sized_array(req, 1, "req") }?
            .first()
            .copied()
            .ok_or_else(|| Failure::null("req"))?;
        // SAFETY: the caller guarantees `n_fixed` elements of `fixed[0].size` bytes.
        let given = unsafe { args::sized_array(fixed, n_fixed, "fixed") }?;
        // SAFETY: the caller guarantees `n_nodes` and `n_bars` readable numbers.
        let nodes = unsafe { args::array(nodes, n_nodes, "nodes") }?;
        // SAFETY: as above.
        let bars = unsafe { args::array(bars, n_bars, "bars") }?;
        if r.flags != 0 || r.reserved != 0 {
            return Err(Failure::invalid(format_args!(
                "req->flags {:#x} and req->reserved {:#x} must be 0",
                r.flags, r.reserved
            )));
        }
        let mut request = GuestRequest::new(r.ram);
        if r.backing_page != 0 {
            request.backing_page = r.backing_page;
        }
        if r.devices != 0 {
            request.devices = r.devices;
        }
        request.viommu = viommu(r.viommu)?;
        if r.phys_bits != 0 {
            request.phys_bits = Some(u8::try_from(r.phys_bits).map_err(|_| {
                Failure::invalid(format_args!("req->phys_bits {} is above 64", r.phys_bits))
            })?);
        }
        request.nodes = nodes.to_vec();
        request.bars = bars.to_vec();
        for (i, f) in given.iter().enumerate() {
            if f.flags != VFIO_IOMMU_INFO_RAM_FIXED {
                return Err(Failure::invalid(format_args!(
                    "fixed[{i}].flags {:#x}: a fixed region has exactly VFIO_IOMMU_INFO_RAM_FIXED",
                    f.flags
                )));
            }
            request.fixed.push(FixedRam {
                at: f.addr,
                size: f.len,
            });
        }
        let dma_avail = match r.dma_avail {
            VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN => None,
            n => Some(u32::try_from(n).map_err(|_| {
                Failure::invalid(format_args!(
                    "req->dma_avail {n} is neither a count (0 to {}) nor VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN (-1)",
                    u32::MAX
                ))
            })?),
        };
        let cpu_phys_bits = match r.cpu_phys_bits {
            0 => ::vfio_iommu_info::sys::cpu::phys_bits(),
            VFIO_IOMMU_INFO_CPU_BITS_UNKNOWN => None,
            n => Some(u8::try_from(n).map_err(|_| {
                Failure::invalid(format_args!("req->cpu_phys_bits {n} is above 64"))
            })?),
        };
        let host = HostFacts {
            backend: backend(r.backend, s)?,
            dma_avail,
            cpu_phys_bits,
            memlock: None,
        };
        let plan = plan_guest(&s.space, host, &request)
            .map_err(|e| Failure::invalid(format_args!("{e}")))?;
        out.write(crate::handle::into_raw(vfio_iommu_info_guest_plan { plan }));
        Ok(())
    })
}

/// Frees a plan. NULL is accepted and ignored. Since 0.7.
///
/// # Safety
/// `plan` must be NULL or a plan from this library not already freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_guest_plan_free(plan: *mut vfio_iommu_info_guest_plan) {
    // SAFETY: the caller's guarantees (NULL, or a handle of this library not freed before
    // and used by no other thread) are `free_handle`'s.
    unsafe { crate::handle::free_handle(plan, "vfio_iommu_info_guest_plan_free") }
}

/// The plan's decisions and budgets. Returns 0 and fills `*out` (up to `out->size`
/// bytes), or `VFIO_IOMMU_INFO_E_NULL`, or `VFIO_IOMMU_INFO_E_INVALID` (`out->size` too
/// small). Since 0.7.
///
/// # Safety
/// `plan` must be a live plan; `out` must point to `out->size` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_guest_plan_summary(
    plan: *const vfio_iommu_info_guest_plan,
    out: *mut vfio_iommu_info_guest_summary,
) -> c_int {
    const F: &str = "vfio_iommu_info_guest_plan_summary";
    guard(F, || {
        // SAFETY: per the contract, `plan` is NULL or a live plan.
        let p = &unsafe { args::object(plan, "plan") }?.plan;
        let out = Out::new(out, "out")?.check_size("out")?;
        out.write_sized(vfio_iommu_info_guest_summary {
            size: 0,
            fits: u32::from(p.fits()),
            phys_bits: u32::from(p.phys_bits),
            aw_bits: p
                .viommu
                .as_ref()
                .and_then(|v| v.aw_bits)
                .map_or(0, u32::from),
            max_ram_below_4g: p.max_ram_below_4g.unwrap_or(0),
            mmio64: p.mmio64.into(),
            mappings: p.mappings,
            memlock: p.memlock,
            refusal_count: p.refusals.len(),
        });
        Ok(())
    })
}

/// One of the plan's texts (`VFIO_IOMMU_INFO_GUEST_TEXT_*`): returns 0 and stores in
/// `*text` a NUL-terminated string the caller frees with `vfio_iommu_info_string_free()`;
/// or `VFIO_IOMMU_INFO_E_INVALID` (an unknown `what`), `VFIO_IOMMU_INFO_E_NULL`. Since 0.7.
///
/// # Safety
/// `plan` must be a live plan; `text` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vfio_iommu_info_guest_plan_text(
    plan: *const vfio_iommu_info_guest_plan,
    what: u32,
    text: *mut *mut c_char,
) -> c_int {
    const F: &str = "vfio_iommu_info_guest_plan_text";
    guard(F, || {
        // SAFETY: per the contract, `plan` is NULL or a live plan.
        let p = &unsafe { args::object(plan, "plan") }?.plan;
        let out = Out::new(text, "text")?;
        let lines = |v: Vec<String>| v.iter().map(|l| format!("{l}\n")).collect::<String>();
        let s = match what {
            VFIO_IOMMU_INFO_GUEST_TEXT_REFUSALS => {
                lines(p.refusals.iter().map(ToString::to_string).collect())
            }
            VFIO_IOMMU_INFO_GUEST_TEXT_REASONS => lines(
                p.reasons
                    .iter()
                    .map(|r| format!("{}: {} (from {})", r.item, r.why, r.fact))
                    .collect(),
            ),
            VFIO_IOMMU_INFO_GUEST_TEXT_JSON => {
                out.write(json_string(guest_plan_to_json(p).to_string())?);
                return Ok(());
            }
            VFIO_IOMMU_INFO_GUEST_TEXT_QEMU => lines(settings::qemu_args(
                p,
                &QemuTarget {
                    accel: Accel::Kvm,
                    cpu: "host".into(),
                    devices: Vec::new(),
                },
            )),
            VFIO_IOMMU_INFO_GUEST_TEXT_LIBVIRT => settings::libvirt_xml(p, &[]),
            VFIO_IOMMU_INFO_GUEST_TEXT_CLOUD_HYPERVISOR => {
                match settings::cloud_hypervisor_args(p, &[]) {
                    Ok(args) => lines(args),
                    Err(why) => format!("none: {why}\n"),
                }
            }
            other => {
                return Err(Failure::invalid(format_args!(
                    "what {other} is no VFIO_IOMMU_INFO_GUEST_TEXT_* (1 to 6)"
                )))
            }
        };
        // The texts are made of numbers, words and XML: no NUL byte.
        out.write(CString::new(s).map_err(Failure::invalid)?.into_raw());
        Ok(())
    })
}

symbol_versions!(
    "VFIO_IOMMU_INFO_0.7":
    vfio_iommu_info_guest_plan_new,
    vfio_iommu_info_guest_plan_free,
    vfio_iommu_info_guest_plan_summary,
    vfio_iommu_info_guest_plan_text,
);
