/*
 * vfio_iommu_info.h - where user space may map DMA through a VFIO IOMMU.
 *
 * Capability ids, page-size bitmaps and offsets are the kernel's own (<linux/vfio.h>):
 * a page-size bitmap has bit n set for pages of 2^n bytes; offsets count bytes from the
 * start of struct vfio_iommu_type1_info.
 *
 * Link with `pkg-config --cflags --libs vfio-iommu-info` (libvfio_iommu_info.so.0).
 *
 * THE CONTRACT
 *
 * - Return codes. Every function that can fail returns an int: 0 on success, or a
 *   negative code. Where the kernel refused, the code is the kernel's negative errno
 *   (-EPERM, -ENOENT, -EINVAL...). The library's own failures are the
 *   VFIO_IOMMU_INFO_E_* codes, all below -4095, so they never collide with an errno.
 *   vfio_iommu_info_strerror(code) gives static text for any code.
 * - The detail. After a failure, vfio_iommu_info_last_error() returns this thread's
 *   message: what happened, where (fd, path, group, PCI address, ioctl, byte offset)
 *   and what to do. It is never NULL, and stays valid until the next int-returning call
 *   on the same thread, which resets it; the functions that return no int (strerror,
 *   last_error, the version and _str functions, the _free functions) leave it alone, so
 *   printf("%s: %s", vfio_iommu_info_strerror(rc), vfio_iommu_info_last_error()) is safe.
 * - Out-parameters are written only on success; on failure they keep what they held.
 * - Pointers are checked: a NULL where a pointer is required is VFIO_IOMMU_INFO_E_NULL,
 *   never a crash. (Other invalid pointers cannot be detected.)
 * - Objects the library allocates (struct vfio_iommu_info, vfio_iommu_info_container,
 *   vfio_iommu_info_space, vfio_iommu_info_allocator, vfio_iommu_info_layout,
 *   vfio_iommu_info_device_info, vfio_iommu_info_region_info, vfio_iommu_info_iommufd,
 *   strings) are opaque, owned by the caller, and freed exactly once by their _free
 *   function, which accepts NULL. None refers to the object it was made from: free them in any order.
 * - Handles carry their kind: every function (its _free included) checks that a handle
 *   is of the kind it expects, and refuses another kind (an allocator passed for a space)
 *   with VFIO_IOMMU_INFO_E_INVALID and a last error naming the kind expected; a _free
 *   refuses it by freeing nothing and keeping that message as the last error. A _free
 *   clears the tag before freeing, so a later use of the stale pointer is often refused
 *   too: a best effort, not a guarantee (using a freed handle is still undefined).
 * - File descriptors. An fd the caller passes stays the caller's: the library never
 *   keeps or closes it. An fd a handle shows (vfio_iommu_info_container_fd(), the
 *   iommufd handle's fds) is the handle's: do not close it; it is valid until the
 *   handle's _free, which closes it, and which leaves open (and leaks the handle) a
 *   number that no longer names the handle's file because the caller closed it and
 *   the number was reused.
 * - Threads. Info objects (IOMMU, device and region info), iommufd handles, spaces and
 *   layouts are immutable and may be read from several threads at once. An allocator is internally
 *   locked: its functions may be called on one allocator from several threads at once,
 *   each call atomic. A container handle may be queried from several threads at once
 *   (vfio_iommu_info_container_query, or vfio_iommu_info_query on its fd) while another
 *   thread maps and unmaps on its fd: each answer is a whole snapshot of one
 *   VFIO_IOMMU_GET_INFO (the lab checks it). The last error is per thread.
 * - Structs the caller fills in or receives begin with `uint32_t size`: set it to sizeof
 *   the struct before the call, so that later versions can append fields without breaking
 *   callers built against this header. A size below the struct's size in the release that
 *   introduced it is VFIO_IOMMU_INFO_E_INVALID (nothing written); a larger size is
 *   accepted. The library reads and writes only min(size, its own sizeof) bytes of the
 *   struct: never past the caller's struct, and a newer caller's extra fields are left
 *   alone. On success the library sets `size` to the bytes it filled. In an array of
 *   such structs passed in (struct vfio_iommu_info_ram_region), every element's `size` is
 *   the same and is the array's stride; the library reads them and never writes.
 * - Lists in one call (since 0.4). A list call (vfio_iommu_info_chain(),
 *   vfio_iommu_info_container_groups(), vfio_iommu_info_layout_placements()...) stores in
 *   *items a pointer to the first element of an array the object owns, and in *count its
 *   length; an empty list is NULL with count 0. The array is read-only and lives until
 *   the object's _free (copy what must outlive it). A list call's element type is fixed
 *   at the release that added it: a struct that grows later gets a new list call, so
 *   items[i] with this header's struct is always right. Elements that are sized structs
 *   carry `size` = sizeof the struct of that release, set by the library. List calls
 *   supersede the count and index getters of earlier releases, which stay.
 * - Integers that name a choice (byte orders, capability ids, flags) are plain integers;
 *   an unknown value is VFIO_IOMMU_INFO_E_INVALID. Answers that are not failures (a span
 *   that cannot be mapped, a region that cannot be placed) are returned with 0, in the
 *   out-parameter's problem or result field.
 * - No call panics into C or aborts the process: an internal bug is caught and returned
 *   as VFIO_IOMMU_INFO_E_INTERNAL (a function that returns no int returns its documented
 *   fallback). Every function works in a thread's TLS or pthread_key_create destructor
 *   (without keeping its message: the last error is then "") and in a child after fork().
 * - IOVA ranges are inclusive at both ends, so a range can end at 2^64-1.
 * - Versions: VFIO_IOMMU_INFO_VERSION_* below are this header's; vfio_iommu_info_version()
 *   is the loaded library's. Within SONAME libvfio_iommu_info.so.0 exports are only added,
 *   each under the ELF symbol version node of the release that added it:
 *   VFIO_IOMMU_INFO_0 for 0.1, VFIO_IOMMU_INFO_0.2 for 0.2 (IOVA planning: spaces,
 *   allocators, guest layouts; marked "since 0.2"), VFIO_IOMMU_INFO_0.3 for 0.3 (device
 *   info and region info, iommufd and the facts with their sources; marked "since 0.3"),
 *   VFIO_IOMMU_INFO_0.4 for 0.4 (lists in one call; marked "since 0.4").
 *   A program that uses a 0.2 function needs a library of at least 0.2, and the dynamic
 *   loader says so by name.
 *
 * A MINIMAL USE (with <inttypes.h> and <stdio.h>)
 *
 *   struct vfio_iommu_info *info;
 *   int rc = vfio_iommu_info_open("0000:03:00.0", NULL, &info);
 *   if (rc < 0) {
 *       fprintf(stderr, "%s\n", vfio_iommu_info_last_error());
 *       return 1;
 *   }
 *   size_t n;
 *   if (vfio_iommu_info_iova_range_count(info, &n) == 0)
 *       for (size_t i = 0; i < n; i++) {
 *           struct vfio_iommu_info_range r;
 *           if (vfio_iommu_info_iova_range(info, i, &r) == 0)
 *               printf("%#" PRIx64 "-%#" PRIx64 "\n", r.start, r.end);
 *       }
 *   vfio_iommu_info_free(info);
 *
 * A LIST IN ONE CALL (since 0.4)
 *
 *   const struct vfio_iommu_info_cap *caps;
 *   size_t n;
 *   if (vfio_iommu_info_chain(info, &caps, &n) == 0)
 *       for (size_t i = 0; i < n; i++)
 *           printf("cap %u at %#" PRIx64 "\n", caps[i].id, caps[i].offset);
 *
 * PLANNING IOVA SPACE (since 0.2)
 *
 *   struct vfio_iommu_info_space *space;
 *   struct vfio_iommu_info_allocator *alloc;
 *   uint64_t iova;
 *   if (vfio_iommu_info_space_from_info(info, &space) == 0 &&
 *       vfio_iommu_info_allocator_new(space, &alloc) == 0) {
 *       if (vfio_iommu_info_allocator_alloc(alloc, 1 << 20, 0, (1ull << 28) - 1, &iova) == 0)
 *           ... VFIO_IOMMU_MAP_DMA at iova, later vfio_iommu_info_allocator_release() ...
 *       vfio_iommu_info_allocator_free(alloc);
 *   }
 *   vfio_iommu_info_space_free(space);
 *
 * DEVICE AND REGION INFO (since 0.3)
 *
 * The buffers of VFIO_DEVICE_GET_INFO and VFIO_DEVICE_GET_REGION_INFO (on a device fd
 * the caller opened with VFIO_GROUP_GET_DEVICE_FD), decoded with their capability chains:
 *
 *   struct vfio_iommu_info_device_info *dev;
 *   struct vfio_iommu_info_range window;
 *   if (vfio_iommu_info_device_info_decode(buf, len, VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE,
 *                                          &dev) == 0) {
 *       if (vfio_iommu_info_device_info_dma_window(dev, &window) == 0)
 *           ... the s390 zPCI function's DMA window (ZPCI_BASE) ...
 *       vfio_iommu_info_device_info_free(dev);
 *   }
 *
 * IOMMUFD AND WHERE EACH FACT COMES FROM (since 0.3)
 *
 * vfio_iommu_info_iommufd_open() does the iommufd dance for one PCI device (/dev/iommu,
 * its VFIO cdev, bind, a fresh IOAS, attach); the handle holds the IOAS's IOVA ranges,
 * its required alignment and the IOMMU hardware info. A struct vfio_iommu_info_facts
 * tags every fact with its VFIO_IOMMU_INFO_SOURCE_* (0: absent), for iommufd or for a
 * type1 answer, whose meaning depends on who serves the container
 * (vfio_iommu_info_container_backend(): type1, or iommufd's compat container):
 *
 *   struct vfio_iommu_info_iommufd *fd;
 *   struct vfio_iommu_info_facts facts = { .size = sizeof(facts) };
 *   if (vfio_iommu_info_iommufd_open("0000:03:00.0", &fd) == 0) {
 *       if (vfio_iommu_info_iommufd_facts(fd, &facts) == 0 && facts.page_sizes_source)
 *           ... facts.page_sizes, from vfio_iommu_info_source_str(facts.page_sizes_source)
 *       vfio_iommu_info_iommufd_free(fd);
 *   }
 */


#ifndef VFIO_IOMMU_INFO_H
#define VFIO_IOMMU_INFO_H

/* Generated by cbindgen from ffi/src (make header); do not edit. */

#include <stddef.h>
#include <stdint.h>
/**
 * vfio_iommu_info_space_hole_at()'s answer when the address lies in no hole (since 0.2).
 */
#define VFIO_IOMMU_INFO_NO_HOLE SIZE_MAX


/**
 * The major version this header belongs to; the SONAME is `libvfio_iommu_info.so.0`
 * while it is 0.
 */
#define VFIO_IOMMU_INFO_VERSION_MAJOR 0

/**
 * The minor version: exports are added, never removed or changed, within a major.
 */
#define VFIO_IOMMU_INFO_VERSION_MINOR 8

/**
 * The patch version.
 */
#define VFIO_IOMMU_INFO_VERSION_PATCH 0

/**
 * Decode the buffer in this machine's byte order.
 */
#define VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE 0

/**
 * Decode a capture from a little-endian machine (x86, arm64, riscv).
 */
#define VFIO_IOMMU_INFO_BYTE_ORDER_LITTLE 1

/**
 * Decode a capture from a big-endian machine (s390x, ppc64).
 */
#define VFIO_IOMMU_INFO_BYTE_ORDER_BIG 2

/**
 * `VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE`: the usable IOVA ranges (Linux 5.4).
 */
#define VFIO_IOMMU_INFO_CAP_IOVA_RANGE 1

/**
 * `VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION`: dirty-page tracking (Linux 5.8).
 */
#define VFIO_IOMMU_INFO_CAP_MIGRATION 2

/**
 * `VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL`: how many more mappings are accepted (Linux 5.10).
 */
#define VFIO_IOMMU_INFO_CAP_DMA_AVAIL 3

/**
 * The item is present.
 */
#define VFIO_IOMMU_INFO_PRESENT 0

/**
 * Absent: the CAPS flag is clear (a kernel before 5.4, or 5.4-5.7 with nothing to report).
 */
#define VFIO_IOMMU_INFO_ABSENT_NO_CAPABILITY_CHAIN 1

/**
 * Absent: the kernel's capabilities did not fit the buffer (a capture made too small);
 * the header's `caps_truncated` is 1.
 */
#define VFIO_IOMMU_INFO_ABSENT_DID_NOT_FIT 2

/**
 * Absent: the CAPS flag is set and `argsz` says the buffer was large enough, yet
 * `cap_offset` is 0: the kernel did not place its chain (a partial fill).
 */
#define VFIO_IOMMU_INFO_ABSENT_CHAIN_NOT_PLACED 3

/**
 * Absent: the chain is there without this capability (the kernel predates it, or for
 * IOVA_RANGE, no IOMMU-backed group is attached).
 */
#define VFIO_IOMMU_INFO_ABSENT_NOT_IN_CHAIN 4

/**
 * Success.
 */
#define VFIO_IOMMU_INFO_OK 0

/**
 * A buffer (a capture, or a kernel's reply) is malformed; the last error names the byte
 * offset. Library codes lie below -4095, so they never collide with a negative errno.
 */
#define VFIO_IOMMU_INFO_E_MALFORMED -4097

/**
 * A pointer argument that must not be NULL was NULL.
 */
#define VFIO_IOMMU_INFO_E_NULL -4098

/**
 * An argument is invalid: an unknown byte order or capability id, a target that is not
 * a group or PCI address, a string that is not UTF-8, a struct whose `size` is too small.
 */
#define VFIO_IOMMU_INFO_E_INVALID -4099

/**
 * The kernel did not report this item; `vfio_iommu_info_absence()` says why.
 */
#define VFIO_IOMMU_INFO_E_ABSENT -4100

/**
 * An index past the end of a list.
 */
#define VFIO_IOMMU_INFO_E_RANGE -4101

/**
 * The IOMMU group is not viable: a device of it is bound to a driver other than a VFIO
 * driver (the last error names the device and the driver). On the iommufd path (since
 * 0.3): the device itself is not on vfio-pci.
 */
#define VFIO_IOMMU_INFO_E_NOT_VIABLE -4102

/**
 * The container offers no type1 IOMMU model.
 */
#define VFIO_IOMMU_INFO_E_NO_TYPE1 -4103

/**
 * The fd answered `VFIO_IOMMU_GET_INFO` but is not a type1 container (a vfio-pci device
 * fd answers the same ioctl number).
 */
#define VFIO_IOMMU_INFO_E_NOT_CONTAINER -4104

/**
 * The kernel asked for an implausibly large buffer, or a size that kept changing.
 */
#define VFIO_IOMMU_INFO_E_SIZE -4105

/**
 * The PCI device does not exist.
 */
#define VFIO_IOMMU_INFO_E_NO_DEVICE -4106

/**
 * The PCI device has no IOMMU group: the IOMMU is disabled or absent.
 */
#define VFIO_IOMMU_INFO_E_NO_IOMMU_GROUP -4107

/**
 * The VFIO API version is not the one this library speaks.
 */
#define VFIO_IOMMU_INFO_E_API_VERSION -4108

/**
 * A sysfs file did not have the expected form.
 */
#define VFIO_IOMMU_INFO_E_SYSFS_FORMAT -4109

/**
 * An internal error (a bug in the library, caught at its boundary); please report it.
 */
#define VFIO_IOMMU_INFO_E_INTERNAL -4110

/**
 * The allocator has no free span of the size and alignment asked for that ends at or
 * below the limit (since 0.2).
 */
#define VFIO_IOMMU_INFO_E_NO_ROOM -4111

/**
 * The IOVA given to `vfio_iommu_info_allocator_release()` starts no live allocation or
 * reservation (since 0.2).
 */
#define VFIO_IOMMU_INFO_E_NOT_ALLOCATED -4112

/**
 * A reservation overlaps a live allocation or reservation; the last error names it
 * (since 0.2).
 */
#define VFIO_IOMMU_INFO_E_OVERLAP -4113

/**
 * A reservation the kernel would not map: outside the aperture, in a hole, across two
 * ranges, or not aligned to the smallest page size; `vfio_iommu_info_space_check()` on
 * the same span says which (since 0.2).
 */
#define VFIO_IOMMU_INFO_E_UNUSABLE -4114

/**
 * A reservation that reaches the last page of the 64-bit space, which Linux's type1 can
 * map but never unmap; the allocator keeps it out (since 0.2).
 */
#define VFIO_IOMMU_INFO_E_TOP_PAGE -4115

/**
 * The PCI device is on vfio-pci but has no VFIO device node (`/dev/vfio/devices/vfioN`):
 * the kernel lacks `CONFIG_VFIO_DEVICE_CDEV` (Linux 6.6+); use the group path
 * (`vfio_iommu_info_open()`) (since 0.3).
 */
#define VFIO_IOMMU_INFO_E_NO_DEVICE_CDEV -4116

/**
 * The span can be mapped: inside one usable range and aligned to the smallest page size.
 */
#define VFIO_IOMMU_INFO_SPAN_OK 0

/**
 * The span is empty (`len` 0).
 */
#define VFIO_IOMMU_INFO_SPAN_EMPTY 1

/**
 * The span's last byte, `iova + len - 1`, would lie beyond 2^64-1 (a span may end
 * exactly at 2^64-1).
 */
#define VFIO_IOMMU_INFO_SPAN_WRAPS 2

/**
 * There are no IOVA ranges to check against (see `vfio_iommu_info_absence()`).
 */
#define VFIO_IOMMU_INFO_SPAN_NO_RANGES 3

/**
 * The span reaches outside the aperture (`range`): the IOMMU cannot address it.
 */
#define VFIO_IOMMU_INFO_SPAN_BEYOND_APERTURE 4

/**
 * The span touches a reserved hole (`range`, the first one it touches).
 */
#define VFIO_IOMMU_INFO_SPAN_IN_HOLE 5

/**
 * The span runs from one range into the next with no hole between: a mapping must lie
 * inside one range.
 */
#define VFIO_IOMMU_INFO_SPAN_ACROSS_RANGES 6

/**
 * The address or the size is not a multiple of the smallest page size (`page_size`).
 */
#define VFIO_IOMMU_INFO_SPAN_MISALIGNED 7

/**
 * Only in a guest layout's placements, never from a check: the fixed region overlaps
 * another fixed region of the same layout (since 0.2).
 */
#define VFIO_IOMMU_INFO_SPAN_OVERLAPS 8

/**
 * Only in a guest layout's placements, never from a check: the fixed region reaches the
 * last page of the 64-bit space, which Linux's type1 can map but never unmap (since 0.2).
 */
#define VFIO_IOMMU_INFO_SPAN_TOP_PAGE 9

/**
 * A reserved-region type this library does not know; its sysfs name is in `kind_name`
 * (since 0.2).
 */
#define VFIO_IOMMU_INFO_REGION_OTHER 0

/**
 * `direct`: identity-mapped for a device (an RMRR); removed from the IOVA ranges
 * (since 0.2).
 */
#define VFIO_IOMMU_INFO_REGION_DIRECT 1

/**
 * `direct-relaxable`: identity-mapped but may be given up (USB and graphics RMRRs); stays
 * in the IOVA ranges, so it never causes a hole (since 0.2).
 */
#define VFIO_IOMMU_INFO_REGION_DIRECT_RELAXABLE 2

/**
 * `reserved`: never mappable (AMD's HyperTransport hole at 0xfd00000000) (since 0.2).
 */
#define VFIO_IOMMU_INFO_REGION_RESERVED 3

/**
 * `msi`: the MSI doorbell window (x86's 0xfee00000) (since 0.2).
 */
#define VFIO_IOMMU_INFO_REGION_MSI 4



/**
 * `vfio_iommu_info_ram_region.flags`: the region must go at `addr` (since 0.2).
 */
#define VFIO_IOMMU_INFO_RAM_FIXED 1

/**
 * `dma_avail` of `vfio_iommu_info_layout_new()` and `vfio_iommu_info_mappings`: unknown
 * (since 0.2).
 */
#define VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN -1

/**
 * The region was placed: at its fixed address, or where the layout chose (since 0.2).
 */
#define VFIO_IOMMU_INFO_PLACEMENT_PLACED 0

/**
 * A fixed region the kernel would not map at its address, or that overlaps another
 * fixed region (`problem` says which) (since 0.2).
 */
#define VFIO_IOMMU_INFO_PLACEMENT_CONFLICT 1

/**
 * No usable range has room for the region at the alignment it needs (since 0.2).
 */
#define VFIO_IOMMU_INFO_PLACEMENT_NO_ROOM 2

/**
 * `vfio_iommu_info_region_type.pci_vendor` of a type that is not a PCI vendor type (no
 * 16-bit vendor id has this value) (since 0.3).
 */
#define VFIO_IOMMU_INFO_NO_PCI_VENDOR UINT32_MAX

/**
 * The backend: `/dev/vfio/vfio` served by `vfio_iommu_type1` (since 0.3).
 */
#define VFIO_IOMMU_INFO_BACKEND_TYPE1 1

/**
 * The backend: `/dev/vfio/vfio` served by iommufd's VFIO compatibility
 * (`CONFIG_IOMMUFD_VFIO_CONTAINER`); it answers type1's ioctls with iommufd's meanings
 * (DMA_AVAIL of `UINT32_MAX` means no limit; no MIGRATION capability) (since 0.3).
 */
#define VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT 2

/**
 * The backend: `/dev/iommu` with the device's VFIO cdev (since 0.3).
 */
#define VFIO_IOMMU_INFO_BACKEND_IOMMUFD 3

/**
 * The backend: `/dev/vfio/vfio` served by `vfio_iommu_spapr_tce` (IBM POWER) (since 0.5).
 */
#define VFIO_IOMMU_INFO_BACKEND_SPAPR_TCE 4

/**
 * A fact's source: none, the fact is absent (since 0.3).
 */
#define VFIO_IOMMU_INFO_SOURCE_NONE 0

/**
 * A fact's source: `iova_pgsizes` of `VFIO_IOMMU_GET_INFO` (since 0.3).
 */
#define VFIO_IOMMU_INFO_SOURCE_TYPE1_PAGE_SIZES 1

/**
 * A fact's source: the type1 IOVA_RANGE capability (since 0.3).
 */
#define VFIO_IOMMU_INFO_SOURCE_TYPE1_IOVA_RANGE_CAP 2

/**
 * A fact's source: the type1 DMA_AVAIL capability (since 0.3).
 */
#define VFIO_IOMMU_INFO_SOURCE_TYPE1_DMA_AVAIL_CAP 3

/**
 * A fact's source: the type1 MIGRATION capability (since 0.3).
 */
#define VFIO_IOMMU_INFO_SOURCE_TYPE1_MIGRATION_CAP 4

/**
 * A fact's source: `IOMMU_IOAS_IOVA_RANGES` (the ranges, or `out_iova_alignment`)
 * (since 0.3).
 */
#define VFIO_IOMMU_INFO_SOURCE_IOMMUFD_IOAS 5

/**
 * A fact's source: the decoded registers of `IOMMU_GET_HW_INFO` (since 0.3).
 */
#define VFIO_IOMMU_INFO_SOURCE_IOMMUFD_HW_INFO 6

/**
 * A fact's source: `out_capabilities` of `IOMMU_GET_HW_INFO` (since 0.3).
 */
#define VFIO_IOMMU_INFO_SOURCE_IOMMUFD_HW_CAPABILITIES 7

/**
 * A fact's source: sysfs `reserved_regions` (since 0.3).
 */
#define VFIO_IOMMU_INFO_SOURCE_SYSFS 8

/**
 * A fact's source: `dma32_window_start`/`size` of `VFIO_IOMMU_SPAPR_TCE_GET_INFO`
 * (since 0.5).
 */
#define VFIO_IOMMU_INFO_SOURCE_SPAPR_DEFAULT_WINDOW 9

/**
 * A fact's source: the kernel's own choice of 4K TCEs for an sPAPR default window, not a
 * field (since 0.5).
 */
#define VFIO_IOMMU_INFO_SOURCE_SPAPR_DEFAULT_WINDOW_PAGE_SIZE 10

/**
 * A fact's source: the `ddw` block of `VFIO_IOMMU_SPAPR_TCE_GET_INFO` (since 0.5).
 */
#define VFIO_IOMMU_INFO_SOURCE_SPAPR_DDW 11

/**
 * `vfio_iommu_info_facts.mapping_limit_kind`: `mapping_limit_remaining` more mappings
 * are accepted (type1's DMA_AVAIL) (since 0.3).
 */
#define VFIO_IOMMU_INFO_LIMIT_REMAINING 1

/**
 * `vfio_iommu_info_facts.mapping_limit_kind`: no mapping count limit (iommufd, and its
 * compat container's DMA_AVAIL of `UINT32_MAX`); pinned memory is limited by
 * `RLIMIT_MEMLOCK` and the memory cgroup instead (since 0.3).
 */
#define VFIO_IOMMU_INFO_LIMIT_UNLIMITED 2

/**
 * `vfio_iommu_info_facts.dirty_tracking_kind`: type1's MIGRATION capability, dirty
 * bitmaps through `VFIO_IOMMU_DIRTY_PAGES` (tracked by pinning, not by the IOMMU), with
 * `dirty_pgsize_bitmap` and `dirty_max_bitmap_size` (since 0.3).
 */
#define VFIO_IOMMU_INFO_DIRTY_TYPE1 1

/**
 * `vfio_iommu_info_facts.dirty_tracking_kind`: iommufd's `IOMMU_HW_CAP_DIRTY_TRACKING`:
 * `dirty_hardware` says whether the IOMMU tracks dirty pages for the device (since 0.3).
 */
#define VFIO_IOMMU_INFO_DIRTY_HARDWARE 2

/**
 * `ddw_state`: the `DDW` flag is clear (a v1 container, or a platform without dynamic
 * windows): only the default window (since 0.5).
 */
#define VFIO_IOMMU_INFO_DDW_UNSUPPORTED 0

/**
 * `ddw_state`: the `DDW` flag is set but `argsz` was below 32, so the kernel did not copy
 * the `ddw` block: query again with argsz 32 (since 0.5).
 */
#define VFIO_IOMMU_INFO_DDW_NOT_RETURNED 1

/**
 * `ddw_state`: dynamic windows, described by the `ddw_*` fields (since 0.5).
 */
#define VFIO_IOMMU_INFO_DDW_SUPPORTED 2

/**
 * `vfio_iommu_info_guest_request.viommu`: none (since 0.7).
 */
#define VFIO_IOMMU_INFO_VIOMMU_NONE 0

/**
 * QEMU's intel-iommu (since 0.7).
 */
#define VFIO_IOMMU_INFO_VIOMMU_INTEL 1

/**
 * QEMU's amd-iommu (since 0.7).
 */
#define VFIO_IOMMU_INFO_VIOMMU_AMD 2

/**
 * virtio-iommu (since 0.7).
 */
#define VFIO_IOMMU_INFO_VIOMMU_VIRTIO 3

/**
 * Arm's SMMUv3 (since 0.7).
 */
#define VFIO_IOMMU_INFO_VIOMMU_SMMUV3 4

/**
 * `vfio_iommu_info_guest_request.cpu_phys_bits`: the host CPU's width is not known (0
 * reads `/proc/cpuinfo`) (since 0.7).
 */
#define VFIO_IOMMU_INFO_CPU_BITS_UNKNOWN UINT32_MAX

/**
 * `vfio_iommu_info_guest_plan_text()`: the refusals, one per line (empty when the plan
 * fits) (since 0.7).
 */
#define VFIO_IOMMU_INFO_GUEST_TEXT_REFUSALS 1

/**
 * Each decision's reason and fact, one per line (since 0.7).
 */
#define VFIO_IOMMU_INFO_GUEST_TEXT_REASONS 2

/**
 * The plan as `vfio-iommu-info guest --json` prints it, without `settings` (since 0.7).
 */
#define VFIO_IOMMU_INFO_GUEST_TEXT_JSON 3

/**
 * The QEMU arguments (KVM, `-cpu host`, no device: add your own `-device vfio-pci`), one
 * per line (since 0.7).
 */
#define VFIO_IOMMU_INFO_GUEST_TEXT_QEMU 4

/**
 * A libvirt domain XML fragment (no hostdev) (since 0.7).
 */
#define VFIO_IOMMU_INFO_GUEST_TEXT_LIBVIRT 5

/**
 * cloud-hypervisor arguments, one per line, or the reason it cannot take the plan on
 * one line starting with `none: ` (since 0.7).
 */
#define VFIO_IOMMU_INFO_GUEST_TEXT_CLOUD_HYPERVISOR 6

/**
 * `vfio_iommu_info_what_if.aperture_source`: the group sits behind an IOMMU that already
 * serves one of the attached groups; the space's aperture stays (since 0.8).
 */
#define VFIO_IOMMU_INFO_APERTURE_SHARED 1

/**
 * From the IOMMU's registers in sysfs (VT-d's SAGAW and MGAW): `aperture` and
 * `aperture_bits` say it (since 0.8).
 */
#define VFIO_IOMMU_INFO_APERTURE_REGISTERS 2

/**
 * Not known (AMD, SMMUv3, virtio-iommu, or no IOMMU link in sysfs): the prediction keeps
 * the space's aperture, and the kernel's ranges may end up narrower (since 0.8).
 */
#define VFIO_IOMMU_INFO_APERTURE_UNKNOWN 3

/**
 * What a type1 container told about its IOMMU: an opaque object, from
 * `vfio_iommu_info_decode()`, `vfio_iommu_info_query()` or `vfio_iommu_info_open()`,
 * freed by `vfio_iommu_info_free()`. Immutable: it may be read from several threads.
 */
struct vfio_iommu_info;

/**
 * An IOVA allocator over a copy of a space: an opaque object from
 * `vfio_iommu_info_allocator_new()`, freed by `vfio_iommu_info_allocator_free()`.
 *
 * Every span it hands out or reserves is a multiple of the granule (the smallest IOMMU
 * page size), aligned to it, inside one usable range, and never the last page of the
 * 64-bit space (Linux's type1 can map that page but never unmap it).
 *
 * Thread safety: the allocator is internally locked. Its functions may be called on the
 * same allocator from several threads at once; each call is atomic. (A call that failed
 * with `VFIO_IOMMU_INFO_E_INTERNAL` in the middle of a change leaves the allocator
 * unusable: every later call returns `VFIO_IOMMU_INFO_E_INTERNAL`.)
 */
struct vfio_iommu_info_allocator;

/**
 * A VFIO container the library opened, with its groups attached and the best type1 IOMMU
 * model set: ready to query or to map DMA on. It owns the container fd and the group
 * fds and closes them in `vfio_iommu_info_container_free()`.
 */
struct vfio_iommu_info_container;

/**
 * What `VFIO_DEVICE_GET_INFO` said about a device: an opaque object from
 * `vfio_iommu_info_device_info_decode()`, freed by `vfio_iommu_info_device_info_free()`.
 * Immutable: it may be read from several threads (since 0.3).
 */
struct vfio_iommu_info_device_info;

/**
 * A guest's plan: an opaque object from `vfio_iommu_info_guest_plan_new()`, freed by
 * `vfio_iommu_info_guest_plan_free()`. Immutable: it may be read from several threads.
 */
struct vfio_iommu_info_guest_plan;

/**
 * One PCI device on the iommufd path: `/dev/iommu` and the device's VFIO cdev, bound,
 * attached to a fresh IOAS; its IOVA ranges and hardware info read when it was opened
 * (since 0.3). Opaque, from `vfio_iommu_info_iommufd_open()`, freed by
 * `vfio_iommu_info_iommufd_free()`. Immutable: it may be read from several threads.
 */
struct vfio_iommu_info_iommufd;

/**
 * A guest layout: an opaque object from `vfio_iommu_info_layout_new()`, freed by
 * `vfio_iommu_info_layout_free()`. Immutable: it may be read from several threads.
 */
struct vfio_iommu_info_layout;

/**
 * What `VFIO_DEVICE_GET_REGION_INFO` said about one region: an opaque object from
 * `vfio_iommu_info_region_info_decode()`, freed by `vfio_iommu_info_region_info_free()`.
 * Immutable: it may be read from several threads (since 0.3).
 */
struct vfio_iommu_info_region_info;

/**
 * The usable IOVA space of a container: an opaque object from
 * `vfio_iommu_info_space_from_info()`, `vfio_iommu_info_space_from_container()` or
 * `vfio_iommu_info_space_new()`, freed by `vfio_iommu_info_space_free()`. Immutable: it
 * may be read from several threads at once.
 */
struct vfio_iommu_info_space;

/**
 * A group attached to a container, as `vfio_iommu_info_container_groups()` lends it
 * (since 0.4).
 */
struct vfio_iommu_info_group {
    /**
     * `sizeof(struct vfio_iommu_info_group)` of 0.4, set by the library: the stride of
     * the array it lends.
     */
    uint32_t size;
    /**
     * The group's fd (`/dev/vfio/N`, for `VFIO_GROUP_GET_DEVICE_FD`). The container
     * handle owns it: do not close it; it is valid until
     * `vfio_iommu_info_container_free()`, which closes it.
     */
    int fd;
    /**
     * The group's number; -1 when its node's name is not a number.
     */
    int64_t number;
};

/**
 * The fixed part of `struct vfio_iommu_type1_info`, as found in the buffer.
 */
struct vfio_iommu_info_header {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_header)`; on success, the
     * number of bytes the library filled.
     */
    uint32_t size;
    /**
     * `argsz` as the kernel returned it: the size the whole info needs. When it exceeds
     * the buffer's size, capabilities did not fit (`caps_truncated`). Kernels before 5.4
     * leave it as the caller passed it.
     */
    uint32_t argsz;
    /**
     * `flags`: bit 0 `VFIO_IOMMU_INFO_PGSIZES`, bit 1 `VFIO_IOMMU_INFO_CAPS`.
     */
    uint32_t flags;
    /**
     * `cap_offset`: where the chain starts; 0 when the CAPS flag is clear or the buffer
     * does not hold the field.
     */
    uint32_t cap_offset;
    /**
     * 1 when the kernel had capabilities that did not fit the buffer (then every absent
     * capability's reason is `VFIO_IOMMU_INFO_ABSENT_DID_NOT_FIT`), else 0.
     */
    uint32_t caps_truncated;
};

/**
 * A range of IOVA space, both ends inclusive (so it can end at 2^64-1).
 */
struct vfio_iommu_info_range {
    /**
     * The first address.
     */
    uint64_t start;
    /**
     * The last address (inclusive).
     */
    uint64_t end;
};

/**
 * The dirty-page tracking capability (`VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION`).
 */
struct vfio_iommu_info_migration {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_migration)`; on success, the
     * number of bytes the library filled.
     */
    uint32_t size;
    /**
     * The capability's version.
     */
    uint32_t version;
    /**
     * Its `flags` (none defined so far).
     */
    uint32_t flags;
    /**
     * Always 0 (padding, not from the kernel).
     */
    uint32_t reserved;
    /**
     * Page sizes in which dirty pages can be tracked (bit n: 2^n bytes).
     */
    uint64_t pgsize_bitmap;
    /**
     * The largest dirty bitmap the kernel returns in one call, in bytes.
     */
    uint64_t max_dirty_bitmap_size;
};

/**
 * A capability of the chain, where it sits, and for one this library does not know,
 * its raw bytes.
 */
struct vfio_iommu_info_cap {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_cap)`; on success, the number
     * of bytes the library filled.
     */
    uint32_t size;
    /**
     * The capability id, the kernel's (`VFIO_IOMMU_INFO_CAP_*` for the known ones).
     */
    uint16_t id;
    /**
     * Its version.
     */
    uint16_t version;
    /**
     * Offset of its header from the start of the buffer.
     */
    uint64_t offset;
    /**
     * For a capability this library does not know: its bytes, header included, up to the
     * capability at the next higher offset or the end of the buffer (owned by the object
     * read from, an info, device-info or region-info object, valid until it is freed).
     * NULL for a known capability.
     */
    const uint8_t *bytes;
    /**
     * The number of bytes at `bytes`; 0 when `bytes` is NULL.
     */
    size_t len;
};

/**
 * The answer of `vfio_iommu_info_check()`.
 */
struct vfio_iommu_info_verdict {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_verdict)`; on success, the
     * number of bytes the library filled.
     */
    uint32_t size;
    /**
     * `VFIO_IOMMU_INFO_SPAN_OK` or the first problem, a `VFIO_IOMMU_INFO_SPAN_*` code.
     */
    uint32_t problem;
    /**
     * For `BEYOND_APERTURE`, the aperture; for `IN_HOLE`, the hole; else zero.
     */
    struct vfio_iommu_info_range range;
    /**
     * For `MISALIGNED`, the smallest page size; else zero.
     */
    uint64_t page_size;
};

/**
 * A hole inside the aperture: addresses no usable range covers, and a summary of the
 * reserved regions that cause it (since 0.2).
 */
struct vfio_iommu_info_hole {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_hole)`; on success, the number
     * of bytes the library filled.
     */
    uint32_t size;
    /**
     * The types of its causes: bit `VFIO_IOMMU_INFO_REGION_*` is set (`1u << type`) when
     * a cause has that type; 0 when no cause is known.
     */
    uint32_t cause_types;
    /**
     * The addresses.
     */
    struct vfio_iommu_info_range range;
    /**
     * The number of reserved regions known to cause it (read them with
     * `vfio_iommu_info_space_hole_cause()`): 0 for a space made from an info object or
     * from ranges, which carry no reserved regions.
     */
    size_t cause_count;
};

/**
 * A reserved region of an IOMMU group (a line of sysfs
 * `/sys/kernel/iommu_groups/N/reserved_regions`) that causes a hole (since 0.2).
 */
struct vfio_iommu_info_reserved_region {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_reserved_region)`; on success,
     * the number of bytes the library filled.
     */
    uint32_t size;
    /**
     * Its type: a `VFIO_IOMMU_INFO_REGION_*` code.
     */
    uint32_t kind;
    /**
     * The addresses (both ends inclusive).
     */
    struct vfio_iommu_info_range range;
    /**
     * The type as sysfs names it (`"msi"`, `"reserved"`...): a NUL-terminated string
     * owned by the object read from, valid until it is freed.
     */
    const char *kind_name;
};

/**
 * What one backend says about mapping DMA, every fact with its source
 * (`VFIO_IOMMU_INFO_SOURCE_*`; `VFIO_IOMMU_INFO_SOURCE_NONE` when the backend did not
 * say, and then the fact's value fields are 0) (since 0.3). Why a fact is absent is in
 * the `notes` of the JSON form (`vfio_iommu_info_facts_type1_to_json()`,
 * `vfio_iommu_info_iommufd_to_json()`).
 */
struct vfio_iommu_info_facts {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_facts)`; on success, the
     * number of bytes the library filled.
     */
    uint32_t size;
    /**
     * The interface that answered: `VFIO_IOMMU_INFO_BACKEND_*`.
     */
    uint32_t backend;
    /**
     * The source of the usable IOVA ranges.
     */
    uint32_t iova_ranges_source;
    /**
     * The source of `page_sizes`.
     */
    uint32_t page_sizes_source;
    /**
     * How many usable IOVA ranges; read them from the object the facts came from
     * (`vfio_iommu_info_iova_range()`, `vfio_iommu_info_iommufd_iova_range()`).
     */
    size_t iova_range_count;
    /**
     * The page sizes mappings can use (bit n: 2^n bytes): type1's bitmap, or for
     * iommufd derived from the hardware registers when the driver reports them.
     */
    uint64_t page_sizes;
    /**
     * The source of `iova_alignment`.
     */
    uint32_t iova_alignment_source;
    /**
     * The source of `address_width`.
     */
    uint32_t address_width_source;
    /**
     * The alignment every mapping's IOVA and length must have (iommufd's
     * `out_iova_alignment`: the largest page size an attached domain requires; not the
     * page sizes the IOMMU supports).
     */
    uint64_t iova_alignment;
    /**
     * The IOVA width the IOMMU translates, in bits (from hardware registers).
     */
    uint32_t address_width;
    /**
     * The source of the mapping limit.
     */
    uint32_t mapping_limit_source;
    /**
     * `VFIO_IOMMU_INFO_LIMIT_REMAINING` or `VFIO_IOMMU_INFO_LIMIT_UNLIMITED`; 0 when
     * absent.
     */
    uint32_t mapping_limit_kind;
    /**
     * How many more mappings are accepted, for `VFIO_IOMMU_INFO_LIMIT_REMAINING`.
     */
    uint32_t mapping_limit_remaining;
    /**
     * The source of the dirty-tracking fact.
     */
    uint32_t dirty_tracking_source;
    /**
     * `VFIO_IOMMU_INFO_DIRTY_TYPE1` or `VFIO_IOMMU_INFO_DIRTY_HARDWARE`; 0 when absent.
     */
    uint32_t dirty_tracking_kind;
    /**
     * For `VFIO_IOMMU_INFO_DIRTY_TYPE1`: the page sizes the dirty bitmap can be kept at.
     */
    uint64_t dirty_pgsize_bitmap;
    /**
     * For `VFIO_IOMMU_INFO_DIRTY_TYPE1`: the largest dirty bitmap, in bytes.
     */
    uint64_t dirty_max_bitmap_size;
    /**
     * For `VFIO_IOMMU_INFO_DIRTY_HARDWARE`: 1 when the IOMMU tracks dirty pages for the
     * device (`IOMMU_HWPT_SET_DIRTY_TRACKING`), 0 when not.
     */
    uint32_t dirty_hardware;
    /**
     * The source of the reserved-regions fact (`VFIO_IOMMU_INFO_SOURCE_SYSFS`: the sysfs
     * `reserved_regions` of the groups behind the answer, read by
     * `vfio_iommu_info_iommufd_open()`); 0 when absent, as from
     * `vfio_iommu_info_facts_type1()`, which has no groups. The regions themselves are in
     * the `_to_json()` object (`facts.reserved_regions`).
     */
    uint32_t reserved_regions_source;
};

/**
 * A whole space at once (since 0.4): its lists, lent by the space (valid until
 * `vfio_iommu_info_space_free()`; empty lists are NULL with a count of 0), and its
 * scalars. Filled by `vfio_iommu_info_space_view()`.
 */
struct vfio_iommu_info_space_view {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_space_view)`; on success, the
     * number of bytes the library filled.
     */
    uint32_t size;
    /**
     * Who answered: a `VFIO_IOMMU_INFO_BACKEND_*` code, or 0 when not known (a space of
     * the caller's ranges, or of an info object, which does not say who served it).
     */
    uint32_t backend;
    /**
     * The usable IOVA ranges, ascending: a mapping must lie inside one.
     */
    const struct vfio_iommu_info_range *ranges;
    /**
     * How many.
     */
    size_t range_count;
    /**
     * The holes inside the aperture, ascending; `vfio_iommu_info_space_hole_causes()`
     * lends the reserved regions that cause hole `i`.
     */
    const struct vfio_iommu_info_hole *holes;
    /**
     * How many.
     */
    size_t hole_count;
    /**
     * What a virtual IOMMU must advertise as reserved: the complement of the ranges in
     * the 64-bit space, ascending.
     */
    const struct vfio_iommu_info_range *reserved;
    /**
     * How many.
     */
    size_t reserved_count;
    /**
     * From the lowest start to the highest end of the ranges (`{0, 0}` without ranges).
     */
    struct vfio_iommu_info_range aperture;
    /**
     * The supported page sizes (bit n: 2^n bytes), 0 when unknown.
     */
    uint64_t page_sizes;
    /**
     * The smallest page size, which every mapping's address and size must be a multiple
     * of; 4096 when the page sizes are unknown.
     */
    uint64_t granule;
    /**
     * The facts the space was made from, each with its source (the mapping limit, i.e.
     * DMA_AVAIL, the IOVA alignment, the address width...), lent by the space; NULL for
     * a space of the caller's ranges (`vfio_iommu_info_space_new()`).
     */
    const struct vfio_iommu_info_facts *facts;
};

/**
 * A guest RAM region for `vfio_iommu_info_layout_new()`, in an array the caller owns
 * (since 0.2).
 */
struct vfio_iommu_info_ram_region {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_ram_region)`, the same in every
     * element of the array. Read, never written.
     */
    uint32_t size;
    /**
     * 0, or `VFIO_IOMMU_INFO_RAM_FIXED`; other bits are `VFIO_IOMMU_INFO_E_INVALID`.
     */
    uint32_t flags;
    /**
     * The region's length in bytes (not 0).
     */
    uint64_t len;
    /**
     * With `VFIO_IOMMU_INFO_RAM_FIXED`: its guest physical address (== IOVA); ignored
     * without.
     */
    uint64_t addr;
};

/**
 * Where one region went, or why it could not (since 0.2).
 */
struct vfio_iommu_info_placement {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_placement)`; on success, the
     * number of bytes the library filled.
     */
    uint32_t size;
    /**
     * `VFIO_IOMMU_INFO_PLACEMENT_PLACED`, `_CONFLICT` or `_NO_ROOM`.
     */
    uint32_t result;
    /**
     * `PLACED`: the addresses to map (a region the layout placed takes its length rounded
     * up to the granule); `CONFLICT`: the addresses asked for (the end saturates at
     * 2^64-1); `NO_ROOM`: zero.
     */
    struct vfio_iommu_info_range range;
    /**
     * The region's length as given.
     */
    uint64_t len;
    /**
     * `PLACED` by the layout: the alignment chosen (the largest IOMMU page size not above
     * min(len, 1 GiB), so huge pages can map it); `PLACED` at a fixed address or
     * `CONFLICT`: 0; `NO_ROOM`: the alignment it needed.
     */
    uint64_t align;
    /**
     * `CONFLICT`: why, a `VFIO_IOMMU_INFO_SPAN_*` code (`BEYOND_APERTURE`, `IN_HOLE`,
     * `ACROSS_RANGES`, `MISALIGNED`, `OVERLAPS` another fixed region, `TOP_PAGE`); else
     * `VFIO_IOMMU_INFO_SPAN_OK`.
     */
    uint32_t problem;
    /**
     * `IN_HOLE`: the types of the reserved regions causing the hole (bit
     * `VFIO_IOMMU_INFO_REGION_*` set), as in `vfio_iommu_info_hole`; else 0.
     */
    uint32_t hole_cause_types;
    /**
     * `BEYOND_APERTURE`: the aperture; `IN_HOLE`: the hole; `OVERLAPS`: the fixed region
     * it overlaps (one given before it); else zero.
     */
    struct vfio_iommu_info_range problem_range;
    /**
     * `MISALIGNED`: the smallest page size; else 0.
     */
    uint64_t page_size;
    /**
     * `IN_HOLE`: the number of reserved regions causing the hole, read with
     * `vfio_iommu_info_layout_hole_cause()`; else 0.
     */
    size_t hole_cause_count;
};

/**
 * The mappings a layout needs, against DMA_AVAIL (since 0.2).
 */
struct vfio_iommu_info_mappings {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_mappings)`; on success, the
     * number of bytes the library filled.
     */
    uint32_t size;
    /**
     * 1 when every region was placed, else 0.
     */
    uint32_t all_placed;
    /**
     * The mappings needed with one `VFIO_IOMMU_MAP_DMA` per placed region (how QEMU maps
     * RAM).
     */
    uint64_t per_region;
    /**
     * The DMA_AVAIL given to `vfio_iommu_info_layout_new()`, or
     * `VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN`.
     */
    int64_t dma_avail;
    /**
     * 1 when `per_region` fits DMA_AVAIL, 0 when not, -1 when DMA_AVAIL is unknown.
     */
    int32_t fits;
    /**
     * Always 0 (padding).
     */
    uint32_t reserved;
    /**
     * The smallest page size whose mapping count (`vfio_iommu_info_layout_page()`) fits
     * DMA_AVAIL, for a VMM that maps page by page; 0 when none does or DMA_AVAIL is
     * unknown.
     */
    uint64_t smallest_fitting_page;
};

/**
 * How many mappings the placed regions need in pages of one size (since 0.2).
 */
struct vfio_iommu_info_mapping_count {
    /**
     * The page size: one `VFIO_IOMMU_MAP_DMA` per page (how DPDK and SPDK map hugepages).
     */
    uint64_t page_size;
    /**
     * The mappings needed.
     */
    uint64_t entries;
};

/**
 * The fixed part of `struct vfio_device_info`, as found in the buffer (since 0.3).
 */
struct vfio_iommu_info_device_header {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_device_header)`; on success,
     * the number of bytes the library filled.
     */
    uint32_t size;
    /**
     * `argsz` as the kernel returned it: the size it needs when `caps_truncated` is 1.
     */
    uint32_t argsz;
    /**
     * `VFIO_DEVICE_FLAGS_*`: bit 0 RESET, bit 1 PCI, bit 7 CAPS...
     */
    uint32_t flags;
    /**
     * How many regions the device has (`VFIO_DEVICE_GET_REGION_INFO` indexes).
     */
    uint32_t num_regions;
    /**
     * How many interrupt types it has (`VFIO_DEVICE_GET_IRQ_INFO` indexes).
     */
    uint32_t num_irqs;
    /**
     * `cap_offset`: where the chain starts; 0 when the CAPS flag is clear, the buffer
     * (a kernel before 5.10) does not hold the field, or the chain did not fit.
     */
    uint32_t cap_offset;
    /**
     * 1 when the kernel had capabilities that did not fit the buffer (query again with
     * `argsz` bytes), else 0.
     */
    uint32_t caps_truncated;
};

/**
 * `VFIO_DEVICE_INFO_CAP_ZPCI_BASE`: where an s390 PCI function may DMA, and who it is
 * (since 0.3). The kernel's 8- and 16-bit fields are widened to 32 bits.
 */
struct vfio_iommu_info_zpci_base {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_zpci_base)`; on success, the
     * number of bytes the library filled.
     */
    uint32_t size;
    /**
     * The capability's version (2 adds `fh`).
     */
    uint32_t version;
    /**
     * First IOVA of the function's DMA window.
     */
    uint64_t start_dma;
    /**
     * Last IOVA of the window (inclusive).
     */
    uint64_t end_dma;
    /**
     * Physical channel id.
     */
    uint32_t pchid;
    /**
     * Virtual function number.
     */
    uint32_t vfn;
    /**
     * Function measurement block length.
     */
    uint32_t fmb_length;
    /**
     * PCI function type.
     */
    uint32_t pft;
    /**
     * Function group id.
     */
    uint32_t gid;
    /**
     * 1 when `fh` was reported (version 2 and later), else 0.
     */
    uint32_t has_fh;
    /**
     * Function handle; 0 when `has_fh` is 0.
     */
    uint32_t fh;
    /**
     * Always 0 (padding, not from the kernel).
     */
    uint32_t reserved;
};

/**
 * `VFIO_DEVICE_INFO_CAP_ZPCI_GROUP`: what an s390 PCI function's group supports
 * (since 0.3).
 */
struct vfio_iommu_info_zpci_group {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_zpci_group)`; on success, the
     * number of bytes the library filled.
     */
    uint32_t size;
    /**
     * The capability's version (2 adds `imaxstbl`).
     */
    uint32_t version;
    /**
     * DMA address space mask.
     */
    uint64_t dasm;
    /**
     * MSI address.
     */
    uint64_t msi_addr;
    /**
     * `VFIO_DEVICE_INFO_ZPCI_FLAG_*`.
     */
    uint64_t flags;
    /**
     * Measurement update interval.
     */
    uint32_t mui;
    /**
     * Maximum number of MSIs.
     */
    uint32_t noi;
    /**
     * Maximum store block length.
     */
    uint32_t maxstbl;
    /**
     * The zPCI architecture version (`version` in the kernel's struct).
     */
    uint32_t zpci_version;
    /**
     * 1 when `imaxstbl` was reported (version 2 and later), else 0.
     */
    uint32_t has_imaxstbl;
    /**
     * Maximum interpreted store block length; 0 when `has_imaxstbl` is 0.
     */
    uint32_t imaxstbl;
};

/**
 * The fixed part of `struct vfio_region_info`, as found in the buffer (since 0.3).
 */
struct vfio_iommu_info_region_header {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_region_header)`; on success,
     * the number of bytes the library filled.
     */
    uint32_t size;
    /**
     * `argsz` as the kernel returned it: the size it needs when `caps_truncated` is 1.
     */
    uint32_t argsz;
    /**
     * `VFIO_REGION_INFO_FLAG_*`: bit 0 READ, bit 1 WRITE, bit 2 MMAP, bit 3 CAPS.
     */
    uint32_t flags;
    /**
     * The region index.
     */
    uint32_t index;
    /**
     * `cap_offset`: where the chain starts; 0 when the CAPS flag is clear (the kernel
     * then leaves the field as the caller passed it) or the chain did not fit.
     */
    uint32_t cap_offset;
    /**
     * 1 when the kernel had capabilities that did not fit the buffer (query again with
     * `argsz` bytes), else 0.
     */
    uint32_t caps_truncated;
    /**
     * The region's size in bytes (0 for an unimplemented region, such as an unused BAR).
     */
    uint64_t region_size;
    /**
     * Where the region is in the device fd (for `pread`, `pwrite` and `mmap`).
     */
    uint64_t offset;
};

/**
 * `VFIO_REGION_INFO_CAP_TYPE`: what a device-specific region is (since 0.3).
 */
struct vfio_iommu_info_region_type {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_region_type)`; on success, the
     * number of bytes the library filled.
     */
    uint32_t size;
    /**
     * The capability's version.
     */
    uint32_t version;
    /**
     * `type`: a `VFIO_REGION_TYPE_*`, or `VFIO_REGION_TYPE_PCI_VENDOR_TYPE` with a PCI
     * vendor id in the low 16 bits.
     */
    uint32_t region_type;
    /**
     * `subtype`, in the namespace of the type (or of the vendor).
     */
    uint32_t subtype;
    /**
     * The PCI vendor id of a PCI vendor type, else `VFIO_IOMMU_INFO_NO_PCI_VENDOR`.
     */
    uint32_t pci_vendor;
    /**
     * Always 0 (padding, not from the kernel).
     */
    uint32_t reserved;
    /**
     * The subtype's `<linux/vfio.h>` name without `VFIO_REGION_SUBTYPE_`
     * (`"INTEL_IGD_OPREGION"`...), or NULL for a type and subtype it does not define
     * together: a static string, not to be freed.
     */
    const char *name;
    /**
     * The type's name without `VFIO_REGION_TYPE_` (`"PCI_VENDOR"`, `"GFX"`, `"CCW"`,
     * `"MIGRATION_DEPRECATED"`), or NULL: a static string, not to be freed.
     */
    const char *type_name;
};

/**
 * An area of a region that may be mmapped, relative to the region's start (since 0.3).
 */
struct vfio_iommu_info_mmap_area {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_mmap_area)`; on success, the
     * number of bytes the library filled.
     */
    uint32_t size;
    /**
     * 1 when the area lies inside the region; 0 for a SPARSE_MMAP area that runs past
     * its end (no kernel reports one; an mmap of it would fail or reach another region).
     */
    uint32_t within_region;
    /**
     * Where the area starts in the region (add the region's `offset` for `mmap`).
     */
    uint64_t offset;
    /**
     * Its length in bytes.
     */
    uint64_t len;
};

/**
 * The ids and fds of an iommufd handle (since 0.3).
 */
struct vfio_iommu_info_iommufd_ids {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_iommufd_ids)`; on success, the
     * number of bytes the library filled.
     */
    uint32_t size;
    /**
     * The iommufd (`/dev/iommu`) fd, for `IOMMU_IOAS_MAP` and the like. The handle owns
     * it: the caller must not close it; it is valid until
     * `vfio_iommu_info_iommufd_free()`, which closes it.
     */
    int iommufd_fd;
    /**
     * The device's fd (its VFIO cdev, bound and attached), for `VFIO_DEVICE_GET_INFO`,
     * region access and the like. The handle owns it: the caller must not close it; it
     * is valid until `vfio_iommu_info_iommufd_free()`, which closes it.
     */
    int device_fd;
    /**
     * The device id `VFIO_DEVICE_BIND_IOMMUFD` gave.
     */
    uint32_t dev_id;
    /**
     * The IOAS the device is attached to (map into it).
     */
    uint32_t ioas;
    /**
     * The HWPT (hardware page table) the attach created or reused.
     */
    uint32_t hwpt;
    /**
     * `out_iova_alignment` of the IOAS: every mapping's IOVA and length must be a
     * multiple of it.
     */
    uint64_t iova_alignment;
    /**
     * The device node's path (`/dev/vfio/devices/vfioN`), a NUL-terminated string owned
     * by the handle, valid until it is freed.
     */
    const char *cdev_path;
};

/**
 * `IOMMU_GET_HW_INFO`: the IOMMU hardware behind the device, decoded, with the raw
 * registers (since 0.3). The register fields of the types other than `data_type`'s are
 * 0.
 */
struct vfio_iommu_info_hw_info {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_hw_info)`; on success, the
     * number of bytes the library filled.
     */
    uint32_t size;
    /**
     * `out_data_type`: `IOMMU_HW_INFO_TYPE_*` of `<linux/iommufd.h>` (0 NONE: the driver
     * reports no data, 1 INTEL_VTD, 2 ARM_SMMUV3, 3 TEGRA241_CMDQV, 4 AMD).
     */
    uint32_t data_type;
    /**
     * The length of the kernel's data (`data_len` on return).
     */
    uint32_t data_len;
    /**
     * 1 when the kernel had more data than the library received, else 0.
     */
    uint32_t truncated;
    /**
     * 1 when the kernel reports `capabilities` (Linux 6.7+), 0 when it predates them
     * (6.6 leaves the field 0 whatever the hardware).
     */
    uint32_t capabilities_known;
    /**
     * `out_max_pasid_log2` (Linux 6.12+; 0 without PASID or on older kernels).
     */
    uint32_t max_pasid_log2;
    /**
     * `out_capabilities`: `IOMMU_HW_CAP_*` (bit 0 DIRTY_TRACKING); 0 when
     * `capabilities_known` is 0.
     */
    uint64_t capabilities;
    /**
     * The data type's name: `"none"`, `"intel-vtd"`, `"arm-smmuv3"`, `"tegra241-cmdqv"`,
     * `"amd"` or `"unknown"`; a static string.
     */
    const char *type_name;
    /**
     * The data bytes received, owned by the handle, valid until it is freed; NULL when
     * `data_received` is 0.
     */
    const uint8_t *data;
    /**
     * The number of bytes at `data`: `min(data_len, what the library asked for)`.
     */
    size_t data_received;
    /**
     * 1 when the register fields of `data_type` below were decoded (VT-d, SMMUv3, AMD),
     * 0 for a type without registers or data too short for its structure.
     */
    uint32_t registers_valid;
    /**
     * The widest IOVA the hardware translates, in bits, from the registers (VT-d MGAW,
     * SMMUv3 stage 1: 48, or 52 with IDR5.VAX; AMD HATS); 0 when unknown.
     */
    uint32_t address_width;
    /**
     * The page sizes of the kernel's paging domain, bit n for 2^n bytes, from the
     * registers (VT-d SLLPS; SMMUv3: the one IDR5 granule io-pgtable-arm picks for the
     * answering kernel's page size, e.g. 4K|2M|1G on a 4 KiB kernel); 0 when unknown.
     */
    uint64_t page_sizes;
    /**
     * 1 when the registers say the hardware can track dirty pages (VT-d scalable mode,
     * SLADS and SMPWC; SMMUv3 HTTU; AMD HDSup), else 0. The kernel's own answer, which
     * also needs the driver's support, is bit 0 of `capabilities`.
     */
    uint32_t dirty_tracking_hardware;
    /**
     * VT-d: `flags` (bit 0: the Sapphire Rapids erratum 772415).
     */
    uint32_t vtd_flags;
    /**
     * VT-d: CAP_REG.
     */
    uint64_t vtd_cap;
    /**
     * VT-d: ECAP_REG.
     */
    uint64_t vtd_ecap;
    /**
     * SMMUv3: `flags`.
     */
    uint32_t smmuv3_flags;
    /**
     * SMMUv3: IDR0 to IDR5.
     */
    uint32_t smmuv3_idr[6];
    /**
     * SMMUv3: IIDR (implementation).
     */
    uint32_t smmuv3_iidr;
    /**
     * SMMUv3: AIDR (architecture version).
     */
    uint32_t smmuv3_aidr;
    /**
     * Always 0 (padding, not from the kernel).
     */
    uint32_t reserved;
    /**
     * AMD: EFR (Extended Feature Register).
     */
    uint64_t amd_efr;
    /**
     * AMD: EFR2.
     */
    uint64_t amd_efr2;
};

/**
 * An sPAPR TCE container's answer (since 0.5). A sized struct: the caller sets `size` to
 * `sizeof(struct vfio_iommu_info_spapr_tce)`; the library fills the rest.
 */
struct vfio_iommu_info_spapr_tce {
    /**
     * `sizeof(struct vfio_iommu_info_spapr_tce)`, set by the caller; on return, the bytes
     * the library filled.
     */
    uint32_t size;
    /**
     * `argsz` as found (the kernel never rewrites it).
     */
    uint32_t argsz;
    /**
     * `flags` as found (`VFIO_IOMMU_SPAPR_INFO_DDW`, bit 0, is the only flag).
     */
    uint32_t flags;
    /**
     * `dma32_window_start`: the default window's first bus address.
     */
    uint32_t dma32_window_start;
    /**
     * `dma32_window_size`: its size in bytes (0: no default window).
     */
    uint32_t dma32_window_size;
    /**
     * 1 when there is a default window (`default_window_start`/`_end` are valid).
     */
    uint32_t has_default_window;
    /**
     * The default window's first IOVA (an absolute bus address).
     */
    uint64_t default_window_start;
    /**
     * Its last IOVA (inclusive).
     */
    uint64_t default_window_end;
    /**
     * The default window's IOMMU page size: 4096 (the kernel creates it with 4K TCEs).
     */
    uint64_t default_window_page_size;
    /**
     * One of `VFIO_IOMMU_INFO_DDW_*`.
     */
    uint32_t ddw_state;
    /**
     * With `VFIO_IOMMU_INFO_DDW_SUPPORTED`: how many windows at once.
     */
    uint32_t ddw_max_windows;
    /**
     * With `VFIO_IOMMU_INFO_DDW_SUPPORTED`: the page sizes a dynamic window may use.
     */
    uint64_t ddw_page_sizes;
    /**
     * With `VFIO_IOMMU_INFO_DDW_SUPPORTED`: the most TCE table levels.
     */
    uint32_t ddw_levels;
    /**
     * Reserved, 0.
     */
    uint32_t reserved;
    /**
     * Where PowerNV and QEMU's pseries put a dynamic window (2^59) when DDW is there, else
     * 0: an expectation, not a fact; the platform decides and
     * `vfio_iommu_info_spapr_tce_create_window()` returns its choice.
     */
    uint64_t ddw_expected_start;
};

/**
 * What the guest is, for `vfio_iommu_info_guest_plan_new()` (since 0.7).
 */
struct vfio_iommu_info_guest_request {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_guest_request)`. Read, never
     * written.
     */
    uint32_t size;
    /**
     * 0 (other values are `VFIO_IOMMU_INFO_E_INVALID`).
     */
    uint32_t flags;
    /**
     * Boot RAM in bytes (QEMU's `-m`), a whole number of `backing_page`.
     */
    uint64_t ram;
    /**
     * The page backing guest RAM; 0 for 4 KiB.
     */
    uint64_t backing_page;
    /**
     * How many devices are passed through; 0 for 1.
     */
    uint32_t devices;
    /**
     * `VFIO_IOMMU_INFO_VIOMMU_*`.
     */
    uint32_t viommu;
    /**
     * The phys-bits to check; 0 to let the plan choose.
     */
    uint32_t phys_bits;
    /**
     * The host CPU's physical address bits; 0 reads `/proc/cpuinfo`,
     * `VFIO_IOMMU_INFO_CPU_BITS_UNKNOWN` when not known.
     */
    uint32_t cpu_phys_bits;
    /**
     * The backend the VMM maps through (`VFIO_IOMMU_INFO_BACKEND_TYPE1`, `_IOMMUFD_COMPAT`,
     * `_IOMMUFD`); 0 for the space's own, type1 when it has none.
     */
    uint32_t backend;
    /**
     * Always 0 (padding).
     */
    uint32_t reserved;
    /**
     * The container's DMA_AVAIL, or `VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN`.
     */
    int64_t dma_avail;
};

/**
 * A plan's decisions and budgets (since 0.7).
 */
struct vfio_iommu_info_guest_summary {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_guest_summary)`; on success, the
     * number of bytes the library filled.
     */
    uint32_t size;
    /**
     * 1 when the host meets the whole plan, 0 when not (the refusals say why).
     */
    uint32_t fits;
    /**
     * The guest's phys-bits.
     */
    uint32_t phys_bits;
    /**
     * The vIOMMU's `aw-bits`, 0 without one.
     */
    uint32_t aw_bits;
    /**
     * `max-ram-below-4g` when the plan lowers it, else 0.
     */
    uint64_t max_ram_below_4g;
    /**
     * The 64-bit PCI window (`pci-hole64-size` is its size).
     */
    struct vfio_iommu_info_range mmio64;
    /**
     * The most mappings live at once (what DMA_AVAIL must allow).
     */
    uint64_t mappings;
    /**
     * The bytes the backend pins at most.
     */
    uint64_t memlock;
    /**
     * The number of refusals.
     */
    size_t refusal_count;
};

/**
 * What attaching a group makes of a space (since 0.8).
 */
struct vfio_iommu_info_what_if {
    /**
     * Set by the caller to `sizeof(struct vfio_iommu_info_what_if)`; on success, the
     * number of bytes the library filled.
     */
    uint32_t size;
    /**
     * 1 when the prediction is exact (the aperture is known); 0 when the kernel's ranges
     * after the attach may be narrower than the predicted ones (never wider).
     */
    uint32_t exact;
    /**
     * 1 when the attach changes the usable ranges.
     */
    uint32_t changes;
    /**
     * `VFIO_IOMMU_INFO_APERTURE_*`.
     */
    uint32_t aperture_source;
    /**
     * The new domain's address width with `VFIO_IOMMU_INFO_APERTURE_REGISTERS`, else 0.
     */
    uint32_t aperture_bits;
    /**
     * The positive errno the kernel refuses the attach with, given the live mappings
     * (type1: EINVAL; iommufd: EADDRINUSE), or 0 when it accepts it.
     */
    int32_t refusal_errno;
    /**
     * The new domain's aperture with `VFIO_IOMMU_INFO_APERTURE_REGISTERS`, else zeros.
     */
    struct vfio_iommu_info_range aperture;
    /**
     * The index in `live` of the first mapping the attach cannot keep, or `SIZE_MAX`.
     */
    size_t refused_mapping;
    /**
     * How many pieces the attach takes away from the space (the JSON lists them).
     */
    size_t taken_count;
};

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * The version of the library loaded at run time, as
 * `(major << 16) | (minor << 8) | patch`; compare it with the header's
 * `VFIO_IOMMU_INFO_VERSION_*` macros.
 */
uint32_t vfio_iommu_info_version(void);

/**
 * The version of the library loaded at run time as a static NUL-terminated string
 * (`"0.8.0"`); never NULL, not to be freed.
 */
const char *vfio_iommu_info_version_string(void);

/**
 * Opens the IOMMU group of `target` in a new container and queries it.
 *
 * `target` is an IOMMU group number (`"4"`), a group path (`"/dev/vfio/4"`) or a PCI
 * address (`"0000:03:00.0"` or `"03:00.0"`). The library opens the group, checks it is
 * viable, opens `/dev/vfio/vfio`, attaches the group, sets the best type1 model and
 * queries it.
 *
 * On success, returns 0 and stores a new info object in `*info_out` (freed with
 * `vfio_iommu_info_free()`) and, when `container_out` is not NULL, the open container in
 * `*container_out` (freed with `vfio_iommu_info_container_free()`, to map DMA on); with
 * `container_out` NULL the container is closed before returning. On failure, nothing is
 * written and the code is the kernel's negative errno (`-ENOENT`: no such group or VFIO
 * not loaded; `-EACCES`: no permission on `/dev/vfio/N`; `-EBUSY`: the group is open
 * elsewhere; `-EPERM` at `VFIO_SET_IOMMU`: no interrupt remapping), or
 * `VFIO_IOMMU_INFO_E_NOT_VIABLE`, `_NO_DEVICE`, `_NO_IOMMU_GROUP`, `_NO_TYPE1`,
 * `_INVALID` (a target that is none of the three forms, or not UTF-8), `_NULL`, and
 * rarely `_API_VERSION`, `_SYSFS_FORMAT`, `_MALFORMED`, `_SIZE` (as for
 * `vfio_iommu_info_query()`) or `_INTERNAL`. The last error names the group, device,
 * driver or path, and what to do.
 *
 * # Safety
 * `target` must be a NUL-terminated string; `info_out` and a non-NULL `container_out`
 * must point to writable storage for a pointer.
 */
int vfio_iommu_info_open(const char *target,
                         struct vfio_iommu_info_container **container_out,
                         struct vfio_iommu_info **info_out);

/**
 * `vfio_iommu_info_open()` for several targets in one container (the groups a VMM
 * passes through together): `targets` is an array of `n_targets` strings, each a group
 * number, a group path or a PCI address. Two functions of one group are opened once.
 * The returns and ownership are those of `vfio_iommu_info_open()`; `n_targets` 0 is
 * `VFIO_IOMMU_INFO_E_INVALID`.
 *
 * # Safety
 * `targets` must point to `n_targets` NUL-terminated strings; `info_out` and a non-NULL
 * `container_out` must point to writable storage for a pointer.
 */
int vfio_iommu_info_open_targets(const char *const *targets,
                                 size_t n_targets,
                                 struct vfio_iommu_info_container **container_out,
                                 struct vfio_iommu_info **info_out);

/**
 * Queries the container again (DMA_AVAIL changes as mappings are made). On success,
 * returns 0 and stores a new info object in `*info_out`, freed with
 * `vfio_iommu_info_free()`; on failure, the codes of `vfio_iommu_info_query()`.
 *
 * # Safety
 * `container` must be a live handle of this library; `info_out` must be writable.
 */
int vfio_iommu_info_container_query(const struct vfio_iommu_info_container *container,
                                    struct vfio_iommu_info **info_out);

/**
 * The container's fd (`/dev/vfio/vfio`), for `VFIO_IOMMU_MAP_DMA` and the like. The
 * handle owns it: the caller must not close it (nor `dup2` over it); it is valid until
 * `vfio_iommu_info_container_free()`, which closes it. `dup` it to keep a file past the
 * free.
 *
 * Returns 0 and writes `*fd`, or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * # Safety
 * `container` must be a live handle of this library; `fd` must be writable.
 */
int vfio_iommu_info_container_fd(const struct vfio_iommu_info_container *container,
                                 int *fd);

/**
 * The number of groups attached to the container.
 *
 * Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_container_groups()` (0.4), which lends the whole list in
 * one call; kept, like every export of .so.0.
 *
 * # Safety
 * `container` must be a live handle of this library; `count` must be writable.
 */
int vfio_iommu_info_container_group_count(const struct vfio_iommu_info_container *container,
                                          size_t *count);

/**
 * The group at `index`: its fd (`/dev/vfio/N`, for `VFIO_GROUP_GET_DEVICE_FD`) and its
 * number (-1 when its node's name is not a number). The handle owns the fd: the caller
 * must not close it; it is valid until `vfio_iommu_info_container_free()`, which closes
 * it.
 *
 * Returns 0 and writes `*fd` and `*number`, `VFIO_IOMMU_INFO_E_RANGE`, or
 * `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_container_groups()` (0.4), which lends the whole list in
 * one call; kept, like every export of .so.0.
 *
 * # Safety
 * `container` must be a live handle of this library; `fd` and `number` must be writable.
 */
int vfio_iommu_info_container_group(const struct vfio_iommu_info_container *container,
                                    size_t index,
                                    int *fd,
                                    int64_t *number);

/**
 * The groups attached to the container, in one call: `*items` receives an array of
 * `*count` structs that the handle lends, read-only and valid until
 * `vfio_iommu_info_container_free()` (NULL and 0 when there is none), each with its fd,
 * its number and `size` set to `sizeof(struct vfio_iommu_info_group)` of 0.4, the
 * array's stride. The handle owns the fds: the caller must not close them.
 *
 * Returns 0 or `VFIO_IOMMU_INFO_E_NULL` (`container`, `items` or `count`); nothing is
 * written on failure.
 *
 * Since 0.4.
 *
 * # Safety
 * `container` must be a live handle of this library; `items` and `count` must be
 * writable.
 */
int vfio_iommu_info_container_groups(const struct vfio_iommu_info_container *container,
                                     const struct vfio_iommu_info_group **items,
                                     size_t *count);

/**
 * Closes the container's and its groups' fds and frees the handle. NULL is accepted
 * and ignored. Mappings made on the container go away with it (the kernel's rule).
 *
 * A pointer that is not a container handle is refused: nothing is freed and the last
 * error says what it is. The handle's tag is cleared before its memory is freed, so a
 * second free of the same pointer is usually refused too (a best effort: freeing twice
 * is still undefined behaviour). Before closing each fd the handle owns, it checks that
 * the number still names the file it opened (kcmp, against a private duplicate): when
 * the caller closed one and the number was reused for another file, that file is left
 * open and the handle is leaked instead, with a last error saying which fd.
 *
 * # Safety
 * `container` must be NULL or a handle from this library not already freed.
 */
void vfio_iommu_info_container_free(struct vfio_iommu_info_container *container);

/**
 * Decodes a `struct vfio_iommu_type1_info` buffer captured from a kernel (for example by
 * `vfio-iommu-info query --save-raw`): `len` bytes at `buf`, as the kernel filled them.
 *
 * `byte_order` is one of `VFIO_IOMMU_INFO_BYTE_ORDER_*` (`LITTLE` or `BIG` for a capture
 * from another architecture). `buf` may be NULL only when `len` is 0. The library does
 * not keep `buf`. A buffer shorter than the 16-byte fixed part (`len` 0 included) is
 * malformed.
 *
 * On success, returns 0 and stores a new object in `*out`, which the caller frees with
 * `vfio_iommu_info_free()`. On failure, returns `VFIO_IOMMU_INFO_E_MALFORMED` (the last
 * error names the byte offset and what is wrong there), `VFIO_IOMMU_INFO_E_NULL` or
 * `VFIO_IOMMU_INFO_E_INVALID`, and leaves `*out` untouched.
 *
 * # Safety
 * `buf` must point to `len` readable bytes; `out` must point to writable storage for a
 * pointer.
 */
int vfio_iommu_info_decode(const uint8_t *buf,
                           size_t len,
                           uint32_t byte_order,
                           struct vfio_iommu_info **out);

/**
 * Queries a type1 container: one `VFIO_IOMMU_GET_INFO` on the common path (a larger
 * buffer only when the capabilities do not fit 1 KiB).
 *
 * `container_fd` is an open `/dev/vfio/vfio` fd with a group attached and an IOMMU model
 * set (`VFIO_SET_IOMMU`). It stays the caller's: the library neither keeps nor closes
 * it, on success or failure.
 *
 * On success, returns 0 and stores a new object in `*out`, freed with
 * `vfio_iommu_info_free()`. On failure, `*out` is untouched and the code is:
 * the kernel's negative errno (`-EINVAL`: no IOMMU model set yet; `-ENOTTY`: not a VFIO
 * fd; `-EBADF`: not an open fd), `VFIO_IOMMU_INFO_E_NOT_CONTAINER` (a VFIO fd that is not
 * a type1 container, such as a device fd), `VFIO_IOMMU_INFO_E_MALFORMED` or
 * `VFIO_IOMMU_INFO_E_SIZE`; the last error says which fd and what to do.
 *
 * # Safety
 * `out` must point to writable storage for a pointer; `container_fd` must not be closed
 * by another thread during the call.
 */
int vfio_iommu_info_query(int container_fd,
                          struct vfio_iommu_info **out);

/**
 * Frees an info object. NULL is accepted and ignored. Freeing the same object twice is
 * undefined behaviour.
 *
 * # Safety
 * `info` must be NULL or an object from this library not already freed.
 */
void vfio_iommu_info_free(struct vfio_iommu_info *info);

/**
 * Copies the fixed part of the info (`argsz`, `flags`, `cap_offset`, truncation) into
 * `*out`, whose `size` the caller sets to `sizeof(struct vfio_iommu_info_header)`.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_NULL`, or `VFIO_IOMMU_INFO_E_INVALID` when `out->size` is
 * too small; `*out` is written only on success.
 *
 * # Safety
 * `info` must be a live object of this library; `out` must point to a writable struct.
 */
int vfio_iommu_info_header(const struct vfio_iommu_info *info,
                           struct vfio_iommu_info_header *out);

/**
 * The supported IOMMU page sizes: bit n set means pages of 2^n bytes. The smallest is
 * the granule every mapping's address and size must be a multiple of.
 *
 * Returns 0 and writes `*bitmap`, or `VFIO_IOMMU_INFO_E_ABSENT` when the PGSIZES flag is
 * clear, or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * # Safety
 * `info` must be a live object of this library; `bitmap` must be writable.
 */
int vfio_iommu_info_page_sizes(const struct vfio_iommu_info *info,
                               uint64_t *bitmap);

/**
 * The number of usable IOVA ranges (the aperture minus the reserved holes).
 *
 * Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_ABSENT` when the kernel reported
 * no IOVA_RANGE capability (`vfio_iommu_info_absence()` says why), or
 * `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_space_from_info()` and `vfio_iommu_info_space_view()` (0.4):
 * one space, whatever its source, lends every list and the aperture; kept, like every export
 * of .so.0.
 *
 * # Safety
 * `info` must be a live object of this library; `count` must be writable.
 */
int vfio_iommu_info_iova_range_count(const struct vfio_iommu_info *info,
                                     size_t *count);

/**
 * The usable IOVA range at `index`, in the kernel's order (ascending on every kernel
 * seen). A mapping must lie inside one range.
 *
 * Returns 0 and writes `*range`, `VFIO_IOMMU_INFO_E_RANGE` when `index` is past the end,
 * `VFIO_IOMMU_INFO_E_ABSENT` without ranges, or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_space_from_info()` and `vfio_iommu_info_space_view()` (0.4):
 * one space, whatever its source, lends every list and the aperture; kept, like every export
 * of .so.0.
 *
 * # Safety
 * `info` must be a live object of this library; `range` must be writable.
 */
int vfio_iommu_info_iova_range(const struct vfio_iommu_info *info,
                               size_t index,
                               struct vfio_iommu_info_range *range);

/**
 * The IOMMU aperture, the "DMA window": from the lowest start to the highest end of the
 * IOVA ranges. Holes lie inside it.
 *
 * Returns 0 and writes `*range`, `VFIO_IOMMU_INFO_E_ABSENT` without ranges, or
 * `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_space_from_info()` and `vfio_iommu_info_space_view()` (0.4):
 * one space, whatever its source, lends every list and the aperture; kept, like every export
 * of .so.0.
 *
 * # Safety
 * `info` must be a live object of this library; `range` must be writable.
 */
int vfio_iommu_info_aperture(const struct vfio_iommu_info *info,
                             struct vfio_iommu_info_range *range);

/**
 * The number of holes inside the aperture (reserved regions: the MSI window, AMD's
 * HyperTransport hole, RMRRs): 0 when the ranges are contiguous.
 *
 * Returns 0 and writes `*count`, `VFIO_IOMMU_INFO_E_ABSENT` without ranges, or
 * `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_space_from_info()` and `vfio_iommu_info_space_view()` (0.4):
 * one space, whatever its source, lends every list and the aperture; kept, like every export
 * of .so.0.
 *
 * # Safety
 * `info` must be a live object of this library; `count` must be writable.
 */
int vfio_iommu_info_hole_count(const struct vfio_iommu_info *info,
                               size_t *count);

/**
 * The hole at `index`, ascending.
 *
 * Returns 0 and writes `*range`, `VFIO_IOMMU_INFO_E_RANGE` when `index` is past the end,
 * `VFIO_IOMMU_INFO_E_ABSENT` without ranges, or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_space_from_info()` and `vfio_iommu_info_space_view()` (0.4):
 * one space, whatever its source, lends every list and the aperture; kept, like every export
 * of .so.0.
 *
 * # Safety
 * `info` must be a live object of this library; `range` must be writable.
 */
int vfio_iommu_info_hole(const struct vfio_iommu_info *info,
                         size_t index,
                         struct vfio_iommu_info_range *range);

/**
 * The dirty-page tracking capability, into `*out`, whose `size` the caller sets to
 * `sizeof(struct vfio_iommu_info_migration)`.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_ABSENT` when not reported (`vfio_iommu_info_absence()`
 * says why), `VFIO_IOMMU_INFO_E_INVALID` when `out->size` is too small, or
 * `VFIO_IOMMU_INFO_E_NULL`. `*out` is written only on success.
 *
 * # Safety
 * `info` must be a live object of this library; `out` must point to a writable struct.
 */
int vfio_iommu_info_migration(const struct vfio_iommu_info *info,
                              struct vfio_iommu_info_migration *out);

/**
 * How many more `VFIO_IOMMU_MAP_DMA` calls the container accepts (DMA_AVAIL), as of the
 * query (or the capture).
 *
 * Returns 0 and writes `*avail`, `VFIO_IOMMU_INFO_E_ABSENT` when not reported (before
 * Linux 5.10 the limit is the vfio_iommu_type1 `dma_entry_limit` parameter, 65535 by
 * default), or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * # Safety
 * `info` must be a live object of this library; `avail` must be writable.
 */
int vfio_iommu_info_dma_avail(const struct vfio_iommu_info *info,
                              uint32_t *avail);

/**
 * Whether the capability `cap_id` (`VFIO_IOMMU_INFO_CAP_*`) was reported, and if not,
 * why: `*reason` is `VFIO_IOMMU_INFO_PRESENT` or a `VFIO_IOMMU_INFO_ABSENT_*` code.
 * When `text` is not NULL, `*text` receives the explanation in words ("" when present),
 * a NUL-terminated string owned by `info` and valid until it is freed.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_INVALID` for an unknown `cap_id`, or
 * `VFIO_IOMMU_INFO_E_NULL` (`info` or `reason`).
 *
 * # Safety
 * `info` must be a live object of this library; `reason` and a non-NULL `text` must be
 * writable.
 */
int vfio_iommu_info_absence(const struct vfio_iommu_info *info,
                            uint32_t cap_id,
                            uint32_t *reason,
                            const char **text);

/**
 * The number of capabilities in the chain whose id this library does not know (from a
 * newer kernel); `vfio_iommu_info_unknown_cap()` reads them.
 *
 * Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_unknown_caps()` (0.4), which lends the whole list in one
 * call; kept, like every export of .so.0.
 *
 * # Safety
 * `info` must be a live object of this library; `count` must be writable.
 */
int vfio_iommu_info_unknown_cap_count(const struct vfio_iommu_info *info,
                                      size_t *count);

/**
 * The unknown capability at `index` (chain order), with its raw bytes, into `*out`,
 * whose `size` the caller sets to `sizeof(struct vfio_iommu_info_cap)`.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_RANGE`, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or
 * `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_unknown_caps()` (0.4), which lends the whole list in one
 * call; kept, like every export of .so.0.
 *
 * # Safety
 * `info` must be a live object of this library; `out` must point to a writable struct.
 */
int vfio_iommu_info_unknown_cap(const struct vfio_iommu_info *info,
                                size_t index,
                                struct vfio_iommu_info_cap *out);

/**
 * The number of capabilities in the chain, known and unknown.
 *
 * Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_chain()` (0.4), which lends the whole list in one call;
 * kept, like every export of .so.0.
 *
 * # Safety
 * `info` must be a live object of this library; `count` must be writable.
 */
int vfio_iommu_info_chain_length(const struct vfio_iommu_info *info,
                                 size_t *count);

/**
 * The capability at `index` in chain order (where the kernel placed it), into `*out`,
 * whose `size` the caller sets to `sizeof(struct vfio_iommu_info_cap)`. `bytes` is set
 * for unknown capabilities only.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_RANGE`, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or
 * `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_chain()` (0.4), which lends the whole list in one call;
 * kept, like every export of .so.0.
 *
 * # Safety
 * `info` must be a live object of this library; `out` must point to a writable struct.
 */
int vfio_iommu_info_chain_entry(const struct vfio_iommu_info *info,
                                size_t index,
                                struct vfio_iommu_info_cap *out);

/**
 * The capabilities in the chain whose id this library does not know (from a newer
 * kernel), in chain order, in one call: `*items` receives an array of `*count` structs
 * that `info` lends, read-only and valid until `vfio_iommu_info_free()` (NULL and 0 when
 * there is none). Each carries its raw bytes, owned by `info` too, and `size` set to
 * `sizeof(struct vfio_iommu_info_cap)` of 0.4, the array's stride.
 *
 * Returns 0 or `VFIO_IOMMU_INFO_E_NULL` (`info`, `items` or `count`); nothing is written
 * on failure.
 *
 * Since 0.4.
 *
 * # Safety
 * `info` must be a live object of this library; `items` and `count` must be writable.
 */
int vfio_iommu_info_unknown_caps(const struct vfio_iommu_info *info,
                                 const struct vfio_iommu_info_cap **items,
                                 size_t *count);

/**
 * Every capability of the chain, known and unknown, in chain order (where the kernel
 * placed them), in one call: `*items` receives an array of `*count` structs that `info`
 * lends, read-only and valid until `vfio_iommu_info_free()` (NULL and 0 for an empty
 * chain). `bytes` is set for unknown capabilities only; `size` is
 * `sizeof(struct vfio_iommu_info_cap)` of 0.4, the array's stride.
 *
 * Returns 0 or `VFIO_IOMMU_INFO_E_NULL` (`info`, `items` or `count`); nothing is written
 * on failure.
 *
 * Since 0.4.
 *
 * # Safety
 * `info` must be a live object of this library; `items` and `count` must be writable.
 */
int vfio_iommu_info_chain(const struct vfio_iommu_info *info,
                          const struct vfio_iommu_info_cap **items,
                          size_t *count);

/**
 * The info as the JSON object `vfio-iommu-info decode --json` prints (the same keys and
 * values), for logging or for tools. On success, `*json` receives a NUL-terminated string
 * the caller frees with `vfio_iommu_info_string_free()`.
 *
 * Returns 0 or `VFIO_IOMMU_INFO_E_NULL`; `*json` is written only on success.
 *
 * # Safety
 * `info` must be a live object of this library; `json` must be writable.
 */
int vfio_iommu_info_to_json(const struct vfio_iommu_info *info,
                            char **json);

/**
 * Frees a string this library returned (`vfio_iommu_info_to_json()`,
 * `vfio_iommu_info_space_to_json()`, `vfio_iommu_info_layout_to_json()`). NULL is
 * accepted and ignored.
 *
 * # Safety
 * `s` must be NULL or a string from this library not already freed.
 */
void vfio_iommu_info_string_free(char *s);

/**
 * The detail of the calling thread's last failure: what happened, where (fd, path, PCI
 * address, ioctl, byte offset) and what to do.
 *
 * Returns a NUL-terminated string owned by the library, never NULL: empty when the last
 * int-returning call on this thread succeeded, or when no message could be kept: in a
 * call made while the thread exits (from a `pthread_key_create` destructor, which runs
 * after the thread's own storage is gone) every function still works and returns its
 * code, but its message is not kept. It stays valid until the next int-returning call
 * on this thread, which resets it; copy it to keep it longer. The functions that return
 * no `int` leave it alone (a `_free` function keeps a message there only when it refuses
 * a pointer).
 */
const char *vfio_iommu_info_last_error(void);

/**
 * A static description of a code this library returns: `0`, a negative errno, or a
 * `VFIO_IOMMU_INFO_E_*` code; any other value gives "not a vfio-iommu-info result code".
 *
 * Returns a NUL-terminated string with static lifetime, never NULL; the caller must not
 * free it. For the detail of a failure (offsets, paths, what to do), use
 * `vfio_iommu_info_last_error()`.
 */
const char *vfio_iommu_info_strerror(int code);

/**
 * Whether `[iova, iova + len)` can be mapped through this container, exact up to
 * 2^64-1: the answer goes into `*verdict`, whose `size` the caller sets to
 * `sizeof(struct vfio_iommu_info_verdict)`. A span that cannot be mapped is an answer,
 * not an error: the function returns 0 with `verdict->problem` set to the first problem
 * in this order: `EMPTY`, `WRAPS`, `NO_RANGES`, `BEYOND_APERTURE`, `IN_HOLE` or
 * `ACROSS_RANGES`, `MISALIGNED` (checked only when the kernel reported page sizes).
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_INVALID` (`verdict->size`) or `VFIO_IOMMU_INFO_E_NULL`;
 * `*verdict` is written only on success.
 *
 * Superseded by `vfio_iommu_info_space_check()` on the space of the info (0.4: one space for
 * every source); kept, like every export of .so.0.
 *
 * # Safety
 * `info` must be a live object of this library; `verdict` must point to a writable
 * struct.
 */
int vfio_iommu_info_check(const struct vfio_iommu_info *info,
                          uint64_t iova,
                          uint64_t len,
                          struct vfio_iommu_info_verdict *verdict);

/**
 * A static description of a `VFIO_IOMMU_INFO_SPAN_*` code; never NULL, not to be freed.
 */
const char *vfio_iommu_info_span_problem_str(uint32_t problem);

/**
 * The usable IOVA space an info object reports: its IOVA ranges (ascending; ranges that
 * overlap, which no kernel reports, merged) and page sizes. Its holes carry no reserved
 * regions (an info object does not know them; a space from
 * `vfio_iommu_info_space_from_container()` does).
 *
 * On success, returns 0 and stores a new space in `*out`, freed with
 * `vfio_iommu_info_space_free()`; it does not refer to `info`, which may be freed first.
 * On failure, `*out` is untouched and the code is `VFIO_IOMMU_INFO_E_ABSENT` (no IOVA
 * ranges reported: `vfio_iommu_info_absence()` says why) or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Since 0.2.
 *
 * # Safety
 * `info` must be a live object of this library; `out` must point to writable storage for
 * a pointer.
 */
int vfio_iommu_info_space_from_info(const struct vfio_iommu_info *info,
                                    struct vfio_iommu_info_space **out);

/**
 * The usable IOVA space of an open container: it queries the container again and
 * attributes each hole to the reserved regions (sysfs
 * `/sys/kernel/iommu_groups/N/reserved_regions`) of the container's groups, so that
 * `vfio_iommu_info_space_hole_cause()` can say that a hole is the MSI window or AMD's
 * HyperTransport range.
 *
 * On success, returns 0 and stores a new space in `*out`, freed with
 * `vfio_iommu_info_space_free()` (independent of the container). On failure, `*out` is
 * untouched and the code is that of `vfio_iommu_info_container_query()`, a negative
 * errno or `VFIO_IOMMU_INFO_E_SYSFS_FORMAT` for a `reserved_regions` file that cannot be
 * read, `VFIO_IOMMU_INFO_E_ABSENT` when the container reports no IOVA ranges, or
 * `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Since 0.2.
 *
 * # Safety
 * `container` must be a live handle of this library; `out` must point to writable
 * storage for a pointer.
 */
int vfio_iommu_info_space_from_container(const struct vfio_iommu_info_container *container,
                                         struct vfio_iommu_info_space **out);

/**
 * A space of the caller's own: `n_ranges` usable ranges at `ranges` (inclusive ends, in
 * any order; touching ranges stay apart, as the kernel maps only inside one; overlapping
 * ones are merged) and the page
 * sizes `page_sizes` (bit n: 2^n bytes; 0 when unknown, then the granule is 4 KiB and
 * spans are not checked for alignment). For planning against a saved or expected layout
 * without a capture. `ranges` may be NULL when `n_ranges` is 0 (an empty space: every
 * check is `VFIO_IOMMU_INFO_SPAN_NO_RANGES`).
 *
 * On success, returns 0 and stores a new space in `*out`, freed with
 * `vfio_iommu_info_space_free()`; the library does not keep `ranges`. On failure, `*out`
 * is untouched and the code is `VFIO_IOMMU_INFO_E_INVALID` (a range whose start is above
 * its end, or more ranges than memory can hold) or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Since 0.2.
 *
 * # Safety
 * `ranges` must point to `n_ranges` readable ranges; `out` must point to writable storage
 * for a pointer.
 */
int vfio_iommu_info_space_new(const struct vfio_iommu_info_range *ranges,
                              size_t n_ranges,
                              uint64_t page_sizes,
                              struct vfio_iommu_info_space **out);

/**
 * Frees a space. NULL is accepted and ignored. Allocators and layouts made from it do not
 * refer to it and stay valid.
 *
 * Since 0.2.
 *
 * # Safety
 * `space` must be NULL or a space from this library not already freed.
 */
void vfio_iommu_info_space_free(struct vfio_iommu_info_space *space);

/**
 * The number of usable IOVA ranges.
 *
 * Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
 *
 * Superseded by `vfio_iommu_info_space_view()` (0.4), which gives the whole space in one call;
 * kept, like every export of .so.0.
 *
 * # Safety
 * `space` must be a live space of this library; `count` must be writable.
 */
int vfio_iommu_info_space_range_count(const struct vfio_iommu_info_space *space,
                                      size_t *count);

/**
 * The usable range at `index`, ascending (whatever the kernel's order). A mapping must
 * lie inside one range.
 *
 * Returns 0 and writes `*range`, `VFIO_IOMMU_INFO_E_RANGE` when `index` is past the end,
 * or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
 *
 * Superseded by `vfio_iommu_info_space_view()` (0.4), which gives the whole space in one call;
 * kept, like every export of .so.0.
 *
 * # Safety
 * `space` must be a live space of this library; `range` must be writable.
 */
int vfio_iommu_info_space_range(const struct vfio_iommu_info_space *space,
                                size_t index,
                                struct vfio_iommu_info_range *range);

/**
 * The supported IOMMU page sizes (bit n: pages of 2^n bytes).
 *
 * Returns 0 and writes `*bitmap`, `VFIO_IOMMU_INFO_E_ABSENT` when they are unknown (the
 * kernel did not report them, or a space made with `page_sizes` 0), or
 * `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
 *
 * Superseded by `vfio_iommu_info_space_view()` (0.4), which gives the whole space in one call;
 * kept, like every export of .so.0.
 *
 * # Safety
 * `space` must be a live space of this library; `bitmap` must be writable.
 */
int vfio_iommu_info_space_page_sizes(const struct vfio_iommu_info_space *space,
                                     uint64_t *bitmap);

/**
 * The granule: the smallest IOMMU page size, which every mapping's address and size must
 * be a multiple of; 4096 when the page sizes are unknown.
 *
 * Returns 0 and writes `*granule`, or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
 *
 * Superseded by `vfio_iommu_info_space_view()` (0.4), which gives the whole space in one call;
 * kept, like every export of .so.0.
 *
 * # Safety
 * `space` must be a live space of this library; `granule` must be writable.
 */
int vfio_iommu_info_space_granule(const struct vfio_iommu_info_space *space,
                                  uint64_t *granule);

/**
 * The aperture: from the lowest start to the highest end of the usable ranges.
 *
 * Returns 0 and writes `*range`, `VFIO_IOMMU_INFO_E_ABSENT` for a space without ranges,
 * or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
 *
 * Superseded by `vfio_iommu_info_space_view()` (0.4), which gives the whole space in one call;
 * kept, like every export of .so.0.
 *
 * # Safety
 * `space` must be a live space of this library; `range` must be writable.
 */
int vfio_iommu_info_space_aperture(const struct vfio_iommu_info_space *space,
                                   struct vfio_iommu_info_range *range);

/**
 * The number of holes inside the aperture (0 when the ranges are contiguous).
 *
 * Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
 *
 * Superseded by `vfio_iommu_info_space_view()` (0.4), which gives the whole space in one call;
 * kept, like every export of .so.0.
 *
 * # Safety
 * `space` must be a live space of this library; `count` must be writable.
 */
int vfio_iommu_info_space_hole_count(const struct vfio_iommu_info_space *space,
                                     size_t *count);

/**
 * The hole at `index` (ascending), into `*hole`, whose `size` the caller sets to
 * `sizeof(struct vfio_iommu_info_hole)`: its range, and the number and types of the
 * reserved regions that cause it.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_RANGE`, `VFIO_IOMMU_INFO_E_INVALID` (`hole->size`) or
 * `VFIO_IOMMU_INFO_E_NULL`; `*hole` is written only on success. Since 0.2.
 *
 * Superseded by `vfio_iommu_info_space_view()` (0.4), which gives the whole space in one call;
 * kept, like every export of .so.0.
 *
 * # Safety
 * `space` must be a live space of this library; `hole` must point to a writable struct.
 */
int vfio_iommu_info_space_hole(const struct vfio_iommu_info_space *space,
                               size_t index,
                               struct vfio_iommu_info_hole *hole);

/**
 * The reserved region `cause_index` (ascending) among those that cause hole
 * `hole_index`, into `*region`, whose `size` the caller sets to
 * `sizeof(struct vfio_iommu_info_reserved_region)`. `region->kind_name` is owned by the
 * space.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_RANGE` (either index), `VFIO_IOMMU_INFO_E_INVALID`
 * (`region->size`) or `VFIO_IOMMU_INFO_E_NULL`; `*region` is written only on success.
 * Since 0.2.
 *
 * Superseded by `vfio_iommu_info_space_hole_causes()` (0.4), which lends a hole's causes in
 * one call; kept, like every export of .so.0.
 *
 * # Safety
 * `space` must be a live space of this library; `region` must point to a writable
 * struct.
 */
int vfio_iommu_info_space_hole_cause(const struct vfio_iommu_info_space *space,
                                     size_t hole_index,
                                     size_t cause_index,
                                     struct vfio_iommu_info_reserved_region *region);

/**
 * Which hole holds `iova`: `*index` receives its index (for
 * `vfio_iommu_info_space_hole()`), or `VFIO_IOMMU_INFO_NO_HOLE` (`SIZE_MAX`) when `iova`
 * lies in no hole (in a usable range, or outside the aperture). Not being in a hole is an
 * answer, not an error.
 *
 * Returns 0, or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
 *
 * # Safety
 * `space` must be a live space of this library; `index` must be writable.
 */
int vfio_iommu_info_space_hole_at(const struct vfio_iommu_info_space *space,
                                  uint64_t iova,
                                  size_t *index);

/**
 * The number of ranges a virtual IOMMU must advertise as reserved so that a guest never
 * maps where the host cannot (virtio-iommu's `VIRTIO_IOMMU_RESV_MEM_T_RESERVED`): the
 * complement of the usable ranges in the 64-bit space, below and above the aperture
 * included (not to be confused with the holes' reserved regions).
 *
 * Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
 *
 * Superseded by `vfio_iommu_info_space_view()` (0.4), which gives the whole space in one call;
 * kept, like every export of .so.0.
 *
 * # Safety
 * `space` must be a live space of this library; `count` must be writable.
 */
int vfio_iommu_info_space_reserved_count(const struct vfio_iommu_info_space *space,
                                         size_t *count);

/**
 * The reserved range at `index` (ascending) of the list
 * `vfio_iommu_info_space_reserved_count()` counts.
 *
 * Returns 0 and writes `*range`, `VFIO_IOMMU_INFO_E_RANGE`, or `VFIO_IOMMU_INFO_E_NULL`.
 * Since 0.2.
 *
 * Superseded by `vfio_iommu_info_space_view()` (0.4), which gives the whole space in one call;
 * kept, like every export of .so.0.
 *
 * # Safety
 * `space` must be a live space of this library; `range` must be writable.
 */
int vfio_iommu_info_space_reserved(const struct vfio_iommu_info_space *space,
                                   size_t index,
                                   struct vfio_iommu_info_range *range);

/**
 * `vfio_iommu_info_check()` against a space: whether `[iova, iova + len)` can be mapped,
 * exact up to 2^64-1, into `*verdict` (whose `size` the caller sets), with the same
 * `VFIO_IOMMU_INFO_SPAN_*` problems in the same order. For `IN_HOLE`,
 * `vfio_iommu_info_space_hole_at(space, verdict->range.start, ...)` finds the hole and
 * its causes.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_INVALID` (`verdict->size`) or `VFIO_IOMMU_INFO_E_NULL`;
 * `*verdict` is written only on success. Since 0.2.
 *
 * # Safety
 * `space` must be a live space of this library; `verdict` must point to a writable
 * struct.
 */
int vfio_iommu_info_space_check(const struct vfio_iommu_info_space *space,
                                uint64_t iova,
                                uint64_t len,
                                struct vfio_iommu_info_verdict *verdict);

/**
 * The space as the JSON object `vfio-iommu-info plan --json` prints under `space`
 * (`ranges`, `iova_pgsizes`, `granule`, `aperture`, `holes` with their `causes`,
 * `reserved`), exact integers up to 2^64-1. On success, `*json` receives a NUL-terminated
 * string the caller frees with `vfio_iommu_info_string_free()`.
 *
 * Returns 0 or `VFIO_IOMMU_INFO_E_NULL`; `*json` is written only on success. Since 0.2.
 *
 * # Safety
 * `space` must be a live space of this library; `json` must be writable.
 */
int vfio_iommu_info_space_to_json(const struct vfio_iommu_info_space *space,
                                  char **json);

/**
 * The whole space in one call into `*view`, whose `size` the caller sets to
 * `sizeof(struct vfio_iommu_info_space_view)`: the ranges, holes and reserved list
 * (arrays the space lends until it is freed), the aperture, the page sizes and granule,
 * and the facts it was made from. With `vfio_iommu_info_container_space()` or
 * `vfio_iommu_info_ioas_space()` and `vfio_iommu_info_space_free()`, three calls answer
 * where a VMM may map.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_INVALID` (`view->size`) or `VFIO_IOMMU_INFO_E_NULL`;
 * `*view` is written only on success. Since 0.4.
 *
 * # Safety
 * `space` must be a live space of this library; `view` must point to a writable struct.
 */
int vfio_iommu_info_space_view(const struct vfio_iommu_info_space *space,
                               struct vfio_iommu_info_space_view *view);

/**
 * The reserved regions (sysfs `reserved_regions` of the groups behind the space) that
 * cause hole `index` of the space, in one call: `*items` receives an array the space
 * lends until it is freed (NULL when the hole has no known cause) and `*count` its
 * length. A space of an info object or of the caller's ranges knows no causes.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_RANGE` when `index` is past the last hole, or
 * `VFIO_IOMMU_INFO_E_NULL`; nothing is written on failure. Since 0.4.
 *
 * # Safety
 * `space` must be a live space of this library; `items` and `count` must be writable.
 */
int vfio_iommu_info_space_hole_causes(const struct vfio_iommu_info_space *space,
                                      size_t index,
                                      const struct vfio_iommu_info_reserved_region **items,
                                      size_t *count);

/**
 * Why `[iova, iova + len)` cannot be mapped, in one line a VMM can print as its error
 * (since 0.6): the span, the problem (the same `VFIO_IOMMU_INFO_SPAN_*` checks in the same
 * order as `vfio_iommu_info_space_check()`), for a hole the hole and each reserved region
 * behind it (type, range, IOMMU group when the space knows it, see
 * `vfio_iommu_info_space_with_groups()`), for a span beyond the aperture the aperture and
 * the IOMMU's address width, and the fix. Exact up to 2^64-1.
 *
 * Returns 0 and stores in `*text` NULL when the span can be mapped, or a NUL-terminated
 * string the caller frees with `vfio_iommu_info_string_free()` when it cannot; returns
 * `VFIO_IOMMU_INFO_E_NULL` (`*text` untouched) when `space` or `text` is NULL.
 *
 * # Safety
 * `space` must be a live space of this library; `text` must be writable.
 */
int vfio_iommu_info_space_explain(const struct vfio_iommu_info_space *space,
                                  uint64_t iova,
                                  uint64_t len,
                                  char **text);

/**
 * A new space: `space` with each hole attributed to the reserved regions of the IOMMU
 * groups `groups[0..count]` (sysfs `/sys/kernel/iommu_groups/N/reserved_regions`), each
 * region remembering its group, so that `vfio_iommu_info_space_explain()` and
 * `vfio_iommu_info_space_hole_causes()` can name them (since 0.6). For a caller holding
 * only a container or IOAS fd (`vfio_iommu_info_container_space()`,
 * `vfio_iommu_info_ioas_space()`) that knows its groups; the regions replace any the space
 * had. The ranges, page sizes, backend and facts are those of `space`.
 *
 * On success, returns 0 and stores a new space in `*out`, freed with
 * `vfio_iommu_info_space_free()` (independent of `space`). On failure, `*out` is untouched
 * and the code is a negative errno (a group's file cannot be read, e.g. `-ENOENT` for a
 * group that does not exist), `VFIO_IOMMU_INFO_E_SYSFS_FORMAT` (a line that cannot be
 * parsed), or `VFIO_IOMMU_INFO_E_NULL`; the last error names the file. `groups` may be
 * NULL when `count` is 0 (the holes then have no causes).
 *
 * # Safety
 * `space` must be a live space of this library; `groups` must point to `count` readable
 * numbers; `out` must point to writable storage for a pointer.
 */
int vfio_iommu_info_space_with_groups(const struct vfio_iommu_info_space *space,
                                      const uint32_t *groups,
                                      size_t count,
                                      struct vfio_iommu_info_space **out);

/**
 * A new allocator over `space`, everything free. The allocator keeps its own copy of the
 * space: `space` may be freed first.
 *
 * On success, returns 0 and stores the allocator in `*out`, freed with
 * `vfio_iommu_info_allocator_free()`; on failure, `*out` is untouched and the code is
 * `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Since 0.2.
 *
 * # Safety
 * `space` must be a live space of this library; `out` must point to writable storage for
 * a pointer.
 */
int vfio_iommu_info_allocator_new(const struct vfio_iommu_info_space *space,
                                  struct vfio_iommu_info_allocator **out);

/**
 * Frees an allocator. NULL is accepted and ignored. (This frees the allocator itself; to
 * give back one IOVA span, use `vfio_iommu_info_allocator_release()`.)
 *
 * Since 0.2.
 *
 * # Safety
 * `allocator` must be NULL or an allocator from this library not already freed, and no
 * other thread may be using it.
 */
void vfio_iommu_info_allocator_free(struct vfio_iommu_info_allocator *allocator);

/**
 * Allocates `size` bytes of IOVA space (rounded up to the granule) aligned to `align` (a
 * power of two; 0, or anything below the granule, means the granule), ending at or below
 * `limit`: the device's DMA limit, such as `(1ull << 28) - 1` for a device with 28
 * address bits, `UINT64_MAX` for none. Lower addresses are preferred.
 *
 * On success, returns 0 and writes the IOVA to `*iova_out`; the span is
 * `[*iova_out, *iova_out + size rounded up to the granule)`. On failure, `*iova_out` is
 * untouched and the code is `VFIO_IOMMU_INFO_E_NO_ROOM` (no free span fits below
 * `limit`), `VFIO_IOMMU_INFO_E_INVALID` (`size` 0, or an `align` that is not a power of
 * two) or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Since 0.2.
 *
 * # Safety
 * `allocator` must be a live allocator of this library; `iova_out` must be writable.
 */
int vfio_iommu_info_allocator_alloc(struct vfio_iommu_info_allocator *allocator,
                                    uint64_t size,
                                    uint64_t align,
                                    uint64_t limit,
                                    uint64_t *iova_out);

/**
 * Gives back the allocation or reservation that starts at `iova`, so that its span can
 * be allocated again. When `len_out` is not NULL, `*len_out` receives the span's length.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_NOT_ALLOCATED` when no live allocation or reservation
 * starts at `iova` (`*len_out` untouched), or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Since 0.2.
 *
 * # Safety
 * `allocator` must be a live allocator of this library; a non-NULL `len_out` must be
 * writable.
 */
int vfio_iommu_info_allocator_release(struct vfio_iommu_info_allocator *allocator,
                                      uint64_t iova,
                                      uint64_t *len_out);

/**
 * Reserves `[iova, iova + len)` for a fixed mapping (identity-mapped guest RAM, a
 * device's fixed window): no allocation will use it until it is released with
 * `vfio_iommu_info_allocator_release(allocator, iova, ...)`.
 *
 * Returns 0 or: `VFIO_IOMMU_INFO_E_UNUSABLE` when the kernel would not map the span
 * (outside the aperture, in a hole, across two ranges, or not a multiple of the granule;
 * `vfio_iommu_info_space_check()` says which), `VFIO_IOMMU_INFO_E_TOP_PAGE` when it
 * reaches the last page of the 64-bit space, `VFIO_IOMMU_INFO_E_OVERLAP` when it overlaps
 * a live allocation or reservation (the last error names one), `VFIO_IOMMU_INFO_E_INVALID`
 * for `len` 0, or `VFIO_IOMMU_INFO_E_NULL`. Nothing is reserved on failure.
 *
 * Since 0.2.
 *
 * # Safety
 * `allocator` must be a live allocator of this library.
 */
int vfio_iommu_info_allocator_reserve(struct vfio_iommu_info_allocator *allocator,
                                      uint64_t iova,
                                      uint64_t len);

/**
 * The number of live allocations and reservations.
 *
 * Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
 *
 * # Safety
 * `allocator` must be a live allocator of this library; `count` must be writable.
 */
int vfio_iommu_info_allocator_live_count(const struct vfio_iommu_info_allocator *allocator,
                                         size_t *count);

/**
 * The allocator's granule: the smallest IOMMU page size of its space (4096 when unknown),
 * the unit of every span.
 *
 * Returns 0 and writes `*granule`, or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
 *
 * # Safety
 * `allocator` must be a live allocator of this library; `granule` must be writable.
 */
int vfio_iommu_info_allocator_granule(const struct vfio_iommu_info_allocator *allocator,
                                      uint64_t *granule);

/**
 * Lays out guest RAM in `space` for an identity map (guest physical address == IOVA), the
 * way a VMM places the memory it will map with `VFIO_IOMMU_MAP_DMA`: the fixed regions
 * first, each checked against the usable ranges and the fixed regions before it, then the
 * others in the order given, lowest address first, each aligned to the largest IOMMU page
 * size not above min(len, 1 GiB) so huge pages can map it.
 *
 * `regions` is an array of `n_regions` structs whose `size` the caller sets to
 * `sizeof(struct vfio_iommu_info_ram_region)` (the same in every element); it may be NULL
 * when `n_regions` is 0, and the library does not keep it. `dma_avail` is the container's
 * DMA_AVAIL (`vfio_iommu_info_dma_avail()`), 0 to `UINT32_MAX`, or
 * `VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN`.
 *
 * A region that cannot be placed is an answer, not an error: its placement says why. On
 * success, returns 0 and stores a new layout in `*out`, freed with
 * `vfio_iommu_info_layout_free()` (independent of `space`). On failure, `*out` is
 * untouched and the code is `VFIO_IOMMU_INFO_E_INVALID` (an element's `size` too small or
 * not the same in every element, unknown `flags` bits, a `len` of 0, a `dma_avail` out of
 * range) or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Since 0.2.
 *
 * # Safety
 * `space` must be a live space of this library; `regions` must point to `n_regions`
 * readable elements of `regions[0].size` bytes each; `out` must point to writable storage
 * for a pointer.
 */
int vfio_iommu_info_layout_new(const struct vfio_iommu_info_space *space,
                               const struct vfio_iommu_info_ram_region *regions,
                               size_t n_regions,
                               int64_t dma_avail,
                               struct vfio_iommu_info_layout **out);

/**
 * Frees a layout. NULL is accepted and ignored.
 *
 * Since 0.2.
 *
 * # Safety
 * `layout` must be NULL or a layout from this library not already freed.
 */
void vfio_iommu_info_layout_free(struct vfio_iommu_info_layout *layout);

/**
 * The number of placements: one per region, in the order the regions were given.
 *
 * Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
 *
 * Superseded by `vfio_iommu_info_layout_placements()` (0.4), which lends the whole list in
 * one call; kept, like every export of .so.0.
 *
 * # Safety
 * `layout` must be a live layout of this library; `count` must be writable.
 */
int vfio_iommu_info_layout_placement_count(const struct vfio_iommu_info_layout *layout,
                                           size_t *count);

/**
 * The placement of region `index` (the order given to `vfio_iommu_info_layout_new()`),
 * into `*out`, whose `size` the caller sets to `sizeof(struct vfio_iommu_info_placement)`.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_RANGE`, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or
 * `VFIO_IOMMU_INFO_E_NULL`; `*out` is written only on success. Since 0.2.
 *
 * Superseded by `vfio_iommu_info_layout_placements()` (0.4), which lends the whole list in
 * one call; kept, like every export of .so.0.
 *
 * # Safety
 * `layout` must be a live layout of this library; `out` must point to a writable struct.
 */
int vfio_iommu_info_layout_placement(const struct vfio_iommu_info_layout *layout,
                                     size_t index,
                                     struct vfio_iommu_info_placement *out);

/**
 * The reserved region `cause_index` among those causing the hole that placement
 * `index`'s fixed region falls in (`problem` `VFIO_IOMMU_INFO_SPAN_IN_HOLE`,
 * `hole_cause_count` of them), into `*region`, whose `size` the caller sets to
 * `sizeof(struct vfio_iommu_info_reserved_region)`. `region->kind_name` is owned by the
 * layout.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_RANGE` (either index; a placement with no hole has no
 * causes), `VFIO_IOMMU_INFO_E_INVALID` (`region->size`) or `VFIO_IOMMU_INFO_E_NULL`.
 * Since 0.2.
 *
 * # Safety
 * `layout` must be a live layout of this library; `region` must point to a writable
 * struct.
 */
int vfio_iommu_info_layout_hole_cause(const struct vfio_iommu_info_layout *layout,
                                      size_t index,
                                      size_t cause_index,
                                      struct vfio_iommu_info_reserved_region *region);

/**
 * The mappings the layout needs, against DMA_AVAIL, into `*out`, whose `size` the caller
 * sets to `sizeof(struct vfio_iommu_info_mappings)`.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or `VFIO_IOMMU_INFO_E_NULL`; `*out`
 * is written only on success. Since 0.2.
 *
 * # Safety
 * `layout` must be a live layout of this library; `out` must point to a writable struct.
 */
int vfio_iommu_info_layout_mappings(const struct vfio_iommu_info_layout *layout,
                                    struct vfio_iommu_info_mappings *out);

/**
 * The number of page sizes the layout counts mappings for: the IOMMU page sizes up to
 * 1 GiB (none when the page sizes are unknown).
 *
 * Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`. Since 0.2.
 *
 * Superseded by `vfio_iommu_info_layout_pages()` (0.4), which lends the whole list in one
 * call; kept, like every export of .so.0.
 *
 * # Safety
 * `layout` must be a live layout of this library; `count` must be writable.
 */
int vfio_iommu_info_layout_page_count(const struct vfio_iommu_info_layout *layout,
                                      size_t *count);

/**
 * The mapping count at `index`, ascending by page size: how many `VFIO_IOMMU_MAP_DMA`
 * calls the placed regions need in pages of that size.
 *
 * Returns 0 and writes `*out`, `VFIO_IOMMU_INFO_E_RANGE`, or `VFIO_IOMMU_INFO_E_NULL`.
 * Since 0.2.
 *
 * Superseded by `vfio_iommu_info_layout_pages()` (0.4), which lends the whole list in one
 * call; kept, like every export of .so.0.
 *
 * # Safety
 * `layout` must be a live layout of this library; `out` must be writable.
 */
int vfio_iommu_info_layout_page(const struct vfio_iommu_info_layout *layout,
                                size_t index,
                                struct vfio_iommu_info_mapping_count *out);

/**
 * Every placement, one per region in the order the regions were given to
 * `vfio_iommu_info_layout_new()`, in one call: `*items` receives an array of `*count`
 * structs that the layout lends, read-only and valid until `vfio_iommu_info_layout_free()`
 * (NULL and 0 for a layout of no regions), each with `size` set to
 * `sizeof(struct vfio_iommu_info_placement)` of 0.4, the array's stride.
 *
 * Returns 0 or `VFIO_IOMMU_INFO_E_NULL` (`layout`, `items` or `count`); nothing is
 * written on failure. Since 0.4.
 *
 * # Safety
 * `layout` must be a live layout of this library; `items` and `count` must be writable.
 */
int vfio_iommu_info_layout_placements(const struct vfio_iommu_info_layout *layout,
                                      const struct vfio_iommu_info_placement **items,
                                      size_t *count);

/**
 * The mapping counts, ascending by page size (the IOMMU page sizes up to 1 GiB; none
 * when the page sizes are unknown), in one call: `*items` receives an array of `*count`
 * structs that the layout lends, read-only and valid until `vfio_iommu_info_layout_free()`
 * (NULL and 0 when there is none).
 *
 * Returns 0 or `VFIO_IOMMU_INFO_E_NULL` (`layout`, `items` or `count`); nothing is
 * written on failure. Since 0.4.
 *
 * # Safety
 * `layout` must be a live layout of this library; `items` and `count` must be writable.
 */
int vfio_iommu_info_layout_pages(const struct vfio_iommu_info_layout *layout,
                                 const struct vfio_iommu_info_mapping_count **items,
                                 size_t *count);

/**
 * The layout as the JSON object `vfio-iommu-info plan --json` prints under `layout`
 * (`placements`, `all_placed`, `mappings`), exact integers up to 2^64-1. On success,
 * `*json` receives a NUL-terminated string the caller frees with
 * `vfio_iommu_info_string_free()`.
 *
 * Returns 0 or `VFIO_IOMMU_INFO_E_NULL`; `*json` is written only on success. Since 0.2.
 *
 * # Safety
 * `layout` must be a live layout of this library; `json` must be writable.
 */
int vfio_iommu_info_layout_to_json(const struct vfio_iommu_info_layout *layout,
                                   char **json);

/**
 * Decodes a `struct vfio_device_info` buffer as the kernel filled it
 * (`VFIO_DEVICE_GET_INFO` on a device fd, or a capture): `len` bytes at `buf`, in
 * `byte_order` (`VFIO_IOMMU_INFO_BYTE_ORDER_*`), since 0.3. `buf` may be NULL only when
 * `len` is 0; the library does not keep it. A buffer shorter than the 16-byte fixed part
 * is malformed.
 *
 * On success, returns 0 and stores a new object in `*out`, freed with
 * `vfio_iommu_info_device_info_free()`. On failure, returns `VFIO_IOMMU_INFO_E_MALFORMED`
 * (the last error names the byte offset and what is wrong there), `_E_NULL` or
 * `_E_INVALID` (`byte_order`), and leaves `*out` untouched.
 *
 * # Safety
 * `buf` must point to `len` readable bytes; `out` must point to writable storage for a
 * pointer.
 */
int vfio_iommu_info_device_info_decode(const uint8_t *buf,
                                       size_t len,
                                       uint32_t byte_order,
                                       struct vfio_iommu_info_device_info **out);

/**
 * Frees a device-info object (since 0.3). NULL is accepted and ignored.
 *
 * # Safety
 * `info` must be NULL or an object from this library not already freed.
 */
void vfio_iommu_info_device_info_free(struct vfio_iommu_info_device_info *info);

/**
 * Copies the fixed part of the device info into `*out`, whose `size` the caller sets to
 * `sizeof(struct vfio_iommu_info_device_header)` (since 0.3).
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_NULL`, or `VFIO_IOMMU_INFO_E_INVALID` when `out->size`
 * is too small; `*out` is written only on success.
 *
 * # Safety
 * `info` must be a live object of this library; `out` must point to a writable struct.
 */
int vfio_iommu_info_device_info_header(const struct vfio_iommu_info_device_info *info,
                                       struct vfio_iommu_info_device_header *out);

/**
 * The s390 PCI function's DMA window: ZPCI_BASE's `[start_dma, end_dma]`, both ends
 * inclusive (since 0.3). A device without it (any non-s390 device, or a kernel before
 * 5.10) is `VFIO_IOMMU_INFO_E_ABSENT`, with the reason in the last error.
 *
 * Returns 0 and writes `*window`, `VFIO_IOMMU_INFO_E_ABSENT`, `VFIO_IOMMU_INFO_E_MALFORMED`
 * when the kernel reported `start_dma` above `end_dma`, or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * # Safety
 * `info` must be a live object of this library; `window` must be writable.
 */
int vfio_iommu_info_device_info_dma_window(const struct vfio_iommu_info_device_info *info,
                                           struct vfio_iommu_info_range *window);

/**
 * The ZPCI_BASE capability, into `*out`, whose `size` the caller sets to
 * `sizeof(struct vfio_iommu_info_zpci_base)` (since 0.3).
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_ABSENT` (not an s390 PCI function, or a kernel before
 * 5.10), `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * # Safety
 * `info` must be a live object of this library; `out` must point to a writable struct.
 */
int vfio_iommu_info_device_info_zpci_base(const struct vfio_iommu_info_device_info *info,
                                          struct vfio_iommu_info_zpci_base *out);

/**
 * The ZPCI_GROUP capability, into `*out`, whose `size` the caller sets to
 * `sizeof(struct vfio_iommu_info_zpci_group)` (since 0.3).
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_ABSENT`, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or
 * `VFIO_IOMMU_INFO_E_NULL`.
 *
 * # Safety
 * `info` must be a live object of this library; `out` must point to a writable struct.
 */
int vfio_iommu_info_device_info_zpci_group(const struct vfio_iommu_info_device_info *info,
                                           struct vfio_iommu_info_zpci_group *out);

/**
 * The ZPCI_UTIL capability's utility string (EBCDIC, as the kernel gives it, not
 * NUL-terminated): `*bytes` receives a pointer owned by `info`, valid until it is freed,
 * and `*len` its length (since 0.3).
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_ABSENT` or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * # Safety
 * `info` must be a live object of this library; `bytes` and `len` must be writable.
 */
int vfio_iommu_info_device_info_zpci_util(const struct vfio_iommu_info_device_info *info,
                                          const uint8_t **bytes,
                                          size_t *len);

/**
 * The ZPCI_PFIP capability's PCI function path bytes: `*bytes` receives a pointer
 * owned by `info`, valid until it is freed, and `*len` its length (since 0.3).
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_ABSENT` or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * # Safety
 * `info` must be a live object of this library; `bytes` and `len` must be writable.
 */
int vfio_iommu_info_device_info_zpci_pfip(const struct vfio_iommu_info_device_info *info,
                                          const uint8_t **bytes,
                                          size_t *len);

/**
 * The PCI_ATOMIC_COMP capability's flags: `VFIO_PCI_ATOMIC_COMP32` (1), `_COMP64` (2),
 * `_COMP128` (4), the AtomicOp completers the root port supports (since 0.3).
 *
 * Returns 0 and writes `*flags`, `VFIO_IOMMU_INFO_E_ABSENT` or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * # Safety
 * `info` must be a live object of this library; `flags` must be writable.
 */
int vfio_iommu_info_device_info_atomic_comp(const struct vfio_iommu_info_device_info *info,
                                            uint32_t *flags);

/**
 * The number of capabilities in the device-info chain, known and unknown (since 0.3).
 *
 * Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_device_info_chain()` (0.4), which lends the whole list in
 * one call; kept, like every export of .so.0.
 *
 * # Safety
 * `info` must be a live object of this library; `count` must be writable.
 */
int vfio_iommu_info_device_info_chain_length(const struct vfio_iommu_info_device_info *info,
                                             size_t *count);

/**
 * The device-info capability at `index` in chain order, into `*out`, whose `size` the
 * caller sets to `sizeof(struct vfio_iommu_info_cap)`; `id` is the kernel's
 * `VFIO_DEVICE_INFO_CAP_*` and `bytes` is set for a capability this library does not
 * know (since 0.3).
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_RANGE`, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or
 * `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_device_info_chain()` (0.4), which lends the whole list in
 * one call; kept, like every export of .so.0.
 *
 * # Safety
 * `info` must be a live object of this library; `out` must point to a writable struct.
 */
int vfio_iommu_info_device_info_chain_entry(const struct vfio_iommu_info_device_info *info,
                                            size_t index,
                                            struct vfio_iommu_info_cap *out);

/**
 * Every capability of the device-info chain, known and unknown, in chain order, in one
 * call: `*items` receives an array of `*count` structs that `info` lends, read-only and
 * valid until `vfio_iommu_info_device_info_free()` (NULL and 0 for an empty chain). `id`
 * is the kernel's `VFIO_DEVICE_INFO_CAP_*`, `bytes` is set for a capability this library
 * does not know (owned by `info` too), and `size` is
 * `sizeof(struct vfio_iommu_info_cap)` of 0.4, the array's stride.
 *
 * Returns 0 or `VFIO_IOMMU_INFO_E_NULL` (`info`, `items` or `count`); nothing is written
 * on failure.
 *
 * Since 0.4.
 *
 * # Safety
 * `info` must be a live object of this library; `items` and `count` must be writable.
 */
int vfio_iommu_info_device_info_chain(const struct vfio_iommu_info_device_info *info,
                                      const struct vfio_iommu_info_cap **items,
                                      size_t *count);

/**
 * Decodes a `struct vfio_region_info` buffer as the kernel filled it
 * (`VFIO_DEVICE_GET_REGION_INFO` on a device fd, or a capture): `len` bytes at `buf`,
 * in `byte_order` (`VFIO_IOMMU_INFO_BYTE_ORDER_*`), since 0.3. `buf` may be NULL only
 * when `len` is 0; the library does not keep it. A buffer shorter than the 32-byte
 * structure is malformed.
 *
 * On success, returns 0 and stores a new object in `*out`, freed with
 * `vfio_iommu_info_region_info_free()`. On failure, returns `VFIO_IOMMU_INFO_E_MALFORMED`
 * (the last error names the byte offset and what is wrong there), `_E_NULL` or
 * `_E_INVALID` (`byte_order`), and leaves `*out` untouched.
 *
 * # Safety
 * `buf` must point to `len` readable bytes; `out` must point to writable storage for a
 * pointer.
 */
int vfio_iommu_info_region_info_decode(const uint8_t *buf,
                                       size_t len,
                                       uint32_t byte_order,
                                       struct vfio_iommu_info_region_info **out);

/**
 * Frees a region-info object (since 0.3). NULL is accepted and ignored.
 *
 * # Safety
 * `info` must be NULL or an object from this library not already freed.
 */
void vfio_iommu_info_region_info_free(struct vfio_iommu_info_region_info *info);

/**
 * Copies the fixed part of the region info into `*out`, whose `size` the caller sets to
 * `sizeof(struct vfio_iommu_info_region_header)` (since 0.3).
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_NULL`, or `VFIO_IOMMU_INFO_E_INVALID` when `out->size`
 * is too small; `*out` is written only on success.
 *
 * # Safety
 * `info` must be a live object of this library; `out` must point to a writable struct.
 */
int vfio_iommu_info_region_info_header(const struct vfio_iommu_info_region_info *info,
                                       struct vfio_iommu_info_region_header *out);

/**
 * The TYPE capability of a device-specific region (vfio-pci's regions from index 9: an
 * Intel IGD OpRegion, a vGPU's EDID...), into `*out`, whose `size` the caller sets to
 * `sizeof(struct vfio_iommu_info_region_type)` (since 0.3). Unknown types and subtypes
 * keep their numbers, with `name` NULL.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_ABSENT` (a region with no TYPE capability, such as a
 * PCI BAR), `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * # Safety
 * `info` must be a live object of this library; `out` must point to a writable struct.
 */
int vfio_iommu_info_region_info_type(const struct vfio_iommu_info_region_info *info,
                                     struct vfio_iommu_info_region_type *out);

/**
 * Whether the region carries MSIX_MAPPABLE (Linux 4.16+): the MSI-X table in this BAR
 * may be mmapped with the rest of it. `*mappable` is 1 or 0 (since 0.3).
 *
 * Returns 0 or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * # Safety
 * `info` must be a live object of this library; `mappable` must be writable.
 */
int vfio_iommu_info_region_info_msix_mappable(const struct vfio_iommu_info_region_info *info,
                                              uint32_t *mappable);

/**
 * The number of areas of the region that may be mmapped (since 0.3): 0 without the
 * MMAP flag; with it, the areas of the SPARSE_MMAP capability when the region has one
 * (possibly 0), else 1, the whole region.
 *
 * Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_region_info_mmap_areas()` (0.4), which lends the whole
 * list in one call; kept, like every export of .so.0.
 *
 * # Safety
 * `info` must be a live object of this library; `count` must be writable.
 */
int vfio_iommu_info_region_info_mmap_area_count(const struct vfio_iommu_info_region_info *info,
                                                size_t *count);

/**
 * The mmappable area at `index`, in the kernel's order, into `*out`, whose `size` the
 * caller sets to `sizeof(struct vfio_iommu_info_mmap_area)` (since 0.3). `mmap` it at
 * the region's `offset` plus the area's `offset`; skip an area whose `within_region`
 * is 0.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_RANGE`, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or
 * `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_region_info_mmap_areas()` (0.4), which lends the whole
 * list in one call; kept, like every export of .so.0.
 *
 * # Safety
 * `info` must be a live object of this library; `out` must point to a writable struct.
 */
int vfio_iommu_info_region_info_mmap_area(const struct vfio_iommu_info_region_info *info,
                                          size_t index,
                                          struct vfio_iommu_info_mmap_area *out);

/**
 * The number of capabilities in the region-info chain, known and unknown (since 0.3).
 *
 * Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_region_info_chain()` (0.4), which lends the whole list in
 * one call; kept, like every export of .so.0.
 *
 * # Safety
 * `info` must be a live object of this library; `count` must be writable.
 */
int vfio_iommu_info_region_info_chain_length(const struct vfio_iommu_info_region_info *info,
                                             size_t *count);

/**
 * The region-info capability at `index` in chain order, into `*out`, whose `size` the
 * caller sets to `sizeof(struct vfio_iommu_info_cap)`; `id` is the kernel's
 * `VFIO_REGION_INFO_CAP_*` (1 SPARSE_MMAP, 2 TYPE, 3 MSIX_MAPPABLE, 4 and 5 the NVLINK2
 * capabilities of old POWER kernels) and `bytes` is set for a capability this library
 * does not know (since 0.3).
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_RANGE`, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or
 * `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_region_info_chain()` (0.4), which lends the whole list in
 * one call; kept, like every export of .so.0.
 *
 * # Safety
 * `info` must be a live object of this library; `out` must point to a writable struct.
 */
int vfio_iommu_info_region_info_chain_entry(const struct vfio_iommu_info_region_info *info,
                                            size_t index,
                                            struct vfio_iommu_info_cap *out);

/**
 * The areas of the region that may be mmapped, in the kernel's order, in one call (0
 * without the MMAP flag; with it, the areas of the SPARSE_MMAP capability when the region
 * has one, else one, the whole region): `*items` receives an array of `*count` structs
 * that `info` lends, read-only and valid until `vfio_iommu_info_region_info_free()` (NULL
 * and 0 when there is none), each with `size` set to
 * `sizeof(struct vfio_iommu_info_mmap_area)` of 0.4, the array's stride. `mmap` an area
 * at the region's `offset` plus the area's `offset`; skip one whose `within_region` is 0.
 *
 * Returns 0 or `VFIO_IOMMU_INFO_E_NULL` (`info`, `items` or `count`); nothing is written
 * on failure.
 *
 * Since 0.4.
 *
 * # Safety
 * `info` must be a live object of this library; `items` and `count` must be writable.
 */
int vfio_iommu_info_region_info_mmap_areas(const struct vfio_iommu_info_region_info *info,
                                           const struct vfio_iommu_info_mmap_area **items,
                                           size_t *count);

/**
 * Every capability of the region-info chain, known and unknown, in chain order, in one
 * call: `*items` receives an array of `*count` structs that `info` lends, read-only and
 * valid until `vfio_iommu_info_region_info_free()` (NULL and 0 for an empty chain). `id`
 * is the kernel's `VFIO_REGION_INFO_CAP_*`, `bytes` is set for a capability this library
 * does not know (owned by `info` too), and `size` is
 * `sizeof(struct vfio_iommu_info_cap)` of 0.4, the array's stride.
 *
 * Returns 0 or `VFIO_IOMMU_INFO_E_NULL` (`info`, `items` or `count`); nothing is written
 * on failure.
 *
 * Since 0.4.
 *
 * # Safety
 * `info` must be a live object of this library; `items` and `count` must be writable.
 */
int vfio_iommu_info_region_info_chain(const struct vfio_iommu_info_region_info *info,
                                      const struct vfio_iommu_info_cap **items,
                                      size_t *count);

/**
 * A static name of a `VFIO_IOMMU_INFO_BACKEND_*` code (`"type1"`, `"iommufd-compat"`,
 * `"iommufd"`, as `vfio-iommu-info query --json` prints it), or `"unknown"`; never
 * NULL, not to be freed (since 0.3).
 */
const char *vfio_iommu_info_backend_str(uint32_t backend);

/**
 * A static name of a `VFIO_IOMMU_INFO_SOURCE_*` code, as the JSON forms print it
 * (`"type1:iova-range-cap"`, `"iommufd:ioas-iova-ranges"`...; `"none"` for
 * `VFIO_IOMMU_INFO_SOURCE_NONE`), or `"unknown"`; never NULL, not to be freed
 * (since 0.3).
 */
const char *vfio_iommu_info_source_str(uint32_t source);

/**
 * The facts of a type1 answer (`VFIO_IOMMU_GET_INFO`, an info object), into `*out`,
 * whose `size` the caller sets to `sizeof(struct vfio_iommu_info_facts)` (since 0.3).
 *
 * `backend` says who answered: `VFIO_IOMMU_INFO_BACKEND_TYPE1` or
 * `VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT` (from `vfio_iommu_info_container_backend()`
 * or `vfio_iommu_info_query_backend()`); the same numbers mean different things: the
 * compat container's DMA_AVAIL of `UINT32_MAX` is `VFIO_IOMMU_INFO_LIMIT_UNLIMITED`.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_INVALID` (another `backend`, or `out->size` too small)
 * or `VFIO_IOMMU_INFO_E_NULL`; `*out` is written only on success.
 *
 * # Safety
 * `info` must be a live object of this library; `out` must point to a writable struct.
 */
int vfio_iommu_info_facts_type1(const struct vfio_iommu_info *info,
                                uint32_t backend,
                                struct vfio_iommu_info_facts *out);

/**
 * The facts of a type1 answer as the JSON object `vfio-iommu-info query --json` prints
 * under `facts`: `backend`, each fact `null` or `{"value", "source"}`, and `notes` (why a
 * fact is absent or means something other than it seems) (since 0.3). `backend` is as
 * for `vfio_iommu_info_facts_type1()`. On success, `*json` receives a string freed with
 * `vfio_iommu_info_string_free()`.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_INVALID` (`backend`) or `VFIO_IOMMU_INFO_E_NULL`;
 * `*json` is written only on success.
 *
 * # Safety
 * `info` must be a live object of this library; `json` must be writable.
 */
int vfio_iommu_info_facts_type1_to_json(const struct vfio_iommu_info *info,
                                        uint32_t backend,
                                        char **json);

/**
 * Who serves an open container: `*backend` is `VFIO_IOMMU_INFO_BACKEND_TYPE1` (the VFIO
 * container with `vfio_iommu_type1`) or `VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT`
 * (iommufd's compatibility container behind `/dev/vfio/vfio`), asked with the
 * iommufd-only `IOMMU_VFIO_IOAS` ioctl (since 0.3).
 *
 * Returns 0 or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * # Safety
 * `container` must be a live handle of this library; `backend` must be writable.
 */
int vfio_iommu_info_container_backend(const struct vfio_iommu_info_container *container,
                                      uint32_t *backend);

/**
 * `vfio_iommu_info_container_backend()` for a container fd the caller opened (after
 * `VFIO_SET_IOMMU`), as `vfio_iommu_info_query()` takes it (since 0.3). The fd stays the
 * caller's: the library neither keeps nor closes it, on success or failure.
 *
 * Returns 0, `-EBADF` (not an open fd), `-ENOTTY` (an fd that is not a VFIO container,
 * such as a group or device fd: the last error names it) or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * # Safety
 * `backend` must be writable; `container_fd` must not be closed by another thread during
 * the call.
 */
int vfio_iommu_info_query_backend(int container_fd,
                                  uint32_t *backend);

/**
 * Opens PCI device `pci_address` (`"0000:03:00.0"` or `"03:00.0"`, on vfio-pci) on the
 * iommufd path: opens `/dev/iommu` and the device's VFIO cdev
 * (`/dev/vfio/devices/vfioN`, found through sysfs), binds the device
 * (`VFIO_DEVICE_BIND_IOMMUFD`), allocates an IOAS, attaches the device to it, and reads
 * the IOAS's usable IOVA ranges (`IOMMU_IOAS_IOVA_RANGES`, one ioctl on the common path)
 * and the device's IOMMU hardware info (`IOMMU_GET_HW_INFO`) (since 0.3). Linux 6.6+
 * with `CONFIG_IOMMUFD` and `CONFIG_VFIO_DEVICE_CDEV`.
 *
 * On success, returns 0 and stores a new handle in `*out`, freed with
 * `vfio_iommu_info_iommufd_free()` (which closes the device, detaching and unbinding it,
 * then the iommufd). A failing `IOMMU_GET_HW_INFO` does not fail the open:
 * `vfio_iommu_info_iommufd_hw_info()` reports it. On failure, `*out` is untouched and
 * the code is the kernel's negative errno (`-ENOENT`: no `/dev/iommu`, the kernel has no
 * iommufd; `-EACCES`: no permission on a node; `-EBUSY` at `VFIO_DEVICE_BIND_IOMMUFD`:
 * the device's group is open the legacy way; `-EPERM` at attach: no interrupt
 * remapping), or `VFIO_IOMMU_INFO_E_NO_DEVICE` (no such PCI device),
 * `VFIO_IOMMU_INFO_E_NOT_VIABLE` (the device is not on vfio-pci),
 * `VFIO_IOMMU_INFO_E_NO_DEVICE_CDEV` (on vfio-pci without a VFIO cdev),
 * `VFIO_IOMMU_INFO_E_INVALID` (not a PCI address, or not UTF-8), `_NULL`,
 * `_SYSFS_FORMAT`, `_MALFORMED` (inverted ranges in the kernel's reply) or `_INTERNAL`.
 * The last error names the path, device or ioctl, and what to do.
 *
 * # Safety
 * `pci_address` must be a NUL-terminated string; `out` must point to writable storage
 * for a pointer.
 */
int vfio_iommu_info_iommufd_open(const char *pci_address,
                                 struct vfio_iommu_info_iommufd **out);

/**
 * Closes the device (detaching and unbinding it) and then the iommufd (freeing the IOAS
 * and its mappings), and frees the handle (since 0.3). NULL is accepted and ignored.
 *
 * As for `vfio_iommu_info_container_free()`: a pointer that is not an iommufd handle is
 * refused (nothing freed, the last error says what it is), and a handle whose fd number
 * no longer names the file it opened (the caller closed it and the number was reused)
 * leaves that number open and is leaked, with a last error naming the fd.
 *
 * # Safety
 * `iommufd` must be NULL or a handle from this library not already freed.
 */
void vfio_iommu_info_iommufd_free(struct vfio_iommu_info_iommufd *iommufd);

/**
 * The handle's fds, ids, IOVA alignment and device node, into `*out`, whose `size` the
 * caller sets to `sizeof(struct vfio_iommu_info_iommufd_ids)` (since 0.3).
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * # Safety
 * `iommufd` must be a live handle of this library; `out` must point to a writable struct.
 */
int vfio_iommu_info_iommufd_ids(const struct vfio_iommu_info_iommufd *iommufd,
                                struct vfio_iommu_info_iommufd_ids *out);

/**
 * The number of usable IOVA ranges of the handle's IOAS, as read at open (since 0.3).
 *
 * Returns 0 and writes `*count`, or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_iommufd_space()` and `vfio_iommu_info_space_view()` (0.4),
 * which lend every list and the aperture in two calls; kept, like every export of .so.0.
 *
 * # Safety
 * `iommufd` must be a live handle of this library; `count` must be writable.
 */
int vfio_iommu_info_iommufd_iova_range_count(const struct vfio_iommu_info_iommufd *iommufd,
                                             size_t *count);

/**
 * The usable IOVA range at `index`, ascending (the kernel's order) (since 0.3). A
 * mapping must lie inside one range and be aligned to `iova_alignment`.
 *
 * Returns 0 and writes `*range`, `VFIO_IOMMU_INFO_E_RANGE` when `index` is past the end,
 * or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_iommufd_space()` and `vfio_iommu_info_space_view()` (0.4),
 * which lend every list and the aperture in two calls; kept, like every export of .so.0.
 *
 * # Safety
 * `iommufd` must be a live handle of this library; `range` must be writable.
 */
int vfio_iommu_info_iommufd_iova_range(const struct vfio_iommu_info_iommufd *iommufd,
                                       size_t index,
                                       struct vfio_iommu_info_range *range);

/**
 * The aperture of the handle's IOAS: from the lowest start to the highest end of its
 * IOVA ranges; the holes lie between the ranges (since 0.3).
 *
 * Returns 0 and writes `*range`, `VFIO_IOMMU_INFO_E_ABSENT` when the IOAS has no range,
 * or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * Superseded by `vfio_iommu_info_iommufd_space()` and `vfio_iommu_info_space_view()` (0.4),
 * which lend every list and the aperture in two calls; kept, like every export of .so.0.
 *
 * # Safety
 * `iommufd` must be a live handle of this library; `range` must be writable.
 */
int vfio_iommu_info_iommufd_aperture(const struct vfio_iommu_info_iommufd *iommufd,
                                     struct vfio_iommu_info_range *range);

/**
 * The IOMMU hardware behind the device (`IOMMU_GET_HW_INFO`, read at open), into
 * `*out`, whose `size` the caller sets to `sizeof(struct vfio_iommu_info_hw_info)`
 * (since 0.3).
 *
 * Returns 0; the kernel's negative errno when `IOMMU_GET_HW_INFO` failed at open
 * (`-ENOTTY`: a kernel before 6.6), with the last error saying so; or
 * `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or `VFIO_IOMMU_INFO_E_NULL`. `*out` is
 * written only on success.
 *
 * # Safety
 * `iommufd` must be a live handle of this library; `out` must point to a writable struct.
 */
int vfio_iommu_info_iommufd_hw_info(const struct vfio_iommu_info_iommufd *iommufd,
                                    struct vfio_iommu_info_hw_info *out);

/**
 * The facts of the iommufd path for the device, into `*out`, whose `size` the caller
 * sets to `sizeof(struct vfio_iommu_info_facts)` (since 0.3): the IOAS's ranges and
 * alignment (`VFIO_IOMMU_INFO_SOURCE_IOMMUFD_IOAS`), no mapping count limit, and from
 * the hardware info the page sizes and address width (when the driver reports
 * registers) and dirty tracking (Linux 6.7+).
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * # Safety
 * `iommufd` must be a live handle of this library; `out` must point to a writable struct.
 */
int vfio_iommu_info_iommufd_facts(const struct vfio_iommu_info_iommufd *iommufd,
                                  struct vfio_iommu_info_facts *out);

/**
 * The handle as JSON, with the keys and values `vfio-iommu-info query --backend iommufd
 * --json` prints for them: `device`, `cdev`, `dev_id`, `ioas`, `hwpt`, `iova_ranges`,
 * `iova_alignment`, `hw_info` (or `{"error": message}`), `facts` (with `notes`)
 * (since 0.3). On success, `*json` receives a string freed with
 * `vfio_iommu_info_string_free()`.
 *
 * Returns 0 or `VFIO_IOMMU_INFO_E_NULL`; `*json` is written only on success.
 *
 * # Safety
 * `iommufd` must be a live handle of this library; `json` must be writable.
 */
int vfio_iommu_info_iommufd_to_json(const struct vfio_iommu_info_iommufd *iommufd,
                                    char **json);

/**
 * The usable IOVA space of the caller's type1 container (`/dev/vfio/vfio` with a group
 * attached and `VFIO_SET_IOMMU` done, or iommufd's compat container): one
 * `VFIO_IOMMU_GET_INFO` on the common path, and who serves the container
 * (`IOMMU_VFIO_IOAS`), so the space's facts read DMA_AVAIL as that backend means it. Its
 * holes carry no causes (a container fd does not say which groups it holds; a space from
 * `vfio_iommu_info_space_from_container()` does).
 *
 * On success, returns 0 and stores a new space in `*out`, freed with
 * `vfio_iommu_info_space_free()`. On failure, `*out` is untouched and the code is
 * `-EBADF` (not an open fd), `-ENOTTY` (an open file that is not a VFIO container, named
 * in the last error), the kernel's errno (`-EINVAL`: no IOMMU model set yet), one of
 * `vfio_iommu_info_query()`'s library codes, `VFIO_IOMMU_INFO_E_ABSENT` (the container
 * reports no IOVA ranges) or `VFIO_IOMMU_INFO_E_NULL`. Since 0.4.
 *
 * # Safety
 * `container_fd` must stay open for the call; `out` must point to writable storage for a
 * pointer.
 */
int vfio_iommu_info_container_space(int container_fd,
                                    struct vfio_iommu_info_space **out);

/**
 * The usable IOVA space of IOAS `ioas_id` of the caller's iommufd (`/dev/iommu`):
 * `IOMMU_IOAS_IOVA_RANGES` (one call on the common path), with the alignment every
 * mapping needs in the space's facts (`facts->iova_alignment`). The ranges are those of
 * the devices attached now: query again after attaching another.
 *
 * On success, returns 0 and stores a new space in `*out`, freed with
 * `vfio_iommu_info_space_free()`. On failure, `*out` is untouched and the code is
 * `-EBADF`, `-ENOTTY` (not iommufd's node), `-ENOENT` (no object `ioas_id`: the last
 * error names it), `-EINVAL` (the object is not an IOAS), `VFIO_IOMMU_INFO_E_SIZE`,
 * `VFIO_IOMMU_INFO_E_MALFORMED`, `VFIO_IOMMU_INFO_E_ABSENT` (an IOAS with no usable
 * range) or `VFIO_IOMMU_INFO_E_NULL`. Since 0.4.
 *
 * # Safety
 * `iommufd_fd` must stay open for the call; `out` must point to writable storage for a
 * pointer.
 */
int vfio_iommu_info_ioas_space(int iommufd_fd,
                               uint32_t ioas_id,
                               struct vfio_iommu_info_space **out);

/**
 * The IOMMU hardware behind device `dev_id` of the caller's iommufd (the id
 * `VFIO_DEVICE_BIND_IOMMUFD` returned): `IOMMU_GET_HW_INFO` (Linux 6.6+), decoded into
 * `*out`, whose `size` the caller sets to `sizeof(struct vfio_iommu_info_hw_info)`. The
 * raw bytes are not lent by this call (`out->data` is NULL, `data_received` 0): the
 * decoded registers are in the struct.
 *
 * Returns 0, `-EBADF`, `-ENOTTY` (not iommufd's node, or a kernel before 6.6),
 * `-ENOENT` (no device `dev_id` bound: the last error names it), another kernel errno,
 * `VFIO_IOMMU_INFO_E_SIZE`, `VFIO_IOMMU_INFO_E_INVALID` (`out->size`) or
 * `VFIO_IOMMU_INFO_E_NULL`; `*out` is written only on success. Since 0.4.
 *
 * # Safety
 * `iommufd_fd` must stay open for the call; `out` must point to a writable struct.
 */
int vfio_iommu_info_hw_info_query(int iommufd_fd,
                                  uint32_t dev_id,
                                  struct vfio_iommu_info_hw_info *out);

/**
 * The usable IOVA space of the handle's IOAS (since 0.4): its ranges, holes attributed
 * to the reserved regions of the device's group, the page sizes the hardware info gives,
 * and the facts (alignment, address width, dirty tracking) in
 * `vfio_iommu_info_space_view()`. The same space as every other source's: aperture,
 * holes, checks, reserved list and JSON are the space's.
 *
 * On success, returns 0 and stores a new space in `*out`, freed with
 * `vfio_iommu_info_space_free()` (independent of the handle). On failure, `*out` is
 * untouched and the code is `VFIO_IOMMU_INFO_E_ABSENT` (the IOAS has no usable range)
 * or `VFIO_IOMMU_INFO_E_NULL`.
 *
 * # Safety
 * `iommufd` must be a live handle of this library; `out` must point to writable storage
 * for a pointer.
 */
int vfio_iommu_info_iommufd_space(const struct vfio_iommu_info_iommufd *iommufd,
                                  struct vfio_iommu_info_space **out);

/**
 * `VFIO_DEVICE_GET_INFO` on the caller's device fd (from `VFIO_GROUP_GET_DEVICE_FD`, or
 * an opened `/dev/vfio/devices/vfioN`), decoded with its capability chain: the same
 * object `vfio_iommu_info_device_info_decode()` makes of a buffer, without the caller's
 * argsz loop (one ioctl on the common path, bounded retries when the chain did not fit).
 *
 * On success, returns 0 and stores a new object in `*out`, freed with
 * `vfio_iommu_info_device_info_free()`. On failure, `*out` is untouched and the code is
 * `-EBADF`, `-ENOTTY` (not a VFIO device fd: a container, an eventfd... named in the last
 * error), another kernel errno, `VFIO_IOMMU_INFO_E_SIZE`, `VFIO_IOMMU_INFO_E_MALFORMED`
 * or `VFIO_IOMMU_INFO_E_NULL`. Since 0.4.
 *
 * # Safety
 * `device_fd` must stay open for the call; `out` must point to writable storage for a
 * pointer.
 */
int vfio_iommu_info_device_info_query(int device_fd,
                                      struct vfio_iommu_info_device_info **out);

/**
 * `VFIO_DEVICE_GET_REGION_INFO` of region `index` on the caller's device fd, decoded
 * with its capability chain (as `vfio_iommu_info_region_info_decode()` makes it of a
 * buffer, without the caller's argsz loop).
 *
 * On success, returns 0 and stores a new object in `*out`, freed with
 * `vfio_iommu_info_region_info_free()`. On failure, `*out` is untouched and the code is
 * `-EBADF`, `-ENOTTY` (not a VFIO device fd), `-EINVAL` (the device has no region
 * `index`, or it is vfio-pci's VGA region of a device that is no VGA device: the last
 * error names the index), another kernel errno, `VFIO_IOMMU_INFO_E_SIZE`,
 * `VFIO_IOMMU_INFO_E_MALFORMED` or `VFIO_IOMMU_INFO_E_NULL`. Since 0.4.
 *
 * # Safety
 * `device_fd` must stay open for the call; `out` must point to writable storage for a
 * pointer.
 */
int vfio_iommu_info_region_info_query(int device_fd,
                                      uint32_t index,
                                      struct vfio_iommu_info_region_info **out);

/**
 * Decodes a `VFIO_IOMMU_SPAPR_TCE_GET_INFO` buffer of `len` bytes (its length is the
 * buffer's size) into `*out`, whose `size` the caller sets. `byte_order` is one of
 * `VFIO_IOMMU_INFO_BYTE_ORDER_*`. Every field is checked as the kernel writes it: an
 * `argsz` of 16 to 31 gives `VFIO_IOMMU_INFO_DDW_NOT_RETURNED` even with the DDW flag.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_MALFORMED` (the last error names the byte offset),
 * `VFIO_IOMMU_INFO_E_INVALID` (`byte_order`, `out->size`) or `VFIO_IOMMU_INFO_E_NULL`;
 * `*out` is written only on success. Since 0.5.
 *
 * # Safety
 * `buf` must point to `len` readable bytes (or be NULL with `len` 0); `out` must point to
 * a writable struct.
 */
int vfio_iommu_info_spapr_tce_decode(const uint8_t *buf,
                                     size_t len,
                                     uint32_t byte_order,
                                     struct vfio_iommu_info_spapr_tce *out);

/**
 * `VFIO_IOMMU_SPAPR_TCE_GET_INFO` (argsz 32) on the caller's sPAPR TCE container (a
 * `/dev/vfio/vfio` fd with a group attached and `VFIO_SET_IOMMU` done with
 * `VFIO_SPAPR_TCE_v2_IOMMU` or `VFIO_SPAPR_TCE_IOMMU`), decoded into `*out`. Creates
 * nothing.
 *
 * Returns 0, `-EBADF`, `-ENOTTY` (not a VFIO container: checked before the ioctl, the
 * last error names the file), `-ENXIO` (no group attached),
 * another kernel errno, `VFIO_IOMMU_INFO_E_MALFORMED` (a type1 container answers the same
 * number with its own structure: the last error says so), `VFIO_IOMMU_INFO_E_INVALID`
 * (`out->size`) or `VFIO_IOMMU_INFO_E_NULL`; `*out` is written only on success. Since 0.5.
 *
 * # Safety
 * `container_fd` must stay open for the call; `out` must point to a writable struct.
 */
int vfio_iommu_info_spapr_tce_query(int container_fd,
                                    struct vfio_iommu_info_spapr_tce *out);

/**
 * `VFIO_IOMMU_SPAPR_TCE_CREATE` on the caller's v2 sPAPR TCE container: creates a
 * dynamic DMA window of `window_size` bytes with pages of `1 << page_shift` bytes and
 * `levels` TCE table levels (0: the kernel's choice), and stores its start (the
 * platform's choice) in `*start`. The window lasts until
 * `vfio_iommu_info_spapr_tce_remove_window()` or until the container is closed.
 *
 * Returns 0, `VFIO_IOMMU_INFO_E_INVALID` (a page shift of 64 or more, a size of 0 or not
 * a multiple of the page size: nothing sent to the kernel), the kernel's errno (`-EINVAL`:
 * a page size the platform lacks; `-ENOSPC`: every window exists; `-ENOMEM`: the table
 * does not fit RLIMIT_MEMLOCK; `-ENOTTY`: not a v2 container), or
 * `VFIO_IOMMU_INFO_E_NULL`; `*start` is written only on success. The fd is checked to be
 * `/dev/vfio/vfio` before the ioctl (`-ENOTTY` otherwise). Since 0.5.
 *
 * # Safety
 * `container_fd` must stay open for the call; `start` must point to a writable `uint64_t`.
 */
int vfio_iommu_info_spapr_tce_create_window(int container_fd,
                                            uint32_t page_shift,
                                            uint64_t window_size,
                                            uint32_t levels,
                                            uint64_t *start);

/**
 * `VFIO_IOMMU_SPAPR_TCE_REMOVE` on the caller's v2 sPAPR TCE container: removes the
 * window that starts at `start` (a start `vfio_iommu_info_spapr_tce_create_window()`
 * returned; 0 is the default window).
 *
 * Returns 0, the kernel's errno (`-EINVAL`: no window starts there; `-EPERM`: the
 * platform keeps it; `-ENOTTY`: not a v2 container, or not `/dev/vfio/vfio` at all,
 * checked before the ioctl), or `-EBADF`. Since 0.5.
 *
 * # Safety
 * `container_fd` must stay open for the call.
 */
int vfio_iommu_info_spapr_tce_remove_window(int container_fd,
                                            uint64_t start);

/**
 * Plans a whole guest for a VMM mapping through `space` (QEMU's q35 memory map; see
 * `vfio-iommu-info guest`): `req`'s RAM, vIOMMU and host facts, RAM at fixed addresses
 * (`fixed[0..n_fixed]`, each with `VFIO_IOMMU_INFO_RAM_FIXED` set), NUMA node sizes
 * (`nodes[0..n_nodes]`, adding up to `req->ram`, or none) and 64-bit BAR sizes
 * (`bars[0..n_bars]`). The arrays may be NULL when their count is 0; none is kept.
 *
 * What the host cannot meet is an answer, not an error: the plan's refusals say why, with
 * the nearest setting that fits. On success, returns 0 and stores a new plan in `*out`,
 * freed with `vfio_iommu_info_guest_plan_free()` (independent of `space`). On failure,
 * `*out` is untouched and the code is `VFIO_IOMMU_INFO_E_INVALID` (a request that is no
 * guest: no RAM, sizes not whole pages, nodes that do not add up, an unknown code or
 * flag, `size` too small) or `VFIO_IOMMU_INFO_E_NULL`; the last error says which.
 *
 * Since 0.7.
 *
 * # Safety
 * `space` must be a live space of this library; `req` must point to `req->size` readable
 * bytes; `fixed` to `n_fixed` elements of `fixed[0].size` bytes; `nodes` and `bars` to
 * their counts of numbers; `out` must point to writable storage for a pointer.
 */
int vfio_iommu_info_guest_plan_new(const struct vfio_iommu_info_space *space,
                                   const struct vfio_iommu_info_guest_request *req,
                                   const struct vfio_iommu_info_ram_region *fixed,
                                   size_t n_fixed,
                                   const uint64_t *nodes,
                                   size_t n_nodes,
                                   const uint64_t *bars,
                                   size_t n_bars,
                                   struct vfio_iommu_info_guest_plan **out);

/**
 * Frees a plan. NULL is accepted and ignored. Since 0.7.
 *
 * # Safety
 * `plan` must be NULL or a plan from this library not already freed.
 */
void vfio_iommu_info_guest_plan_free(struct vfio_iommu_info_guest_plan *plan);

/**
 * The plan's decisions and budgets. Returns 0 and fills `*out` (up to `out->size`
 * bytes), or `VFIO_IOMMU_INFO_E_NULL`, or `VFIO_IOMMU_INFO_E_INVALID` (`out->size` too
 * small). Since 0.7.
 *
 * # Safety
 * `plan` must be a live plan; `out` must point to `out->size` writable bytes.
 */
int vfio_iommu_info_guest_plan_summary(const struct vfio_iommu_info_guest_plan *plan,
                                       struct vfio_iommu_info_guest_summary *out);

/**
 * One of the plan's texts (`VFIO_IOMMU_INFO_GUEST_TEXT_*`): returns 0 and stores in
 * `*text` a NUL-terminated string the caller frees with `vfio_iommu_info_string_free()`;
 * or `VFIO_IOMMU_INFO_E_INVALID` (an unknown `what`), `VFIO_IOMMU_INFO_E_NULL`. Since 0.7.
 *
 * # Safety
 * `plan` must be a live plan; `text` must be writable.
 */
int vfio_iommu_info_guest_plan_text(const struct vfio_iommu_info_guest_plan *plan,
                                    uint32_t what,
                                    char **text);

/**
 * Predicts attaching IOMMU group `group` to the container or IOAS whose space is `space`
 * and whose groups (those with a domain already) are `attached[0..n_attached]`, holding
 * the mappings `live[0..n_live]` (IOVA ranges, ends inclusive): the group's reserved
 * regions and its IOMMU come from sysfs (`/sys`), nothing is opened or attached. The
 * refusal is the kernel's on `space`'s backend (type1 when it has none).
 *
 * Returns 0 and fills `*out` (up to `out->size` bytes); when `after` is not NULL, stores
 * the space after the attach there (freed with `vfio_iommu_info_space_free()`); when
 * `json` is not NULL, the whole prediction as `vfio-iommu-info plan --attach --json`
 * prints it under `what_if` (freed with `vfio_iommu_info_string_free()`). On failure,
 * nothing is stored and the code is a negative errno (a sysfs file of the group cannot be
 * read: `-ENOENT` for a group that does not exist), `VFIO_IOMMU_INFO_E_SYSFS_FORMAT`,
 * `VFIO_IOMMU_INFO_E_NULL` or `VFIO_IOMMU_INFO_E_INVALID` (`out->size` too small, or a
 * live range covering all 2^64 addresses); the last error names the file. `attached`
 * and `live` may be NULL when their count is 0. Since 0.8.
 *
 * # Safety
 * `space` must be a live space of this library; `attached` must point to `n_attached`
 * readable numbers and `live` to `n_live` readable ranges; `out` must point to
 * `out->size` writable bytes; `after` and `json` must each be NULL or point to writable
 * storage for a pointer.
 */
int vfio_iommu_info_space_what_if_attach(const struct vfio_iommu_info_space *space,
                                         const uint32_t *attached,
                                         size_t n_attached,
                                         uint32_t group,
                                         const struct vfio_iommu_info_range *live,
                                         size_t n_live,
                                         struct vfio_iommu_info_what_if *out,
                                         struct vfio_iommu_info_space **after,
                                         char **json);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* VFIO_IOMMU_INFO_H */
