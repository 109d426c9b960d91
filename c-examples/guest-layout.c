/*
 * guest-layout: places guest RAM regions in usable IOVA space for an identity map
 * (guest physical address == IOVA), the way a VMM lays out guest memory it will map
 * with VFIO_IOMMU_MAP_DMA, or reports why it cannot. The placement is the library's
 * (vfio_iommu_info_layout_new(), since 0.2); this program only parses and prints.
 *
 *   guest-layout --capture FILE [--byte-order native|little|big] REGION...
 *   guest-layout --target TARGET REGION...
 *
 * REGION is SIZE (placed first-fit, ascending, aligned to the largest IOMMU page size
 * not above min(SIZE, 1G)) or SIZE@ADDR (a fixed address, checked against the usable
 * ranges and the fixed regions before it). SIZE and ADDR take a K, M, G or T suffix
 * (binary). Prints one line per region, the fixed ones first:
 *
 *   place SIZE at START END fixed|align A   (SIZE as mapped: rounded up to the granule)
 *   conflict SIZE@ADDR: why [hole or aperture]
 *   noroom SIZE: no usable range has it free at alignment A
 *
 * then "mappings N dma_avail M fits|exceeds" or "mappings N dma_avail unknown". Exit
 * status: 0 when every region is placed and the mappings fit; 1 when not; 2 on a usage
 * error or a library error.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfio_iommu_info.h>

#include "print_info.h"

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

static void print_placement(const struct vfio_iommu_info_ram_region *r,
			    const struct vfio_iommu_info_placement *p)
{
	switch (p->result) {
	case VFIO_IOMMU_INFO_PLACEMENT_PLACED:
		/* What gets mapped: a placed size is rounded up to the granule. */
		printf("place %#" PRIx64 " at %#" PRIx64 " %#" PRIx64, p->range.end - p->range.start + 1,
		       p->range.start, p->range.end);
		if (r->flags & VFIO_IOMMU_INFO_RAM_FIXED)
			printf(" fixed\n");
		else
			printf(" align %#" PRIx64 "\n", p->align);
		break;
	case VFIO_IOMMU_INFO_PLACEMENT_CONFLICT:
		printf("conflict %#" PRIx64 "@%#" PRIx64 ": %s", p->len, p->range.start,
		       vfio_iommu_info_span_problem_str(p->problem));
		if (p->problem_range.end)
			printf(" [%#" PRIx64 ", %#" PRIx64 "]", p->problem_range.start,
			       p->problem_range.end);
		printf("\n");
		break;
	default:
		printf("noroom %#" PRIx64 ": no usable range has it free at alignment %#" PRIx64 "\n",
		       p->len, p->align);
		break;
	}
}

int main(int argc, char **argv)
{
	struct vfio_iommu_info *info = NULL;
	struct vfio_iommu_info_container *container = NULL;
	struct vfio_iommu_info_space *space = NULL;
	struct vfio_iommu_info_layout *layout = NULL;
	struct vfio_iommu_info_ram_region *regions;
	struct vfio_iommu_info_mappings m = { .size = sizeof(m) };
	const char *capture = NULL, *target = NULL;
	uint32_t order = VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE, avail;
	int64_t dma_avail = VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN;
	size_t n_regions = 0;
	int rc, status = 2;

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
			struct vfio_iommu_info_ram_region *r = &regions[n_regions];
			int used = parse_size(argv[a], &r->len);

			r->size = sizeof(*r);
			if (used < 0 || r->len == 0 ||
			    (argv[a][used] == '@' && parse_size(argv[a] + used + 1, &r->addr) < 0)) {
				fprintf(stderr, "guest-layout: bad region %s\n", argv[a]);
				goto out;
			}
			if (argv[a][used] == '@')
				r->flags = VFIO_IOMMU_INFO_RAM_FIXED;
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
		if (rc == 0)
			rc = vfio_iommu_info_space_from_info(info, &space);
	} else {
		/* A live container: the space's holes name the groups' reserved regions. */
		rc = vfio_iommu_info_open(target, &container, &info);
		if (rc == 0)
			rc = vfio_iommu_info_space_from_container(container, &space);
	}
	if (rc < 0) {
		print_error("guest-layout", capture ? capture : target, rc);
		goto out;
	}
	if (vfio_iommu_info_dma_avail(info, &avail) == 0)
		dma_avail = avail;
	if ((rc = vfio_iommu_info_layout_new(space, regions, n_regions, dma_avail, &layout)) < 0 ||
	    (rc = vfio_iommu_info_layout_mappings(layout, &m)) < 0) {
		print_error("guest-layout", "layout", rc);
		goto out;
	}

	/* Fixed regions first: they constrain the others. */
	for (int fixed = 1; fixed >= 0; fixed--)
		for (size_t i = 0; i < n_regions; i++) {
			struct vfio_iommu_info_placement p = { .size = sizeof(p) };

			if (!(regions[i].flags & VFIO_IOMMU_INFO_RAM_FIXED) != !fixed)
				continue;
			if ((rc = vfio_iommu_info_layout_placement(layout, i, &p)) < 0) {
				print_error("guest-layout", "placement", rc);
				goto out;
			}
			print_placement(&regions[i], &p);
		}

	if (m.fits < 0)
		printf("mappings %" PRIu64 " dma_avail unknown\n", m.per_region);
	else
		printf("mappings %" PRIu64 " dma_avail %" PRId64 " %s\n", m.per_region, m.dma_avail,
		       m.fits ? "fits" : "exceeds");
	status = m.all_placed && m.fits != 0 ? 0 : 1;
out:
	vfio_iommu_info_layout_free(layout);
	vfio_iommu_info_space_free(space);
	vfio_iommu_info_container_free(container);
	vfio_iommu_info_free(info);
	free(regions);
	return status;
}
