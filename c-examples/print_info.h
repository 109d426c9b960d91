/*
 * Prints an info object one fact per line, for the examples and their tests:
 *
 *   argsz 88 / flags 0x3 / cap_offset 24 / caps_truncated 0
 *   pgsizes 0x40201000          (or: pgsizes absent)
 *   aperture 0x0 0x7fffffffff   (inclusive ends)
 *   range START END             (each usable IOVA range)
 *   hole START END              (each reserved hole inside the aperture)
 *   dma_avail 65535             (or: dma_avail absent CODE: why)
 *   migration VERSION FLAGS PGSIZE_BITMAP MAX_DIRTY_BITMAP_SIZE (or: migration absent ...)
 *   iova_ranges absent CODE: why
 *   chain ID VERSION OFFSET     (every capability in chain order)
 *   unknown_cap ID VERSION OFFSET LEN
 *
 * Returns 0, or the first failing call's code.
 */
#ifndef PRINT_INFO_H
#define PRINT_INFO_H

#include <inttypes.h>
#include <stdio.h>

#include <vfio_iommu_info.h>

static inline const char *absence_code(uint32_t reason)
{
	switch (reason) {
	case VFIO_IOMMU_INFO_ABSENT_NO_CAPABILITY_CHAIN: return "no_capability_chain";
	case VFIO_IOMMU_INFO_ABSENT_DID_NOT_FIT: return "did_not_fit";
	case VFIO_IOMMU_INFO_ABSENT_CHAIN_NOT_PLACED: return "chain_not_placed";
	case VFIO_IOMMU_INFO_ABSENT_NOT_IN_CHAIN: return "not_in_chain";
	default: return "unknown";
	}
}

/* Prints "NAME absent CODE: why" when the capability is absent; returns 1 if it was. */
static inline int print_absence(FILE *out, const struct vfio_iommu_info *info, uint32_t cap,
			 const char *name, int *rc)
{
	uint32_t reason;
	const char *why;

	*rc = vfio_iommu_info_absence(info, cap, &reason, &why);
	if (*rc < 0 || reason == VFIO_IOMMU_INFO_PRESENT)
		return *rc < 0;
	fprintf(out, "%s absent %s: %s\n", name, absence_code(reason), why);
	return 1;
}

static inline int print_info(FILE *out, const struct vfio_iommu_info *info)
{
	struct vfio_iommu_info_header hdr = { .size = sizeof(hdr) };
	struct vfio_iommu_info_range r;
	uint64_t pgsizes;
	size_t n, i;
	int rc;

	if ((rc = vfio_iommu_info_header(info, &hdr)) < 0)
		return rc;
	fprintf(out, "argsz %" PRIu32 "\nflags %#" PRIx32 "\ncap_offset %" PRIu32
		"\ncaps_truncated %" PRIu32 "\n", hdr.argsz, hdr.flags, hdr.cap_offset,
		hdr.caps_truncated);

	rc = vfio_iommu_info_page_sizes(info, &pgsizes);
	if (rc == 0)
		fprintf(out, "pgsizes %#" PRIx64 "\n", pgsizes);
	else if (rc == VFIO_IOMMU_INFO_E_ABSENT)
		fprintf(out, "pgsizes absent\n");
	else
		return rc;

	if (!print_absence(out, info, VFIO_IOMMU_INFO_CAP_IOVA_RANGE, "iova_ranges", &rc)) {
		if ((rc = vfio_iommu_info_aperture(info, &r)) < 0)
			return rc;
		fprintf(out, "aperture %#" PRIx64 " %#" PRIx64 "\n", r.start, r.end);
		if ((rc = vfio_iommu_info_iova_range_count(info, &n)) < 0)
			return rc;
		for (i = 0; i < n; i++) {
			if ((rc = vfio_iommu_info_iova_range(info, i, &r)) < 0)
				return rc;
			fprintf(out, "range %#" PRIx64 " %#" PRIx64 "\n", r.start, r.end);
		}
		if ((rc = vfio_iommu_info_hole_count(info, &n)) < 0)
			return rc;
		for (i = 0; i < n; i++) {
			if ((rc = vfio_iommu_info_hole(info, i, &r)) < 0)
				return rc;
			fprintf(out, "hole %#" PRIx64 " %#" PRIx64 "\n", r.start, r.end);
		}
	} else if (rc < 0) {
		return rc;
	}

	if (!print_absence(out, info, VFIO_IOMMU_INFO_CAP_DMA_AVAIL, "dma_avail", &rc)) {
		uint32_t avail;

		if ((rc = vfio_iommu_info_dma_avail(info, &avail)) < 0)
			return rc;
		fprintf(out, "dma_avail %" PRIu32 "\n", avail);
	} else if (rc < 0) {
		return rc;
	}

	if (!print_absence(out, info, VFIO_IOMMU_INFO_CAP_MIGRATION, "migration", &rc)) {
		struct vfio_iommu_info_migration m = { .size = sizeof(m) };

		if ((rc = vfio_iommu_info_migration(info, &m)) < 0)
			return rc;
		fprintf(out, "migration %" PRIu32 " %#" PRIx32 " %#" PRIx64 " %" PRIu64 "\n",
			m.version, m.flags, m.pgsize_bitmap, m.max_dirty_bitmap_size);
	} else if (rc < 0) {
		return rc;
	}

	if ((rc = vfio_iommu_info_chain_length(info, &n)) < 0)
		return rc;
	for (i = 0; i < n; i++) {
		struct vfio_iommu_info_cap cap = { .size = sizeof(cap) };

		if ((rc = vfio_iommu_info_chain_entry(info, i, &cap)) < 0)
			return rc;
		fprintf(out, "chain %u %u %" PRIu64 "\n", cap.id, cap.version, cap.offset);
	}
	if ((rc = vfio_iommu_info_unknown_cap_count(info, &n)) < 0)
		return rc;
	for (i = 0; i < n; i++) {
		struct vfio_iommu_info_cap cap = { .size = sizeof(cap) };

		if ((rc = vfio_iommu_info_unknown_cap(info, i, &cap)) < 0)
			return rc;
		fprintf(out, "unknown_cap %u %u %" PRIu64 " %zu\n", cap.id, cap.version, cap.offset,
			cap.len);
	}
	return 0;
}

/* "what failed: -22 (EINVAL: invalid argument): the detail" on stderr. */
static inline void print_error(const char *prog, const char *what, int rc)
{
	fprintf(stderr, "%s: %s: %d (%s): %s\n", prog, what, rc, vfio_iommu_info_strerror(rc),
		vfio_iommu_info_last_error());
}

#endif
