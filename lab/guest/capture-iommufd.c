/*
 * capture-iommufd: record raw iommufd answers of a real arm64 kernel for one PCI device
 * behind an IOMMU (QEMU virt's SMMUv3, or virtio-iommu), and what the kernel enforces.
 *
 * Usage: capture-iommufd OUTDIR BDF GROUP
 *
 * The lab runner's calling convention for a capture program (lab/guest/init-foreign runs
 * it as /bin/capture, creates nothing itself, and reports the LAST line of its output as
 * the row `capture`): OUTDIR is made here, every file in it goes back to the host, and a
 * failure exits 1 with the reason as the last line. lab/arch/aarch64 names it for the
 * kernel series 7.3-arm64-iommufd (capture.7.3-arm64-iommufd); lab/foreign.sh builds it
 * with aarch64-linux-gnu-gcc -static against the uapi headers of the kernel it runs on
 * (cc_flags.7.3-arm64-iommufd: `make headers_install ARCH=arm64` of linux-source-7.3,
 * which lab/build-kernel leaves beside the image, since bookworm's linux-libc-dev is
 * 6.1). Every buffer is written exactly as the kernel left it, pre-filled with 0xAA, in
 * the guest's byte order (little-endian):
 *
 *   info-argsz16.bin, info-exact.bin, info-4096.bin
 *                       VFIO_IOMMU_GET_INFO of a type1v2 container holding GROUP
 *                       (the legacy path, first: its iova_pgsizes is the page-size
 *                       bitmap of the kernel's own paging domain for the device)
 *   hw-info-NAME.bin    struct iommu_hw_info after IOMMU_GET_HW_INFO (40 bytes;
 *                       data_uptr is a guest address)
 *   hw-data-NAME.bin    the data buffer of that call: data_len bytes passed, plus
 *                       16 more that the kernel must not touch (0xAA), for NAME
 *                       len0, len8, short (the kernel's length - 1), exact, len64,
 *                       len4096
 *   ioas-iova-ranges-before.bin, ioas-iova-ranges-before-array.bin
 *   ioas-iova-ranges.bin, ioas-iova-ranges-array.bin
 *                       IOMMU_IOAS_IOVA_RANGES of the IOAS before and after the
 *                       device's cdev is attached (32-byte struct, 16-entry array)
 *   reserved_regions-groupN   /sys/kernel/iommu_groups/N/reserved_regions
 *   meta.txt            what this program decoded itself: uname, the page size,
 *                       type1's answer, every hw_info call, the SMMUv3 registers,
 *                       the IOAS ranges, and the errno of each IOMMU_IOAS_MAP probe
 *   dmesg.txt           the kernel's log after the capture (the SMMU's probe line,
 *                       the IOMMU groups), for provenance; written also after a failure
 *
 * meta.txt is "key: value" lines and "KIND k=v k=v ..." lines (reserved_region,
 * iommu_cap, iommu_iova_range, hw_info, ioas_range, map). tests/arm64_iommufd.rs
 * compares the library's decoders with it.
 *
 * The page sizes the kernel's domain really uses are revealed three ways here: type1's
 * iova_pgsizes (vfio_iommu_type1 reports domain->pgsize_bitmap, which io-pgtable-arm's
 * arm_lpae_restrict_pgsizes cut to one granule), iommufd's out_iova_alignment after
 * the attach (iopt_calculate_iova_alignment: the smallest page of the domain), and
 * IOMMU_IOAS_MAP probes at IOVAs and lengths aligned to half of it (EINVAL) and to it.
 *
 * Only libc, the kernel's uapi headers and capture-common.h; no dependency on the
 * project's own code on purpose.
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
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#if !defined(IOMMU_GET_HW_INFO) || !defined(VFIO_DEVICE_ATTACH_IOMMUFD_PT)
#error "build against the uapi headers of Linux 6.6+ (make headers_install of the guest's kernel)"
#endif

#define FILL 0xAA
#define CANARY 16
#define MAX_RANGES 16

/* For the summary line. */
static uint64_t sum_pgsizes, sum_caps, sum_align;
static uint32_t sum_hw_type, sum_hw_len, sum_ranges;

static void save_dmesg(void);

#define CAPTURE_NAME "capture-iommufd"
#define CAPTURE_ERRNAME_0 "OK"
/* The kernel's side of the failure; before the message, which must be the last line. */
#define CAPTURE_DIE_HOOK()      \
	do {                    \
		if (outdir)     \
			save_dmesg(); \
		fflush(stdout); \
	} while (0)
#include "capture-common.h"

static int xopen(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0)
		die("open %s: %s (%s)", path, strerror(errno), errname(errno));
	return fd;
}

/* dmesg.txt: the whole kernel log buffer (syslog(2) READ_ALL). Best effort: a failure
 * here is reported on stderr, never fatal (die() calls it). */
static void save_dmesg(void)
{
	static int saving;
	char path[4096];
	char *buf;
	int size, n, fd;

	if (saving++)
		return;
	size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	if (size <= 0 || size > (64 << 20)) {
		fprintf(stderr, "capture-iommufd: dmesg: buffer size %d (%s)\n", size, strerror(errno));
		return;
	}
	buf = malloc((size_t)size);
	if (!buf)
		return;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size);
	/* Without the "<level>" each line starts with, as dmesg(1) prints it. */
	if (n > 0) {
		int in = 0, out = 0;

		while (in < n) {
			if (buf[in] == '<' && (in == 0 || buf[in - 1] == '\n')) {
				int j = in + 1;

				while (j < n && buf[j] >= '0' && buf[j] <= '9')
					j++;
				if (j > in + 1 && j < n && buf[j] == '>')
					in = j + 1;
			}
			while (in < n && buf[in] != '\n')
				buf[out++] = buf[in++];
			if (in < n)
				buf[out++] = buf[in++];
		}
		n = out;
	}
	snprintf(path, sizeof(path), "%s/dmesg.txt", outdir);
	fd = n < 0 ? -1 : open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (n < 0 || fd < 0 || write(fd, buf, (size_t)n) != n)
		fprintf(stderr, "capture-iommufd: dmesg.txt: %s\n", strerror(errno));
	if (fd >= 0)
		close(fd);
	free(buf);
}

/* --- sysfs ---------------------------------------------------------------------------- */

static void reserved_regions(long group)
{
	char path[256], name[64], data[65536], *line, *save;
	int n;

	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%ld/reserved_regions", group);
	n = read_sysfs(path, data, sizeof(data));
	if (n < 0)
		die("read %s: %s", path, strerror(errno));
	snprintf(name, sizeof(name), "reserved_regions-group%ld", group);
	/* read_sysfs dropped the trailing newline: put it back for the raw copy. */
	data[n] = '\n';
	write_file(name, data, n ? (size_t)n + 1 : 0);
	data[n] = 0;
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long start, end;
		char type[64];

		if (sscanf(line, "%llx %llx %63s", &start, &end, type) == 3)
			fprintf(meta, "reserved_region start=0x%016llx end=0x%016llx type=%s\n", start, end, type);
		else
			fprintf(meta, "reserved_region unparsed=%s\n", line);
	}
}

/* The IOMMU's sysfs name (/sys/bus/pci/devices/BDF/iommu -> .../iommu/NAME). */
static void iommu_name(const char *bdf)
{
	char path[512], target[512];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		fprintf(meta, "iommu: none (%s)\n", errname(errno));
		return;
	}
	target[n] = 0;
	fprintf(meta, "iommu: %s\n", strrchr(target, '/') ? strrchr(target, '/') + 1 : target);
}

/* --- VFIO type1 (the legacy container) ------------------------------------------------ */

static void describe_chain(const unsigned char *buf, size_t len)
{
	/* struct vfio_iommu_type1_info: argsz, flags, iova_pgsizes (u64), cap_offset @16. */
	uint32_t off = ld32(buf + 16);
	size_t hops = 0;

	while (off) {
		uint16_t id;

		if (off < 24 || off > len - 8 || ++hops > len / 8) {
			fprintf(meta, "iommu_cap bad_offset=%u len=%zu\n", off, len);
			return;
		}
		id = ld16(buf + off);
		fprintf(meta, "iommu_cap id=%u version=%u offset=%u next=%u", id, ld16(buf + off + 2), off,
			ld32(buf + off + 4));
		describe_iommu_cap(buf, len, off, id);
		fputc('\n', meta);
		off = ld32(buf + off + 4);
	}
}

static unsigned char *type1_info(int container, size_t size, uint32_t argsz, const char *file)
{
	unsigned char *buf = xmalloc(size);

	memset(buf, FILL, size);
	memcpy(buf, &argsz, sizeof(argsz));
	if (ioctl(container, VFIO_IOMMU_GET_INFO, buf) < 0)
		die("VFIO_IOMMU_GET_INFO(argsz=%u): %s (%s)", argsz, strerror(errno), errname(errno));
	write_file(file, buf, size);
	return buf;
}

/* Opens GROUP in a type1v2 container, captures GET_INFO, closes both again (the device's
 * cdev cannot be bound while its group is open the legacy way). */
static void type1(long group)
{
	char path[64];
	unsigned char *b;
	uint32_t needed;
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int container, g;

	container = xopen("/dev/vfio/vfio", O_RDWR);
	snprintf(path, sizeof(path), "/dev/vfio/%ld", group);
	g = xopen(path, O_RDWR);
	xioctl(g, VFIO_GROUP_GET_STATUS, &st, "VFIO_GROUP_GET_STATUS");
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		die("group %ld is not viable (flags 0x%x)", group, st.flags);
	xioctl(g, VFIO_GROUP_SET_CONTAINER, &container, "VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
		die("VFIO_SET_IOMMU(TYPE1v2): %s (%s)", strerror(errno), errname(errno));

	b = type1_info(container, 16, 16, "info-argsz16.bin");
	needed = ld32(b);
	free(b);
	fprintf(meta, "type1_argsz_needed: %u\n", needed);
	if (needed < 24 || needed > 4096)
		die("VFIO_IOMMU_GET_INFO says it needs %u bytes", needed);
	b = type1_info(container, needed, needed, "info-exact.bin");
	fprintf(meta, "type1_flags: 0x%x\n", ld32(b + 4));
	fprintf(meta, "type1_iova_pgsizes: 0x%llx\n", (unsigned long long)ld64(b + 8));
	sum_pgsizes = ld64(b + 8);
	describe_chain(b, needed);
	free(b);
	free(type1_info(container, 4096, 4096, "info-4096.bin"));
	close(g);
	close(container);
}

/* --- iommufd -------------------------------------------------------------------------- */

/* One IOMMU_GET_HW_INFO with a data buffer of LEN bytes (+ CANARY), both the struct's
 * output fields and the buffer pre-filled with 0xAA. Returns the kernel's data_len. */
static uint32_t hw_info(int iommufd, uint32_t devid, uint32_t len, const char *name)
{
	struct iommu_hw_info hw;
	unsigned char *data = xmalloc((size_t)len + CANARY);
	char file[64];
	int e;

	memset(data, FILL, (size_t)len + CANARY);
	memset(&hw, 0, sizeof(hw));
	hw.size = sizeof(hw);
	hw.dev_id = devid;
	hw.data_len = len;
	hw.data_uptr = (uint64_t)(uintptr_t)data;
	/* Output fields: out_max_pasid_log2 and out_capabilities (the reserved bytes must
	 * stay 0, out_data_type is an input without IOMMU_HW_INFO_FLAG_INPUT_TYPE and the
	 * kernel clears it). */
	memset(&hw.out_max_pasid_log2, FILL, sizeof(hw.out_max_pasid_log2));
	memset(&hw.out_capabilities, FILL, sizeof(hw.out_capabilities));
	e = ioctl(iommufd, IOMMU_GET_HW_INFO, &hw) < 0 ? errno : 0;
	fprintf(meta, "hw_info name=%s len=%u errno=%s data_len=%u out_data_type=%u out_max_pasid_log2=%u "
		      "out_capabilities=0x%llx\n",
		name, len, errname(e), hw.data_len, hw.out_data_type, hw.out_max_pasid_log2,
		(unsigned long long)hw.out_capabilities);
	if (e)
		die("IOMMU_GET_HW_INFO(data_len=%u): %s (%s)", len, strerror(e), errname(e));
	snprintf(file, sizeof(file), "hw-info-%s.bin", name);
	write_file(file, &hw, sizeof(hw));
	snprintf(file, sizeof(file), "hw-data-%s.bin", name);
	write_file(file, data, (size_t)len + CANARY);
	if (!strcmp(name, "exact")) {
		sum_hw_type = hw.out_data_type;
		sum_hw_len = hw.data_len;
		sum_caps = hw.out_capabilities;
	}
	if (!strcmp(name, "exact") && hw.out_data_type == IOMMU_HW_INFO_TYPE_ARM_SMMUV3 &&
	    len >= sizeof(struct iommu_hw_info_arm_smmuv3)) {
		struct iommu_hw_info_arm_smmuv3 s;
		uint32_t idr5;

		memcpy(&s, data, sizeof(s));
		idr5 = s.idr[5];
		fprintf(meta, "smmuv3: flags=0x%x idr0=0x%08x idr1=0x%08x idr2=0x%08x idr3=0x%08x idr4=0x%08x "
			      "idr5=0x%08x iidr=0x%08x aidr=0x%08x\n",
			s.flags, s.idr[0], s.idr[1], s.idr[2], s.idr[3], s.idr[4], s.idr[5], s.iidr, s.aidr);
		/* IDR5 (SMMUv3 spec 6.3.6): OAS [2:0], GRAN4K [4], GRAN16K [5], GRAN64K [6],
		 * VAX [11:10]; IDR0: S2P [0], S1P [1], HTTU [7:6]. */
		fprintf(meta, "smmuv3_idr5: oas=%u gran4k=%u gran16k=%u gran64k=%u vax=%u\n", idr5 & 7,
			(idr5 >> 4) & 1, (idr5 >> 5) & 1, (idr5 >> 6) & 1, (idr5 >> 10) & 3);
		fprintf(meta, "smmuv3_idr0: s2p=%u s1p=%u httu=%u\n", s.idr[0] & 1, (s.idr[0] >> 1) & 1,
			(s.idr[0] >> 6) & 3);
	}
	free(data);
	return hw.data_len;
}

/* IOMMU_IOAS_IOVA_RANGES with room for MAX_RANGES, output fields pre-filled with 0xAA;
 * the struct and the array are written to FILE and FILE-array. Returns the count. */
static uint32_t ioas_ranges(int iommufd, uint32_t ioas, const char *when, const char *file,
			    uint64_t starts[MAX_RANGES], uint64_t lasts[MAX_RANGES], uint64_t *alignment)
{
	struct iommu_ioas_iova_ranges r;
	struct iommu_iova_range arr[MAX_RANGES];
	char name[96];
	int e;

	memset(&r, 0, sizeof(r));
	memset(arr, FILL, sizeof(arr));
	r.size = sizeof(r);
	r.ioas_id = ioas;
	r.num_iovas = MAX_RANGES;
	r.allowed_iovas = (uint64_t)(uintptr_t)arr;
	memset(&r.out_iova_alignment, FILL, sizeof(r.out_iova_alignment));
	e = ioctl(iommufd, IOMMU_IOAS_IOVA_RANGES, &r) < 0 ? errno : 0;
	fprintf(meta, "ioas_iova_ranges_%s: errno=%s num_iovas=%u out_iova_alignment=0x%llx\n", when, errname(e),
		r.num_iovas, (unsigned long long)r.out_iova_alignment);
	if (e)
		die("IOMMU_IOAS_IOVA_RANGES (%s): %s (%s)", when, strerror(e), errname(e));
	snprintf(name, sizeof(name), "%s.bin", file);
	write_file(name, &r, sizeof(r));
	snprintf(name, sizeof(name), "%s-array.bin", file);
	write_file(name, arr, sizeof(arr));
	for (uint32_t i = 0; i < r.num_iovas && i < MAX_RANGES; i++) {
		fprintf(meta, "ioas_range when=%s start=0x%016llx last=0x%016llx\n", when,
			(unsigned long long)arr[i].start, (unsigned long long)arr[i].last);
		starts[i] = arr[i].start;
		lasts[i] = arr[i].last;
	}
	*alignment = r.out_iova_alignment;
	return r.num_iovas < MAX_RANGES ? r.num_iovas : MAX_RANGES;
}

/* One IOMMU_IOAS_MAP at a fixed IOVA; records and returns the errno (0 = mapped). */
static int map(int iommufd, uint32_t ioas, const char *what, void *va, uint64_t iova, uint64_t length)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
		.user_va = (uint64_t)(uintptr_t)va,
		.length = length,
		.iova = iova,
	};
	int e = ioctl(iommufd, IOMMU_IOAS_MAP, &m) < 0 ? errno : 0;

	fprintf(meta, "map what=%s iova=0x%016llx length=0x%llx errno=%s\n", what, (unsigned long long)iova,
		(unsigned long long)length, errname(e));
	return e;
}

static void unmap_all(int iommufd, uint32_t ioas)
{
	struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = 0, .length = UINT64_MAX };

	xioctl(iommufd, IOMMU_IOAS_UNMAP, &u, "IOMMU_IOAS_UNMAP (all)");
}

static void iommufd(const char *bdf, long page)
{
	static const struct {
		const char *name;
		int32_t len; /* -1: the kernel's length - 1, -2: the kernel's length */
	} calls[] = { { "len0", 0 }, { "len8", 8 }, { "short", -1 }, { "exact", -2 }, { "len64", 64 },
		      { "len4096", 4096 } };
	uint64_t starts[MAX_RANGES], lasts[MAX_RANGES], align, usable = 0, hole = 0, past;
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	uint32_t kernel_len = 0, n;
	char path[512];
	unsigned char *mem;
	int fd, dev;

	if (access("/dev/iommu", F_OK) < 0)
		die("/dev/iommu: %s: the kernel has no iommufd (CONFIG_IOMMUFD; "
		    "lab/kernels/linux-7.3-arm64-iommufd.config builds it in)",
		    strerror(errno));
	fd = xopen("/dev/iommu", O_RDWR);
	cdev_path(bdf, path, sizeof(path));
	fprintf(meta, "cdev: %s\n", path);
	dev = xopen(path, O_RDWR);
	bind.iommufd = fd;
	xioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind, "VFIO_DEVICE_BIND_IOMMUFD");
	fprintf(meta, "iommufd_devid: %u\n", bind.out_devid);

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		int32_t len = calls[i].len;

		if (len == -1 && kernel_len == 0)
			continue; /* no data: "short" means nothing */
		if (len == -1)
			len = (int32_t)kernel_len - 1;
		else if (len == -2)
			len = (int32_t)kernel_len;
		n = hw_info(fd, bind.out_devid, (uint32_t)len, calls[i].name);
		if (i == 0)
			kernel_len = n;
	}
	fprintf(meta, "hw_info_data_len: %u\n", kernel_len);

	xioctl(fd, IOMMU_IOAS_ALLOC, &alloc, "IOMMU_IOAS_ALLOC");
	fprintf(meta, "ioas_id: %u\n", alloc.out_ioas_id);
	ioas_ranges(fd, alloc.out_ioas_id, "before", "ioas-iova-ranges-before", starts, lasts, &align);
	attach.pt_id = alloc.out_ioas_id;
	xioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach, "VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	fprintf(meta, "attached_pt_id: %u\n", attach.pt_id);
	n = ioas_ranges(fd, alloc.out_ioas_id, "after", "ioas-iova-ranges", starts, lasts, &align);
	if (n == 0)
		die("no IOVA range after the attach");
	sum_ranges = n;
	sum_align = align;
	if (align == 0 || (align & (align - 1)) || align > (uint64_t)page)
		die("out_iova_alignment 0x%llx is not a power of two <= the page size", (unsigned long long)align);

	/* Enforcement. A usable IOVA: 1 GiB into the first range wide enough, else its start. */
	for (uint32_t i = 0; i < n; i++) {
		uint64_t s = (starts[i] + align - 1) & ~(align - 1);

		if (s < starts[i] || s > lasts[i] || lasts[i] - s < (uint64_t)page - 1)
			continue;
		usable = (lasts[i] - s >= (1ull << 31)) ? s + (1ull << 30) : s;
		break;
	}
	mem = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1,
		   0);
	if (mem == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memset(mem, 0x5a, 2 * (size_t)page);
	fprintf(meta, "map_usable_iova: 0x%llx\n", (unsigned long long)usable);
	map(fd, alloc.out_ioas_id, "usable", mem, usable, (uint64_t)page);
	map(fd, alloc.out_ioas_id, "twice", mem, usable, (uint64_t)page);
	unmap_all(fd, alloc.out_ioas_id);
	/* The granule: IOVA and length aligned to the alignment map, half of it does not. */
	if (align > 1) {
		map(fd, alloc.out_ioas_id, "iova-half-alignment", mem, usable + align / 2, (uint64_t)page);
		map(fd, alloc.out_ioas_id, "length-half-alignment", mem, usable, align / 2);
		map(fd, alloc.out_ioas_id, "iova-alignment", mem, usable + align, (uint64_t)page);
		unmap_all(fd, alloc.out_ioas_id);
	}
	/* In the first hole between two ranges (the MSI window on SMMUv3). */
	if (n >= 2) {
		hole = lasts[0] + 1;
		fprintf(meta, "map_hole_iova: 0x%llx\n", (unsigned long long)hole);
		map(fd, alloc.out_ioas_id, "hole", mem, hole, (uint64_t)page);
		/* A mapping that starts usable and runs into the hole. */
		if (hole >= (uint64_t)page)
			map(fd, alloc.out_ioas_id, "into-hole", mem, hole - (uint64_t)page, 2 * (uint64_t)page);
		unmap_all(fd, alloc.out_ioas_id);
	} else {
		fprintf(meta, "map_hole_iova: none (one range)\n");
	}
	/* Past the aperture: the page after the last range (when the range ends below 2^64). */
	if (lasts[n - 1] != UINT64_MAX) {
		past = lasts[n - 1] + 1;
		fprintf(meta, "map_past_iova: 0x%llx\n", (unsigned long long)past);
		map(fd, alloc.out_ioas_id, "past-aperture", mem, past, (uint64_t)page);
		map(fd, alloc.out_ioas_id, "last-page", mem, lasts[n - 1] + 1 - (uint64_t)page, (uint64_t)page);
		unmap_all(fd, alloc.out_ioas_id);
	} else {
		fprintf(meta, "map_past_iova: none (the last range ends at 2^64-1)\n");
	}
	munmap(mem, 2 * (size_t)page);
	close(dev);
	close(fd);
}

int main(int argc, char **argv)
{
	struct utsname u;
	long group, page;
	char *end;

	if (argc != 4)
		die("usage: capture-iommufd OUTDIR BDF GROUP");
	group = strtol(argv[3], &end, 10);
	if (*end || end == argv[3] || group < 0)
		die("GROUP '%s' is not a group number", argv[3]);
	open_outdir(argv[1]);
	setvbuf(meta, NULL, _IOLBF, 0);
	if (uname(&u) < 0)
		die("uname: %s", strerror(errno));
	page = sysconf(_SC_PAGESIZE);
	if (page <= 0 || (unsigned long)page != getauxval(AT_PAGESZ))
		die("sysconf(_SC_PAGESIZE) %ld and AT_PAGESZ %lu disagree", page, getauxval(AT_PAGESZ));
	fprintf(meta, "uname: %s %s %s\n", u.sysname, u.release, u.version);
	fprintf(meta, "machine: %s\n", u.machine);
	fprintf(meta, "page_size: %ld\n", page);
	meta_byte_order();
	fprintf(meta, "bdf: %s\n", argv[2]);
	fprintf(meta, "group: %ld\n", group);
	iommu_name(argv[2]);
	reserved_regions(group);
	type1(group);
	iommufd(argv[2], page);
	fprintf(meta, "complete: yes\n");
	if (fclose(meta))
		die("close meta.txt: %s", strerror(errno));
	meta = NULL;
	save_dmesg();
	printf("capture-iommufd: %s group %ld, page size %ld: type1 pgsizes 0x%llx; hw_info type %u "
	       "(%u bytes, capabilities 0x%llx); %u IOAS ranges, alignment 0x%llx; written to %s\n",
	       argv[2], group, page, (unsigned long long)sum_pgsizes, sum_hw_type, sum_hw_len,
	       (unsigned long long)sum_caps, sum_ranges, (unsigned long long)sum_align, outdir);
	return 0;
}
