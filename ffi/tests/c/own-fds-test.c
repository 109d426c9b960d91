/*
 * own-fds-test: the 0.4 calls on fds this program makes the way a VMM makes them (raw
 * ioctls, nothing of the library), against a live kernel (the lab runs it in every
 * scenario's guest; ffi/tests/lab_c.rs).
 *
 *   own-fds-test GROUP PCI-ADDRESS [iommufd]
 *
 * type1: a container with GROUP attached and VFIO_SET_IOMMU done, and the device's fd
 * from VFIO_GROUP_GET_DEVICE_FD. The space from the container fd must equal the space
 * vfio_iommu_info_open() gives for the same group (opened after this program's container
 * is gone); the device and region info from the device fd must be a vfio-pci device's.
 * With "iommufd": /dev/iommu with an IOAS and the device's cdev bound and attached; the
 * IOAS space and hw_info must equal the library's own iommufd handle's.
 * Bad fds and ids everywhere: closed, the wrong kind, an IOAS id that does not exist, a
 * device id not bound, a region index past the end; each refused with a specific code and
 * a last error naming the fd, id or index; outputs untouched.
 */
#define CHECK_PROGRAM "own-fds-test"
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "iommufd_uapi.h"

static int must(int rc, const char *what)
{
	if (rc < 0) {
		printf("FAIL %s: %s\n", what, strerror(errno));
		exit(1);
	}
	return rc;
}

static bool mentions(const char *needle)
{
	return strstr(vfio_iommu_info_last_error(), needle) != NULL;
}

/* The view of a space, which must exist. */
static struct vfio_iommu_info_space_view view_of(const struct vfio_iommu_info_space *space)
{
	struct vfio_iommu_info_space_view v = { .size = sizeof(v) };
	CHECK_RC(vfio_iommu_info_space_view(space, &v), 0);
	return v;
}

static bool same_ranges(const struct vfio_iommu_info_space_view *a,
			const struct vfio_iommu_info_space_view *b)
{
	if (a->range_count != b->range_count)
		return false;
	for (size_t i = 0; i < a->range_count; i++)
		if (a->ranges[i].start != b->ranges[i].start || a->ranges[i].end != b->ranges[i].end)
			return false;
	return true;
}

/* `other`: an open fd of another kind (a container, or /dev/iommu), which the device
 * calls must refuse; `iommufd` when there is one (-1: the type1 run). */
static void bad_fds(int other, int device, int iommufd)
{
	struct vfio_iommu_info_space *space = (void *)0x1;
	struct vfio_iommu_info_hw_info hw = { .size = sizeof(hw), .data_len = 0xa5a5 };
	struct vfio_iommu_info_device_info *dev = (void *)0x1;
	struct vfio_iommu_info_region_info *region = (void *)0x1;
	char name[32];

	/* A closed fd: EBADF naming it. */
	int closed = must(open("/dev/null", O_RDONLY | O_CLOEXEC), "/dev/null");
	close(closed);
	snprintf(name, sizeof(name), " %d ", closed);
	CHECK_RC(vfio_iommu_info_container_space(closed, &space), -EBADF);
	CHECK(mentions(name));
	CHECK_RC(vfio_iommu_info_ioas_space(closed, 1, &space), -EBADF);
	CHECK_RC(vfio_iommu_info_hw_info_query(closed, 1, &hw), -EBADF);
	CHECK_RC(vfio_iommu_info_device_info_query(closed, &dev), -EBADF);
	CHECK_RC(vfio_iommu_info_region_info_query(closed, 0, &region), -EBADF);
	CHECK(mentions(name));

	/* The wrong kind of node for each call: ENOTTY naming the fd and what it is. */
	snprintf(name, sizeof(name), "fd %d", device);
	CHECK_RC(vfio_iommu_info_container_space(device, &space), -ENOTTY);
	CHECK(mentions(name));
	CHECK_RC(vfio_iommu_info_ioas_space(device, 1, &space), -ENOTTY);
	CHECK(mentions("not iommufd's node"));
	CHECK_RC(vfio_iommu_info_hw_info_query(device, 1, &hw), -ENOTTY);
	CHECK_RC(vfio_iommu_info_device_info_query(other, &dev), -ENOTTY);
	CHECK(mentions("not a VFIO device fd"));
	CHECK_RC(vfio_iommu_info_region_info_query(other, 0, &region), -ENOTTY);

	/* A region index past the end: EINVAL naming the index. */
	CHECK_RC(vfio_iommu_info_region_info_query(device, 42, &region), -EINVAL);
	CHECK(mentions("no region 42"));

	if (iommufd >= 0) {
		/* An IOAS id that does not exist, a device id never bound. */
		CHECK_RC(vfio_iommu_info_ioas_space(iommufd, 9999, &space), -ENOENT);
		CHECK(mentions("no IOAS 9999"));
		CHECK_RC(vfio_iommu_info_hw_info_query(iommufd, 9999, &hw), -ENOENT);
		CHECK(mentions("no device 9999"));
	}
	/* Nothing written on any failure. */
	CHECK(space == (void *)0x1 && dev == (void *)0x1 && region == (void *)0x1);
	CHECK(hw.data_len == 0xa5a5);
}

/* The device's cdev node, from sysfs. */
static int open_cdev(const char *pci_address)
{
	char path[512], name[256] = "";
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", pci_address);
	DIR *dir = opendir(path);
	for (struct dirent *e; dir && (e = readdir(dir)) != NULL;)
		if (strncmp(e->d_name, "vfio", 4) == 0)
			snprintf(name, sizeof(name), "%s", e->d_name);
	if (dir)
		closedir(dir);
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	return must(open(path, O_RDWR | O_CLOEXEC), path);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: own-fds-test GROUP PCI-ADDRESS [iommufd]\n");
		return 2;
	}
	const char *group_number = argv[1], *address = argv[2];
	bool with_iommufd = argc > 3 && strcmp(argv[3], "iommufd") == 0;

	/* The library's own answer for the group first: one container per group at a time. */
	struct vfio_iommu_info *info;
	struct vfio_iommu_info_space *reference;
	CHECK_RC(vfio_iommu_info_open(group_number, NULL, &info), 0);
	CHECK_RC(vfio_iommu_info_space_from_info(info, &reference), 0);
	vfio_iommu_info_free(info);

	/* type1, the VMM's way. */
	char path[64];
	snprintf(path, sizeof(path), "/dev/vfio/%s", group_number);
	int group = must(open(path, O_RDWR | O_CLOEXEC), path);
	int container = must(open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC), "/dev/vfio/vfio");
	must(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container), "VFIO_GROUP_SET_CONTAINER");
	must(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), "VFIO_SET_IOMMU");
	int device = must(ioctl(group, VFIO_GROUP_GET_DEVICE_FD, address), "GET_DEVICE_FD");

	struct vfio_iommu_info_space *space;
	CHECK_RC(vfio_iommu_info_container_space(container, &space), 0);
	struct vfio_iommu_info_space_view mine = view_of(space), ref = view_of(reference);
	CHECK(same_ranges(&mine, &ref));
	CHECK(mine.page_sizes == ref.page_sizes && mine.hole_count == ref.hole_count);
	/* iommufd's VFIO compat container (the lab's LAB_COMPAT=1): named so, no count limit. */
	const char *compat_env = getenv("LAB_COMPAT");
	if (compat_env && strcmp(compat_env, "1") == 0) {
		CHECK(mine.backend == VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT);
		/* The reference, made from a bare info, reads DMA_AVAIL as type1's: U32_MAX left. */
		CHECK(mine.facts && mine.facts->mapping_limit_kind == VFIO_IOMMU_INFO_LIMIT_UNLIMITED &&
		      ref.facts->mapping_limit_kind == VFIO_IOMMU_INFO_LIMIT_REMAINING &&
		      ref.facts->mapping_limit_remaining == UINT32_MAX);
	} else {
		CHECK(mine.backend == VFIO_IOMMU_INFO_BACKEND_TYPE1);
		CHECK(mine.facts &&
		      mine.facts->mapping_limit_kind == VFIO_IOMMU_INFO_LIMIT_REMAINING &&
		      mine.facts->mapping_limit_remaining == ref.facts->mapping_limit_remaining);
	}
	vfio_iommu_info_space_free(space);

	struct vfio_iommu_info_device_info *dev;
	struct vfio_iommu_info_device_header h = { .size = sizeof(h) };
	CHECK_RC(vfio_iommu_info_device_info_query(device, &dev), 0);
	CHECK_RC(vfio_iommu_info_device_info_header(dev, &h), 0);
	CHECK(h.num_regions == 9 && h.num_irqs == 5);
	vfio_iommu_info_device_info_free(dev);
	struct vfio_iommu_info_region_info *bar0;
	struct vfio_iommu_info_region_header r = { .size = sizeof(r) };
	CHECK_RC(vfio_iommu_info_region_info_query(device, 0, &bar0), 0);
	CHECK_RC(vfio_iommu_info_region_info_header(bar0, &r), 0);
	CHECK(r.index == 0 && r.region_size == 1 << 20);
	vfio_iommu_info_region_info_free(bar0);
	bad_fds(container, device, -1);
	/* The group is the legacy path's until its fds close; then its cdev may bind. */
	close(device);
	close(group);
	close(container);

	if (with_iommufd) {
		/* The library's own iommufd handle first (it binds the cdev itself). */
		struct vfio_iommu_info_iommufd *handle;
		struct vfio_iommu_info_space *handle_space;
		struct vfio_iommu_info_hw_info ref_hw = { .size = sizeof(ref_hw) };
		CHECK_RC(vfio_iommu_info_iommufd_open(address, &handle), 0);
		CHECK_RC(vfio_iommu_info_iommufd_space(handle, &handle_space), 0);
		int hw_rc = vfio_iommu_info_iommufd_hw_info(handle, &ref_hw);
		vfio_iommu_info_iommufd_free(handle);

		int cdev = open_cdev(address);
		int iommufd = must(open("/dev/iommu", O_RDWR | O_CLOEXEC), "/dev/iommu");
		struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };
		must(ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &bind), "VFIO_DEVICE_BIND_IOMMUFD");
		struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
		must(ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc), "IOMMU_IOAS_ALLOC");
		struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach),
								 .pt_id = alloc.out_ioas_id };
		must(ioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach), "ATTACH_IOMMUFD_PT");

		CHECK_RC(vfio_iommu_info_ioas_space(iommufd, alloc.out_ioas_id, &space), 0);
		struct vfio_iommu_info_space_view ioas = view_of(space), hv = view_of(handle_space);
		CHECK(same_ranges(&ioas, &hv));
		CHECK(ioas.backend == VFIO_IOMMU_INFO_BACKEND_IOMMUFD);
		CHECK(ioas.facts && ioas.facts->iova_alignment == hv.facts->iova_alignment);
		CHECK(ioas.facts->mapping_limit_kind == VFIO_IOMMU_INFO_LIMIT_UNLIMITED);
		vfio_iommu_info_space_free(space);
		vfio_iommu_info_space_free(handle_space);

		struct vfio_iommu_info_hw_info hw = { .size = sizeof(hw) };
		int rc = vfio_iommu_info_hw_info_query(iommufd, bind.out_devid, &hw);
		CHECK(rc == hw_rc);
		if (rc == 0)
			CHECK(hw.data_type == ref_hw.data_type && hw.address_width == ref_hw.address_width &&
			      hw.data == NULL);
		/* The cdev's own device info, as from the group's device fd. */
		struct vfio_iommu_info_device_info *cdev_info;
		CHECK_RC(vfio_iommu_info_device_info_query(cdev, &cdev_info), 0);
		vfio_iommu_info_device_info_free(cdev_info);
		/* The cdev is the device fd here; /dev/iommu is no container. */
		bad_fds(iommufd, cdev, iommufd);
		close(cdev);
		close(iommufd);
	}
	vfio_iommu_info_space_free(reference);
	return check_summary();
}
