/*
 * guest-layout: places guest RAM regions in usable IOVA space for an identity map
 * (guest physical address == IOVA), the way a VMM lays out guest memory it will map
 * with VFIO_IOMMU_MAP_DMA, or reports why it cannot.
 *
 *   guest-layout --capture FILE [--byte-order native|little|big] REGION...
 *   guest-layout --target TARGET REGION...
 *
 * REGION is SIZE (placed first-fit, ascending, aligned to the largest IOMMU page size
 * not above min(SIZE, 1G)) or SIZE@ADDR (a fixed address, checked). SIZE and ADDR take
 * a K, M, G or T suffix (binary). Prints one line per region:
 *
 *   place SIZE at START END [align A]
 *   conflict SIZE@ADDR: why [hole or aperture]
 *   noroom SIZE: no usable range has SIZE free at the needed alignment
 *
 * then "mappings N dma_avail M fits|exceeds|unknown". Exit status: 0 when every region
 * is placed and the mappings fit; 1 when not; 2 on a usage error or a library error.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfio_iommu_info.h>

#include "print_info.h"

#define GIB (1ull << 30)

struct region {
	uint64_t size, addr; /* addr: asked for when fixed, chosen when placed */
	int fixed, placed;
};

static int parse_size(const char *s, uint64_t *v)
{
	unsigned shift = 0;
	char *end;
	uint64_t n;

	if (!*s || *s == '-')
		return -1;
	n = strtoull(s, &end, 0);
	switch (*end) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	default: break;
	}
	if (*end != '\0' && *end != '@')
		return -1;
	if (shift && n > (UINT64_MAX >> shift))
		return -1;
	*v = n << shift;
	return (int)(end - s);
}

/* Rounds v up to a multiple of the power of two a; 0 when that passes 2^64. */
static int align_up(uint64_t v, uint64_t a, uint64_t *out)
{
	uint64_t r;

	if (__builtin_add_overflow(v, a - 1, &r))
		return -1;
	*out = r & ~(a - 1);
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct vfio_iommu_info_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The largest supported page size <= limit, at least the smallest supported one. */
static uint64_t alignment(uint64_t pgsizes, uint64_t limit)
{
	uint64_t best = pgsizes & -pgsizes;

	for (int b = 0; b < 64; b++) {
		uint64_t s = 1ull << b;

		if ((pgsizes & s) && s <= limit)
			best = s;
	}
	return best;
}

/* First fit for r in ranges[], avoiding the placed regions. */
static int place(struct region *r, const struct vfio_iommu_info_range *ranges, size_t n,
		 const struct region *all, size_t n_all, uint64_t align)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t cand, last;

		if (align_up(ranges[i].start, align, &cand) < 0)
			continue;
		for (;;) {
			int moved = 0;

			if (__builtin_add_overflow(cand, r->size - 1, &last) || last > ranges[i].end)
				break;
			for (size_t j = 0; j < n_all; j++) {
				const struct region *o = &all[j];

				if (o == r || !o->placed)
					continue;
				if (o->addr <= last && cand <= o->addr + (o->size - 1)) {
					if (o->addr + (o->size - 1) == UINT64_MAX ||
					    align_up(o->addr + o->size, align, &cand) < 0)
						goto next_range;
					moved = 1;
				}
			}
			if (!moved) {
				r->addr = cand;
				r->placed = 1;
				return 0;
			}
		}
next_range:;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct vfio_iommu_info *info = NULL;
	struct vfio_iommu_info_range *ranges = NULL;
	struct region *regions;
	const char *capture = NULL, *target = NULL;
	uint32_t order = VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE;
	uint64_t pgsizes;
	size_t n_regions = 0, n_ranges = 0, mappings = 0;
	int rc, status = 2, all_placed = 1;

	regions = calloc((size_t)argc, sizeof(*regions));
	if (!regions)
		return 2;
	for (int a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--capture") && a + 1 < argc) {
			capture = argv[++a];
		} else if (!strcmp(argv[a], "--target") && a + 1 < argc) {
			target = argv[++a];
		} else if (!strcmp(argv[a], "--byte-order") && a + 1 < argc) {
			const char *o = argv[++a];

			order = !strcmp(o, "little") ? VFIO_IOMMU_INFO_BYTE_ORDER_LITTLE :
				!strcmp(o, "big")    ? VFIO_IOMMU_INFO_BYTE_ORDER_BIG :
						       VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE;
		} else {
			struct region *r = &regions[n_regions];
			int used = parse_size(argv[a], &r->size);

			if (used < 0 || r->size == 0 ||
			    (argv[a][used] == '@' && parse_size(argv[a] + used + 1, &r->addr) < 0)) {
				fprintf(stderr, "guest-layout: bad region %s\n", argv[a]);
				goto out;
			}
			r->fixed = argv[a][used] == '@';
			n_regions++;
		}
	}
	if (!!capture == !!target || n_regions == 0) {
		fprintf(stderr, "usage: guest-layout (--capture FILE [--byte-order B] | --target TARGET) REGION...\n");
		goto out;
	}

	if (capture) {
		FILE *f = fopen(capture, "rb");
		unsigned char buf[65536];
		size_t len;
		int more;

		if (!f) {
			perror(capture);
			goto out;
		}
		len = fread(buf, 1, sizeof(buf), f);
		more = fgetc(f) != EOF;
		fclose(f);
		if (more) {
			fprintf(stderr, "guest-layout: %s is larger than 64 KiB: not a capture\n", capture);
			goto out;
		}
		rc = vfio_iommu_info_decode(buf, len, order, &info);
	} else {
		rc = vfio_iommu_info_open(target, NULL, &info);
	}
	if (rc < 0) {
		print_error("guest-layout", capture ? capture : target, rc);
		goto out;
	}
	if ((rc = vfio_iommu_info_iova_range_count(info, &n_ranges)) < 0) {
		print_error("guest-layout", "IOVA ranges", rc);
		goto out;
	}
	ranges = calloc(n_ranges ? n_ranges : 1, sizeof(*ranges));
	if (!ranges)
		goto out;
	for (size_t i = 0; i < n_ranges; i++)
		if ((rc = vfio_iommu_info_iova_range(info, i, &ranges[i])) < 0) {
			print_error("guest-layout", "IOVA range", rc);
			goto out;
		}
	qsort(ranges, n_ranges, sizeof(*ranges), cmp_range);
	if (vfio_iommu_info_page_sizes(info, &pgsizes) < 0)
		pgsizes = 4096; /* no PGSIZES flag: assume the 4K granule of every IOMMU */

	/* Fixed regions first: they constrain the others. */
	for (size_t i = 0; i < n_regions; i++) {
		struct region *r = &regions[i];
		struct vfio_iommu_info_verdict v = { .size = sizeof(v) };

		if (!r->fixed)
			continue;
		if ((rc = vfio_iommu_info_check(info, r->addr, r->size, &v)) < 0) {
			print_error("guest-layout", "check", rc);
			goto out;
		}
		if (v.problem != VFIO_IOMMU_INFO_SPAN_OK) {
			printf("conflict %#" PRIx64 "@%#" PRIx64 ": %s", r->size, r->addr,
			       vfio_iommu_info_span_problem_str(v.problem));
			if (v.range.end)
				printf(" [%#" PRIx64 ", %#" PRIx64 "]", v.range.start, v.range.end);
			printf("\n");
			all_placed = 0;
			continue;
		}
		r->placed = 1;
		printf("place %#" PRIx64 " at %#" PRIx64 " %#" PRIx64 " fixed\n", r->size, r->addr,
		       r->addr + (r->size - 1));
		mappings++;
	}
	for (size_t i = 0; i < n_regions; i++) {
		struct region *r = &regions[i];
		uint64_t align;

		if (r->fixed)
			continue;
		align = alignment(pgsizes, r->size < GIB ? r->size : GIB);
		if (place(r, ranges, n_ranges, regions, n_regions, align) < 0) {
			printf("noroom %#" PRIx64 ": no usable range has it free at alignment %#" PRIx64 "\n",
			       r->size, align);
			all_placed = 0;
			continue;
		}
		printf("place %#" PRIx64 " at %#" PRIx64 " %#" PRIx64 " align %#" PRIx64 "\n", r->size,
		       r->addr, r->addr + (r->size - 1), align);
		mappings++;
	}

	{
		uint32_t avail = 0;

		rc = vfio_iommu_info_dma_avail(info, &avail);
		if (rc == 0)
			printf("mappings %zu dma_avail %" PRIu32 " %s\n", mappings, avail,
			       mappings <= avail ? "fits" : "exceeds");
		else
			printf("mappings %zu dma_avail unknown\n", mappings);
		status = all_placed && (rc < 0 || mappings <= avail) ? 0 : 1;
	}
out:
	free(ranges);
	free(regions);
	vfio_iommu_info_free(info);
	return status;
}
