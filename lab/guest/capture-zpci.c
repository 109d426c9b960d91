/*
 * capture-zpci: record raw VFIO answers of a real s390x kernel for one zPCI function.
 *
 * Usage: capture-zpci OUTDIR BDF GROUP
 *
 * The s390x twin of capture.c (lab/foreign.sh cross-compiles it with
 * s390x-linux-gnu-gcc -static; it runs as a program of the s390x guest's
 * initramfs, lab/guest/init-foreign). Every buffer is written exactly as the
 * kernel left it (pre-filled with 0xAA, argsz at offset 0), in the guest's
 * own byte order (big-endian):
 *
 *   info-argsz16.bin, info-argsz24.bin, info-exact.bin, info-short.bin,
 *   info-4096.bin       VFIO_IOMMU_GET_INFO of a type1v2 container holding GROUP
 *   device-argsz16.bin, device-argsz20.bin, device-argsz24.bin,
 *   device-exact.bin, device-short.bin, device-4096.bin
 *                       VFIO_DEVICE_GET_INFO of BDF (16/20/24 = the fixed part of
 *                       each kernel generation, then the needed size, 8 short of
 *                       it, and 4096)
 *   region-N.bin        VFIO_DEVICE_GET_REGION_INFO of region N at its exact size
 *                       (32 bytes, or more with a capability chain)
 *   region-N-argsz32.bin  the 32-byte call of a region whose chain did not fit
 *   ioas-iova-ranges.bin, ioas-iova-ranges-array.bin
 *                       IOMMU_IOAS_IOVA_RANGES of an IOAS the device is attached
 *                       to through iommufd and the device cdev (the struct, then
 *                       the ranges array, pre-filled with 0xAA)
 *   reserved_regions-groupN   /sys/kernel/iommu_groups/N/reserved_regions
 *   meta.txt            what the kernel returned, errnos, the zPCI sysfs
 *                       attributes, and this program's own walk of every chain
 *                       (tests/s390x.rs compares the library's decoders with it)
 *
 * meta.txt is "key: value" lines and "KIND k=v k=v ..." lines (iommu_cap,
 * iommu_iova_range, device_cap, region, region_cap, ioas_range).
 *
 * Only libc, the uapi headers and capture-common.h; no dependency on the project's
 * own code on purpose. The header of the cross toolchain is older than the kernel, so the
 * iommufd and device-cdev ABI is spelled out below (values from Linux 6.12).
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

#define FILL 0xAA
#define VFIO_IOCTL(n) _IO(VFIO_TYPE, VFIO_BASE + (n))
/* <linux/vfio.h> of 6.1 has these numbers as well; spelled out for older headers. */
#define X_VFIO_GET_API_VERSION VFIO_IOCTL(0)
#define X_VFIO_DEVICE_GET_INFO VFIO_IOCTL(7)
#define X_VFIO_DEVICE_GET_REGION_INFO VFIO_IOCTL(8)
#define X_VFIO_IOMMU_GET_INFO VFIO_IOCTL(12)
/* Device cdev (6.6+): struct vfio_device_bind_iommufd / _attach_iommufd_pt. */
#define X_VFIO_DEVICE_BIND_IOMMUFD VFIO_IOCTL(18)
#define X_VFIO_DEVICE_ATTACH_IOMMUFD_PT VFIO_IOCTL(19)
/* iommufd (6.2+): _IO(';', 0x80 + n). */
#define X_IOMMU_IOAS_ALLOC _IO(';', 0x81)
#define X_IOMMU_IOAS_IOVA_RANGES _IO(';', 0x84)

/* IOMMU-info capability ids: describe_iommu_cap() in capture-common.h. */
/* Device-info capability ids (vfio_zdev.h, vfio.h). */
#define DEV_CAP_ZPCI_BASE 1
#define DEV_CAP_ZPCI_GROUP 2
#define DEV_CAP_ZPCI_UTIL 3
#define DEV_CAP_ZPCI_PFIP 4
#define DEV_CAP_PCI_ATOMIC_COMP 5
/* Region-info capability ids. */
#define REGION_CAP_SPARSE_MMAP 1
#define REGION_CAP_TYPE 2
#define REGION_CAP_MSIX_MAPPABLE 3

#define IOMMU_FLAG_CAPS (1u << 1)
#define DEVICE_FLAG_CAPS (1u << 7)
#define REGION_FLAG_CAPS (1u << 3)
#define REGION_INFO_SIZE 32
#define MAX_IOAS_RANGES 16

#define CAPTURE_NAME "capture-zpci"
#include "capture-common.h"

/* A 0xAA-filled buffer of SIZE bytes with ARGSZ at offset 0. */
static unsigned char *filled(size_t size, uint32_t argsz)
{
	unsigned char *buf = xmalloc(size < 4 ? 4 : size);

	memset(buf, FILL, size);
	st32(buf, argsz);
	return buf;
}

/* The ioctl's errno into a 0xAA-filled buffer of argsz 8 (below every minimum). */
static void errno_of_argsz8(int fd, unsigned long req, const char *key)
{
	unsigned char small[24];
	int e;

	memset(small, FILL, sizeof(small));
	st32(small, 8);
	e = ioctl(fd, req, small) < 0 ? errno : 0;
	fprintf(meta, "%s: %s (%d)\n", key, e ? errname(e) : "none, call succeeded", e);
}

static void hexbytes(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(meta, "%02x", p[i]);
	if (!n)
		fputc('-', meta);
}

/*
 * Walks the chain of BUF (LEN bytes) from the cap_offset field at CAP_OFFSET_AT,
 * printing one "KIND ..." line per capability through DESCRIBE. Bounded: offsets
 * must lie in [MIN_OFF, LEN - 8], at most (LEN - 8) / 8 hops.
 */
typedef void (*describe_fn)(const unsigned char *buf, size_t len, uint32_t off, uint16_t id);

static void walk_chain(const char *kind, const char *extra, const unsigned char *buf, size_t len,
		       size_t cap_offset_at, uint32_t min_off, describe_fn describe)
{
	uint32_t off = ld32(buf + cap_offset_at);
	size_t hops = 0, max_hops = (len - 8) / 8;

	while (off) {
		uint16_t id;

		if (off < min_off || off > len - 8 || ++hops > max_hops) {
			fprintf(meta, "%s %sbad_offset=%u len=%zu hop=%zu\n", kind, extra, off, len, hops);
			return;
		}
		id = ld16(buf + off);
		fprintf(meta, "%s %sid=%u version=%u offset=%u next=%u", kind, extra, id, ld16(buf + off + 2),
			off, ld32(buf + off + 4));
		describe(buf, len, off, id);
		fputc('\n', meta);
		off = ld32(buf + off + 4);
	}
}

/* --- VFIO_IOMMU_GET_INFO ------------------------------------------------------------ */

static unsigned char *iommu_info(int container, size_t size, uint32_t argsz, const char *file)
{
	unsigned char *buf = filled(size, argsz);

	if (ioctl(container, X_VFIO_IOMMU_GET_INFO, buf) < 0)
		die("VFIO_IOMMU_GET_INFO(argsz=%u) for %s: %s (%s, errno %d)", argsz, file, strerror(errno),
		    errname(errno), errno);
	write_file(file, buf, size);
	fprintf(meta, "%s: argsz_in=%u argsz_out=%u flags=0x%x iova_pgsizes=0x%016llx", file, argsz,
		ld32(buf), ld32(buf + 4), (unsigned long long)ld64(buf + 8));
	if (size >= 20)
		fprintf(meta, " cap_offset=%u", ld32(buf + 16));
	fputc('\n', meta);
	return buf;
}

static void capture_iommu_info(int container)
{
	unsigned char *b24, *exact;
	uint32_t needed;

	free(iommu_info(container, 16, 16, "info-argsz16.bin"));
	b24 = iommu_info(container, 24, 24, "info-argsz24.bin");
	needed = ld32(b24);
	free(b24);
	fprintf(meta, "iommu_needed_argsz: %u\n", needed);
	if (needed <= 24)
		die("VFIO_IOMMU_GET_INFO(argsz=24) reported needed size %u: no capability chain", needed);
	exact = iommu_info(container, needed, needed, "info-exact.bin");
	if (!(ld32(exact + 4) & IOMMU_FLAG_CAPS) || !ld32(exact + 16))
		die("VFIO_IOMMU_GET_INFO(argsz=%u): no capability chain (flags 0x%x, cap_offset %u)", needed,
		    ld32(exact + 4), ld32(exact + 16));
	fprintf(meta, "iommu_flags: 0x%x\n", ld32(exact + 4));
	fprintf(meta, "iommu_pgsizes: 0x%016llx\n", (unsigned long long)ld64(exact + 8));
	fprintf(meta, "iommu_cap_offset: %u\n", ld32(exact + 16));
	walk_chain("iommu_cap", "", exact, needed, 16, 16, describe_iommu_cap);
	free(exact);
	free(iommu_info(container, needed - 8, needed - 8, "info-short.bin"));
	free(iommu_info(container, 4096, 4096, "info-4096.bin"));
}

/* --- VFIO_DEVICE_GET_INFO ----------------------------------------------------------- */

static void describe_device_cap(const unsigned char *buf, size_t len, uint32_t off, uint16_t id)
{
	const unsigned char *c = buf + off;

	if (id == DEV_CAP_ZPCI_BASE && off + 32 <= len) {
		fprintf(meta,
			" name=ZPCI_BASE start_dma=0x%016llx end_dma=0x%016llx pchid=0x%04x vfn=0x%04x"
			" fmb_length=0x%04x pft=0x%02x gid=0x%02x",
			(unsigned long long)ld64(c + 8), (unsigned long long)ld64(c + 16), ld16(c + 24),
			ld16(c + 26), ld16(c + 28), c[30], c[31]);
		if (ld16(c + 2) >= 2 && off + 36 <= len)
			fprintf(meta, " fh=0x%08x", ld32(c + 32));
	} else if (id == DEV_CAP_ZPCI_GROUP && off + 39 <= len) {
		fprintf(meta,
			" name=ZPCI_GROUP dasm=0x%016llx msi_addr=0x%016llx flags=0x%llx mui=0x%04x noi=0x%04x"
			" maxstbl=0x%04x zpci_version=0x%02x",
			(unsigned long long)ld64(c + 8), (unsigned long long)ld64(c + 16),
			(unsigned long long)ld64(c + 24), ld16(c + 32), ld16(c + 34), ld16(c + 36), c[38]);
		if (ld16(c + 2) >= 2 && off + 42 <= len)
			fprintf(meta, " imaxstbl=0x%04x", ld16(c + 40));
	} else if ((id == DEV_CAP_ZPCI_UTIL || id == DEV_CAP_ZPCI_PFIP) && off + 12 <= len) {
		uint32_t n = ld32(c + 8);

		fprintf(meta, " name=%s size=%u bytes=", id == DEV_CAP_ZPCI_UTIL ? "ZPCI_UTIL" : "ZPCI_PFIP", n);
		if (n <= len - off - 12)
			hexbytes(c + 12, n);
		else
			fprintf(meta, "overflows");
	} else if (id == DEV_CAP_PCI_ATOMIC_COMP && off + 12 <= len) {
		fprintf(meta, " name=PCI_ATOMIC_COMP flags=0x%x", ld32(c + 8));
	} else {
		fprintf(meta, " name=unknown");
	}
}

static unsigned char *device_info(int device, size_t size, uint32_t argsz, const char *file)
{
	unsigned char *buf = filled(size, argsz);

	if (ioctl(device, X_VFIO_DEVICE_GET_INFO, buf) < 0)
		die("VFIO_DEVICE_GET_INFO(argsz=%u) for %s: %s (%s, errno %d)", argsz, file, strerror(errno),
		    errname(errno), errno);
	write_file(file, buf, size);
	fprintf(meta, "%s: argsz_in=%u argsz_out=%u flags=0x%x num_regions=%u num_irqs=%u", file, argsz,
		ld32(buf), ld32(buf + 4), ld32(buf + 8), ld32(buf + 12));
	if (size >= 20)
		fprintf(meta, " cap_offset=%u", ld32(buf + 16));
	fputc('\n', meta);
	return buf;
}

/* Returns the number of regions. */
static uint32_t capture_device_info(int device)
{
	unsigned char *b24, *exact;
	uint32_t needed, nregions;

	errno_of_argsz8(device, X_VFIO_DEVICE_GET_INFO, "device_info_argsz8_errno");
	free(device_info(device, 16, 16, "device-argsz16.bin"));
	free(device_info(device, 20, 20, "device-argsz20.bin"));
	b24 = device_info(device, 24, 24, "device-argsz24.bin");
	needed = ld32(b24);
	free(b24);
	fprintf(meta, "device_needed_argsz: %u\n", needed);
	if (needed <= 24)
		die("VFIO_DEVICE_GET_INFO(argsz=24) reported needed size %u: no zPCI capabilities", needed);
	exact = device_info(device, needed, needed, "device-exact.bin");
	nregions = ld32(exact + 8);
	fprintf(meta, "device_flags: 0x%x\n", ld32(exact + 4));
	fprintf(meta, "device_num_regions: %u\n", nregions);
	fprintf(meta, "device_num_irqs: %u\n", ld32(exact + 12));
	fprintf(meta, "device_cap_offset: %u\n", ld32(exact + 16));
	if (!(ld32(exact + 4) & DEVICE_FLAG_CAPS) || !ld32(exact + 16))
		die("VFIO_DEVICE_GET_INFO(argsz=%u): no capability chain (flags 0x%x, cap_offset %u)", needed,
		    ld32(exact + 4), ld32(exact + 16));
	walk_chain("device_cap", "", exact, needed, 16, 20, describe_device_cap);
	free(exact);
	free(device_info(device, needed - 8, needed - 8, "device-short.bin"));
	free(device_info(device, 4096, 4096, "device-4096.bin"));
	return nregions;
}

/* --- VFIO_DEVICE_GET_REGION_INFO ---------------------------------------------------- */

static void describe_region_cap(const unsigned char *buf, size_t len, uint32_t off, uint16_t id)
{
	const unsigned char *c = buf + off;

	if (id == REGION_CAP_SPARSE_MMAP && off + 16 <= len) {
		uint32_t n = ld32(c + 8);

		fprintf(meta, " name=SPARSE_MMAP nr_areas=%u areas=", n);
		for (uint32_t i = 0; i < n && off + 16 + 16 * ((size_t)i + 1) <= len; i++)
			fprintf(meta, "%s0x%llx+0x%llx", i ? "," : "",
				(unsigned long long)ld64(c + 16 + 16 * i),
				(unsigned long long)ld64(c + 24 + 16 * i));
		if (!n)
			fputc('-', meta);
	} else if (id == REGION_CAP_TYPE && off + 16 <= len) {
		fprintf(meta, " name=TYPE type=%u subtype=%u", ld32(c + 8), ld32(c + 12));
	} else if (id == REGION_CAP_MSIX_MAPPABLE) {
		fprintf(meta, " name=MSIX_MAPPABLE");
	} else {
		fprintf(meta, " name=unknown");
	}
}

static void region_line(uint32_t index, uint32_t argsz, const unsigned char *buf, const char *file)
{
	fprintf(meta,
		"region index=%u file=%s argsz_in=%u argsz_out=%u flags=0x%x index_out=%u cap_offset=%u"
		" size=0x%llx offset=0x%llx\n",
		index, file, argsz, ld32(buf), ld32(buf + 4), ld32(buf + 8), ld32(buf + 12),
		(unsigned long long)ld64(buf + 16), (unsigned long long)ld64(buf + 24));
}

static void capture_regions(int device, uint32_t nregions)
{
	errno_of_argsz8(device, X_VFIO_DEVICE_GET_REGION_INFO, "region_info_argsz8_errno");
	for (uint32_t i = 0; i < nregions; i++) {
		unsigned char *buf = filled(REGION_INFO_SIZE, REGION_INFO_SIZE);
		char file[64];
		uint32_t needed;

		st32(buf + 8, i);
		if (ioctl(device, X_VFIO_DEVICE_GET_REGION_INFO, buf) < 0) {
			/* e.g. the VGA region of a device without VGA: EINVAL. */
			fprintf(meta, "region index=%u errno=%s (%d)\n", i, errname(errno), errno);
			free(buf);
			continue;
		}
		needed = ld32(buf);
		if (needed <= REGION_INFO_SIZE) {
			snprintf(file, sizeof(file), "region-%u.bin", i);
			write_file(file, buf, REGION_INFO_SIZE);
			region_line(i, REGION_INFO_SIZE, buf, file);
			free(buf);
			continue;
		}
		snprintf(file, sizeof(file), "region-%u-argsz32.bin", i);
		write_file(file, buf, REGION_INFO_SIZE);
		region_line(i, REGION_INFO_SIZE, buf, file);
		free(buf);
		buf = filled(needed, needed);
		st32(buf + 8, i);
		if (ioctl(device, X_VFIO_DEVICE_GET_REGION_INFO, buf) < 0)
			die("VFIO_DEVICE_GET_REGION_INFO(index=%u, argsz=%u): %s (%s)", i, needed, strerror(errno),
			    errname(errno));
		snprintf(file, sizeof(file), "region-%u.bin", i);
		write_file(file, buf, needed);
		region_line(i, needed, buf, file);
		if (ld32(buf + 4) & REGION_FLAG_CAPS) {
			char extra[32];

			snprintf(extra, sizeof(extra), "region=%u ", i);
			walk_chain("region_cap", extra, buf, needed, 12, REGION_INFO_SIZE, describe_region_cap);
		}
		free(buf);
	}
}

/* --- sysfs -------------------------------------------------------------------------- */

/* reserved_regions-groupN: the group's reserved_regions as is (tests/s390x.rs reads it). */
static void copy_reserved_regions(long group)
{
	char data[65536];

	copy_reserved_regions_raw(group, data, sizeof(data));
}

/* The zPCI attributes of the function (arch/s390/pci/pci_sysfs.c). */
static void zpci_sysfs(const char *bdf)
{
	static const char *attrs[] = { "function_id", "function_handle", "pchid", "pfgid", "vfn", "pft",
				       "port", "uid", "pfip/segment0", "pfip/segment1", "pfip/segment2",
				       "pfip/segment3", "vendor", "device" };
	char path[512], value[256], key[64];

	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, attrs[i]);
		if (read_sysfs(path, value, sizeof(value)) < 0)
			snprintf(value, sizeof(value), "unreadable (%s)", errname(errno));
		snprintf(key, sizeof(key), "%s", attrs[i]);
		for (char *c = key; *c; c++)
			if (*c == '/')
				*c = '_';
		fprintf(meta, "sysfs_%s: %s\n", key, value);
	}
}

/* --- iommufd and the device cdev ---------------------------------------------------- */

/*
 * IOMMU_IOAS_IOVA_RANGES with room for CAP ranges; returns 0 or the errno. The
 * struct (32 bytes: size, ioas_id, num_iovas, __reserved, allowed_iovas,
 * out_iova_alignment) has its output field pre-filled with 0xAA; the array too.
 */
static int ioas_ranges(int iommufd, uint32_t ioas, uint32_t cap, unsigned char st[32], unsigned char *array)
{
	uint64_t ptr = (uint64_t)(uintptr_t)array;

	memset(st, 0, 32);
	st32(st, 32);
	st32(st + 4, ioas);
	st32(st + 8, cap);
	memcpy(st + 16, &ptr, sizeof(ptr));
	memset(st + 24, FILL, 8);
	if (cap)
		memset(array, FILL, 16 * (size_t)cap);
	return ioctl(iommufd, X_IOMMU_IOAS_IOVA_RANGES, st) < 0 ? errno : 0;
}

static void ioas_ranges_meta(const char *when, int e, const unsigned char st[32], const unsigned char *array,
			     uint32_t cap)
{
	uint32_t n = ld32(st + 8);

	fprintf(meta, "ioas_iova_ranges_%s: errno=%s num_iovas=%u out_iova_alignment=0x%llx\n", when,
		e ? errname(e) : "0", n, (unsigned long long)ld64(st + 24));
	for (uint32_t i = 0; i < n && i < cap; i++)
		fprintf(meta, "ioas_range when=%s start=0x%016llx last=0x%016llx\n", when,
			(unsigned long long)ld64(array + 16 * i), (unsigned long long)ld64(array + 16 * i + 8));
}

static void capture_iommufd(const char *bdf)
{
	unsigned char st[32], array[16 * MAX_IOAS_RANGES];
	unsigned char bind[16], alloc[12], attach[12];
	char path[512];
	int iommufd, dev, e;
	uint32_t ioas;

	iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0)
		die("open /dev/iommu: %s (a kernel without CONFIG_IOMMUFD?)", strerror(errno));
	cdev_path(bdf, path, sizeof(path));
	dev = open(path, O_RDWR);
	if (dev < 0)
		die("open %s: %s", path, strerror(errno));
	fprintf(meta, "cdev: %s\n", path);

	memset(bind, 0, sizeof(bind));
	st32(bind, sizeof(bind));
	st32(bind + 8, (uint32_t)iommufd);
	xioctl(dev, X_VFIO_DEVICE_BIND_IOMMUFD, bind, "VFIO_DEVICE_BIND_IOMMUFD");
	fprintf(meta, "iommufd_devid: %u\n", ld32(bind + 12));

	memset(alloc, 0, sizeof(alloc));
	st32(alloc, sizeof(alloc));
	xioctl(iommufd, X_IOMMU_IOAS_ALLOC, alloc, "IOMMU_IOAS_ALLOC");
	ioas = ld32(alloc + 8);
	fprintf(meta, "iommufd_ioas_id: %u\n", ioas);

	/* Before the attach: the IOAS has no domain yet. */
	e = ioas_ranges(iommufd, ioas, MAX_IOAS_RANGES, st, array);
	ioas_ranges_meta("before_attach", e, st, array, MAX_IOAS_RANGES);

	memset(attach, 0, sizeof(attach));
	st32(attach, sizeof(attach));
	st32(attach + 8, ioas);
	xioctl(dev, X_VFIO_DEVICE_ATTACH_IOMMUFD_PT, attach, "VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	fprintf(meta, "iommufd_hwpt_id: %u\n", ld32(attach + 8));

	/* No room: EMSGSIZE and the count expected. */
	e = ioas_ranges(iommufd, ioas, 0, st, array);
	ioas_ranges_meta("no_room", e, st, array, 0);
	write_file("ioas-iova-ranges-no-room.bin", st, sizeof(st));

	e = ioas_ranges(iommufd, ioas, MAX_IOAS_RANGES, st, array);
	if (e)
		die("IOMMU_IOAS_IOVA_RANGES(num_iovas=%d) after the attach: %s", MAX_IOAS_RANGES, errname(e));
	ioas_ranges_meta("attached", e, st, array, MAX_IOAS_RANGES);
	write_file("ioas-iova-ranges.bin", st, sizeof(st));
	write_file("ioas-iova-ranges-array.bin", array, sizeof(array));
	close(dev);
	close(iommufd);
}

/* --- main --------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	int container, group, device, api, pre_errno;
	unsigned char pre[24];
	struct utsname uts;
	const char *bdf;
	char path[4096];
	long group_id;
	uint32_t nregions;

	if (argc != 4)
		die("usage: capture-zpci OUTDIR BDF GROUP");
	bdf = argv[2];
	group_id = parse_group(argv[3]);
	open_outdir(argv[1]);

	if (uname(&uts) < 0)
		die("uname: %s", strerror(errno));
	fprintf(meta, "uname_r: %s\n", uts.release);
	fprintf(meta, "uname_m: %s\n", uts.machine);
	meta_byte_order();
	fprintf(meta, "bdf: %s\n", bdf);
	fprintf(meta, "group: %ld\n", group_id);
	zpci_sysfs(bdf);

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		die("open /dev/vfio/vfio: %s", strerror(errno));
	api = ioctl(container, X_VFIO_GET_API_VERSION);
	if (api != VFIO_API_VERSION)
		die("VFIO_GET_API_VERSION: %d, expected %d", api, VFIO_API_VERSION);
	if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1)
		die("VFIO_CHECK_EXTENSION(TYPE1v2): not supported");

	snprintf(path, sizeof(path), "/dev/vfio/%ld", group_id);
	group = open(path, O_RDWR);
	if (group < 0)
		die("open %s: %s", path, strerror(errno));
	{
		struct vfio_group_status st = { .argsz = sizeof(st) };

		xioctl(group, VFIO_GROUP_GET_STATUS, &st, "VFIO_GROUP_GET_STATUS");
		if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
			die("group %ld is not viable (flags 0x%x): bind all its devices to vfio-pci", group_id,
			    st.flags);
	}
	xioctl(group, VFIO_GROUP_SET_CONTAINER, &container, "VFIO_GROUP_SET_CONTAINER");

	memset(pre, FILL, sizeof(pre));
	st32(pre, sizeof(pre));
	pre_errno = ioctl(container, X_VFIO_IOMMU_GET_INFO, pre) < 0 ? errno : 0;
	fprintf(meta, "get_info_before_set_iommu_errno: %s (%d)\n",
		pre_errno ? errname(pre_errno) : "none, call succeeded", pre_errno);
	xioctl(container, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU, "VFIO_SET_IOMMU(TYPE1v2)");
	errno_of_argsz8(container, X_VFIO_IOMMU_GET_INFO, "get_info_argsz8_errno");
	capture_iommu_info(container);
	copy_reserved_regions(group_id);

	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (device < 0)
		die("VFIO_GROUP_GET_DEVICE_FD(%s): %s (%s)", bdf, strerror(errno), errname(errno));
	nregions = capture_device_info(device);
	capture_regions(device, nregions);
	/* The device cdev cannot be opened while the group path holds the device. */
	close(device);
	close(group);
	close(container);
	fflush(meta);

	capture_iommufd(bdf);

	if (fclose(meta) != 0)
		die("write meta.txt: %s", strerror(errno));
	meta = NULL;
	printf("capture-zpci: %s in group %ld: written to %s\n", bdf, group_id, outdir);
	return 0;
}
