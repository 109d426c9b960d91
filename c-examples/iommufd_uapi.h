/*
 * iommufd_uapi.h - the few iommufd and VFIO cdev definitions a VMM needs to build an IOAS
 * and bind a device to it (<linux/iommufd.h>, Linux 6.2+; the VFIO cdev ioctls, 6.6+), for
 * build hosts whose kernel headers predate them, as QEMU carries its own linux-headers/.
 * Include it after <linux/vfio.h>; where the headers have them, it defines nothing.
 */
#ifndef IOMMUFD_UAPI_H
#define IOMMUFD_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

#ifndef IOMMU_IOAS_ALLOC
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(';', 0x81)
#endif

#endif
