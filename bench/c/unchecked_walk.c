/*
 * The floor for decoding a VFIO_IOMMU_GET_INFO buffer: the walk QEMU and most VMMs do,
 * casting the buffer to the uapi structs and following `next` with no bounds, loop or
 * overlap check. Reads the same facts the Rust benchmark reads.
 */
#include <stddef.h>
#include <stdint.h>
#include <linux/vfio.h>

struct walk_summary {
	uint64_t pgsizes;
	uint64_t range_sum; /* start + end of every range, so no read is optimised away */
	uint32_t nr_iovas;
	uint32_t dma_avail;
	uint64_t dirty_pgsizes;
};

void unchecked_walk(const uint8_t *buf, size_t len, struct walk_summary *out)
{
	const struct vfio_iommu_type1_info *info = (const void *)buf;
	uint32_t off;

	(void)len; /* unchecked: that is the point */
	*out = (struct walk_summary){ .pgsizes = info->iova_pgsizes };
	if (!(info->flags & VFIO_IOMMU_INFO_CAPS))
		return;
	for (off = info->cap_offset; off; ) {
		const struct vfio_info_cap_header *h = (const void *)(buf + off);

		switch (h->id) {
		case VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: {
			const struct vfio_iommu_type1_info_cap_iova_range *r = (const void *)h;

			out->nr_iovas = r->nr_iovas;
			for (uint32_t i = 0; i < r->nr_iovas; i++)
				out->range_sum += r->iova_ranges[i].start + r->iova_ranges[i].end;
			break;
		}
		case VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION: {
			const struct vfio_iommu_type1_info_cap_migration *m = (const void *)h;

			out->dirty_pgsizes = m->pgsize_bitmap;
			break;
		}
		case VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL: {
			const struct vfio_iommu_type1_info_dma_avail *d = (const void *)h;

			out->dma_avail = d->avail;
			break;
		}
		}
		off = h->next;
	}
}
