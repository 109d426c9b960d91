/*
 * vmm.c - where a VMM may map guest RAM, asked on the VMM's own fds, in the shape of
 * QEMU's hw/vfio code (since 0.4).
 *
 * QEMU builds the container or the IOAS itself, then rewrites the kernel's argsz loop to
 * read the IOVA ranges (vfio_get_iommu_info() and vfio_get_info_iova_range() in
 * container.c; iommufd_cdev_get_info_iova_range() in iommufd.c) and DMA_AVAIL
 * (vfio_get_info_dma_avail()), and checks each RAM section against the ranges in
 * vfio_listener_region_add(). With the library that is three calls, the free included:
 *
 *   type1:    vfio_iommu_info_container_space(container_fd, &space)
 *   iommufd:  vfio_iommu_info_ioas_space(iommufd_fd, ioas_id, &space)
 *   both:     vfio_iommu_info_space_view(space, &view)  -> ranges, holes, page sizes, DMA_AVAIL
 *             vfio_iommu_info_space_free(space)
 *
 * and one vfio_iommu_info_space_check() per RAM section, whose answer refuses a section
 * in a hole with the library's words before VFIO_IOMMU_MAP_DMA or IOMMU_IOAS_MAP would
 * fail with EINVAL.
 *
 * usage: vmm type1 GROUP [IOVA SIZE]...          (the group's devices on vfio-pci)
 *        vmm iommufd PCI-ADDRESS [IOVA SIZE]...   (the device on vfio-pci, Linux 6.6+)
 * Each IOVA SIZE pair is a RAM section to place (hex or decimal).
 */
#define _DEFAULT_SOURCE /* O_CLOEXEC, ioctl() under -std=c11 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>
#include <vfio_iommu_info.h>

#include "iommufd_uapi.h"

static int fail(const char *what)
{
	fprintf(stderr, "vmm: %s: %s\n", what, strerror(errno));
	return -1;
}

/* The type1 container, as hw/vfio/container.c makes it. */
static int type1_container(const char *group_number)
{
	char path[64];
	snprintf(path, sizeof(path), "/dev/vfio/%s", group_number);
	int group = open(path, O_RDWR | O_CLOEXEC);
	if (group < 0)
		return fail(path);
	int container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		return fail("/dev/vfio/vfio");
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
		return fail("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
		return fail("VFIO_SET_IOMMU");
	/*
	 * The group's vfio-pci devices, opened as a VMM does: iommufd's VFIO compat container
	 * (CONFIG_IOMMUFD_VFIO_CONTAINER) attaches the group to its IOAS only then, and before
	 * that the library refuses its answer (type1 attached the group above already).
	 */
	char dir[128];
	snprintf(dir, sizeof(dir), "/sys/kernel/iommu_groups/%s/devices", group_number);
	DIR *d = opendir(dir);
	if (!d)
		return fail(dir);
	for (struct dirent *de; (de = readdir(d));) {
		char link[512], driver[512];
		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s/driver", dir, de->d_name);
		ssize_t n = readlink(link, driver, sizeof(driver) - 1);
		if (n < 0)
			continue;
		driver[n] = 0;
		const char *base = strrchr(driver, '/');
		if (strcmp(base ? base + 1 : driver, "vfio-pci") != 0)
			continue;
		if (ioctl(group, VFIO_GROUP_GET_DEVICE_FD, de->d_name) < 0) {
			closedir(d);
			return fail("VFIO_GROUP_GET_DEVICE_FD");
		}
	}
	closedir(d);
	/* The group and its devices stay open as long as the process: a VMM keeps them. */
	return container;
}

/* An IOAS with the device's cdev attached, as hw/vfio/iommufd.c makes it; returns the
 * iommufd and stores the IOAS id. */
static int iommufd_ioas(const char *pci_address, uint32_t *ioas_id)
{
	/* The device's node: /sys/bus/pci/devices/ADDRESS/vfio-dev/vfioN. */
	char path[512];
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", pci_address);
	DIR *dir = opendir(path);
	char name[256] = "";
	for (struct dirent *e; dir && (e = readdir(dir)) != NULL;)
		if (strncmp(e->d_name, "vfio", 4) == 0)
			snprintf(name, sizeof(name), "%s", e->d_name);
	if (dir)
		closedir(dir);
	if (name[0] == '\0') {
		fprintf(stderr, "vmm: %s has no VFIO device node (vfio-pci, Linux 6.6+)\n", pci_address);
		return -1;
	}
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	int device = open(path, O_RDWR | O_CLOEXEC);
	if (device < 0)
		return fail(path);
	int iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (iommufd < 0)
		return fail("/dev/iommu");
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };
	if (ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0)
		return fail("VFIO_DEVICE_BIND_IOMMUFD");
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc) < 0)
		return fail("IOMMU_IOAS_ALLOC");
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach),
							 .pt_id = alloc.out_ioas_id };
	if (ioctl(device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) < 0)
		return fail("VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	*ioas_id = alloc.out_ioas_id;
	return iommufd;
}

/* vfio_listener_region_add(): map a RAM section only where the kernel will. */
static int region_add(const struct vfio_iommu_info_space *space, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_info_verdict v = { .size = sizeof(v) };
	if (vfio_iommu_info_space_check(space, iova, size, &v) < 0) {
		fprintf(stderr, "vmm: %s\n", vfio_iommu_info_last_error());
		return -1;
	}
	if (v.problem == VFIO_IOMMU_INFO_SPAN_OK) {
		printf("section %#" PRIx64 "+%#" PRIx64 ": map\n", iova, size);
		return 0;
	}
	printf("section %#" PRIx64 "+%#" PRIx64 ": refused: %s [%#" PRIx64 ", %#" PRIx64 "]\n",
	       iova, size, vfio_iommu_info_span_problem_str(v.problem), v.range.start,
	       v.range.end);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 3 || (argc - 3) % 2 != 0 ||
	    (strcmp(argv[1], "type1") != 0 && strcmp(argv[1], "iommufd") != 0)) {
		fprintf(stderr, "usage: vmm type1 GROUP [IOVA SIZE]... | vmm iommufd PCI-ADDRESS [IOVA SIZE]...\n");
		return 2;
	}
	struct vfio_iommu_info_space *space;
	int rc;
	if (strcmp(argv[1], "type1") == 0) {
		int container = type1_container(argv[2]);
		if (container < 0)
			return 1;
		rc = vfio_iommu_info_container_space(container, &space); /* call 1 */
	} else {
		uint32_t ioas_id = 0;
		int iommufd = iommufd_ioas(argv[2], &ioas_id);
		if (iommufd < 0)
			return 1;
		rc = vfio_iommu_info_ioas_space(iommufd, ioas_id, &space); /* call 1 */
	}
	if (rc < 0) {
		fprintf(stderr, "vmm: %s (%s)\n", vfio_iommu_info_last_error(),
			vfio_iommu_info_strerror(rc));
		return 1;
	}
	struct vfio_iommu_info_space_view view = { .size = sizeof(view) };
	if (vfio_iommu_info_space_view(space, &view) < 0) { /* call 2 */
		fprintf(stderr, "vmm: %s\n", vfio_iommu_info_last_error());
		vfio_iommu_info_space_free(space);
		return 1;
	}
	printf("backend %s\n", vfio_iommu_info_backend_str(view.backend));
	for (size_t i = 0; i < view.range_count; i++)
		printf("range %#" PRIx64 " %#" PRIx64 "\n", view.ranges[i].start, view.ranges[i].end);
	for (size_t i = 0; i < view.hole_count; i++)
		printf("hole %#" PRIx64 " %#" PRIx64 "\n", view.holes[i].range.start,
		       view.holes[i].range.end);
	printf("page-sizes %#" PRIx64 "\n", view.page_sizes);
	const struct vfio_iommu_info_facts *f = view.facts;
	if (f && f->mapping_limit_kind == VFIO_IOMMU_INFO_LIMIT_REMAINING)
		printf("dma-avail %" PRIu32 "\n", f->mapping_limit_remaining);
	else
		printf("dma-avail unlimited\n");
	if (f && f->iova_alignment_source)
		printf("iova-alignment %#" PRIx64 "\n", f->iova_alignment);

	int refused = 0;
	for (int i = 3; i + 1 < argc; i += 2) {
		uint64_t iova = strtoull(argv[i], NULL, 0), size = strtoull(argv[i + 1], NULL, 0);
		int r = region_add(space, iova, size);
		if (r < 0) {
			vfio_iommu_info_space_free(space);
			return 1;
		}
		refused += r;
	}
	vfio_iommu_info_space_free(space); /* call 3 */
	return refused ? 3 : 0;
}
