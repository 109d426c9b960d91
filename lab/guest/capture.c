/*
 * capture: record raw VFIO_IOMMU_GET_INFO answers of a real kernel.
 *
 * Usage: capture OUTDIR GROUP [GROUP...]
 *
 * Puts every GROUP (/dev/vfio/GROUP) into one new type1v2 container, opens the
 * groups' vfio-pci devices (iommufd's compat container attaches a group only
 * then), and writes the info buffers exactly as the kernel left them (each pre-filled with 0xAA,
 * then argsz written at offset 0):
 *   info-argsz16.bin   16-byte buffer, argsz 16
 *   info-argsz24.bin   24-byte buffer, argsz 24 (reports the needed size)
 *   info-exact.bin     argsz = needed size
 *   info-short.bin     argsz = needed - 8 (the chain does not fit)
 *   info-4096.bin      4096-byte buffer, argsz 4096 (tail left untouched)
 *   reserved_regions-groupN   copy of /sys/kernel/iommu_groups/N/reserved_regions
 *   meta.txt           uname, LAB_* environment, needed size, decoded chain
 *
 * Built by lab/run with gcc -static; runs inside the lab's guests. Only libc,
 * <linux/vfio.h> and the lab's capture-common.h: no dependency on the project's own
 * code on purpose.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/vfio.h>

/* Older uapi headers may lack these (values are ABI, see kernel-protocol.md). */
#ifndef VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE
#define VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE 1
#endif
#ifndef VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION
#define VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION 2
#endif
#ifndef VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL
#define VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL 3
#endif
#ifndef VFIO_IOMMU_INFO_CAPS
#define VFIO_IOMMU_INFO_CAPS (1 << 1)
#endif

#define MAX_GROUPS 16
#define FILL 0xAA

#define CAPTURE_NAME "capture"
#include "capture-common.h"

/* One VFIO_IOMMU_GET_INFO call into a 0xAA-filled buffer; saved as FILE. */
static unsigned char *get_info(int container, size_t size, uint32_t argsz, const char *file)
{
	unsigned char *buf = malloc(size);

	if (!buf)
		die("out of memory");
	memset(buf, FILL, size);
	memcpy(buf, &argsz, sizeof(argsz));
	if (ioctl(container, VFIO_IOMMU_GET_INFO, buf) < 0)
		die("VFIO_IOMMU_GET_INFO(argsz=%u) for %s: %s (%s, errno %d)", argsz, file,
		    strerror(errno), errname(errno), errno);
	write_file(file, buf, size);
	fprintf(meta, "%s: argsz_in=%u argsz_out=%u flags=0x%x iova_pgsizes=0x%016llx", file, argsz,
		ld32(buf), ld32(buf + 4), (unsigned long long)ld64(buf + 8));
	if (size >= 20)
		fprintf(meta, " cap_offset=%u", ld32(buf + 16));
	if (size >= 24)
		fprintf(meta, " bytes20_23=0x%08x", ld32(buf + 20));
	fputc('\n', meta);
	return buf;
}

/* Decode the chain of a buffer that holds all of it, for humans (meta.txt). */
static void describe_chain(const unsigned char *buf, size_t len)
{
	uint32_t off = ld32(buf + 16);
	size_t hops = 0, max_hops = (len - 8) / 8;

	fprintf(meta, "chain (from info-exact.bin):\n");
	while (off) {
		uint16_t id, ver;
		uint32_t next;

		if (off < 16 || off > len - 8 || ++hops > max_hops) {
			fprintf(meta, "  bad cap offset %u (len %zu, hop %zu)\n", off, len, hops);
			return;
		}
		id = ld16(buf + off);
		ver = ld16(buf + off + 2);
		next = ld32(buf + off + 4);
		fprintf(meta, "  cap id=%u version=%u offset=%u next=%u", id, ver, off, next);
		if (id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE && off + 16 <= len) {
			uint32_t n = ld32(buf + off + 8), i;

			fprintf(meta, " IOVA_RANGE nr_iovas=%u\n", n);
			for (i = 0; i < n && off + 16 + 16 * (size_t)(i + 1) <= len; i++)
				fprintf(meta, "    [0x%016llx, 0x%016llx]\n",
					(unsigned long long)ld64(buf + off + 16 + 16 * i),
					(unsigned long long)ld64(buf + off + 24 + 16 * i));
		} else if (id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION && off + 32 <= len) {
			fprintf(meta, " MIGRATION flags=0x%x pgsize_bitmap=0x%llx max_dirty_bitmap_size=0x%llx\n",
				ld32(buf + off + 8), (unsigned long long)ld64(buf + off + 16),
				(unsigned long long)ld64(buf + off + 24));
		} else if (id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL && off + 12 <= len) {
			fprintf(meta, " DMA_AVAIL avail=%u\n", ld32(buf + off + 8));
		} else {
			fprintf(meta, " (unknown)\n");
		}
		off = next;
	}
}

static void copy_reserved_regions(long group)
{
	char data[65536];

	copy_reserved_regions_raw(group, data, sizeof(data));
	fprintf(meta, "reserved_regions group %ld:\n", group);
	for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n"))
		fprintf(meta, "  %s\n", line);
}

int main(int argc, char **argv)
{
	static const char *env[] = { "LAB_SCENARIO", "LAB_KERNEL", "LAB_VIOMMU", "LAB_AW_BITS",
				     "LAB_DMA_ENTRY_LIMIT", "LAB_EDU_BDFS", "LAB_EDU_GROUPS",
				     "LAB_COMPAT", "LAB_INTREMAP" };
	int container, groups[MAX_GROUPS], ngroups = argc - 2, i, api, pre_errno;
	long group_ids[MAX_GROUPS];
	struct utsname uts;
	unsigned char pre[24], *b24, *exact;
	uint32_t needed;
	char path[4096];

	if (argc < 3 || ngroups > MAX_GROUPS)
		die("usage: capture OUTDIR GROUP [GROUP...] (at most %d groups)", MAX_GROUPS);
	open_outdir(argv[1]);

	if (uname(&uts) < 0)
		die("uname: %s", strerror(errno));
	fprintf(meta, "uname_r: %s\n", uts.release);
	for (i = 0; i < (int)(sizeof(env) / sizeof(env[0])); i++)
		fprintf(meta, "%s: %s\n", env[i], getenv(env[i]) ? getenv(env[i]) : "");
	fprintf(meta, "groups:");
	for (i = 0; i < ngroups; i++) {
		group_ids[i] = parse_group(argv[2 + i]);
		fprintf(meta, " %ld", group_ids[i]);
	}
	fputc('\n', meta);

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		die("open /dev/vfio/vfio: %s", strerror(errno));
	api = xioctl(container, VFIO_GET_API_VERSION, NULL, "VFIO_GET_API_VERSION");
	if (api != VFIO_API_VERSION)
		die("VFIO_GET_API_VERSION: %d, expected %d", api, VFIO_API_VERSION);
	if (xioctl(container, VFIO_CHECK_EXTENSION, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU,
		   "VFIO_CHECK_EXTENSION(TYPE1v2)") != 1)
		die("VFIO_CHECK_EXTENSION(TYPE1v2): not supported");

	for (i = 0; i < ngroups; i++) {
		struct vfio_group_status st = { .argsz = sizeof(st) };

		snprintf(path, sizeof(path), "/dev/vfio/%ld", group_ids[i]);
		groups[i] = open(path, O_RDWR);
		if (groups[i] < 0)
			die("open %s: %s", path, strerror(errno));
		xioctl(groups[i], VFIO_GROUP_GET_STATUS, &st, "VFIO_GROUP_GET_STATUS");
		if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
			die("group %ld is not viable (flags 0x%x): bind all its devices to vfio-pci",
			    group_ids[i], st.flags);
		xioctl(groups[i], VFIO_GROUP_SET_CONTAINER, &container, "VFIO_GROUP_SET_CONTAINER");
	}

	/* Before VFIO_SET_IOMMU the container has no IOMMU driver: expect EINVAL. */
	memset(pre, FILL, sizeof(pre));
	memcpy(pre, &(uint32_t){ sizeof(pre) }, sizeof(uint32_t));
	pre_errno = ioctl(container, VFIO_IOMMU_GET_INFO, pre) < 0 ? errno : 0;
	fprintf(meta, "get_info_before_set_iommu_errno: %s (%d)\n",
		pre_errno ? errname(pre_errno) : "none, call succeeded", pre_errno);

	xioctl(container, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU,
	       "VFIO_SET_IOMMU(TYPE1v2)");

	/*
	 * Open every vfio-pci device of the groups, as a VMM does before it maps: iommufd's
	 * VFIO compat container attaches a group to its IOAS only then (type1 attached it at
	 * VFIO_GROUP_SET_CONTAINER). The answer before, then the devices opened.
	 */
	{
		unsigned char before[24];

		memset(before, FILL, sizeof(before));
		memcpy(before, &(uint32_t){ sizeof(before) }, sizeof(uint32_t));
		if (ioctl(container, VFIO_IOMMU_GET_INFO, before) < 0)
			fprintf(meta, "before_device_open: %s\n", errname(errno));
		else
			fprintf(meta, "before_device_open: needed_argsz=%u iova_pgsizes=0x%016llx\n",
				ld32(before), (unsigned long long)ld64(before + 8));
	}
	fprintf(meta, "devices_opened:");
	for (i = 0; i < ngroups; i++) {
		char dir[128], link[512], drv[512];
		struct dirent *de;
		DIR *d;

		snprintf(dir, sizeof(dir), "/sys/kernel/iommu_groups/%ld/devices", group_ids[i]);
		d = opendir(dir);
		if (!d)
			die("opendir %s: %s", dir, strerror(errno));
		while ((de = readdir(d))) {
			ssize_t n;
			const char *base;

			if (de->d_name[0] == '.')
				continue;
			snprintf(link, sizeof(link), "%s/%s/driver", dir, de->d_name);
			n = readlink(link, drv, sizeof(drv) - 1);
			if (n < 0)
				continue;
			drv[n] = 0;
			base = strrchr(drv, '/');
			if (strcmp(base ? base + 1 : drv, "vfio-pci"))
				continue;
			if (ioctl(groups[i], VFIO_GROUP_GET_DEVICE_FD, de->d_name) < 0)
				die("VFIO_GROUP_GET_DEVICE_FD %s (group %ld): %s", de->d_name,
				    group_ids[i], strerror(errno));
			fprintf(meta, " %s", de->d_name);
		}
		closedir(d);
	}
	fputc('\n', meta);

	{
		/* argsz below the 16-byte minimum: expect EINVAL, nothing written. */
		unsigned char small[24];
		uint32_t eight = 8;
		int e;

		memset(small, FILL, sizeof(small));
		memcpy(small, &eight, sizeof(eight));
		e = ioctl(container, VFIO_IOMMU_GET_INFO, small) < 0 ? errno : 0;
		fprintf(meta, "get_info_argsz8_errno: %s (%d)\n", e ? errname(e) : "none, call succeeded", e);
	}

	free(get_info(container, 16, 16, "info-argsz16.bin"));
	b24 = get_info(container, 24, 24, "info-argsz24.bin");
	needed = ld32(b24);
	fprintf(meta, "needed_argsz: %u\n", needed);
	fprintf(meta, "flags: 0x%x\n", ld32(b24 + 4));
	fprintf(meta, "iova_pgsizes: 0x%016llx\n", (unsigned long long)ld64(b24 + 8));
	free(b24);
	if (needed < 24)
		die("VFIO_IOMMU_GET_INFO(argsz=24) reported needed size %u < 24", needed);

	exact = get_info(container, needed, needed, "info-exact.bin");
	if (!(ld32(exact + 4) & VFIO_IOMMU_INFO_CAPS) || ld32(exact + 16) == 0)
		die("VFIO_IOMMU_GET_INFO(argsz=%u): no capability chain (flags 0x%x, cap_offset %u)",
		    needed, ld32(exact + 4), ld32(exact + 16));
	fprintf(meta, "cap_offset: %u\n", ld32(exact + 16));
	describe_chain(exact, needed);
	free(exact);
	free(get_info(container, needed - 8, needed - 8, "info-short.bin"));
	free(get_info(container, 4096, 4096, "info-4096.bin"));

	for (i = 0; i < ngroups; i++)
		copy_reserved_regions(group_ids[i]);

	if (fclose(meta) != 0)
		die("write meta.txt: %s", strerror(errno));
	for (i = 0; i < ngroups; i++)
		close(groups[i]);
	close(container);
	printf("capture: groups");
	for (i = 0; i < ngroups; i++)
		printf(" %ld", group_ids[i]);
	printf(": needed argsz %u, written to %s\n", needed, outdir);
	return 0;
}
