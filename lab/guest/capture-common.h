/*
 * capture-common.h: the helpers the lab's capture programs (capture.c, capture-type1.c,
 * capture-zpci.c, capture-spapr.c, capture-iommufd.c) share: the output directory and
 * its meta.txt, die(), errno names, writing a file of the output directory, native-order
 * loads, sysfs reads and the raw copy of a group's reserved_regions.
 *
 * Why a header of static functions and not a library: each program is built alone,
 * static, from its one .c file (lab/run with gcc; lab/foreign.sh cross-built for
 * aarch64, s390x, ppc64le), and stays free of the project's own code on purpose.
 * lab/run and lab/foreign.sh hash this file into each build's cache key.
 *
 * Before including it a program defines CAPTURE_NAME (its name, the prefix of die()'s
 * message) and the <linux/vfio.h>-style headers it needs; optionally
 * CAPTURE_DIE_HOOK() (run by die() after meta.txt is flushed, before the message) and
 * CAPTURE_ERRNAME_0 (what errname(0) returns). Helpers a program does not use are
 * marked unused, so -Wall -Werror builds stay clean.
 */
#ifndef CAPTURE_COMMON_H
#define CAPTURE_COMMON_H

#ifndef CAPTURE_NAME
#error "define CAPTURE_NAME (the program's name) before including capture-common.h"
#endif
#ifndef CAPTURE_DIE_HOOK
#define CAPTURE_DIE_HOOK() ((void)0)
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define CAPTURE_FN static __attribute__((unused))

/* The output directory and its meta.txt (open_outdir()). */
static const char *outdir;
static FILE *meta;

CAPTURE_FN void die(const char *fmt, ...)
{
	va_list ap;

	if (meta)
		fflush(meta);
	CAPTURE_DIE_HOOK();
	fputs(CAPTURE_NAME ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* The errno's name (ENOENT), "E?" for an unknown one. */
CAPTURE_FN const char *errname(int e)
{
	const char *n;

#ifdef CAPTURE_ERRNAME_0
	if (!e)
		return CAPTURE_ERRNAME_0;
#endif
	n = strerrorname_np(e);
	return n ? n : "E?";
}

/* ioctl that dies with the ioctl's name and errno on failure. */
CAPTURE_FN int xioctl(int fd, unsigned long req, void *arg, const char *name)
{
	int r = ioctl(fd, req, arg);

	if (r < 0)
		die("%s: %s (%s, errno %d)", name, strerror(errno), errname(errno), errno);
	return r;
}

CAPTURE_FN void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

/* Creates DIR (may exist), makes it the output directory and opens its meta.txt. */
CAPTURE_FN void open_outdir(const char *dir)
{
	char path[4096];

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die("mkdir %s: %s", dir, strerror(errno));
	outdir = dir;
	snprintf(path, sizeof(path), "%s/meta.txt", outdir);
	meta = fopen(path, "w");
	if (!meta)
		die("open %s: %s", path, strerror(errno));
}

/* A non-negative decimal group number, or die. */
CAPTURE_FN long parse_group(const char *s)
{
	char *end;
	long g = strtol(s, &end, 10);

	if (*end || end == s || g < 0)
		die("bad group number '%s'", s);
	return g;
}

/* NAME in the output directory, holding LEN bytes of BUF. */
CAPTURE_FN void write_file(const char *name, const void *buf, size_t len)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	if (write(fd, buf, len) != (ssize_t)len)
		die("write %s: %s", path, strerror(errno));
	if (close(fd) < 0)
		die("close %s: %s", path, strerror(errno));
}

/* Native-order loads and store, unaligned-safe. */
CAPTURE_FN uint16_t ld16(const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

CAPTURE_FN uint32_t ld32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

CAPTURE_FN uint64_t ld64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

CAPTURE_FN void st32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* meta.txt's byte_order line: the order every buffer is in, this CPU's. */
CAPTURE_FN void meta_byte_order(void)
{
	const uint16_t probe = 0x0102;

	fprintf(meta, "byte_order: %s\n", *(const unsigned char *)&probe == 0x01 ? "big" : "little");
}

/* PATH's content into BUF (SIZE bytes, NUL-terminated, trailing newlines dropped);
 * its length, or -1 with errno set. */
CAPTURE_FN int read_sysfs(const char *path, char *buf, size_t size)
{
	ssize_t n, total = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf + total, size - 1 - (size_t)total)) > 0)
		total += n;
	close(fd);
	if (n < 0)
		return -1;
	buf[total] = 0;
	while (total > 0 && buf[total - 1] == '\n')
		buf[--total] = 0;
	return (int)total;
}

/*
 * /sys/kernel/iommu_groups/GROUP/reserved_regions copied as is to
 * reserved_regions-groupGROUP of the output directory; also left NUL-terminated in DATA
 * (SIZE bytes) for the caller's meta.txt lines. Dies when unreadable.
 */
CAPTURE_FN void copy_reserved_regions_raw(long group, char *data, size_t size)
{
	char path[256], name[64];
	ssize_t n, total = 0;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%ld/reserved_regions", group);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	while ((n = read(fd, data + total, size - 1 - (size_t)total)) > 0)
		total += n;
	if (n < 0)
		die("read %s: %s", path, strerror(errno));
	close(fd);
	snprintf(name, sizeof(name), "reserved_regions-group%ld", group);
	write_file(name, data, (size_t)total);
	data[total] = 0;
}

/*
 * The rest of a type1 "iommu_cap" meta.txt line: capability ID of BUF's chain at OFF
 * (LEN bytes) by name, its fields, and one "iommu_iova_range" line per range.
 * IDs: VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE 1, _CAP_MIGRATION 2, _DMA_AVAIL 3 (ABI).
 */
CAPTURE_FN void describe_iommu_cap(const unsigned char *buf, size_t len, uint32_t off, uint16_t id)
{
	if (id == 1 && off + 16 <= len) {
		uint32_t n = ld32(buf + off + 8);

		fprintf(meta, " name=IOVA_RANGE nr_iovas=%u", n);
		for (uint32_t i = 0; i < n && off + 16 + 16 * ((size_t)i + 1) <= len; i++)
			fprintf(meta, "\niommu_iova_range start=0x%016llx end=0x%016llx",
				(unsigned long long)ld64(buf + off + 16 + 16 * i),
				(unsigned long long)ld64(buf + off + 24 + 16 * i));
	} else if (id == 2 && off + 32 <= len) {
		fprintf(meta, " name=MIGRATION flags=0x%x pgsize_bitmap=0x%llx max_dirty_bitmap_size=0x%llx",
			ld32(buf + off + 8), (unsigned long long)ld64(buf + off + 16),
			(unsigned long long)ld64(buf + off + 24));
	} else if (id == 3 && off + 12 <= len) {
		fprintf(meta, " name=DMA_AVAIL avail=%u", ld32(buf + off + 8));
	} else {
		fprintf(meta, " name=unknown");
	}
}

/* /dev/vfio/devices/vfioN of BDF (from /sys/bus/pci/devices/BDF/vfio-dev/). */
CAPTURE_FN void cdev_path(const char *bdf, char *out, size_t size)
{
	char dir[512];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	d = opendir(dir);
	if (!d)
		die("opendir %s: %s (a kernel without CONFIG_VFIO_DEVICE_CDEV?)", dir, strerror(errno));
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "vfio", 4)) {
			snprintf(out, size, "/dev/vfio/devices/%s", e->d_name);
			closedir(d);
			return;
		}
	closedir(d);
	die("%s holds no vfioN entry", dir);
}

#endif /* CAPTURE_COMMON_H */
