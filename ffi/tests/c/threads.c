/*
 * threads: several threads query one container while another maps and unmaps.
 *
 *   threads TARGET [READERS [ROUNDS [HELD]]]
 *
 * TARGET is an IOMMU group number, a group path or a PCI address. The library opens it
 * in a container. READERS threads (default 3) then query that container over and over,
 * half through the handle (vfio_iommu_info_container_query) and half through its fd
 * (vfio_iommu_info_query, as a VMM holding its own fd would), while the main thread
 * makes ROUNDS rounds (default 40) of HELD mappings (default 4) of one page with
 * VFIO_IOMMU_MAP_DMA and unmaps them again.
 *
 * Every answer must be a whole snapshot: the IOVA ranges and page sizes of the first
 * query, and DMA_AVAIL between the first query's value minus HELD and that value. Each
 * problem is printed as "problem ..." and makes the exit status 1. On success the last
 * line is "threads READERS QUERIES HELD_SEEN": queries made, and how many of them saw
 * mappings held (DMA_AVAIL below its first value).
 *
 * Exit status: 0; 1 on a problem or a library error; 2 on bad arguments.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS and flockfile under -std=c11 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/vfio.h>
#include <vfio_iommu_info.h>

#include "print_info.h"

#define MAX_READERS 16
#define MAX_RANGES 64
/* Queries each reader makes at least, even when the writer is done first. */
#define MIN_QUERIES 20

struct snapshot {
	size_t n_ranges;
	struct vfio_iommu_info_range ranges[MAX_RANGES];
	uint64_t page_sizes;
	uint32_t dma_avail;
};

struct shared {
	struct vfio_iommu_info_container *container;
	int fd;
	struct snapshot want;
	uint32_t held;
	atomic_bool stop;
	atomic_ulong queries;
	atomic_ulong held_seen;
	atomic_ulong problems;
};

struct reader {
	pthread_t thread;
	struct shared *shared;
	int through_fd;
};

static void problem(struct shared *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct shared *s, const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&s->problems, 1);
	flockfile(stdout);
	printf("problem ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	funlockfile(stdout);
}

/* Reads the facts the readers compare into *snap; a library code on failure. */
static int take_snapshot(const struct vfio_iommu_info *info, struct snapshot *snap)
{
	int rc;

	memset(snap, 0, sizeof(*snap));
	if ((rc = vfio_iommu_info_iova_range_count(info, &snap->n_ranges)) < 0 ||
	    (rc = vfio_iommu_info_page_sizes(info, &snap->page_sizes)) < 0 ||
	    (rc = vfio_iommu_info_dma_avail(info, &snap->dma_avail)) < 0)
		return rc;
	if (snap->n_ranges > MAX_RANGES)
		return VFIO_IOMMU_INFO_E_RANGE;
	for (size_t i = 0; i < snap->n_ranges; i++)
		if ((rc = vfio_iommu_info_iova_range(info, i, &snap->ranges[i])) < 0)
			return rc;
	return 0;
}

static void *read_loop(void *arg)
{
	struct reader *r = arg;
	struct shared *s = r->shared;
	unsigned long n = 0;

	while (!atomic_load(&s->stop) || n < MIN_QUERIES) {
		struct vfio_iommu_info *info = NULL;
		struct snapshot got;
		int rc;

		n++;
		rc = r->through_fd ? vfio_iommu_info_query(s->fd, &info)
				   : vfio_iommu_info_container_query(s->container, &info);
		if (rc == 0)
			rc = take_snapshot(info, &got);
		vfio_iommu_info_free(info);
		if (rc < 0) {
			problem(s, "query %lu (%s): %s: %s", n, r->through_fd ? "fd" : "handle",
				vfio_iommu_info_strerror(rc), vfio_iommu_info_last_error());
			continue;
		}
		if (got.n_ranges != s->want.n_ranges ||
		    memcmp(got.ranges, s->want.ranges, got.n_ranges * sizeof(got.ranges[0])) ||
		    got.page_sizes != s->want.page_sizes)
			problem(s, "query %lu: %zu ranges, page sizes %#" PRIx64
				   ", not the first query's %zu and %#" PRIx64,
				n, got.n_ranges, got.page_sizes, s->want.n_ranges,
				s->want.page_sizes);
		if (got.dma_avail > s->want.dma_avail ||
		    (uint64_t)got.dma_avail + s->held < s->want.dma_avail)
			problem(s, "query %lu: DMA_AVAIL %" PRIu32 " outside [%" PRIu32 ", %" PRIu32 "]",
				n, got.dma_avail, s->want.dma_avail - s->held, s->want.dma_avail);
		else if (got.dma_avail < s->want.dma_avail)
			atomic_fetch_add(&s->held_seen, 1);
	}
	atomic_fetch_add(&s->queries, n);
	return NULL;
}

static int map_page(int fd, void *mem, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)mem,
		.iova = iova,
		.size = size,
	};

	return ioctl(fd, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

static int unmap_page(int fd, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};

	return ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap) ? -errno : 0;
}

static int parse_count(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	*v = strtoul(s, &end, 0);
	return *end || errno || *v == 0 || *v > max ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct reader readers[MAX_READERS];
	struct vfio_iommu_info *first = NULL;
	struct shared s = { 0 };
	unsigned long n_readers = 3, rounds = 40, held = 4, started = 0;
	uint64_t page = 0, base;
	void *mem = MAP_FAILED;
	int rc, status = 1;

	if (argc < 2 || argc > 5 || (argc > 2 && parse_count(argv[2], MAX_READERS, &n_readers)) ||
	    (argc > 3 && parse_count(argv[3], 100000, &rounds)) ||
	    (argc > 4 && parse_count(argv[4], 64, &held))) {
		fprintf(stderr, "usage: threads TARGET [READERS (1-%d) [ROUNDS [HELD (1-64)]]]\n",
			MAX_READERS);
		return 2;
	}
	s.held = (uint32_t)held;
	rc = vfio_iommu_info_open(argv[1], &s.container, &first);
	if (rc < 0) {
		print_error("threads", "open", rc);
		goto out;
	}
	if ((rc = vfio_iommu_info_container_fd(s.container, &s.fd)) < 0 ||
	    (rc = take_snapshot(first, &s.want)) < 0) {
		print_error("threads", "first query", rc);
		goto out;
	}
	if (s.want.n_ranges == 0 || s.want.page_sizes == 0 || s.want.dma_avail < held) {
		fprintf(stderr, "threads: nothing to map: %zu ranges, page sizes %#" PRIx64
				", DMA_AVAIL %" PRIu32 "\n",
			s.want.n_ranges, s.want.page_sizes, s.want.dma_avail);
		goto out;
	}
	page = s.want.page_sizes & -s.want.page_sizes;
	base = ((s.want.ranges[0].start + page - 1) & ~(page - 1)) + 0x100000;
	if (base < s.want.ranges[0].start || base + 2 * held * page - 1 > s.want.ranges[0].end) {
		fprintf(stderr, "threads: the first range [%#" PRIx64 ", %#" PRIx64
				"] is too small for %lu pages\n",
			s.want.ranges[0].start, s.want.ranges[0].end, held);
		goto out;
	}
	mem = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("threads: mmap");
		goto out;
	}
	memset(mem, 0x5a, page);

	for (; started < n_readers; started++) {
		readers[started] = (struct reader){ .shared = &s, .through_fd = (int)(started % 2) };
		if ((rc = pthread_create(&readers[started].thread, NULL, read_loop,
					 &readers[started]))) {
			fprintf(stderr, "threads: pthread_create: %s\n", strerror(rc));
			break;
		}
	}
	for (unsigned long round = 0; round < rounds && started == n_readers; round++) {
		for (unsigned long i = 0; i < held; i++)
			if ((rc = map_page(s.fd, mem, base + 2 * i * page, page)))
				problem(&s, "round %lu: map %lu: %s", round, i, strerror(-rc));
		for (unsigned long i = 0; i < held; i++)
			if ((rc = unmap_page(s.fd, base + 2 * i * page, page)))
				problem(&s, "round %lu: unmap %lu: %s", round, i, strerror(-rc));
	}
	atomic_store(&s.stop, true);
	for (unsigned long i = 0; i < started; i++)
		pthread_join(readers[i].thread, NULL);
	if (started == n_readers && atomic_load(&s.problems) == 0) {
		printf("threads %lu %lu %lu\n", n_readers, atomic_load(&s.queries),
		       atomic_load(&s.held_seen));
		status = 0;
	}
out:
	/* The container first: closing it removes every mapping of mem. */
	vfio_iommu_info_container_free(s.container);
	vfio_iommu_info_free(first);
	if (mem != MAP_FAILED)
		munmap(mem, page);
	return status;
}
