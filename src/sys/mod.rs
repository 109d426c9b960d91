//! The bottom layer: system calls and the kernel's ABI. Nothing here decodes a buffer or
//! makes a decision; everything above reaches the kernel through this folder.
//!
//! - `uapi`: ioctl numbers and struct layouts of `<linux/vfio.h>` and `<linux/iommufd.h>`
//!   (the library's own transcription, checked against the headers; not part of the API).
//! - [`arch`]: the CPU architecture, as an explicit value (what isolates MSIs there).
//! - [`ioc`]: how each Linux architecture packs an ioctl number, and the one this build
//!   uses.
//! - [`ioctl`]: the one seam every ioctl passes through, and `fstat`/`kcmp`.
//! - [`node`]: opening `/dev/vfio/*` and `/dev/iommu` only after checking what they are.
//! - [`sysfs`]: PCI addresses, IOMMU groups and their `reserved_regions`.
//! - [`process`]: another process's fds (`pidfd_getfd`), locked memory and its limit.
//! - [`pci_ids`]: vendor and device names from pci.ids.
//! - [`view`]: every host file read, live, recorded for a snapshot, or replayed from one.

pub mod arch;
pub mod cpu;
pub mod ioc;
pub mod ioctl;
pub mod kernel;
pub mod limits;
pub mod node;
pub mod paths;
pub mod pci_ids;
pub mod process;
pub mod sysfs;
#[doc(hidden)]
pub mod uapi;
pub mod view;

pub use kernel::page_size;
