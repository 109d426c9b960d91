/*
 * device-test: the device-info and region-info API (since 0.3) called from C, on buffers
 * laid out as Linux fills them for VFIO_DEVICE_GET_INFO and VFIO_DEVICE_GET_REGION_INFO,
 * in both byte orders: the s390 zPCI DMA window (ZPCI_BASE), ZPCI_GROUP, an x86 device
 * without capabilities, a chain that did not fit, an MSI-X BAR as vfio-pci describes it
 * before and since Linux 4.16, an Intel IGD OpRegion, and malformed buffers; with the
 * contract's rules: return codes, NULL checks, out-parameters untouched on failure,
 * sized structs, and nothing leaked (run under valgrind by run-tests).
 *
 *   device-test [--device-info FILE [--region FILE]...]
 *
 * With --device-info, also decodes a big-endian capture from s390x (its region files
 * too) and prints what it holds. Prints each failed check and a summary; exit status 0
 * when all pass, 1 when not, 2 when a file cannot be read.
 */
/* check.h first: it asks for flockfile (_GNU_SOURCE) before the system headers. */
#define CHECK_PROGRAM "device-test"
#include "check.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfio_iommu_info.h>

/* A buffer written field by field in one byte order. */
struct buf {
	unsigned char bytes[512];
	size_t len;
	int big;
};

static void put(struct buf *b, size_t at, uint64_t v, size_t width)
{
	for (size_t i = 0; i < width; i++) {
		size_t shift = 8 * (b->big ? width - 1 - i : i);
		b->bytes[at + i] = (unsigned char)(v >> shift);
	}
	if (at + width > b->len)
		b->len = at + width;
}

static void header(struct buf *b, size_t at, uint16_t id, uint16_t version, uint32_t next)
{
	put(b, at, id, 2);
	put(b, at + 2, version, 2);
	put(b, at + 4, next, 4);
}

static uint32_t order_of(const struct buf *b)
{
	return b->big ? VFIO_IOMMU_INFO_BYTE_ORDER_BIG : VFIO_IOMMU_INFO_BYTE_ORDER_LITTLE;
}

/* Linux 6.12's VFIO_DEVICE_GET_INFO for a PCI function on s390x: 24-byte fixed part,
 * ZPCI_BASE v2 at 24 (window [4 GiB, 5 GiB - 1]), ZPCI_GROUP v2 at 64, ZPCI_UTIL at 112. */
static void s390_device_info(struct buf *b, int big)
{
	memset(b, 0, sizeof(*b));
	b->big = big;
	put(b, 0, 128, 4);
	put(b, 4, 0x83, 4); /* CAPS | PCI | RESET */
	put(b, 8, 9, 4);
	put(b, 12, 5, 4);
	put(b, 16, 24, 4);
	header(b, 24, 1, 2, 64);
	put(b, 32, 0x100000000ull, 8);
	put(b, 40, 0x13fffffffull, 8);
	put(b, 48, 0x42, 2);
	put(b, 50, 0, 2);
	put(b, 52, 0x20, 2);
	put(b, 54, 1, 1);
	put(b, 55, 0xff, 1);
	put(b, 56, 0x08000000, 4);
	header(b, 64, 2, 2, 112);
	put(b, 72, (1ull << 62) - 1, 8);
	put(b, 80, 0xfe000000, 8);
	put(b, 88, 1, 8);
	put(b, 96, 0x6e, 2);
	put(b, 98, 2048, 2);
	put(b, 100, 0x800, 2);
	put(b, 102, 1, 1);
	put(b, 104, 0x400, 2);
	header(b, 112, 3, 1, 0);
	put(b, 120, 4, 4);
	memcpy(b->bytes + 124, "\xe9\xd7\xc3\xc9", 4); /* "ZPCI" in EBCDIC */
	b->len = 128;
}

/* vfio-pci's region info: the 32-byte fixed part for region `index` at index << 40. */
static void region(struct buf *b, int big, uint32_t index, uint32_t flags, uint64_t size)
{
	memset(b, 0, sizeof(*b));
	b->big = big;
	put(b, 0, 32, 4);
	put(b, 4, flags, 4);
	put(b, 8, index, 4);
	put(b, 16, size, 8);
	put(b, 24, (uint64_t)index << 40, 8);
}

/* The chain placed from 32 (the caller's buffer held it): CAPS set, cap_offset 32. */
static void placed(struct buf *b, uint32_t flags)
{
	put(b, 0, b->len, 4);
	put(b, 4, flags | 8, 4);
	put(b, 12, 32, 4);
}

static void test_s390(int big)
{
	struct buf b;
	struct vfio_iommu_info_device_info *dev = NULL;
	struct vfio_iommu_info_range window = {0, 0};
	struct vfio_iommu_info_zpci_base base = {.size = sizeof(base)};
	struct vfio_iommu_info_zpci_group group = {.size = sizeof(group)};
	struct vfio_iommu_info_device_header h = {.size = sizeof(h)};
	struct vfio_iommu_info_cap cap = {.size = sizeof(cap)};
	const uint8_t *bytes = NULL;
	size_t len = 0, n = 0;
	uint32_t flags = 77;

	s390_device_info(&b, big);
	CHECK_RC(vfio_iommu_info_device_info_decode(b.bytes, b.len, order_of(&b), &dev), 0);
	if (!dev)
		return;
	CHECK_RC(vfio_iommu_info_device_info_header(dev, &h), 0);
	CHECK(h.size == sizeof(h) && h.argsz == 128 && h.flags == 0x83 && h.num_regions == 9 &&
	      h.num_irqs == 5 && h.cap_offset == 24 && h.caps_truncated == 0);
	CHECK_RC(vfio_iommu_info_device_info_dma_window(dev, &window), 0);
	CHECK(window.start == 0x100000000ull && window.end == 0x13fffffffull);
	CHECK_RC(vfio_iommu_info_device_info_zpci_base(dev, &base), 0);
	CHECK(base.version == 2 && base.start_dma == window.start && base.end_dma == window.end);
	CHECK(base.pchid == 0x42 && base.fmb_length == 0x20 && base.pft == 1 && base.gid == 0xff);
	CHECK(base.has_fh == 1 && base.fh == 0x08000000);
	CHECK_RC(vfio_iommu_info_device_info_zpci_group(dev, &group), 0);
	CHECK(group.version == 2 && group.msi_addr == 0xfe000000 && group.noi == 2048 &&
	      group.zpci_version == 1 && group.has_imaxstbl == 1 && group.imaxstbl == 0x400);
	CHECK_RC(vfio_iommu_info_device_info_zpci_util(dev, &bytes, &len), 0);
	CHECK(len == 4 && bytes && memcmp(bytes, "\xe9\xd7\xc3\xc9", 4) == 0);
	bytes = NULL;
	CHECK_RC(vfio_iommu_info_device_info_zpci_pfip(dev, &bytes, &len), VFIO_IOMMU_INFO_E_ABSENT);
	CHECK(bytes == NULL && len == 4);
	CHECK_RC(vfio_iommu_info_device_info_atomic_comp(dev, &flags), VFIO_IOMMU_INFO_E_ABSENT);
	CHECK(flags == 77);
	CHECK(strstr(vfio_iommu_info_last_error(), "holds no PCI_ATOMIC_COMP") != NULL);
	CHECK_RC(vfio_iommu_info_device_info_chain_length(dev, &n), 0);
	CHECK(n == 3);
	CHECK_RC(vfio_iommu_info_device_info_chain_entry(dev, 1, &cap), 0);
	CHECK(cap.id == 2 && cap.version == 2 && cap.offset == 64 && cap.bytes == NULL);
	CHECK_RC(vfio_iommu_info_device_info_chain_entry(dev, 3, &cap), VFIO_IOMMU_INFO_E_RANGE);
	vfio_iommu_info_device_info_free(dev);
}

static void test_x86_and_truncated(void)
{
	struct buf b = {.big = 0};
	struct vfio_iommu_info_device_info *dev = NULL;
	struct vfio_iommu_info_range window = {7, 7};
	struct vfio_iommu_info_device_header h = {.size = sizeof(h)};

	put(&b, 0, 24, 4);
	put(&b, 4, 3, 4);
	put(&b, 8, 9, 4);
	put(&b, 12, 5, 4);
	put(&b, 16, 0, 8);
	CHECK_RC(vfio_iommu_info_device_info_decode(b.bytes, b.len, VFIO_IOMMU_INFO_BYTE_ORDER_LITTLE,
						    &dev), 0);
	CHECK_RC(vfio_iommu_info_device_info_dma_window(dev, &window), VFIO_IOMMU_INFO_E_ABSENT);
	CHECK(window.start == 7 && window.end == 7);
	CHECK(strstr(vfio_iommu_info_last_error(), "the CAPS flag is clear") != NULL);
	vfio_iommu_info_device_info_free(dev);

	/* The kernel needed 128 bytes: CAPS set, argsz raised, cap_offset 0. */
	dev = NULL;
	put(&b, 0, 128, 4);
	put(&b, 4, 0x83, 4);
	CHECK_RC(vfio_iommu_info_device_info_decode(b.bytes, b.len, VFIO_IOMMU_INFO_BYTE_ORDER_LITTLE,
						    &dev), 0);
	CHECK_RC(vfio_iommu_info_device_info_header(dev, &h), 0);
	CHECK(h.argsz == 128 && h.cap_offset == 0 && h.caps_truncated == 1);
	CHECK_RC(vfio_iommu_info_device_info_dma_window(dev, &window), VFIO_IOMMU_INFO_E_ABSENT);
	CHECK(strstr(vfio_iommu_info_last_error(), "query again with argsz 128") != NULL);
	vfio_iommu_info_device_info_free(dev);
}

static void test_regions(int big)
{
	struct buf b;
	struct vfio_iommu_info_region_info *r = NULL;
	struct vfio_iommu_info_region_header h = {.size = sizeof(h)};
	struct vfio_iommu_info_mmap_area area = {.size = sizeof(area)};
	struct vfio_iommu_info_region_type type = {.size = sizeof(type)};
	size_t n = 99;
	uint32_t msix = 99;

	/* Before Linux 4.16: a 16 KiB MSI-X BAR whose table page (0x2000) is left out. */
	region(&b, big, 2, 7, 0x4000);
	header(&b, 32, 1, 1, 0);
	put(&b, 40, 2, 4);
	put(&b, 48, 0, 8);
	put(&b, 56, 0x2000, 8);
	put(&b, 64, 0x3000, 8);
	put(&b, 72, 0x1000, 8);
	placed(&b, 7);
	CHECK_RC(vfio_iommu_info_region_info_decode(b.bytes, b.len, order_of(&b), &r), 0);
	if (!r)
		return;
	CHECK_RC(vfio_iommu_info_region_info_header(r, &h), 0);
	CHECK(h.argsz == 80 && h.flags == 0xf && h.index == 2 && h.cap_offset == 32 &&
	      h.region_size == 0x4000 && h.offset == (2ull << 40) && h.caps_truncated == 0);
	CHECK_RC(vfio_iommu_info_region_info_mmap_area_count(r, &n), 0);
	CHECK(n == 2);
	CHECK_RC(vfio_iommu_info_region_info_mmap_area(r, 1, &area), 0);
	CHECK(area.offset == 0x3000 && area.len == 0x1000 && area.within_region == 1);
	area.offset = 5;
	CHECK_RC(vfio_iommu_info_region_info_mmap_area(r, 2, &area), VFIO_IOMMU_INFO_E_RANGE);
	CHECK(area.offset == 5);
	CHECK_RC(vfio_iommu_info_region_info_msix_mappable(r, &msix), 0);
	CHECK(msix == 0);
	CHECK_RC(vfio_iommu_info_region_info_type(r, &type), VFIO_IOMMU_INFO_E_ABSENT);
	vfio_iommu_info_region_info_free(r);

	/* Since 4.16: a bare MSIX_MAPPABLE header, the whole BAR mmappable. */
	r = NULL;
	region(&b, big, 2, 7, 0x4000);
	header(&b, 32, 3, 1, 0);
	placed(&b, 7);
	CHECK_RC(vfio_iommu_info_region_info_decode(b.bytes, b.len, order_of(&b), &r), 0);
	CHECK_RC(vfio_iommu_info_region_info_msix_mappable(r, &msix), 0);
	CHECK(msix == 1);
	CHECK_RC(vfio_iommu_info_region_info_mmap_area_count(r, &n), 0);
	CHECK_RC(vfio_iommu_info_region_info_mmap_area(r, 0, &area), 0);
	CHECK(n == 1 && area.offset == 0 && area.len == 0x4000);
	vfio_iommu_info_region_info_free(r);

	/* An Intel IGD OpRegion: region 9, read-only, TYPE (PCI_VENDOR_TYPE | 0x8086, 1). */
	r = NULL;
	region(&b, big, 9, 1, 0x2000);
	header(&b, 32, 2, 1, 0);
	put(&b, 40, 0x80008086u, 4);
	put(&b, 44, 1, 4);
	placed(&b, 1);
	CHECK_RC(vfio_iommu_info_region_info_decode(b.bytes, b.len, order_of(&b), &r), 0);
	CHECK_RC(vfio_iommu_info_region_info_type(r, &type), 0);
	CHECK(type.region_type == 0x80008086u && type.subtype == 1 && type.pci_vendor == 0x8086);
	CHECK(type.name && strcmp(type.name, "INTEL_IGD_OPREGION") == 0);
	CHECK(type.type_name && strcmp(type.type_name, "PCI_VENDOR") == 0);
	CHECK_RC(vfio_iommu_info_region_info_mmap_area_count(r, &n), 0);
	CHECK(n == 0);
	vfio_iommu_info_region_info_free(r);
}

/* Lists in one call (since 0.4): each walked with a for loop over the array the object
 * lends, element by element what the count and index getters give; NULL and 0 when
 * empty. */
static int same_cap(const struct vfio_iommu_info_cap *a, const struct vfio_iommu_info_cap *b)
{
	return a->size == b->size && a->id == b->id && a->version == b->version &&
	       a->offset == b->offset && a->bytes == b->bytes && a->len == b->len;
}

static void test_lists(int big)
{
	struct buf b;
	struct vfio_iommu_info_device_info *dev = NULL;
	struct vfio_iommu_info_region_info *r = NULL;
	const struct vfio_iommu_info_cap *caps = NULL;
	const struct vfio_iommu_info_mmap_area *areas = NULL;
	size_t n = 99, count = 98;

	s390_device_info(&b, big);
	CHECK_RC(vfio_iommu_info_device_info_decode(b.bytes, b.len, order_of(&b), &dev), 0);
	if (!dev)
		return;
	CHECK_RC(vfio_iommu_info_device_info_chain(dev, &caps, &n), 0);
	CHECK_RC(vfio_iommu_info_device_info_chain_length(dev, &count), 0);
	CHECK(n == 3 && count == n && caps != NULL);
	for (size_t i = 0; caps && i < n; i++) {
		struct vfio_iommu_info_cap c = {.size = sizeof(c)};
		CHECK_RC(vfio_iommu_info_device_info_chain_entry(dev, i, &c), 0);
		CHECK(caps[i].size == sizeof(caps[i]) && same_cap(&caps[i], &c));
		CHECK(caps[i].id == i + 1 && caps[i].bytes == NULL);
	}
	CHECK(caps && caps[1].offset == 64);
	vfio_iommu_info_device_info_free(dev);

	/* A BAR with a sparse mmap: two areas, one capability. */
	region(&b, big, 2, 7, 0x4000);
	header(&b, 32, 1, 1, 0);
	put(&b, 40, 2, 4);
	put(&b, 48, 0, 8);
	put(&b, 56, 0x2000, 8);
	put(&b, 64, 0x3000, 8);
	put(&b, 72, 0x1000, 8);
	placed(&b, 7);
	CHECK_RC(vfio_iommu_info_region_info_decode(b.bytes, b.len, order_of(&b), &r), 0);
	if (!r)
		return;
	CHECK_RC(vfio_iommu_info_region_info_mmap_areas(r, &areas, &n), 0);
	CHECK_RC(vfio_iommu_info_region_info_mmap_area_count(r, &count), 0);
	CHECK(n == 2 && count == n && areas != NULL);
	for (size_t i = 0; areas && i < n; i++) {
		struct vfio_iommu_info_mmap_area a = {.size = sizeof(a)};
		CHECK_RC(vfio_iommu_info_region_info_mmap_area(r, i, &a), 0);
		CHECK(areas[i].size == sizeof(areas[i]) && areas[i].within_region == a.within_region &&
		      areas[i].offset == a.offset && areas[i].len == a.len);
	}
	CHECK(areas && areas[1].offset == 0x3000 && areas[1].len == 0x1000);
	CHECK_RC(vfio_iommu_info_region_info_chain(r, &caps, &n), 0);
	CHECK_RC(vfio_iommu_info_region_info_chain_length(r, &count), 0);
	CHECK(n == 1 && count == n && caps != NULL);
	for (size_t i = 0; caps && i < n; i++) {
		struct vfio_iommu_info_cap c = {.size = sizeof(c)};
		CHECK_RC(vfio_iommu_info_region_info_chain_entry(r, i, &c), 0);
		CHECK(same_cap(&caps[i], &c) && caps[i].id == 1 && caps[i].offset == 32);
	}
	/* NULLs: a code, the other output untouched. */
	n = 77;
	CHECK_RC(vfio_iommu_info_region_info_mmap_areas(r, NULL, &n), VFIO_IOMMU_INFO_E_NULL);
	CHECK(n == 77);
	CHECK_RC(vfio_iommu_info_region_info_chain(NULL, &caps, &n), VFIO_IOMMU_INFO_E_NULL);
	CHECK(n == 77);
	vfio_iommu_info_region_info_free(r);

	/* Read-only without capabilities: no areas, no chain, NULL and 0. */
	r = NULL;
	region(&b, big, 9, 1, 0x2000);
	CHECK_RC(vfio_iommu_info_region_info_decode(b.bytes, b.len, order_of(&b), &r), 0);
	areas = (const void *)&b;
	caps = (const void *)&b;
	CHECK_RC(vfio_iommu_info_region_info_mmap_areas(r, &areas, &n), 0);
	CHECK(areas == NULL && n == 0);
	CHECK_RC(vfio_iommu_info_region_info_chain(r, &caps, &n), 0);
	CHECK(caps == NULL && n == 0);
	vfio_iommu_info_region_info_free(r);
}

static void test_malformed(void)
{
	struct buf b;
	struct vfio_iommu_info_region_info *r = NULL;
	struct vfio_iommu_info_device_info *dev = NULL;
	struct vfio_iommu_info_zpci_base base = {.size = 8, .pchid = 77};

	/* nr_areas = 2^28: 16 bytes each overflow 32-bit arithmetic. */
	region(&b, 0, 0, 7, 0x4000);
	header(&b, 32, 1, 1, 0);
	put(&b, 40, 0x10000000u, 4);
	put(&b, 48, 0, 8);
	put(&b, 56, 0x1000, 8);
	placed(&b, 7);
	CHECK_RC(vfio_iommu_info_region_info_decode(b.bytes, b.len, VFIO_IOMMU_INFO_BYTE_ORDER_LITTLE, &r),
		 VFIO_IOMMU_INFO_E_MALFORMED);
	CHECK(r == NULL);
	CHECK(strstr(vfio_iommu_info_last_error(), "byte offset 40") != NULL);
	/* A capability that points at itself. */
	region(&b, 1, 0, 7, 0x4000);
	header(&b, 32, 3, 1, 32);
	placed(&b, 7);
	CHECK_RC(vfio_iommu_info_region_info_decode(b.bytes, b.len, VFIO_IOMMU_INFO_BYTE_ORDER_BIG, &r),
		 VFIO_IOMMU_INFO_E_MALFORMED);
	CHECK(strstr(vfio_iommu_info_last_error(), "loops") != NULL);
	CHECK_RC(vfio_iommu_info_region_info_decode(b.bytes, 31, 0, &r), VFIO_IOMMU_INFO_E_MALFORMED);
	CHECK_RC(vfio_iommu_info_region_info_decode(b.bytes, b.len, 3, &r), VFIO_IOMMU_INFO_E_INVALID);
	CHECK_RC(vfio_iommu_info_region_info_decode(NULL, 32, 0, &r), VFIO_IOMMU_INFO_E_NULL);
	CHECK_RC(vfio_iommu_info_device_info_decode(b.bytes, 15, 0, &dev), VFIO_IOMMU_INFO_E_MALFORMED);
	CHECK(r == NULL && dev == NULL);

	s390_device_info(&b, 1);
	CHECK_RC(vfio_iommu_info_device_info_decode(b.bytes, b.len, VFIO_IOMMU_INFO_BYTE_ORDER_BIG, NULL),
		 VFIO_IOMMU_INFO_E_NULL);
	CHECK_RC(vfio_iommu_info_device_info_decode(b.bytes, b.len, VFIO_IOMMU_INFO_BYTE_ORDER_BIG, &dev), 0);
	CHECK_RC(vfio_iommu_info_device_info_zpci_base(dev, &base), VFIO_IOMMU_INFO_E_INVALID);
	CHECK(base.size == 8 && base.pchid == 77);
	CHECK_RC(vfio_iommu_info_device_info_dma_window(dev, NULL), VFIO_IOMMU_INFO_E_NULL);
	CHECK_RC(vfio_iommu_info_device_info_dma_window(NULL, NULL), VFIO_IOMMU_INFO_E_NULL);
	vfio_iommu_info_device_info_free(dev);
	vfio_iommu_info_device_info_free(NULL);
	vfio_iommu_info_region_info_free(NULL);
}

static int read_file(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");

	memset(b, 0, sizeof(*b));
	if (!f) {
		perror(path);
		return -1;
	}
	b->len = fread(b->bytes, 1, sizeof(b->bytes), f);
	fclose(f);
	return 0;
}

/* A capture from s390x (big-endian): print the window and each region. */
static int decode_captures(int argc, char **argv)
{
	struct buf b;
	struct vfio_iommu_info_device_info *dev = NULL;
	struct vfio_iommu_info_range window;

	if (read_file(argv[0], &b) < 0)
		return 2;
	CHECK_RC(vfio_iommu_info_device_info_decode(b.bytes, b.len, VFIO_IOMMU_INFO_BYTE_ORDER_BIG, &dev), 0);
	if (!dev)
		return 1;
	CHECK_RC(vfio_iommu_info_device_info_dma_window(dev, &window), 0);
	printf("%s: DMA window %#" PRIx64 "-%#" PRIx64 "\n", argv[0], window.start, window.end);
	vfio_iommu_info_device_info_free(dev);
	for (int i = 1; i + 1 < argc; i += 2) {
		struct vfio_iommu_info_region_info *r = NULL;
		struct vfio_iommu_info_region_header h = {.size = sizeof(h)};
		size_t n = 0;

		if (strcmp(argv[i], "--region") != 0 || read_file(argv[i + 1], &b) < 0)
			return 2;
		CHECK_RC(vfio_iommu_info_region_info_decode(b.bytes, b.len, VFIO_IOMMU_INFO_BYTE_ORDER_BIG, &r), 0);
		if (!r)
			continue;
		CHECK_RC(vfio_iommu_info_region_info_header(r, &h), 0);
		CHECK_RC(vfio_iommu_info_region_info_chain_length(r, &n), 0);
		printf("%s: region %" PRIu32 " flags %#" PRIx32 " size %#" PRIx64 " caps %zu\n",
		       argv[i + 1], h.index, h.flags, h.region_size, n);
		vfio_iommu_info_region_info_free(r);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 0;

	test_s390(1);
	test_s390(0);
	test_x86_and_truncated();
	test_regions(0);
	test_regions(1);
	test_lists(0);
	test_lists(1);
	test_malformed();
	if (argc > 2 && strcmp(argv[1], "--device-info") == 0)
		rc = decode_captures(argc - 2, argv + 2);
	else if (argc > 1) {
		fprintf(stderr, "usage: device-test [--device-info FILE [--region FILE]...]\n");
		return 2;
	}
	int failed = check_summary();
	return rc ? rc : failed;
}
