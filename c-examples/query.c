/*
 * query: what a VMM needs to know before mapping guest memory through VFIO.
 *
 *   query [--check IOVA LEN]... TARGET...
 *
 * TARGET is an IOMMU group number (4), a group path (/dev/vfio/4) or a PCI address
 * (0000:03:00.0). The library opens the groups in one container and sets the IOMMU
 * model; this program then queries the container through its fd, as a VMM that made
 * its own container would, and prints the facts one per line (see print_info.h),
 * followed by one "check IOVA LEN VERDICT[: detail]" line per --check.
 *
 * Exit status: 0; 1 when the library reports an error (the message says what to do).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfio_iommu_info.h>

#include "print_info.h"

#define MAX_CHECKS 16

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-')
		return -1;
	*v = strtoull(s, &end, 0);
	return *end ? -1 : 0;
}

static int print_check(const struct vfio_iommu_info *info, uint64_t iova, uint64_t len)
{
	struct vfio_iommu_info_verdict v = { .size = sizeof(v) };
	int rc = vfio_iommu_info_check(info, iova, len, &v);

	if (rc < 0)
		return rc;
	printf("check %#" PRIx64 " %#" PRIx64 " %s", iova, len,
	       v.problem == VFIO_IOMMU_INFO_SPAN_OK ? "ok" : "no");
	if (v.problem != VFIO_IOMMU_INFO_SPAN_OK)
		printf(": %s", vfio_iommu_info_span_problem_str(v.problem));
	if (v.problem == VFIO_IOMMU_INFO_SPAN_IN_HOLE ||
	    v.problem == VFIO_IOMMU_INFO_SPAN_BEYOND_APERTURE)
		printf(" [%#" PRIx64 ", %#" PRIx64 "]", v.range.start, v.range.end);
	if (v.problem == VFIO_IOMMU_INFO_SPAN_MISALIGNED)
		printf(" (page size %#" PRIx64 ")", v.page_size);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct vfio_iommu_info_container *container = NULL;
	struct vfio_iommu_info *opened = NULL, *info = NULL;
	uint64_t checks[MAX_CHECKS][2];
	const char **targets;
	size_t n_targets = 0, n_checks = 0, groups, i;
	int fd, rc, status = 1;

	targets = calloc((size_t)argc, sizeof(*targets));
	if (!targets)
		return 1;
	for (int a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--check") && a + 2 < argc && n_checks < MAX_CHECKS &&
		    !parse_u64(argv[a + 1], &checks[n_checks][0]) &&
		    !parse_u64(argv[a + 2], &checks[n_checks][1])) {
			n_checks++;
			a += 2;
		} else if (argv[a][0] != '-') {
			targets[n_targets++] = argv[a];
		} else {
			n_targets = 0;
			break;
		}
	}
	if (n_targets == 0) {
		fprintf(stderr, "usage: query [--check IOVA LEN]... TARGET...\n");
		free(targets);
		return 2;
	}

	rc = vfio_iommu_info_open_targets(targets, n_targets, &container, &opened);
	if (rc < 0) {
		print_error("query", "open", rc);
		goto out;
	}
	if ((rc = vfio_iommu_info_container_fd(container, &fd)) < 0 ||
	    (rc = vfio_iommu_info_container_group_count(container, &groups)) < 0) {
		print_error("query", "container", rc);
		goto out;
	}
	printf("container_fd %d\n", fd);
	for (i = 0; i < groups; i++) {
		int group_fd;
		int64_t number;

		if ((rc = vfio_iommu_info_container_group(container, i, &group_fd, &number)) < 0) {
			print_error("query", "group", rc);
			goto out;
		}
		printf("group %" PRId64 " fd %d\n", number, group_fd);
	}

	/* What a VMM holding its own container fd calls. */
	rc = vfio_iommu_info_query(fd, &info);
	if (rc < 0) {
		print_error("query", "VFIO_IOMMU_GET_INFO", rc);
		goto out;
	}
	if ((rc = print_info(stdout, info)) < 0) {
		print_error("query", "read", rc);
		goto out;
	}
	for (i = 0; i < n_checks; i++) {
		if ((rc = print_check(info, checks[i][0], checks[i][1])) < 0) {
			print_error("query", "check", rc);
			goto out;
		}
	}
	status = 0;
out:
	vfio_iommu_info_free(info);
	vfio_iommu_info_free(opened);
	vfio_iommu_info_container_free(container);
	free(targets);
	return status;
}
