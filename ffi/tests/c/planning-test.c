/*
 * planning-test: the IOVA planning API (since 0.2) called from C on real captures: the
 * space (ranges, aperture, holes, what a virtual IOMMU must reserve, checks), the
 * allocator (allocations below a DMA limit, releases, reservations and their refusals)
 * the guest layout, and why a span is refused (since 0.6), with the contract's rules: return codes, NULL checks,
 * out-parameters untouched on failure, sized structs.
 *
 *   planning-test AMD_CAPTURE INTEL39_CAPTURE
 *
 * AMD_CAPTURE is tests/fixtures/linux-6.12-amd/group-2/info-exact.bin (ranges up to
 * 2^64-1 around the MSI window and the HyperTransport hole), INTEL39_CAPTURE
 * tests/fixtures/linux-6.12-intel-aw39/group-2/info-exact.bin (aperture up to 2^39-1).
 * Prints each failed check and a summary; exit status 0 when all pass, 1 when not, 2 when
 * a capture cannot be read.
 */
/* check.h first: it asks for flockfile (_GNU_SOURCE) before the system headers. */
#define CHECK_PROGRAM "planning-test"
#include "check.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfio_iommu_info.h>

#define GIB (1ull << 30)
#define EDU_LIMIT ((1ull << 28) - 1) /* the edu device's 28 address bits */
#define UNTOUCHED 0xdeadbeefull

static struct vfio_iommu_info *decode_file(const char *path)
{
	static unsigned char buf[65536];
	struct vfio_iommu_info *info = NULL;
	FILE *f = fopen(path, "rb");
	size_t len;

	if (!f) {
		perror(path);
		exit(2);
	}
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (vfio_iommu_info_decode(buf, len, VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE, &info) < 0) {
		fprintf(stderr, "planning-test: %s: %s\n", path, vfio_iommu_info_last_error());
		exit(2);
	}
	return info;
}

static struct vfio_iommu_info_space *space_of(const char *path)
{
	struct vfio_iommu_info *info = decode_file(path);
	struct vfio_iommu_info_space *space = NULL;

	CHECK_RC(vfio_iommu_info_space_from_info(info, &space), 0);
	vfio_iommu_info_free(info); /* the space does not refer to it */
	return space;
}

static void test_amd_space(const char *path)
{
	struct vfio_iommu_info_space *space = space_of(path);
	struct vfio_iommu_info_range r = { UNTOUCHED, UNTOUCHED };
	struct vfio_iommu_info_hole h = { .size = sizeof(h) };
	struct vfio_iommu_info_reserved_region c = { .size = sizeof(c) };
	struct vfio_iommu_info_verdict v = { .size = sizeof(v) };
	uint64_t granule = 0, bitmap = 0;
	size_t n = 0, at = 0;
	char *json = NULL;

	CHECK_RC(vfio_iommu_info_space_range_count(space, &n), 0);
	CHECK(n == 3);
	CHECK_RC(vfio_iommu_info_space_range(space, 2, &r), 0);
	CHECK(r.start == 0x10000000000ull && r.end == UINT64_MAX);
	CHECK_RC(vfio_iommu_info_space_aperture(space, &r), 0);
	CHECK(r.start == 0 && r.end == UINT64_MAX);
	CHECK_RC(vfio_iommu_info_space_granule(space, &granule), 0);
	CHECK(granule == 4096);
	CHECK_RC(vfio_iommu_info_space_page_sizes(space, &bitmap), 0);
	CHECK(bitmap == 0x000fff7ffffff000ull);

	/* The HyperTransport hole, 1012 GiB to 1 TiB. */
	CHECK_RC(vfio_iommu_info_space_hole_count(space, &n), 0);
	CHECK(n == 2);
	CHECK_RC(vfio_iommu_info_space_hole(space, 1, &h), 0);
	CHECK(h.size == sizeof(h) && h.range.start == 0xfd00000000ull && h.range.end == 0xffffffffffull);
	CHECK(h.cause_count == 0 && h.cause_types == 0); /* a capture knows no sysfs regions */
	CHECK_RC(vfio_iommu_info_space_hole_cause(space, 1, 0, &c), VFIO_IOMMU_INFO_E_RANGE);
	CHECK_RC(vfio_iommu_info_space_hole_at(space, 0xfe00000000ull, &at), 0);
	CHECK(at == 1);
	CHECK_RC(vfio_iommu_info_space_hole_at(space, 0x10000000000ull, &at), 0);
	CHECK(at == VFIO_IOMMU_INFO_NO_HOLE);

	/* A virtual IOMMU reserves the holes; nothing lies above an aperture ending at 2^64-1. */
	CHECK_RC(vfio_iommu_info_space_reserved_count(space, &n), 0);
	CHECK(n == 2);
	CHECK_RC(vfio_iommu_info_space_reserved(space, 1, &r), 0);
	CHECK(r.start == 0xfd00000000ull && r.end == 0xffffffffffull);
	r.start = r.end = UNTOUCHED;
	CHECK_RC(vfio_iommu_info_space_reserved(space, 2, &r), VFIO_IOMMU_INFO_E_RANGE);
	CHECK(r.start == UNTOUCHED && r.end == UNTOUCHED);

	CHECK_RC(vfio_iommu_info_space_check(space, 0xfd00000000ull, 0x200000, &v), 0);
	CHECK(v.problem == VFIO_IOMMU_INFO_SPAN_IN_HOLE && v.range.start == 0xfd00000000ull &&
	      v.range.end == 0xffffffffffull);
	CHECK_RC(vfio_iommu_info_space_check(space, UINT64_MAX - 0xfff, 0x1000, &v), 0);
	CHECK(v.problem == VFIO_IOMMU_INFO_SPAN_OK);
	CHECK_RC(vfio_iommu_info_space_check(space, UINT64_MAX - 0xfff, 0x2000, &v), 0);
	CHECK(v.problem == VFIO_IOMMU_INFO_SPAN_WRAPS);

	CHECK_RC(vfio_iommu_info_space_to_json(space, &json), 0);
	CHECK(json && strstr(json, "\"reserved\":[") && strstr(json, "18446744073709551615"));
	vfio_iommu_info_string_free(json);

	/* A sized struct whose size was not set: refused, nothing written. */
	memset(&h, 0, sizeof(h));
	h.size = 4;
	CHECK_RC(vfio_iommu_info_space_hole(space, 0, &h), VFIO_IOMMU_INFO_E_INVALID);
	CHECK(h.size == 4 && h.range.end == 0);
	vfio_iommu_info_space_free(space);
}

static void test_intel_space(const char *path)
{
	struct vfio_iommu_info_space *space = space_of(path);
	struct vfio_iommu_info_range r;
	struct vfio_iommu_info_verdict v = { .size = sizeof(v) };
	const uint64_t top = (1ull << 39) - 1;
	size_t n = 0;

	CHECK_RC(vfio_iommu_info_space_aperture(space, &r), 0);
	CHECK(r.start == 0 && r.end == top);
	/* Everything above the 39-bit aperture must be reserved by a virtual IOMMU. */
	CHECK_RC(vfio_iommu_info_space_reserved_count(space, &n), 0);
	CHECK(n >= 2);
	CHECK_RC(vfio_iommu_info_space_reserved(space, n - 1, &r), 0);
	CHECK(r.start == top + 1 && r.end == UINT64_MAX);
	CHECK_RC(vfio_iommu_info_space_check(space, top - 0xfff, 0x2000, &v), 0);
	CHECK(v.problem == VFIO_IOMMU_INFO_SPAN_BEYOND_APERTURE && v.range.end == top);
	vfio_iommu_info_space_free(space);
}

static void test_callers_space(void)
{
	const struct vfio_iommu_info_range inverted[] = { { 0, 0xfff }, { 0x3000, 0x2000 } };
	const struct vfio_iommu_info_range overlapping[] = { { 0, 0x1fff }, { 0x1000, 0x2fff } };
	const struct vfio_iommu_info_range ok[] = { { 0x100000, 0x1fffff }, { 0, 0xfffff } };
	struct vfio_iommu_info_space *untouched = (struct vfio_iommu_info_space *)&checks;
	struct vfio_iommu_info_space *space = untouched;
	struct vfio_iommu_info_range r;
	size_t n;

	CHECK_RC(vfio_iommu_info_space_new(inverted, 2, 0x1000, &space), VFIO_IOMMU_INFO_E_INVALID);
	CHECK(strstr(vfio_iommu_info_last_error(), "ranges[1] is inverted") != NULL);
	CHECK_RC(vfio_iommu_info_space_new(NULL, 1, 0x1000, &space), VFIO_IOMMU_INFO_E_NULL);
	CHECK_RC(vfio_iommu_info_space_new(ok, 2, 0x1000, NULL), VFIO_IOMMU_INFO_E_NULL);
	CHECK(space == untouched);
	/* Overlapping ranges (no kernel reports them) are merged into one. */
	space = NULL;
	CHECK_RC(vfio_iommu_info_space_new(overlapping, 2, 0x1000, &space), 0);
	CHECK_RC(vfio_iommu_info_space_range_count(space, &n), 0);
	CHECK(n == 1);
	CHECK_RC(vfio_iommu_info_space_range(space, 0, &r), 0);
	CHECK(r.start == 0 && r.end == 0x2fff);
	vfio_iommu_info_space_free(space);
	/* Touching ranges stay apart: no hole, but two ranges. */
	CHECK_RC(vfio_iommu_info_space_new(ok, 2, 0x1000, &space), 0);
	CHECK_RC(vfio_iommu_info_space_range_count(space, &n), 0);
	CHECK(n == 2);
	CHECK_RC(vfio_iommu_info_space_hole_count(space, &n), 0);
	CHECK(n == 0);
	CHECK_RC(vfio_iommu_info_space_range(space, 0, &r), 0);
	CHECK(r.start == 0 && r.end == 0xfffff);
	vfio_iommu_info_space_free(space);
}

static void test_allocator(const char *amd, const char *intel)
{
	struct vfio_iommu_info_space *space = space_of(intel);
	struct vfio_iommu_info_allocator *a = NULL, *b = NULL;
	uint64_t iova = UNTOUCHED, len = UNTOUCHED, granule = 0;
	size_t live = 0;

	CHECK_RC(vfio_iommu_info_allocator_new(space, &a), 0);
	vfio_iommu_info_space_free(space); /* the allocator keeps its own copy */

	/* Below the 28-bit limit of a device like edu. */
	CHECK_RC(vfio_iommu_info_allocator_alloc(a, 100, 0, EDU_LIMIT, &iova), 0);
	CHECK(iova == 0);
	CHECK_RC(vfio_iommu_info_allocator_alloc(a, 0x200000, 0x200000, EDU_LIMIT, &iova), 0);
	CHECK(iova == 0x200000);
	iova = UNTOUCHED;
	CHECK_RC(vfio_iommu_info_allocator_alloc(a, GIB, 0, EDU_LIMIT, &iova), VFIO_IOMMU_INFO_E_NO_ROOM);
	CHECK(iova == UNTOUCHED);
	CHECK(strstr(vfio_iommu_info_last_error(), "no free IOVA span") != NULL);
	CHECK(strstr(vfio_iommu_info_strerror(VFIO_IOMMU_INFO_E_NO_ROOM), "not a vfio") == NULL);
	CHECK_RC(vfio_iommu_info_allocator_alloc(a, 0, 0, UINT64_MAX, &iova), VFIO_IOMMU_INFO_E_INVALID);
	CHECK_RC(vfio_iommu_info_allocator_alloc(a, 0x1000, 3, UINT64_MAX, &iova), VFIO_IOMMU_INFO_E_INVALID);
	CHECK_RC(vfio_iommu_info_allocator_alloc(a, UINT64_MAX, 0, UINT64_MAX, &iova), VFIO_IOMMU_INFO_E_NO_ROOM);
	CHECK(iova == UNTOUCHED);

	/* Release: the length comes back; a second release is refused. */
	CHECK_RC(vfio_iommu_info_allocator_release(a, 0, &len), 0);
	CHECK(len == 0x1000);
	len = UNTOUCHED;
	CHECK_RC(vfio_iommu_info_allocator_release(a, 0, &len), VFIO_IOMMU_INFO_E_NOT_ALLOCATED);
	CHECK(len == UNTOUCHED);
	CHECK_RC(vfio_iommu_info_allocator_release(a, 0x200000, NULL), 0);

	/* Reservations: usable, aligned and free, or a code that says which. */
	CHECK_RC(vfio_iommu_info_allocator_reserve(a, GIB, GIB), 0);
	CHECK_RC(vfio_iommu_info_allocator_reserve(a, GIB - 0x1000, 0x2000), VFIO_IOMMU_INFO_E_OVERLAP);
	CHECK(strstr(vfio_iommu_info_last_error(), "0x40000000") != NULL);
	CHECK_RC(vfio_iommu_info_allocator_reserve(a, 0xfee00000, 0x1000), VFIO_IOMMU_INFO_E_UNUSABLE);
	CHECK_RC(vfio_iommu_info_allocator_reserve(a, 1ull << 39, 0x1000), VFIO_IOMMU_INFO_E_UNUSABLE);
	CHECK_RC(vfio_iommu_info_allocator_reserve(a, 0x800, 0x1000), VFIO_IOMMU_INFO_E_UNUSABLE);
	CHECK_RC(vfio_iommu_info_allocator_reserve(a, 0x1000, 0), VFIO_IOMMU_INFO_E_INVALID);
	CHECK_RC(vfio_iommu_info_allocator_live_count(a, &live), 0);
	CHECK(live == 1);
	CHECK_RC(vfio_iommu_info_allocator_granule(a, &granule), 0);
	CHECK(granule == 4096);

	/* NULLs are codes, never crashes, and leave out-parameters alone. */
	iova = UNTOUCHED;
	CHECK_RC(vfio_iommu_info_allocator_alloc(NULL, 0x1000, 0, UINT64_MAX, &iova), VFIO_IOMMU_INFO_E_NULL);
	CHECK_RC(vfio_iommu_info_allocator_alloc(a, 0x1000, 0, UINT64_MAX, NULL), VFIO_IOMMU_INFO_E_NULL);
	CHECK_RC(vfio_iommu_info_allocator_reserve(NULL, 0, 0x1000), VFIO_IOMMU_INFO_E_NULL);
	CHECK_RC(vfio_iommu_info_allocator_release(NULL, 0, &len), VFIO_IOMMU_INFO_E_NULL);
	CHECK_RC(vfio_iommu_info_allocator_live_count(NULL, &live), VFIO_IOMMU_INFO_E_NULL);
	CHECK_RC(vfio_iommu_info_allocator_new(NULL, &b), VFIO_IOMMU_INFO_E_NULL);
	CHECK(iova == UNTOUCHED && b == NULL && live == 1);
	vfio_iommu_info_allocator_free(a);
	vfio_iommu_info_allocator_free(NULL);

	/* AMD's ranges reach 2^64-1; the top page, which type1 cannot unmap, is kept out. */
	space = space_of(amd);
	CHECK_RC(vfio_iommu_info_allocator_new(space, &a), 0);
	CHECK_RC(vfio_iommu_info_allocator_reserve(a, UINT64_MAX - 0xfff, 0x1000), VFIO_IOMMU_INFO_E_TOP_PAGE);
	CHECK_RC(vfio_iommu_info_allocator_reserve(a, UINT64_MAX - 0x1fff, 0x1000), 0);
	CHECK_RC(vfio_iommu_info_allocator_reserve(a, 0xfd00000000ull, 0x1000), VFIO_IOMMU_INFO_E_UNUSABLE);
	vfio_iommu_info_allocator_free(a);
	vfio_iommu_info_space_free(space);
}

static void test_layout(const char *amd)
{
	struct vfio_iommu_info_space *space = space_of(amd);
	struct vfio_iommu_info_layout *layout = NULL, *untouched = (struct vfio_iommu_info_layout *)&checks;
	struct vfio_iommu_info_ram_region regions[4] = {
		{ .size = sizeof(regions[0]), .len = 3 * GIB },
		{ .size = sizeof(regions[0]), .flags = VFIO_IOMMU_INFO_RAM_FIXED, .len = 1008 * GIB, .addr = 4 * GIB },
		{ .size = sizeof(regions[0]), .flags = VFIO_IOMMU_INFO_RAM_FIXED, .len = 8 * GIB, .addr = 1012 * GIB },
		{ .size = sizeof(regions[0]), .len = 64 * GIB },
	};
	struct vfio_iommu_info_placement p = { .size = sizeof(p) };
	struct vfio_iommu_info_mappings m = { .size = sizeof(m) };
	struct vfio_iommu_info_mapping_count mc;
	size_t n = 0;
	char *json = NULL;

	CHECK_RC(vfio_iommu_info_layout_new(space, regions, 4, 65535, &layout), 0);
	CHECK_RC(vfio_iommu_info_layout_placement_count(layout, &n), 0);
	CHECK(n == 4);
	CHECK_RC(vfio_iommu_info_layout_placement(layout, 0, &p), 0);
	CHECK(p.result == VFIO_IOMMU_INFO_PLACEMENT_PLACED && p.range.start == 0 && p.align == GIB);
	CHECK_RC(vfio_iommu_info_layout_placement(layout, 2, &p), 0);
	CHECK(p.result == VFIO_IOMMU_INFO_PLACEMENT_CONFLICT && p.problem == VFIO_IOMMU_INFO_SPAN_IN_HOLE &&
	      p.problem_range.start == 0xfd00000000ull && p.range.start == 1012 * GIB && p.len == 8 * GIB);
	CHECK_RC(vfio_iommu_info_layout_placement(layout, 3, &p), 0);
	CHECK(p.result == VFIO_IOMMU_INFO_PLACEMENT_PLACED && p.range.start == 0x10000000000ull);
	CHECK_RC(vfio_iommu_info_layout_mappings(layout, &m), 0);
	CHECK(m.all_placed == 0 && m.per_region == 3 && m.dma_avail == 65535 && m.fits == 1);
	CHECK(m.smallest_fitting_page == 32ull << 20); /* 1075 GiB in 32 MiB pages: 34400 */
	CHECK_RC(vfio_iommu_info_layout_page_count(layout, &n), 0);
	CHECK(n == 19); /* AMD: every power of two from 4 KiB to 1 GiB */
	CHECK_RC(vfio_iommu_info_layout_page(layout, n - 1, &mc), 0);
	CHECK(mc.page_size == GIB && mc.entries == 1075);
	{
		/* The same lists in one call each (since 0.4), walked with a for loop. */
		const struct vfio_iommu_info_placement *places = NULL;
		const struct vfio_iommu_info_mapping_count *pages = NULL;
		size_t np = 0, npages = 0;
		CHECK_RC(vfio_iommu_info_layout_placements(layout, &places, &np), 0);
		CHECK(np == 4 && places != NULL);
		for (size_t i = 0; places && i < np; i++) {
			CHECK_RC(vfio_iommu_info_layout_placement(layout, i, &p), 0);
			CHECK(places[i].size == sizeof(places[i]) && memcmp(&places[i], &p, sizeof(p)) == 0);
		}
		CHECK(places && places[2].problem == VFIO_IOMMU_INFO_SPAN_IN_HOLE);
		CHECK_RC(vfio_iommu_info_layout_pages(layout, &pages, &npages), 0);
		CHECK(npages == n && pages != NULL);
		for (size_t i = 0; pages && i < npages; i++) {
			CHECK_RC(vfio_iommu_info_layout_page(layout, i, &mc), 0);
			CHECK(pages[i].page_size == mc.page_size && pages[i].entries == mc.entries);
		}
		CHECK(pages && pages[npages - 1].page_size == GIB && pages[npages - 1].entries == 1075);
	}
	CHECK_RC(vfio_iommu_info_layout_to_json(layout, &json), 0);
	CHECK(json && strstr(json, "\"result\":\"conflict\""));
	vfio_iommu_info_string_free(json);
	memset(&p, 0, sizeof(p));
	p.size = 8;
	CHECK_RC(vfio_iommu_info_layout_placement(layout, 0, &p), VFIO_IOMMU_INFO_E_INVALID);
	CHECK(p.size == 8 && p.len == 0);
	p.size = sizeof(p);
	CHECK_RC(vfio_iommu_info_layout_placement(layout, 4, &p), VFIO_IOMMU_INFO_E_RANGE);
	vfio_iommu_info_layout_free(layout);

	/* Bad region arrays, dma_avail and NULLs. */
	layout = untouched;
	regions[1].size = 8;
	CHECK_RC(vfio_iommu_info_layout_new(space, regions, 4, -1, &layout), VFIO_IOMMU_INFO_E_INVALID);
	regions[1].size = sizeof(regions[1]);
	regions[0].flags = 0x80;
	CHECK_RC(vfio_iommu_info_layout_new(space, regions, 4, -1, &layout), VFIO_IOMMU_INFO_E_INVALID);
	regions[0].flags = 0;
	CHECK_RC(vfio_iommu_info_layout_new(space, regions, 4, -7, &layout), VFIO_IOMMU_INFO_E_INVALID);
	CHECK_RC(vfio_iommu_info_layout_new(space, NULL, 4, -1, &layout), VFIO_IOMMU_INFO_E_NULL);
	CHECK_RC(vfio_iommu_info_layout_new(NULL, regions, 4, -1, &layout), VFIO_IOMMU_INFO_E_NULL);
	CHECK(layout == untouched);
	vfio_iommu_info_layout_free(NULL);
	vfio_iommu_info_space_free(space);
}

/* Why a span is refused (since 0.6): NULL for a span that maps, one line naming the hole
 * and the fix for one in the MSI hole, the aperture and 2^39 for one beyond intel's; a
 * space with groups' reserved regions, and the contract's NULL checks. */
static void test_explain(const char *amd, const char *intel)
{
	struct vfio_iommu_info_space *a = space_of(amd), *i = space_of(intel);
	struct vfio_iommu_info_space *with = (void *)UNTOUCHED;
	char *text = (char *)UNTOUCHED;
	uint32_t group = 4000000000u;

	CHECK_RC(vfio_iommu_info_space_explain(a, 0, GIB, &text), 0);
	CHECK(text == NULL);
	CHECK_RC(vfio_iommu_info_space_explain(a, 0xfee00000, 0x200000, &text), 0);
	CHECK(text && strstr(text, "cannot map [0xfee00000, 0xfeffffff] (0x200000 bytes, 2M): "
				   "inside the reserved hole [0xfee00000, 0xfeefffff]") == text);
	CHECK(text && strstr(text, "place guest RAM outside [0xfee00000, 0xfeefffff]"));
	CHECK(text && !strchr(text, '\n'));
	vfio_iommu_info_string_free(text);
	CHECK_RC(vfio_iommu_info_space_explain(i, 0x7ffffff000ull, 0x2000, &text), 0);
	CHECK(text && strstr(text, "beyond the IOMMU aperture [0x0, 0x7fffffffff]"));
	CHECK(text && strstr(text, "keep guest RAM below 2^39 (0x8000000000)"));
	vfio_iommu_info_string_free(text);
	/* Near 2^64: the last page maps on AMD, a span past 2^64 wraps. */
	CHECK_RC(vfio_iommu_info_space_explain(a, UINT64_MAX - 0xfff, 0x1000, &text), 0);
	CHECK(text == NULL);
	CHECK_RC(vfio_iommu_info_space_explain(a, UINT64_MAX - 0xfff, 0x2000, &text), 0);
	CHECK(text && strstr(text, "runs past the end of the 64-bit address space"));
	vfio_iommu_info_string_free(text);

	/* No groups: a new space, the same ranges, holes without causes. */
	CHECK_RC(vfio_iommu_info_space_with_groups(a, NULL, 0, &with), 0);
	CHECK(with != NULL && with != (void *)UNTOUCHED);
	CHECK_RC(vfio_iommu_info_space_explain(with, 0xfee00000, 0x1000, &text), 0);
	CHECK(text && strstr(text, "no reserved region is known behind it"));
	vfio_iommu_info_string_free(text);
	vfio_iommu_info_space_free(with);
	/* A group no host has: -ENOENT, naming the file; *out untouched. */
	with = (void *)UNTOUCHED;
	CHECK(vfio_iommu_info_space_with_groups(a, &group, 1, &with) == -ENOENT);
	CHECK(strstr(vfio_iommu_info_last_error(), "iommu_groups/4000000000/reserved_regions"));
	CHECK(with == (void *)UNTOUCHED);

	text = (char *)UNTOUCHED;
	CHECK_RC(vfio_iommu_info_space_explain(NULL, 0, 1, &text), VFIO_IOMMU_INFO_E_NULL);
	CHECK(text == (char *)UNTOUCHED);
	CHECK_RC(vfio_iommu_info_space_explain(a, 0, 1, NULL), VFIO_IOMMU_INFO_E_NULL);
	CHECK_RC(vfio_iommu_info_space_with_groups(NULL, NULL, 0, &with), VFIO_IOMMU_INFO_E_NULL);
	CHECK_RC(vfio_iommu_info_space_with_groups(a, NULL, 1, &with), VFIO_IOMMU_INFO_E_NULL);
	CHECK_RC(vfio_iommu_info_space_with_groups(a, NULL, 0, NULL), VFIO_IOMMU_INFO_E_NULL);
	CHECK(with == (void *)UNTOUCHED);
	vfio_iommu_info_space_free(a);
	vfio_iommu_info_space_free(i);
}

/* A whole guest's plan (since 0.7): on an AMD host the guest stays below the
 * HyperTransport hole (phys-bits 39), QEMU pins its RAM and SeaBIOS, the settings say so;
 * a pc-dimm in the hole with phys-bits 48 is refused with the nearest settings. */
static void test_guest_plan(const char *amd)
{
	struct vfio_iommu_info_space *a = space_of(amd);
	struct vfio_iommu_info_guest_plan *plan = NULL;
	struct vfio_iommu_info_guest_request req;
	struct vfio_iommu_info_guest_summary sum;
	struct vfio_iommu_info_ram_region dimm;
	const uint64_t bars[1] = { 16 * GIB };
	char *text = NULL;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.ram = 8 * GIB;
	req.cpu_phys_bits = VFIO_IOMMU_INFO_CPU_BITS_UNKNOWN;
	req.dma_avail = 65535;
	CHECK_RC(vfio_iommu_info_guest_plan_new(a, &req, NULL, 0, NULL, 0, bars, 1, &plan), 0);
	memset(&sum, 0, sizeof(sum));
	sum.size = sizeof(sum);
	CHECK_RC(vfio_iommu_info_guest_plan_summary(plan, &sum), 0);
	CHECK(sum.size == sizeof(sum) && sum.fits == 1 && sum.phys_bits == 39 && sum.aw_bits == 0);
	CHECK(sum.mappings == 6 && sum.memlock == 8 * GIB + 256 * 1024 && sum.refusal_count == 0);
	CHECK(sum.max_ram_below_4g == 0);
	CHECK(sum.mmio64.start == 10 * GIB && sum.mmio64.end == 42 * GIB - 1);
	CHECK_RC(vfio_iommu_info_guest_plan_text(plan, VFIO_IOMMU_INFO_GUEST_TEXT_QEMU, &text), 0);
	CHECK(text && strstr(text, "\nhost,host-phys-bits=on,host-phys-bits-limit=39\n"));
	CHECK(text && strstr(text, "\nq35-pcihost.pci-hole64-size=32G\n"));
	vfio_iommu_info_string_free(text);
	CHECK_RC(vfio_iommu_info_guest_plan_text(plan, VFIO_IOMMU_INFO_GUEST_TEXT_LIBVIRT, &text), 0);
	CHECK(text && strstr(text, "<maxphysaddr mode='passthrough' limit='39'/>"));
	vfio_iommu_info_string_free(text);
	CHECK_RC(vfio_iommu_info_guest_plan_text(plan, VFIO_IOMMU_INFO_GUEST_TEXT_REFUSALS, &text), 0);
	CHECK(text && text[0] == '\0');
	vfio_iommu_info_string_free(text);
	CHECK_RC(vfio_iommu_info_guest_plan_text(plan, VFIO_IOMMU_INFO_GUEST_TEXT_JSON, &text), 0);
	CHECK(text && strstr(text, "\"fits\":true") && strstr(text, "\"phys_bits\":39"));
	vfio_iommu_info_string_free(text);
	vfio_iommu_info_guest_plan_free(plan);

	memset(&dimm, 0, sizeof(dimm));
	dimm.size = sizeof(dimm);
	dimm.flags = VFIO_IOMMU_INFO_RAM_FIXED;
	dimm.len = 2 << 20;
	dimm.addr = 0xfd00000000ull;
	req.ram = 64 << 20;
	req.phys_bits = 48;
	CHECK_RC(vfio_iommu_info_guest_plan_new(a, &req, &dimm, 1, NULL, 0, NULL, 0, &plan), 0);
	CHECK_RC(vfio_iommu_info_guest_plan_summary(plan, &sum), 0);
	CHECK(sum.fits == 0 && sum.refusal_count >= 2 && sum.phys_bits == 48);
	CHECK_RC(vfio_iommu_info_guest_plan_text(plan, VFIO_IOMMU_INFO_GUEST_TEXT_REFUSALS, &text), 0);
	CHECK(text && strstr(text, "phys-bits: phys-bits 48 lets the guest put RAM and BARs up to 2^48"));
	CHECK(text && strstr(text, "nearest that fits: phys-bits 39\n"));
	CHECK(text && strstr(text, "fixed[0]: cannot map [0xfd00000000, 0xfd001fffff]"));
	vfio_iommu_info_string_free(text);
	CHECK_RC(vfio_iommu_info_guest_plan_text(plan, VFIO_IOMMU_INFO_GUEST_TEXT_CLOUD_HYPERVISOR, &text), 0);
	CHECK(text && strncmp(text, "none: ", 6) == 0);
	vfio_iommu_info_string_free(text);
	vfio_iommu_info_guest_plan_free(plan);
	vfio_iommu_info_space_free(a);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: planning-test AMD_CAPTURE INTEL39_CAPTURE\n");
		return 2;
	}
	test_amd_space(argv[1]);
	test_intel_space(argv[2]);
	test_callers_space();
	test_allocator(argv[1], argv[2]);
	test_layout(argv[1]);
	test_explain(argv[1], argv[2]);
	test_guest_plan(argv[1]);
	return check_summary();
}
