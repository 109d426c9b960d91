/*
 * nvme-read.c - a user-space NVMe driver in the shape of SPDK's and libvfn's: it reads
 * blocks of a disk through VFIO and the IOMMU, each queue and buffer at an IOVA that the
 * library's allocator chose in the container's usable space (since 0.4):
 *
 *   vfio_iommu_info_container_space(container_fd, &space)     where the IOMMU maps
 *   vfio_iommu_info_allocator_new(space, &alloc)               an allocator over it
 *   vfio_iommu_info_allocator_alloc(alloc, len, align, limit, &iova)   one per buffer
 *   vfio_iommu_info_allocator_release(alloc, iova, NULL)       after VFIO_IOMMU_UNMAP_DMA
 *
 * Polled, no interrupts: reset, admin queues, Identify Controller and Namespace, one I/O
 * queue pair, Read with PRPs (a PRP list beyond two pages), each block compared with the
 * disk's image. Every wait has a timeout; a failure names the step, register or queue, errno
 * or NVMe status.
 *
 * usage: nvme-read GROUP PCI-ADDRESS IMAGE SERIAL [LBA (0) [BLOCKS (8)]]: the NVMe function
 * on vfio-pci in IOMMU group GROUP, a copy of the disk's contents, the serial Identify must
 * report. Exit 0: read and equal to IMAGE; 1: an error or a difference; 2: usage.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, usleep() under -std=c11 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <vfio_iommu_info.h>

#define PAGE 4096u            /* CC.MPS = 0: the controller's memory page is 4 KiB */
#define QDEPTH 16u            /* entries of each queue, admin and I/O */
#define CMD_TIMEOUT_MS 10000u /* one command, under TCG on a loaded machine */
/* NVMe addresses are 64-bit (ASQ, ACQ, every PRP entry): the device's DMA mask is all ones.
 * What bounds it is the IOMMU's aperture, taken from the library (2^39 - 1 under intel-iommu
 * aw-bits=39, where VFIO_IOMMU_MAP_DMA above it is EINVAL): min(mask, aperture end) is the
 * limit a driver hands its DMA layer, and the one we hand the allocator. */
#define NVME_DMA_MASK UINT64_MAX
#define NDMA 7 /* buffers: admin SQ and CQ, identify, I/O SQ and CQ, PRP list, data */
enum { CAP = 0x00, CC = 0x14, CSTS = 0x1c, AQA = 0x24, ASQ = 0x28, ACQ = 0x30 };
#define DOORBELL(qid, cq) (0x1000u + (2u * (qid) + (cq)) * (4u << g.dstrd))

struct sqe { /* a submission queue entry (NVMe base specification, 4.2) */
	uint8_t opc, flags;
	uint16_t cid;
	uint32_t nsid;
	uint64_t rsvd, mptr, prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};
struct cqe { uint32_t dw0, dw1; uint16_t sqhd, sqid, cid, status; }; /* 4.6; status bit 0: phase */
_Static_assert(sizeof(struct sqe) == 64 && sizeof(struct cqe) == 16, "NVMe entry sizes");

/* Memory of ours, mapped for the device at an IOVA from the allocator. */
struct dma { const char *what; void *va; uint64_t iova, len; bool allocated, mapped; };
struct queue { uint16_t qid, tail, head, phase; struct dma *sq, *cq; };

static struct { /* what this program opened, so that it closes exactly that */
	int group, container, device;
	volatile uint8_t *bar; /* BAR0, bar_len bytes */
	size_t bar_len;
	struct vfio_iommu_info_space *space;
	struct vfio_iommu_info_allocator *alloc;
	uint64_t limit, granule;
	unsigned dstrd, ready_ms, ndma;
	bool enabled;
	struct dma dma[NDMA];
} g = { .group = -1, .container = -1, .device = -1 };

static int fail(const char *step, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout); /* what came before the failure, first */
	va_start(ap, fmt);
	fprintf(stderr, "nvme-read: %s: ", step), vfprintf(stderr, fmt, ap), fputc('\n', stderr);
	va_end(ap);
	return -1;
}
#define SYSFAIL(step, what) fail(step, "%s: %s (errno %d)", what, strerror(errno), errno)
#define LIBFAIL(step, rc) \
	fail(step, "%s (%s, %d)", vfio_iommu_info_last_error(), vfio_iommu_info_strerror(rc), rc)

static uint32_t rd32(uint32_t off) { return *(volatile uint32_t *)(g.bar + off); }
static void wr32(uint32_t off, uint32_t v) { *(volatile uint32_t *)(g.bar + off) = v; }
static void wr64(uint32_t off, uint64_t v) { wr32(off, (uint32_t)v), wr32(off + 4, v >> 32); }
static uint64_t now_ms(void)
{
	struct timespec t = { 0 };
	return clock_gettime(CLOCK_MONOTONIC, &t), (uint64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* CSTS.RDY to `want`, within CAP.TO (units of 500 ms). */
static int wait_ready(const char *step, unsigned want)
{
	uint64_t t0 = now_ms();
	for (uint32_t csts; ((csts = rd32(CSTS)) & 1) != want; usleep(1000)) {
		if (want && (csts & 2))
			return fail(step, "CSTS (BAR0+0x1c) = %#x: controller fatal status", csts);
		if (now_ms() - t0 > g.ready_ms)
			return fail(step, "CSTS (BAR0+0x1c) = %#x: RDY not %u after %u ms: timed out",
				    csts, want, g.ready_ms);
	}
	return 0;
}

/* `len` bytes of ours at an IOVA from the allocator, below the DMA limit, mapped. */
static struct dma *dma_new(const char *what, uint64_t len)
{
	if (g.ndma == NDMA)
		return fail(what, "no DMA slot left: raise NDMA"), NULL;
	struct dma *d = &g.dma[g.ndma++];
	d->what = what;
	d->len = (len + g.granule - 1) & ~(g.granule - 1);
	d->va = mmap(NULL, d->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (d->va == MAP_FAILED)
		return d->va = NULL, SYSFAIL(what, "mmap"), NULL;
	int rc = vfio_iommu_info_allocator_alloc(g.alloc, d->len, PAGE, g.limit, &d->iova);
	if (rc < 0)
		return LIBFAIL(what, rc), NULL;
	d->allocated = true;
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)d->va, .iova = d->iova, .size = d->len,
	};
	if (ioctl(g.container, VFIO_IOMMU_MAP_DMA, &map) < 0)
		return fail(what, "VFIO_IOMMU_MAP_DMA at IOVA %#" PRIx64 " + %#" PRIx64 ": %s (errno %d)",
			    d->iova, d->len, strerror(errno), errno), NULL;
	d->mapped = true;
	printf("dma %-10s iova %#-12" PRIx64 " len %#" PRIx64 "\n", what, d->iova, d->len);
	return d;
}

/* Submits one command on `q` and polls for its completion (the phase tag), with a timeout. */
static int submit(struct queue *q, struct sqe cmd, const char *step)
{
	cmd.cid = q->tail;
	((struct sqe *)q->sq->va)[q->tail] = cmd;
	q->tail = (uint16_t)((q->tail + 1) % QDEPTH);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the entry before the doorbell */
	wr32(DOORBELL(q->qid, 0), q->tail);
	volatile struct cqe *c = (volatile struct cqe *)q->cq->va + q->head;
	for (uint64_t t0 = now_ms(); (c->status & 1) != q->phase; usleep(100)) {
		if (rd32(CSTS) & 2)
			return fail(step, "CSTS (BAR0+0x1c) = %#x: controller fatal status", rd32(CSTS));
		if (now_ms() - t0 > CMD_TIMEOUT_MS)
			return fail(step, "no completion in CQ %u entry %u (IOVA %#" PRIx64 ") after %u ms",
				    q->qid, q->head, q->cq->iova + q->head * 16u, CMD_TIMEOUT_MS);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the phase tag before the rest */
	uint16_t status = c->status, cid = c->cid;
	if (++q->head == QDEPTH)
		q->head = 0, q->phase ^= 1;
	wr32(DOORBELL(q->qid, 1), q->head);
	if (cid != cmd.cid)
		return fail(step, "CQ %u completed command %u, not %u", q->qid, cid, cmd.cid);
	if (status >> 1)
		return fail(step, "opcode %#x: status code type %u, status code %#x (CQE DW3 %#x)",
			    cmd.opc, (status >> 9) & 7, (status >> 1) & 0xff, (uint32_t)status << 16 | cid);
	return 0;
}

static void trimmed(char *dst, const uint8_t *src, size_t n) /* an Identify string, unpadded */
{
	for (memcpy(dst, src, n); n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\0');)
		n--;
	dst[n] = '\0';
}

static int run(const char *group, const char *bdf, int image, const char *serial, uint64_t lba,
	       uint32_t blocks)
{
	/* 1. The container, as SPDK and libvfn open it. */
	char path[64];
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	if ((g.group = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return SYSFAIL("open group", path);
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	if (ioctl(g.group, VFIO_GROUP_GET_STATUS, &gs) < 0)
		return SYSFAIL("open group", "VFIO_GROUP_GET_STATUS");
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		return fail("open group", "%s is not viable: bind all its devices to vfio-pci", path);
	if ((g.container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC)) < 0)
		return SYSFAIL("open container", "/dev/vfio/vfio");
	if (ioctl(g.group, VFIO_GROUP_SET_CONTAINER, &g.container) < 0)
		return SYSFAIL("open container", "VFIO_GROUP_SET_CONTAINER");
	if (ioctl(g.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
		return SYSFAIL("open container", "VFIO_SET_IOMMU type1v2");

	/* 2. Where the IOMMU maps, and an allocator over it. */
	struct vfio_iommu_info_space_view view = { .size = sizeof(view) };
	int rc = vfio_iommu_info_container_space(g.container, &g.space);
	if (rc < 0 || (rc = vfio_iommu_info_space_view(g.space, &view)) < 0)
		return LIBFAIL("usable space", rc);
	for (size_t i = 0; i < view.range_count; i++)
		printf("range %#" PRIx64 "-%#" PRIx64 "\n", view.ranges[i].start, view.ranges[i].end);
	g.limit = view.aperture.end < NVME_DMA_MASK ? view.aperture.end : NVME_DMA_MASK;
	printf("dma-limit %#" PRIx64 " (device mask %#" PRIx64 ", aperture end %#" PRIx64 ")\n",
	       g.limit, (uint64_t)NVME_DMA_MASK, view.aperture.end);
	const struct vfio_iommu_info_facts *f = view.facts;
	if (f && f->mapping_limit_kind == VFIO_IOMMU_INFO_LIMIT_REMAINING &&
	    f->mapping_limit_remaining < NDMA)
		return fail("usable space", "DMA_AVAIL %u: %u mappings needed (vfio_iommu_type1 "
			    "dma_entry_limit)", f->mapping_limit_remaining, NDMA);
	if ((rc = vfio_iommu_info_allocator_new(g.space, &g.alloc)) < 0 ||
	    (rc = vfio_iommu_info_allocator_granule(g.alloc, &g.granule)) < 0)
		return LIBFAIL("allocator", rc);

	/* 3. The device: BAR0 mapped, memory decoding and bus mastering on. */
	if ((g.device = ioctl(g.group, VFIO_GROUP_GET_DEVICE_FD, bdf)) < 0)
		return SYSFAIL("open device", "VFIO_GROUP_GET_DEVICE_FD");
	struct vfio_region_info bar = { .argsz = sizeof(bar), .index = VFIO_PCI_BAR0_REGION_INDEX };
	struct vfio_region_info cfg = { .argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	if (ioctl(g.device, VFIO_DEVICE_GET_REGION_INFO, &bar) < 0 ||
	    ioctl(g.device, VFIO_DEVICE_GET_REGION_INFO, &cfg) < 0)
		return SYSFAIL("map BAR0", "VFIO_DEVICE_GET_REGION_INFO");
	if (!(bar.flags & VFIO_REGION_INFO_FLAG_MMAP) || bar.size < 0x2000)
		return fail("map BAR0", "region 0: flags %#x, size %#llx: not mappable, or no doorbells",
			    bar.flags, (unsigned long long)bar.size);
	void *p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, g.device, (off_t)bar.offset);
	if (p == MAP_FAILED)
		return SYSFAIL("map BAR0", "mmap");
	g.bar = p, g.bar_len = bar.size;
	uint16_t cmd;
	if (pread(g.device, &cmd, 2, (off_t)cfg.offset + PCI_COMMAND) != 2)
		return SYSFAIL("bus master", "config space PCI_COMMAND (0x4) read");
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(g.device, &cmd, 2, (off_t)cfg.offset + PCI_COMMAND) != 2)
		return SYSFAIL("bus master", "config space PCI_COMMAND (0x4) write");

	/* 4. Reset, admin queues, enable. */
	uint64_t cap = rd32(CAP) | (uint64_t)rd32(CAP + 4) << 32;
	g.dstrd = (cap >> 32) & 0xf;
	g.ready_ms = (unsigned)((cap >> 24) & 0xff) * 500 + 500;
	if (!(cap >> 37 & 1) || ((cap >> 48) & 0xf) != 0 || (cap & 0xffff) + 1 < QDEPTH ||
	    DOORBELL(1, 1) + 4 > bar.size)
		return fail("controller", "CAP (BAR0+0x0) = %#" PRIx64 ": needs the NVM command set, "
			    "4 KiB pages, %u-entry queues, doorbells in BAR0", cap, QDEPTH);
	wr32(CC, rd32(CC) & ~1u);
	struct dma *asq, *acq, *id, *iosq, *iocq, *prps, *data;
	if (wait_ready("reset", 0) < 0 || !(asq = dma_new("admin-sq", QDEPTH * 64)) ||
	    !(acq = dma_new("admin-cq", QDEPTH * 16)))
		return -1;
	wr32(AQA, (QDEPTH - 1) << 16 | (QDEPTH - 1));
	wr64(ASQ, asq->iova);
	wr64(ACQ, acq->iova);
	g.enabled = true;
	wr32(CC, 4u << 20 | 6u << 16 | 1); /* IOCQES 16 B, IOSQES 64 B, MPS 4 KiB, NVM, EN */
	if (wait_ready("enable", 1) < 0)
		return -1;
	struct queue admin = { .qid = 0, .phase = 1, .sq = asq, .cq = acq };

	/* 5. Identify the controller, then namespace 1. */
	if (!(id = dma_new("identify", PAGE)) ||
	    submit(&admin, (struct sqe){ .opc = 6, .prp1 = id->iova, .cdw10 = 1 }, "identify") < 0)
		return -1;
	const uint8_t *idb = id->va;
	char sn[21], mn[41], fr[9];
	trimmed(sn, idb + 4, 20), trimmed(mn, idb + 24, 40), trimmed(fr, idb + 64, 8);
	unsigned mdts = idb[77];
	printf("identify: model \"%s\" serial \"%s\" firmware \"%s\" MDTS %u\n", mn, sn, fr, mdts);
	if (strcmp(sn, serial) != 0)
		return fail("identify", "serial \"%s\", expected \"%s\"", sn, serial);
	if (submit(&admin, (struct sqe){ .opc = 6, .nsid = 1, .prp1 = id->iova }, "namespace 1") < 0)
		return -1;
	uint64_t nsze;
	memcpy(&nsze, idb, 8);
	unsigned lbads = idb[128 + 4 * (idb[26] & 0xf) + 2];
	printf("namespace 1: %" PRIu64 " blocks of 2^%u bytes\n", nsze, lbads);
	if (lbads < 9 || lbads > 12)
		return fail("namespace 1", "LBA size 2^%u: this example reads 512 B to 4 KiB", lbads);
	uint32_t bs = 1u << lbads;
	if (lba > nsze || blocks > nsze - lba)
		return fail("read", "LBA %" PRIu64 " + %u blocks: past the namespace's %" PRIu64,
			    lba, blocks, nsze);

	/* 6. One I/O queue pair (physically contiguous, no interrupts). */
	uint32_t qsize = (QDEPTH - 1) << 16 | 1;
	if (!(iosq = dma_new("io-sq", QDEPTH * 64)) || !(iocq = dma_new("io-cq", QDEPTH * 16)) ||
	    submit(&admin, (struct sqe){ .opc = 5, .prp1 = iocq->iova, .cdw10 = qsize, .cdw11 = 1 },
		   "create I/O CQ 1") < 0 ||
	    submit(&admin, (struct sqe){ .opc = 1, .prp1 = iosq->iova, .cdw10 = qsize,
					 .cdw11 = 1u << 16 | 1 }, "create I/O SQ 1") < 0)
		return -1;
	struct queue io = { .qid = 1, .phase = 1, .sq = iosq, .cq = iocq };

	/* 7. Read: PRP1 the first page, PRP2 the second or a PRP list of the rest. */
	uint64_t total = (uint64_t)blocks * bs, max = (uint64_t)PAGE * (PAGE / 8 + 1);
	if (mdts && mdts < 32 && (uint64_t)PAGE << mdts < max)
		max = (uint64_t)PAGE << mdts; /* MDTS: in units of CAP.MPSMIN, 4 KiB here */
	if (!(prps = dma_new("prp-list", PAGE)) || !(data = dma_new("data", total)))
		return -1;
	for (uint64_t off = 0, n; off < total; off += n) {
		n = total - off < max ? total - off : max;
		uint64_t iova = data->iova + off, pages = (n + PAGE - 1) / PAGE, *list = prps->va;
		uint64_t slba = lba + off / bs;
		for (uint64_t k = 1; k < pages; k++)
			list[k - 1] = iova + k * PAGE;
		struct sqe rd = { .opc = 2, .nsid = 1, .prp1 = iova, .cdw12 = (uint32_t)(n / bs - 1),
				  .prp2 = pages == 2 ? iova + PAGE : pages > 2 ? prps->iova : 0,
				  .cdw10 = (uint32_t)slba, .cdw11 = (uint32_t)(slba >> 32) };
		printf("read LBA %" PRIu64 " x %" PRIu64 ": PRP1 %#" PRIx64 " PRP2 %#" PRIx64 "%s\n",
		       slba, n / bs, rd.prp1, rd.prp2, pages > 2 ? " (a PRP list)" : "");
		if (submit(&io, rd, "read") < 0)
			return -1;
	}
	if (submit(&admin, (struct sqe){ .opc = 0, .cdw10 = 1 }, "delete I/O SQ 1") < 0 ||
	    submit(&admin, (struct sqe){ .opc = 4, .cdw10 = 1 }, "delete I/O CQ 1") < 0)
		return -1;

	/* 8. What we read, against the image. */
	uint8_t *want = malloc(total);
	const uint8_t *have = data->va;
	ssize_t got = want ? pread(image, want, total, (off_t)(lba * bs)) : -1;
	if (got != (ssize_t)total) {
		free(want);
		return fail("compare", "image: %zd of %" PRIu64 " bytes at offset %" PRIu64 " (%s)",
			    got, total, lba * bs, got < 0 ? strerror(errno) : "short");
	}
	for (uint32_t b = 0; b < blocks; b++) { /* each block's first 31 bytes, as text */
		char t[32] = { 0 };
		for (int k = 0; k < 31; k++)
			t[k] = isprint(have[(size_t)b * bs + k]) ? (char)have[(size_t)b * bs + k] : '.';
		printf("LBA %-8" PRIu64 " %s\n", lba + b, t);
	}
	uint64_t k = 0;
	while (k < total && have[k] == want[k])
		k++;
	int expected = k < total ? want[k] : -1;
	free(want);
	if (expected >= 0)
		return fail("compare", "LBA %" PRIu64 " byte %" PRIu64 " (IOVA %#" PRIx64 "): read %#x, "
			    "the image has %#x", lba + k / bs, k % bs, data->iova + k, have[k], expected);
	printf("identified \"%s\" serial %s, read %u blocks of %u B (LBA %" PRIu64 "-%" PRIu64
	       ") at IOVA %#" PRIx64 ", equal to the image\n", mn, sn, blocks, bs, lba,
	       lba + blocks - 1, data->iova);
	return 0;
}

/* Disables the controller (it stops using our memory), then unmaps, releases and closes
 * what run() made, in reverse. */
static int cleanup(void)
{
	int rc = 0;
	if (g.enabled) {
		wr32(CC, rd32(CC) & ~1u);
		rc |= wait_ready("disable", 0);
	}
	while (g.ndma > 0) {
		struct dma *d = &g.dma[--g.ndma];
		struct vfio_iommu_type1_dma_unmap unmap = {
			.argsz = sizeof(unmap), .iova = d->iova, .size = d->len,
		};
		if (d->mapped && ioctl(g.container, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0)
			rc |= fail(d->what, "VFIO_IOMMU_UNMAP_DMA at IOVA %#" PRIx64 ": %s (errno %d)",
				   d->iova, strerror(errno), errno);
		int r = d->allocated ? vfio_iommu_info_allocator_release(g.alloc, d->iova, NULL) : 0;
		if (r < 0)
			rc |= LIBFAIL(d->what, r);
		if (d->va)
			munmap(d->va, d->len);
	}
	vfio_iommu_info_allocator_free(g.alloc);
	vfio_iommu_info_space_free(g.space);
	if (g.bar)
		munmap((void *)g.bar, g.bar_len);
	for (int i = 0, *fd[] = { &g.device, &g.container, &g.group }; i < 3; i++)
		if (*fd[i] >= 0)
			close(*fd[i]);
	return rc;
}

int main(int argc, char **argv)
{
	char *e1 = "", *e2 = "";
	uint64_t lba = argc > 5 ? strtoull(argv[5], &e1, 0) : 0;
	unsigned long blocks = argc > 6 ? strtoul(argv[6], &e2, 0) : 8;
	if (argc < 5 || argc > 7 || *e1 || *e2 || blocks == 0 || blocks > 65536) {
		fprintf(stderr, "usage: nvme-read GROUP PCI-ADDRESS IMAGE SERIAL [LBA [BLOCKS 1-65536]]\n");
		return 2;
	}
	int image = open(argv[3], O_RDONLY | O_CLOEXEC);
	if (image < 0)
		return SYSFAIL("open image", argv[3]), 1;
	int rc = run(argv[1], argv[2], image, argv[4], lba, (uint32_t)blocks);
	rc |= cleanup();
	close(image);
	return rc ? 1 : 0;
}
