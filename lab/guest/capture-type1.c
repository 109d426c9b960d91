/*
 * capture-type1: record raw VFIO type1 answers of a real kernel of another
 * architecture, and what that kernel enforces.
 *
 * Usage: capture-type1 OUTDIR BDF GROUP
 *
 * The foreign-architecture twin of capture.c (lab/foreign.sh cross-compiles it
 * with the architecture's gcc -static, e.g. aarch64-linux-gnu-gcc; it runs in the
 * guest's initramfs, lab/guest/init-foreign). Every buffer is written exactly as
 * the kernel left it (pre-filled with 0xAA, argsz at offset 0), in the guest's
 * own byte order:
 *
 *   info-argsz16.bin, info-argsz24.bin, info-exact.bin, info-short.bin,
 *   info-4096.bin       VFIO_IOMMU_GET_INFO of a type1v2 container holding GROUP
 *   reserved_regions-groupN   /sys/kernel/iommu_groups/N/reserved_regions
 *   meta.txt            what the kernel returned and this program's own walk of it
 *
 * meta.txt is "key: value" lines and "KIND k=v k=v ..." records:
 *   iommu_cap          one a capability of info-exact.bin, as walked here
 *   iommu_iova_range   one an IOVA range of the IOVA_RANGE capability
 *   reserved           one a line of reserved_regions
 *   map                VFIO_IOMMU_MAP_DMA of one buffer at an IOVA chosen from the
 *                      ranges walked here (inside a range, in each hole, across a
 *                      hole's edge, past the aperture): errno 0 or its name, and for
 *                      a mapping that succeeded what VFIO_IOMMU_UNMAP_DMA unmapped.
 * tests/foreign.rs decodes the buffers with the library and checks each map
 * record against the library's view of the same ranges.
 *
 * VFIO_SET_IOMMU failing with EPERM (an interrupt controller that cannot isolate
 * MSIs, e.g. GICv2 without an ITS) is recorded; then allow_unsafe_interrupts is
 * turned on through sysfs and the call is made again, so the rest is captured too.
 *
 * Only libc, <linux/vfio.h> and capture-common.h: no dependency on the project's own
 * code on purpose.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/vfio.h>

#define FILL 0xAA
#define CAP_IOVA_RANGE 1
#define CAP_MIGRATION 2
#define CAP_DMA_AVAIL 3
#define INFO_FLAG_CAPS (1u << 1)
#define MAX_RANGES 64
#define UNSAFE_PARAM "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts"

#define CAPTURE_NAME "capture-type1"
#define CAPTURE_ERRNAME_0 "0"
#include "capture-common.h"

/* A sysfs file's first line (trailing newline dropped), or "-" when unreadable. */
static void read_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");

	snprintf(out, len, "-");
	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = 0;
	else
		snprintf(out, len, "-");
	fclose(f);
}

/* One VFIO_IOMMU_GET_INFO into a 0xAA-filled buffer of SIZE bytes; saved as FILE. */
static unsigned char *get_info(int container, size_t size, uint32_t argsz, const char *file)
{
	unsigned char *buf = malloc(size);

	if (!buf)
		die("out of memory");
	memset(buf, FILL, size);
	memcpy(buf, &argsz, sizeof(argsz));
	if (ioctl(container, VFIO_IOMMU_GET_INFO, buf) < 0)
		die("VFIO_IOMMU_GET_INFO(argsz=%u) for %s: %s (%s)", argsz, file, strerror(errno),
		    errname(errno));
	write_file(file, buf, size);
	fprintf(meta, "%s: argsz_in=%u argsz_out=%u flags=0x%x iova_pgsizes=0x%llx\n", file, argsz,
		ld32(buf), ld32(buf + 4), (unsigned long long)ld64(buf + 8));
	return buf;
}

struct range {
	uint64_t start, end;
};

/* Walks the chain of a buffer that holds all of it; fills RANGES (sorted as reported). */
static size_t walk_chain(const unsigned char *buf, size_t len, struct range *ranges)
{
	uint32_t off = ld32(buf + 16);
	size_t hops = 0, n = 0;

	while (off) {
		uint16_t id, ver;
		uint32_t next;

		if (off < 16 || off > len - 8 || ++hops > len / 8)
			die("info-exact.bin: bad capability offset %u (buffer %zu bytes, hop %zu)", off, len, hops);
		id = ld16(buf + off);
		ver = ld16(buf + off + 2);
		next = ld32(buf + off + 4);
		fprintf(meta, "iommu_cap id=%u version=%u offset=%u next=%u", id, ver, off, next);
		if (id == CAP_IOVA_RANGE && off + 16 <= len) {
			uint32_t nr = ld32(buf + off + 8);

			fprintf(meta, " name=IOVA_RANGE nr_iovas=%u\n", nr);
			for (uint32_t i = 0; i < nr; i++) {
				size_t at = off + 16 + 16 * (size_t)i;

				if (at + 16 > len)
					die("info-exact.bin: IOVA range %u past the buffer", i);
				if (n == MAX_RANGES)
					die("more than %d IOVA ranges", MAX_RANGES);
				ranges[n].start = ld64(buf + at);
				ranges[n].end = ld64(buf + at + 8);
				fprintf(meta, "iommu_iova_range start=0x%llx end=0x%llx\n",
					(unsigned long long)ranges[n].start, (unsigned long long)ranges[n].end);
				n++;
			}
		} else if (id == CAP_MIGRATION && off + 32 <= len) {
			fprintf(meta, " name=MIGRATION flags=0x%x pgsize_bitmap=0x%llx max_dirty_bitmap_size=0x%llx\n",
				ld32(buf + off + 8), (unsigned long long)ld64(buf + off + 16),
				(unsigned long long)ld64(buf + off + 24));
		} else if (id == CAP_DMA_AVAIL && off + 12 <= len) {
			fprintf(meta, " name=DMA_AVAIL avail=%u\n", ld32(buf + off + 8));
		} else {
			fprintf(meta, " name=unknown\n");
		}
		off = next;
	}
	return n;
}

static void copy_reserved_regions(long group)
{
	char data[65536];

	copy_reserved_regions_raw(group, data, sizeof(data));
	for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
		unsigned long long s, e;
		char type[32];

		if (sscanf(line, "%llx %llx %31s", &s, &e, type) == 3)
			fprintf(meta, "reserved start=0x%llx end=0x%llx type=%s\n", s, e, type);
		else
			fprintf(meta, "reserved_unparsed: %s\n", line);
	}
}

/*
 * VFIO_IOMMU_MAP_DMA of SIZE bytes of BUF at IOVA; on success unmaps it again and
 * records what the unmap reported. NAME says why this IOVA was chosen.
 */
static void try_map(int container, void *buf, const char *name, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)buf,
		.iova = iova,
		.size = size,
	};
	int e = ioctl(container, VFIO_IOMMU_MAP_DMA, &map) < 0 ? errno : 0;

	fprintf(meta, "map name=%s iova=0x%llx size=0x%llx errno=%s", name, (unsigned long long)iova,
		(unsigned long long)size, errname(e));
	if (!e) {
		struct vfio_iommu_type1_dma_unmap unmap = {
			.argsz = sizeof(unmap), .iova = iova, .size = size
		};
		int ue = ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0 ? errno : 0;

		fprintf(meta, " unmap_errno=%s unmapped=0x%llx", errname(ue), (unsigned long long)unmap.size);
	}
	fputc('\n', meta);
}

int main(int argc, char **argv)
{
	static const char *env[] = { "LAB_SCENARIO", "LAB_KERNEL", "LAB_VIOMMU", "LAB_MACHINE",
				     "LAB_TYPE1" };
	int container, group, api, e;
	long group_id;
	char path[4096], line[256];
	struct utsname uts;
	struct vfio_group_status st = { .argsz = sizeof(st) };
	unsigned char pre[24], *b24, *exact;
	uint32_t needed;
	uint64_t pgsizes, page, size;
	struct range r[MAX_RANGES];
	size_t nr;
	void *buf;

	if (argc != 4)
		die("usage: capture-type1 OUTDIR BDF GROUP");
	group_id = parse_group(argv[3]);
	open_outdir(argv[1]);

	if (uname(&uts) < 0)
		die("uname: %s", strerror(errno));
	fprintf(meta, "capture: type1\n");
	fprintf(meta, "uname_r: %s\n", uts.release);
	fprintf(meta, "uname_m: %s\n", uts.machine);
	meta_byte_order();
	fprintf(meta, "page_size: 0x%lx\n", sysconf(_SC_PAGESIZE));
	for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++)
		fprintf(meta, "%s: %s\n", env[i], getenv(env[i]) && *getenv(env[i]) ? getenv(env[i]) : "-");
	fprintf(meta, "bdf: %s\n", argv[2]);
	fprintf(meta, "group: %ld\n", group_id);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", argv[2]);
	read_line(path, line, sizeof(line));
	fprintf(meta, "vendor: %s\n", line);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", argv[2]);
	read_line(path, line, sizeof(line));
	fprintf(meta, "device: %s\n", line);
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%ld/type", group_id);
	read_line(path, line, sizeof(line));
	fprintf(meta, "group_type: %s\n", line);
	read_line(UNSAFE_PARAM, line, sizeof(line));
	fprintf(meta, "allow_unsafe_interrupts_at_start: %s\n", line);

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		die("open /dev/vfio/vfio: %s", strerror(errno));
	api = ioctl(container, VFIO_GET_API_VERSION);
	if (api != VFIO_API_VERSION)
		die("VFIO_GET_API_VERSION: %d (%s), expected %d", api, api < 0 ? errname(errno) : "-",
		    VFIO_API_VERSION);
	fprintf(meta, "extensions: type1=%d type1v2=%d spapr_tce=%d spapr_tce_v2=%d noiommu=%d\n",
		ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU),
		ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU),
		ioctl(container, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU),
		ioctl(container, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_v2_IOMMU),
		ioctl(container, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU));

	snprintf(path, sizeof(path), "/dev/vfio/%ld", group_id);
	group = open(path, O_RDWR);
	if (group < 0)
		die("open %s: %s", path, strerror(errno));
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &st) < 0)
		die("VFIO_GROUP_GET_STATUS: %s", errname(errno));
	fprintf(meta, "group_status_before: 0x%x\n", st.flags);
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		die("group %ld is not viable (flags 0x%x)", group_id, st.flags);
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
		die("VFIO_GROUP_SET_CONTAINER: %s (%s)", strerror(errno), errname(errno));
	st.flags = 0;
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &st) < 0)
		die("VFIO_GROUP_GET_STATUS: %s", errname(errno));
	fprintf(meta, "group_status_after_set_container: 0x%x\n", st.flags);

	/* Before VFIO_SET_IOMMU the container has no IOMMU driver: EINVAL expected. */
	memset(pre, FILL, sizeof(pre));
	memcpy(pre, &(uint32_t){ sizeof(pre) }, sizeof(uint32_t));
	e = ioctl(container, VFIO_IOMMU_GET_INFO, pre) < 0 ? errno : 0;
	fprintf(meta, "get_info_before_set_iommu_errno: %s\n", errname(e));

	e = ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 ? errno : 0;
	fprintf(meta, "set_iommu_errno: %s\n", errname(e));
	if (e == EPERM) {
		/* No MSI isolation: what allow_unsafe_interrupts changes, on the same group. */
		FILE *p = fopen(UNSAFE_PARAM, "w");

		if (!p || fputs("1\n", p) < 0 || fclose(p) != 0)
			die("VFIO_SET_IOMMU: EPERM, and writing 1 to %s failed: %s", UNSAFE_PARAM,
			    strerror(errno));
		read_line(UNSAFE_PARAM, line, sizeof(line));
		fprintf(meta, "allow_unsafe_interrupts_after_write: %s\n", line);
		e = ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 ? errno : 0;
		fprintf(meta, "set_iommu_unsafe_errno: %s\n", errname(e));
	}
	if (e)
		die("VFIO_SET_IOMMU(TYPE1v2): %s (%s)", strerror(e), errname(e));
	st.flags = 0;
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &st) < 0)
		die("VFIO_GROUP_GET_STATUS: %s", errname(errno));
	fprintf(meta, "group_status_after_set_iommu: 0x%x\n", st.flags);

	{
		unsigned char small[24];
		uint32_t eight = 8;

		memset(small, FILL, sizeof(small));
		memcpy(small, &eight, sizeof(eight));
		e = ioctl(container, VFIO_IOMMU_GET_INFO, small) < 0 ? errno : 0;
		fprintf(meta, "get_info_argsz8_errno: %s\n", errname(e));
	}

	free(get_info(container, 16, 16, "info-argsz16.bin"));
	b24 = get_info(container, 24, 24, "info-argsz24.bin");
	needed = ld32(b24);
	free(b24);
	if (needed < 24 || needed > 65536)
		die("VFIO_IOMMU_GET_INFO(argsz=24) reported needed size %u", needed);
	fprintf(meta, "needed_argsz: %u\n", needed);
	exact = get_info(container, needed, needed, "info-exact.bin");
	if (!(ld32(exact + 4) & INFO_FLAG_CAPS) || ld32(exact + 16) == 0)
		die("VFIO_IOMMU_GET_INFO(argsz=%u): no capability chain (flags 0x%x)", needed, ld32(exact + 4));
	pgsizes = ld64(exact + 8);
	fprintf(meta, "flags: 0x%x\n", ld32(exact + 4));
	fprintf(meta, "iova_pgsizes: 0x%llx\n", (unsigned long long)pgsizes);
	fprintf(meta, "cap_offset: %u\n", ld32(exact + 16));
	nr = walk_chain(exact, needed, r);
	free(exact);
	free(get_info(container, needed - 8, needed - 8, "info-short.bin"));
	free(get_info(container, 4096, 4096, "info-4096.bin"));
	copy_reserved_regions(group_id);

	/* What the kernel enforces: one buffer mapped at IOVAs chosen from the ranges. */
	if (!pgsizes || nr == 0)
		die("no page sizes (0x%llx) or no IOVA range (%zu)", (unsigned long long)pgsizes, nr);
	page = pgsizes & -pgsizes;
	if (page < (uint64_t)sysconf(_SC_PAGESIZE))
		page = (uint64_t)sysconf(_SC_PAGESIZE);
	size = 2 * page;
	buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap of %llu bytes: %s", (unsigned long long)size, strerror(errno));
	memset(buf, 0x5a, size);
	fprintf(meta, "map_page: 0x%llx\n", (unsigned long long)page);
	try_map(container, buf, "range_start", r[0].start, page);
	if (r[0].end - r[0].start + 1 >= page && r[0].end != UINT64_MAX)
		try_map(container, buf, "range_last_page", r[0].end + 1 - page, page);
	for (size_t i = 0; i + 1 < nr; i++) {
		uint64_t hs = r[i].end + 1, he = r[i + 1].start - 1;

		if (r[i].end == UINT64_MAX || r[i + 1].start <= hs)
			continue;
		try_map(container, buf, "hole_start", hs, page);
		if (he + 1 - hs >= page)
			try_map(container, buf, "hole_last_page", he + 1 - page, page);
		if (hs >= page)
			try_map(container, buf, "across_hole_start", hs - page, 2 * page);
		try_map(container, buf, "after_hole", he + 1, page);
	}
	if (r[nr - 1].end != UINT64_MAX) {
		try_map(container, buf, "past_aperture", r[nr - 1].end + 1, page);
		try_map(container, buf, "across_aperture_end", r[nr - 1].end + 1 - page, 2 * page);
	} else {
		fprintf(meta, "past_aperture: none, the last range ends at 2^64-1\n");
	}

	if (fclose(meta) != 0)
		die("write meta.txt: %s", strerror(errno));
	meta = NULL;
	close(group);
	close(container);
	printf("capture-type1: group %ld (%s): needed argsz %u, %zu IOVA ranges, written to %s\n",
	       group_id, argv[2], needed, nr, outdir);
	return 0;
}
