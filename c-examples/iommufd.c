/*
 * iommufd: where a PCI device may map DMA through iommufd (/dev/iommu and its VFIO cdev),
 * what the IOMMU hardware behind it is, and every fact with where it came from; or the
 * same facts of a type1 answer (since 0.3).
 *
 *   iommufd [--type1] PCI_ADDRESS
 *   iommufd --capture FILE [--compat]
 *
 * With PCI_ADDRESS, the library binds the device's cdev to a new iommufd, attaches it to
 * a fresh IOAS and reads the IOAS's IOVA ranges and the device's IOMMU_GET_HW_INFO; this
 * program prints one fact per line:
 *
 *   cdev PATH / fds IOMMUFD_FD DEVICE_FD / ids DEV_ID IOAS HWPT / alignment A
 *   aperture START END / range START END      (inclusive ends)
 *   hw_info TYPE_NAME DATA_TYPE DATA_LEN RECEIVED TRUNCATED
 *   hw_capabilities CAPS (or: hw_capabilities unknown) / hw_max_pasid_log2 N
 *   hw_address_width N / hw_page_sizes BITMAP / hw_dirty_tracking_hardware 0|1 (0: unknown)
 *   vtd CAP ECAP FLAGS / smmuv3 IDR0..IDR5 IIDR AIDR / amd EFR EFR2 (the raw registers)
 *   fact backend NAME
 *   fact NAME VALUE... SOURCE (or: fact NAME absent), for iova_ranges (their count),
 *     page_sizes, iova_alignment, address_width, mapping_limit (remaining N | unlimited),
 *     dirty_tracking (type1 PGSIZE_BITMAP MAX_BITMAP_SIZE | hardware 0|1)
 *   json {...}                              (vfio_iommu_info_iommufd_to_json())
 *
 * With --type1, it then closes the iommufd path and opens the same device's group the
 * legacy way, printing "container_backend NAME", "type1_range START END" and the type1
 * facts as "type1_fact ..." lines. With --capture, the facts of a captured
 * VFIO_IOMMU_GET_INFO buffer as "type1_fact" lines and its facts JSON ("type1_json"),
 * as type1 or (--compat) iommufd's compat container would mean them.
 *
 * Exit status: 0; 1 when the library reports an error (the message says what to do);
 * 2 for a usage error or an unreadable file.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfio_iommu_info.h>

#include "print_info.h"

static void print_fact_source(uint32_t source)
{
	printf(" %s\n", vfio_iommu_info_source_str(source));
}

/* The "fact" lines of `f`, each prefixed by `prefix`. */
static void print_facts(const char *prefix, const struct vfio_iommu_info_facts *f)
{
	printf("%s backend %s\n", prefix, vfio_iommu_info_backend_str(f->backend));

	if (f->iova_ranges_source) {
		printf("%s iova_ranges %zu", prefix, f->iova_range_count);
		print_fact_source(f->iova_ranges_source);
	} else {
		printf("%s iova_ranges absent\n", prefix);
	}
	if (f->page_sizes_source) {
		printf("%s page_sizes %#" PRIx64, prefix, f->page_sizes);
		print_fact_source(f->page_sizes_source);
	} else {
		printf("%s page_sizes absent\n", prefix);
	}
	if (f->iova_alignment_source) {
		printf("%s iova_alignment %#" PRIx64, prefix, f->iova_alignment);
		print_fact_source(f->iova_alignment_source);
	} else {
		printf("%s iova_alignment absent\n", prefix);
	}
	if (f->address_width_source) {
		printf("%s address_width %" PRIu32, prefix, f->address_width);
		print_fact_source(f->address_width_source);
	} else {
		printf("%s address_width absent\n", prefix);
	}
	if (f->mapping_limit_kind == VFIO_IOMMU_INFO_LIMIT_REMAINING) {
		printf("%s mapping_limit remaining %" PRIu32, prefix, f->mapping_limit_remaining);
		print_fact_source(f->mapping_limit_source);
	} else if (f->mapping_limit_kind == VFIO_IOMMU_INFO_LIMIT_UNLIMITED) {
		printf("%s mapping_limit unlimited", prefix);
		print_fact_source(f->mapping_limit_source);
	} else {
		printf("%s mapping_limit absent\n", prefix);
	}
	if (f->dirty_tracking_kind == VFIO_IOMMU_INFO_DIRTY_TYPE1) {
		printf("%s dirty_tracking type1 %#" PRIx64 " %" PRIu64, prefix,
		       f->dirty_pgsize_bitmap, f->dirty_max_bitmap_size);
		print_fact_source(f->dirty_tracking_source);
	} else if (f->dirty_tracking_kind == VFIO_IOMMU_INFO_DIRTY_HARDWARE) {
		printf("%s dirty_tracking hardware %" PRIu32, prefix, f->dirty_hardware);
		print_fact_source(f->dirty_tracking_source);
	} else {
		printf("%s dirty_tracking absent\n", prefix);
	}
}

static int print_hw_info(const struct vfio_iommu_info_iommufd *fd)
{
	struct vfio_iommu_info_hw_info hw = { .size = sizeof(hw) };
	int rc = vfio_iommu_info_iommufd_hw_info(fd, &hw);

	if (rc < 0) {
		/* The open succeeded without it (a kernel before 6.6): say so and go on. */
		printf("hw_info unavailable %d %s\n", rc, vfio_iommu_info_last_error());
		return 0;
	}
	printf("hw_info %s %" PRIu32 " %" PRIu32 " %zu %" PRIu32 "\n", hw.type_name, hw.data_type,
	       hw.data_len, hw.data_received, hw.truncated);
	if (hw.capabilities_known)
		printf("hw_capabilities %#" PRIx64 "\n", hw.capabilities);
	else
		printf("hw_capabilities unknown\n");
	printf("hw_max_pasid_log2 %" PRIu32 "\n", hw.max_pasid_log2);
	printf("hw_address_width %" PRIu32 "\nhw_page_sizes %#" PRIx64
	       "\nhw_dirty_tracking_hardware %" PRIu32 "\n",
	       hw.address_width, hw.page_sizes, hw.dirty_tracking_hardware);
	if (hw.registers_valid && hw.data_type == 1)
		printf("vtd %#" PRIx64 " %#" PRIx64 " %#" PRIx32 "\n", hw.vtd_cap, hw.vtd_ecap,
		       hw.vtd_flags);
	if (hw.registers_valid && hw.data_type == 2) {
		printf("smmuv3");
		for (int i = 0; i < 6; i++)
			printf(" %#" PRIx32, hw.smmuv3_idr[i]);
		printf(" %#" PRIx32 " %#" PRIx32 "\n", hw.smmuv3_iidr, hw.smmuv3_aidr);
	}
	if (hw.registers_valid && hw.data_type == 4)
		printf("amd %#" PRIx64 " %#" PRIx64 "\n", hw.amd_efr, hw.amd_efr2);
	return 0;
}

static int query_iommufd(const char *address)
{
	struct vfio_iommu_info_iommufd *fd = NULL;
	struct vfio_iommu_info_iommufd_ids ids = { .size = sizeof(ids) };
	struct vfio_iommu_info_facts facts = { .size = sizeof(facts) };
	struct vfio_iommu_info_range r;
	char *json = NULL;
	size_t n, i;
	int rc;

	if ((rc = vfio_iommu_info_iommufd_open(address, &fd)) < 0) {
		print_error("iommufd", "open", rc);
		return 1;
	}
	if ((rc = vfio_iommu_info_iommufd_ids(fd, &ids)) < 0)
		goto fail;
	printf("cdev %s\nfds %d %d\nids %" PRIu32 " %" PRIu32 " %" PRIu32 "\nalignment %#" PRIx64
	       "\n", ids.cdev_path, ids.iommufd_fd, ids.device_fd, ids.dev_id, ids.ioas, ids.hwpt,
	       ids.iova_alignment);
	if ((rc = vfio_iommu_info_iommufd_aperture(fd, &r)) < 0)
		goto fail;
	printf("aperture %#" PRIx64 " %#" PRIx64 "\n", r.start, r.end);
	if ((rc = vfio_iommu_info_iommufd_iova_range_count(fd, &n)) < 0)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((rc = vfio_iommu_info_iommufd_iova_range(fd, i, &r)) < 0)
			goto fail;
		printf("range %#" PRIx64 " %#" PRIx64 "\n", r.start, r.end);
	}
	/* One past the end is a range error, and leaves the out-parameter alone. */
	r.start = 1;
	if (vfio_iommu_info_iommufd_iova_range(fd, n, &r) != VFIO_IOMMU_INFO_E_RANGE || r.start != 1) {
		fprintf(stderr, "iommufd: range %zu of %zu did not fail cleanly\n", n, n);
		goto out;
	}
	if ((rc = print_hw_info(fd)) < 0 || (rc = vfio_iommu_info_iommufd_facts(fd, &facts)) < 0)
		goto fail;
	print_facts("fact", &facts);
	if ((rc = vfio_iommu_info_iommufd_to_json(fd, &json)) < 0)
		goto fail;
	printf("json %s\n", json);
	vfio_iommu_info_string_free(json);
	vfio_iommu_info_iommufd_free(fd);
	return 0;
fail:
	print_error("iommufd", "read", rc);
out:
	vfio_iommu_info_iommufd_free(fd);
	return 1;
}

static int print_type1(const struct vfio_iommu_info *info, uint32_t backend)
{
	struct vfio_iommu_info_facts facts = { .size = sizeof(facts) };
	char *json = NULL;
	int rc;

	if ((rc = vfio_iommu_info_facts_type1(info, backend, &facts)) < 0 ||
	    (rc = vfio_iommu_info_facts_type1_to_json(info, backend, &json)) < 0) {
		print_error("iommufd", "type1 facts", rc);
		return 1;
	}
	print_facts("type1_fact", &facts);
	printf("type1_json %s\n", json);
	vfio_iommu_info_string_free(json);
	return 0;
}

static int query_type1(const char *address)
{
	struct vfio_iommu_info_container *container = NULL;
	struct vfio_iommu_info *info = NULL;
	struct vfio_iommu_info_range r;
	uint32_t backend;
	size_t n, i;
	int rc, status = 1;

	if ((rc = vfio_iommu_info_open(address, &container, &info)) < 0) {
		print_error("iommufd", "type1 open", rc);
		return 1;
	}
	if ((rc = vfio_iommu_info_container_backend(container, &backend)) < 0 ||
	    (rc = vfio_iommu_info_iova_range_count(info, &n)) < 0) {
		print_error("iommufd", "type1", rc);
		goto out;
	}
	printf("container_backend %s\n", vfio_iommu_info_backend_str(backend));
	for (i = 0; i < n; i++) {
		if ((rc = vfio_iommu_info_iova_range(info, i, &r)) < 0) {
			print_error("iommufd", "type1 range", rc);
			goto out;
		}
		printf("type1_range %#" PRIx64 " %#" PRIx64 "\n", r.start, r.end);
	}
	status = print_type1(info, backend);
out:
	vfio_iommu_info_free(info);
	vfio_iommu_info_container_free(container);
	return status;
}

static int capture(const char *path, uint32_t backend)
{
	struct vfio_iommu_info *info = NULL;
	unsigned char buf[65536];
	size_t len;
	int rc, status;
	FILE *f = fopen(path, "rb");

	if (!f) {
		perror(path);
		return 2;
	}
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	rc = vfio_iommu_info_decode(buf, len, VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE, &info);
	if (rc < 0) {
		print_error("iommufd", path, rc);
		return 1;
	}
	status = print_type1(info, backend);
	vfio_iommu_info_free(info);
	return status;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "--capture")) {
		if (argc == 3)
			return capture(argv[2], VFIO_IOMMU_INFO_BACKEND_TYPE1);
		if (argc == 4 && !strcmp(argv[3], "--compat"))
			return capture(argv[2], VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT);
	} else if (argc == 2 && argv[1][0] != '-') {
		return query_iommufd(argv[1]);
	} else if (argc == 3 && !strcmp(argv[1], "--type1")) {
		int status = query_iommufd(argv[2]);

		/* The device is closed again: its group can be opened the legacy way. */
		return status ? status : query_type1(argv[2]);
	}
	fprintf(stderr, "usage: iommufd [--type1] PCI_ADDRESS\n"
			"       iommufd --capture FILE [--compat]\n");
	return 2;
}
