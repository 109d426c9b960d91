/*
 * decode: decodes a VFIO_IOMMU_GET_INFO buffer captured from a kernel
 * (`vfio-iommu-info query --save-raw FILE`, or tests/fixtures/...).
 *
 *   decode [--byte-order native|little|big] [--json] FILE
 *
 * Prints the info one fact per line (see print_info.h), or with --json the object
 * `vfio-iommu-info decode --json` prints. Exit status: 0, 1 on a decoding error, 2 on a
 * usage or file error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfio_iommu_info.h>

#include "print_info.h"

/* The largest capture we read: a real one is under 1 KiB. */
#define MAX_CAPTURE (64u << 20)

static int read_file(const char *path, unsigned char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t used = 0, cap = 0;

	if (!f) {
		fprintf(stderr, "decode: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (used == cap) {
			unsigned char *bigger;

			cap = cap ? cap * 2 : 4096;
			if (cap > MAX_CAPTURE + 1)
				cap = MAX_CAPTURE + 1;
			bigger = realloc(buf, cap);
			if (!bigger) {
				fprintf(stderr, "decode: out of memory reading %s\n", path);
				goto fail;
			}
			buf = bigger;
		}
		size_t got = fread(buf + used, 1, cap - used, f);

		used += got;
		if (used > MAX_CAPTURE) {
			fprintf(stderr, "decode: %s is larger than %u bytes: not a capture\n", path,
				MAX_CAPTURE);
			goto fail;
		}
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "decode: cannot read %s: %s\n", path, strerror(errno));
		goto fail;
	}
	fclose(f);
	*data = buf;
	*len = used;
	return 0;
fail:
	free(buf);
	fclose(f);
	return -1;
}

int main(int argc, char **argv)
{
	uint32_t order = VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE;
	struct vfio_iommu_info *info = NULL;
	const char *path = NULL;
	unsigned char *data;
	int json = 0, rc, i;
	size_t len;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--byte-order") && i + 1 < argc) {
			const char *o = argv[++i];

			if (!strcmp(o, "native"))
				order = VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE;
			else if (!strcmp(o, "little"))
				order = VFIO_IOMMU_INFO_BYTE_ORDER_LITTLE;
			else if (!strcmp(o, "big"))
				order = VFIO_IOMMU_INFO_BYTE_ORDER_BIG;
			else
				path = NULL, i = argc + 1;
		} else if (!path && argv[i][0] != '-') {
			path = argv[i];
		} else {
			i = argc + 1;
		}
	}
	if (!path || i > argc) {
		fprintf(stderr, "usage: decode [--byte-order native|little|big] [--json] FILE\n");
		return 2;
	}
	if (read_file(path, &data, &len) < 0)
		return 2;

	rc = vfio_iommu_info_decode(data, len, order, &info);
	free(data);
	if (rc < 0) {
		print_error("decode", path, rc);
		return 1;
	}
	if (json) {
		char *text;

		rc = vfio_iommu_info_to_json(info, &text);
		if (rc == 0) {
			printf("%s\n", text);
			vfio_iommu_info_string_free(text);
		}
	} else {
		rc = print_info(stdout, info);
	}
	if (rc < 0)
		print_error("decode", path, rc);
	vfio_iommu_info_free(info);
	return rc < 0;
}
