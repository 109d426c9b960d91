/*
 * snapshot: the lab's `vfio-iommu-info snapshot -o FILE` for guests that cannot run the
 * project's binaries (s390x, aarch64, ppc64le under TCG: no Rust target for them here).
 *
 * Usage: snapshot FILE
 *
 * Writes FILE in the snapshot format the library reads (schemas/snapshot.schema.json,
 * "vfio-iommu-info snapshot", schema_version 1), so the x86 host decodes a real
 * big-endian or 64 KiB-page kernel's snapshot with `--snapshot` (tests/common/
 * guest_snapshot.rs, the foreign scenarios' host tests). It asks the host what the
 * library's `snapshot::take` asks, by the same rules, raw:
 *   - files: the kernel release; every IOMMU group (its listing, type, reserved regions,
 *     each device's driver and iommu links); every device of a group (exists, vendor,
 *     device, class, driver and iommu_group links, its vfio-dev listing and each cdev's
 *     dev); the PCI drivers' listing; each IOMMU unit's intel-iommu/cap and ecap; the
 *     modules' parameters; whether /dev/vfio/N, /dev/vfio/vfio and /dev/iommu exist
 *     and may be opened read-write; pci.ids (a guest has none: the errno); of
 *     /proc/cpuinfo only the first "address sizes" line (empty without one);
 *   - taken_as: this process's memlock limit and facts (RLIMIT_MEMLOCK, CAP_IPC_LOCK,
 *     VmLck, VmPin), what `budget` weighs a plan against;
 *   - containers: each VFIO-viable group's own, type1 (or iommufd's compat container):
 *     the raw VFIO_IOMMU_GET_INFO buffer with the library's fill protocol (1024 bytes,
 *     grown to argsz when the capabilities did not fit), or the failed ioctl; of a compat
 *     container also IOMMU_OPTION_RLIMIT_MODE's val64 (what `budget` asks), or its error;
 *   - devices: each vfio-pci device of those groups, opened through its group: the raw
 *     VFIO_DEVICE_GET_INFO and every region's VFIO_DEVICE_GET_REGION_INFO (256 bytes,
 *     grown likewise), or the failed ioctl; and the BAR registers of configuration space
 *     the library's BAR walk reads (what `guest` sizes the guest's PCI holes from).
 *   - spapr_tce (IBM POWER, whose container offers only sPAPR TCE): each viable group's
 *     VFIO_IOMMU_SPAPR_TCE_GET_INFO of the whole structure (32 bytes) and the model.
 * What it does not record is not answered on replay: the library names the missing
 * question (NotInSnapshot), it never guesses. Groups that are not viable are left out,
 * and so is type1's refusal of an sPAPR TCE container: the library records those in
 * its own words, which this program does not reproduce.
 *
 * Only libc, <linux/vfio.h> and capture-common.h: no dependency on the project's code.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/vfio.h>

#define CAPTURE_NAME "snapshot"
#include "capture-common.h"

/* IOMMU_VFIO_IOAS (_IO(';', 0x88)) and its argument: <linux/iommufd.h> is newer than
 * the cross compilers' headers. GET answers on iommufd's compat container only. */
#define IOMMU_VFIO_IOAS _IO(';', 0x88)
struct vfio_ioas_arg {
	uint32_t size;
	uint32_t ioas_id;
	uint16_t op;
	uint16_t reserved;
};
/* IOMMU_OPTION (_IO(';', 0x87)), asked for IOMMU_OPTION_RLIMIT_MODE (0) with
 * IOMMU_OPTION_OP_GET (1) of a compat container, as `budget` asks it. */
#define IOMMU_OPTION _IO(';', 0x87)
struct iommu_option_arg {
	uint32_t size;
	uint32_t option_id;
	uint16_t op;
	uint16_t reserved;
	uint32_t object_id;
	uint64_t val64;
};

#define MAX_FILE (1 << 20)
#define INFO_FIRST 1024 /* the library's INLINE_INFO_SIZE */
#define DEVICE_FIRST 256 /* the library's device FIRST_LEN */
#define MOST_LEN (64 << 10)
#define CAP_IPC_LOCK_BIT 14
#define MAX_REGIONS 256 /* the library's most regions a device may have */
#define PCI_CONFIG_REGION 7 /* VFIO_PCI_CONFIG_REGION_INDEX */
#define PCI_BAR0_OFFSET 0x10

static const char *const MODULES[] = { "vfio", "vfio_iommu_type1", "vfio_pci", "iommufd",
				       "vfio_iommu_spapr_tce" };
static const char *const PCI_IDS[] = { "/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids",
				       "/usr/share/pci.ids" };

/* One recorded path and what the host answered about it (-1: not asked). */
struct node {
	char *key;
	int exists, rdwr;
	unsigned char *data;
	size_t len;
	int has_data, read_errno;
	char *link;
	int link_errno;
	char **entries;
	size_t n_entries;
	int has_entries, entries_errno;
};

/* Each node allocated alone: a pointer to one stays valid while more are asked. */
static struct node **nodes;
static size_t n_nodes, cap_nodes;

/* snprintf that dies rather than cut a path or a message short. */
__attribute__((format(printf, 3, 4))) static void put(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		die("a path or message longer than %zu bytes: %s...", size, buf);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		die("out of memory");
	return d;
}

/* The node of PATH (absolute), created unasked on first use. */
static struct node *node(const char *path)
{
	const char *key = path + (path[0] == '/');

	struct node *n;

	for (size_t i = 0; i < n_nodes; i++)
		if (!strcmp(nodes[i]->key, key))
			return nodes[i];
	if (n_nodes == cap_nodes) {
		cap_nodes = cap_nodes ? 2 * cap_nodes : 256;
		nodes = realloc(nodes, cap_nodes * sizeof(*nodes));
		if (!nodes)
			die("out of memory");
	}
	n = xmalloc(sizeof(*n));
	*n = (struct node){ .key = xstrdup(key), .exists = -1, .rdwr = -1 };
	nodes[n_nodes++] = n;
	return n;
}

/* Whether PATH exists (stat follows links, as the library's does). */
static int rec_exists(const char *path)
{
	struct stat st;
	struct node *n = node(path);

	n->exists = stat(path, &st) == 0;
	return n->exists;
}

static void rec_rdwr(const char *path)
{
	node(path)->rdwr = access(path, R_OK | W_OK) == 0;
}

/* PATH's content (at most MAX_FILE bytes), or the errno. */
static void rec_read(const char *path)
{
	struct node *n = node(path);
	unsigned char *buf = xmalloc(MAX_FILE + 1); /* + 1: ask_cpuinfo ends a line in place */
	ssize_t r = 0;
	size_t total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		while (total < MAX_FILE && (r = read(fd, buf + total, MAX_FILE - total)) > 0)
			total += (size_t)r;
		if (r < 0)
			n->read_errno = errno;
		close(fd);
	} else {
		n->read_errno = errno;
	}
	if (n->read_errno) {
		free(buf);
		return;
	}
	n->has_data = 1;
	n->data = buf;
	n->len = total;
}

/* PATH's link target, or the errno; the target is returned (NULL on error). */
static const char *rec_link(const char *path)
{
	struct node *n = node(path);
	char buf[PATH_MAX];
	ssize_t r = readlink(path, buf, sizeof(buf) - 1);

	if (r < 0) {
		n->link_errno = errno;
		return NULL;
	}
	buf[r] = 0;
	n->link = xstrdup(buf);
	return n->link;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* PATH's directory listing (without . and ..), sorted, or the errno; the node. */
static struct node *rec_dir(const char *path)
{
	struct node *n = node(path);
	DIR *d = opendir(path);
	struct dirent *e;
	size_t cap = 0;

	if (!d) {
		n->entries_errno = errno;
		return n;
	}
	n->has_entries = 1;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n->n_entries == cap) {
			cap = cap ? 2 * cap : 16;
			n->entries = realloc(n->entries, cap * sizeof(char *));
			if (!n->entries)
				die("out of memory");
		}
		n->entries[n->n_entries++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(n->entries, n->n_entries, sizeof(char *), by_name);
	return n;
}

/* The last component of a link target. */
static const char *base(const char *target)
{
	const char *s = strrchr(target, '/');

	return s ? s + 1 : target;
}

/* The (vendor, device) ids of the recorded devices, for the pci.ids subset. */
static struct { unsigned v, d; } ids[1024];
static size_t n_ids;

/* The id a recorded sysfs file holds ("0x8086\n"), or -1. */
static long id_of(const char *path)
{
	const struct node *n = node(path);
	char text[16], *end;
	long v;

	if (!n->has_data || n->len == 0 || n->len >= sizeof(text))
		return -1;
	memcpy(text, n->data, n->len);
	text[n->len] = 0;
	v = strtol(text, &end, 16);
	return (*end == '\n' || !*end) && v >= 0 && v <= 0xffff ? v : -1;
}

/* What the library reads of device NAME (of a group's listing). */
static void ask_device_files(const char *name)
{
	char p[PATH_MAX], q[PATH_MAX];
	static const char *const files[] = { "vendor", "device", "class" };

	put(p, sizeof(p), "/sys/bus/pci/devices/%s", name);
	if (!rec_exists(p))
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		put(q, sizeof(q), "%s/%s", p, files[i]);
		rec_read(q);
	}
	put(q, sizeof(q), "%s/vendor", p);
	long v = id_of(q);
	put(q, sizeof(q), "%s/device", p);
	long d = id_of(q);
	if (v >= 0 && d >= 0 && n_ids < sizeof(ids) / sizeof(ids[0]))
		ids[n_ids].v = (unsigned)v, ids[n_ids++].d = (unsigned)d;
	put(q, sizeof(q), "%s/driver", p);
	rec_link(q);
	put(q, sizeof(q), "%s/iommu_group", p);
	rec_link(q);
	put(q, sizeof(q), "%s/vfio-dev", p);
	struct node *cdevs = rec_dir(q);
	for (size_t i = 0; i < cdevs->n_entries; i++) {
		put(q, sizeof(q), "%s/vfio-dev/%s/dev", p, cdevs->entries[i]);
		if (rec_exists(q))
			rec_read(q);
	}
}

/* Whether the group's devices are all on vfio-pci or on no driver (VFIO's viability,
 * as the library's list judges it; the kernel's GET_STATUS has the last word). */
static int ask_group_files(const char *group, int *viable)
{
	char p[PATH_MAX], q[PATH_MAX];
	struct node *devs;

	put(p, sizeof(p), "/sys/kernel/iommu_groups/%s/type", group);
	rec_read(p);
	put(p, sizeof(p), "/sys/kernel/iommu_groups/%s/reserved_regions", group);
	rec_read(p);
	put(p, sizeof(p), "/sys/kernel/iommu_groups/%s/devices", group);
	devs = rec_dir(p);
	*viable = 1;
	for (size_t i = 0; i < devs->n_entries; i++) {
		const char *name = devs->entries[i], *drv;

		put(q, sizeof(q), "%s/%s/driver", p, name);
		drv = rec_link(q);
		if (drv && strcmp(base(drv), "vfio-pci"))
			*viable = 0;
		put(q, sizeof(q), "%s/%s/iommu", p, name);
		const char *unit = rec_link(q);
		if (unit) {
			put(q, sizeof(q), "/sys/class/iommu/%s/intel-iommu/cap", base(unit));
			rec_read(q);
			put(q, sizeof(q), "/sys/class/iommu/%s/intel-iommu/ecap", base(unit));
			rec_read(q);
		}
		ask_device_files(name);
	}
	put(p, sizeof(p), "/dev/vfio/%s", group);
	if (rec_exists(p))
		rec_rdwr(p);
	return (int)devs->n_entries;
}

static int has_vendor(unsigned v)
{
	for (size_t i = 0; i < n_ids; i++)
		if (ids[i].v == v)
			return 1;
	return 0;
}

static int has_id(unsigned v, unsigned d)
{
	for (size_t i = 0; i < n_ids; i++)
		if (ids[i].v == v && ids[i].d == d)
			return 1;
	return 0;
}

/* The first pci.ids of the library's list that opens: only its lines that name the
 * recorded devices (vendor lines, and device lines under them), as the library keeps
 * it; the paths before it recorded with their errno. */
static void ask_pci_ids(void)
{
	for (size_t i = 0; i < sizeof(PCI_IDS) / sizeof(PCI_IDS[0]); i++) {
		FILE *f = fopen(PCI_IDS[i], "re");
		struct node *n = node(PCI_IDS[i]);
		char line[1024];
		char *kept = NULL;
		size_t kept_len = 0;
		long vendor = -1;

		if (!f) {
			n->read_errno = errno;
			continue;
		}
		FILE *subset = open_memstream(&kept, &kept_len);
		if (!subset)
			die("open_memstream: %s", strerror(errno));
		while (fgets(line, sizeof(line), f)) {
			unsigned id;
			int at;

			if (!strncmp(line, "C ", 2))
				break;
			if (line[0] == '#' || !strncmp(line, "\t\t", 2))
				continue;
			if (line[0] != '\t') {
				vendor = sscanf(line, "%4x  %n", &id, &at) == 1 && at == 6 ? (long)id : -1;
				if (vendor >= 0 && has_vendor(id))
					fputs(line, subset);
			} else if (vendor >= 0 && has_vendor((unsigned)vendor) &&
				   sscanf(line + 1, "%4x  %n", &id, &at) == 1 && at == 6 &&
				   has_id((unsigned)vendor, id)) {
				fputs(line, subset);
			}
		}
		fclose(f);
		fclose(subset);
		n->has_data = 1;
		n->data = (unsigned char *)kept;
		n->len = kept_len;
		return;
	}
}

static void ask_modules(void)
{
	char p[PATH_MAX], q[PATH_MAX];

	for (size_t m = 0; m < sizeof(MODULES) / sizeof(MODULES[0]); m++) {
		put(p, sizeof(p), "/sys/module/%s", MODULES[m]);
		if (!rec_exists(p))
			continue;
		put(p, sizeof(p), "/sys/module/%s/parameters", MODULES[m]);
		struct node *params = rec_dir(p);
		for (size_t i = 0; i < params->n_entries; i++) {
			put(q, sizeof(q), "%s/%s", p, params->entries[i]);
			rec_read(q);
		}
	}
}

/* --- JSON ------------------------------------------------------------------------ */

static FILE *out;

/* S as a JSON string (S is UTF-8: sysfs names and the library's words). */
static void jstr(const char *s, size_t len)
{
	fputc('"', out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void jcstr(const char *s)
{
	jstr(s, strlen(s));
}

static void jhex(const unsigned char *b, size_t len)
{
	fputc('"', out);
	for (size_t i = 0; i < len; i++)
		fprintf(out, "%02x", b[i]);
	fputc('"', out);
}

/* Whether B is UTF-8 (then a file is recorded as text, else in hex, as the library). */
static int is_utf8(const unsigned char *b, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = b[i];
		size_t more;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			more = 1, cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			more = 2, cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			more = 3, cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + more >= len)
			return 0;
		for (size_t k = 1; k <= more; k++) {
			if ((b[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (b[i + k] & 0x3f);
		}
		if ((more == 1 && cp < 0x80) || (more == 2 && cp < 0x800) ||
		    (more == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += more + 1;
	}
	return 1;
}

static int by_key(const void *a, const void *b)
{
	return strcmp((*(struct node *const *)a)->key, (*(struct node *const *)b)->key);
}

/* The next member of an object: its separator and name. */
static void member(const char **sep, const char *name)
{
	fprintf(out, "%s\"%s\": ", *sep, name);
	*sep = ", ";
}

static void write_files(void)
{
	qsort(nodes, n_nodes, sizeof(*nodes), by_key);
	fputs("  \"files\": {", out);
	for (size_t i = 0; i < n_nodes; i++) {
		const struct node *n = nodes[i];
		const char *sep = "";

		fputs(i ? ",\n    " : "\n    ", out);
		jcstr(n->key);
		fputs(": {", out);
		if (n->exists >= 0)
			{ member(&sep, "exists"); fputs(n->exists ? "true" : "false", out); }
		if (n->has_data && is_utf8(n->data, n->len))
			{ member(&sep, "text"); jstr((const char *)n->data, n->len); }
		else if (n->has_data)
			{ member(&sep, "hex"); jhex(n->data, n->len); }
		if (n->read_errno)
			{ member(&sep, "read_errno"); fprintf(out, "%d", n->read_errno); }
		if (n->link)
			{ member(&sep, "link"); jcstr(n->link); }
		if (n->link_errno)
			{ member(&sep, "link_errno"); fprintf(out, "%d", n->link_errno); }
		if (n->has_entries) {
			{ member(&sep, "entries"); fputc('[', out); }
			for (size_t k = 0; k < n->n_entries; k++) {
				if (k)
					fputs(", ", out);
				jcstr(n->entries[k]);
			}
			fputc(']', out);
		}
		if (n->entries_errno)
			{ member(&sep, "entries_errno"); fprintf(out, "%d", n->entries_errno); }
		if (n->rdwr >= 0)
			{ member(&sep, "rdwr"); fputs(n->rdwr ? "true" : "false", out); }
		fputc('}', out);
	}
	fputs("\n  },\n", out);
}

/* A failed ioctl as the library records one: its parts, the class "os", the errno. */
static void write_ioctl_error(const char *ioctl_name, const char *target, int e, const char *hint)
{
	char message[1024];

	put(message, sizeof(message), "%s on %s failed: %s (%s)%s%s", ioctl_name, target,
		 strerror(e), errname(e), hint ? ": " : "", hint ? hint : "");
	fputs("{\"message\": ", out);
	jcstr(message);
	fprintf(out, ", \"kind\": \"os\", \"errno\": %d, \"ioctl\": ", e);
	jcstr(ioctl_name);
	fputs(", \"target\": ", out);
	jcstr(target);
	if (hint) {
		fputs(", \"hint\": ", out);
		jcstr(hint);
	}
	fputc('}', out);
}

/* Where the answers go: the members "containers", "spapr_tce" and "devices", each with
 * whether nothing was written to it yet. */
static struct sink {
	FILE *f;
	int first;
} containers, spapr_tce, devices;

/* The next element of SINK's array: the separator, and SINK becomes the output. */
static void next(struct sink *sink)
{
	out = sink->f;
	fputs(sink->first ? "    " : ",\n    ", out);
	sink->first = 0;
}

/* --- ioctls ---------------------------------------------------------------------- */

/* The library's fill protocol: FIRST bytes with argsz at offset 0 (and INDEX at 8 when
 * not negative), again with argsz bytes while the CAPS flag is set and argsz grew. Returns
 * the buffer (*LEN its size), or NULL with errno set. */
static unsigned char *fill(int fd, unsigned long req, size_t first, long index, uint32_t caps,
			   size_t *len)
{
	size_t size = first;

	for (int tries = 0; tries < 4; tries++) {
		unsigned char *buf = calloc(1, size);

		if (!buf)
			die("out of memory");
		st32(buf, (uint32_t)size);
		if (index >= 0)
			st32(buf + 8, (uint32_t)index);
		if (ioctl(fd, req, buf) < 0) {
			int e = errno;

			free(buf);
			errno = e;
			return NULL;
		}
		uint32_t argsz = ld32(buf), flags = ld32(buf + 4);

		if (!(flags & caps) || argsz <= size || argsz > MOST_LEN) {
			*len = size;
			return buf;
		}
		free(buf);
		size = argsz;
	}
	errno = EOVERFLOW;
	return NULL;
}

/* The walk the library's `Device::bars` makes (query/device.rs, bars_of), over the
 * region answers just recorded: the configuration region (7), then BAR0..5's region and
 * register (configuration space at 0x10 + 4 * index, little-endian), a 64-bit BAR
 * taking two; it stops where a region or a read is refused. Each register read is
 * recorded as the member "config" (left out when nothing was read). REGIONS[i] is
 * region i's VFIO_DEVICE_GET_REGION_INFO buffer, NULL when refused. */
static void ask_bars(int dfd, const char *name, unsigned char *const *regions, uint32_t n)
{
	const char *sep = ", \"config\": [";
	const unsigned char *config = n > PCI_CONFIG_REGION ? regions[PCI_CONFIG_REGION] : NULL;

	if (!config)
		return;
	uint64_t size = ld64(config + 16), offset = ld64(config + 24);
	for (uint32_t index = 0; index < 6 && index < n && regions[index];) {
		uint64_t at = PCI_BAR0_OFFSET + 4 * (uint64_t)index;
		unsigned char dword[4];
		char target[256], hint[256];
		const char *failed = NULL, *why = NULL;
		int e = 0;

		fprintf(out, "%s{\"offset\": %llu, ", sep, (unsigned long long)at);
		sep = ", ";
		if (at + 4 > size) {
			/* The library's bounds check (Device::place), before any read. */
			put(target, sizeof(target), "device %s region %u", name, PCI_CONFIG_REGION);
			put(hint, sizeof(hint), "bytes %#llx+0x4 lie outside the %#llx-byte region",
			    (unsigned long long)at, (unsigned long long)size);
			failed = "pread/pwrite", e = EINVAL, why = hint;
		} else {
			ssize_t r = pread(dfd, dword, 4, (off_t)(offset + at));

			if (r != 4) {
				put(target, sizeof(target), "device %s (fd %d)", name, dfd);
				failed = "pread", e = r < 0 ? errno : EIO;
			}
		}
		if (failed) {
			fputs("\"error\": ", out);
			write_ioctl_error(failed, target, e, why);
			fputs("}]", out);
			return;
		}
		fputs("\"dword\": ", out);
		jhex(dword, 4);
		fputc('}', out);
		uint32_t v = (uint32_t)dword[0] | (uint32_t)dword[1] << 8 | (uint32_t)dword[2] << 16 |
			     (uint32_t)dword[3] << 24;
		/* Memory (bit 0 clear) of type 2 (bits 2:1): 64-bit, two registers. */
		index += !(v & 1) && ((v >> 1) & 3) == 2 ? 2 : 1;
	}
	fputc(']', out);
}

/* Device NAME of group GFD (group NUMBER): its info and every region, recorded. The
 * device fd stays open in *DFD (iommufd's compat container attaches on open). */
static void ask_device(int gfd, const char *number, const char *name, int *dfd)
{
	char target[256];
	unsigned char *info;
	size_t len;

	next(&devices);
	fputs("{\"address\": ", out);
	jcstr(name);
	fprintf(out, ", \"group\": %s, ", number);
	*dfd = ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, name);
	if (*dfd < 0) {
		put(target, sizeof(target), "group %s (/dev/vfio/%s)", number, number);
		fputs("\"error\": ", out);
		write_ioctl_error("VFIO_GROUP_GET_DEVICE_FD", target, errno, NULL);
		fputc('}', out);
		return;
	}
	put(target, sizeof(target), "device %s (fd %d)", name, *dfd);
	info = fill(*dfd, VFIO_DEVICE_GET_INFO, DEVICE_FIRST, -1, VFIO_DEVICE_FLAGS_CAPS, &len);
	if (!info) {
		fputs("\"error\": ", out);
		write_ioctl_error("VFIO_DEVICE_GET_INFO", target, errno, NULL);
		fputc('}', out);
		return;
	}
	fputs("\"info\": ", out);
	jhex(info, len);
	fputs(", \"regions\": [", out);
	uint32_t regions = ld32(info + 8);
	unsigned char *answers[MAX_REGIONS] = { 0 };
	for (uint32_t i = 0; i < regions && i < MAX_REGIONS; i++) {
		size_t rlen;
		unsigned char *r = fill(*dfd, VFIO_DEVICE_GET_REGION_INFO, DEVICE_FIRST, i,
					VFIO_REGION_INFO_FLAG_CAPS, &rlen);

		fputs(i ? ",\n      " : "\n      ", out);
		if (r) {
			fputs("{\"get_region_info\": ", out);
			jhex(r, rlen);
			answers[i] = r;
		} else {
			char hint[256];
			int e = errno;

			/* The library's hint for this errno (query/device.rs, device_error). */
			put(hint, sizeof(hint),
				 "the device has no region %u: VFIO_DEVICE_GET_INFO's num_regions says how many there are (vfio-pci's VGA region exists only on a VGA device)",
				 i);
			fputs("{\"error\": ", out);
			write_ioctl_error("VFIO_DEVICE_GET_REGION_INFO", target, e,
					  e == EINVAL ? hint : NULL);
		}
		fputc('}', out);
	}
	fputc(']', out);
	ask_bars(*dfd, name, answers, regions < MAX_REGIONS ? regions : MAX_REGIONS);
	fputc('}', out);
	for (uint32_t i = 0; i < MAX_REGIONS; i++)
		free(answers[i]);
	free(info);
}

/* Group NUMBER's own container: attached, type1 (or sPAPR TCE) set, its vfio-pci devices
 * opened and recorded, then VFIO_IOMMU_GET_INFO (or VFIO_IOMMU_SPAPR_TCE_GET_INFO of the
 * whole structure, 32 bytes, as the library asks it) recorded. */
static void ask_container(const char *number, const struct node *listing)
{
	char path[PATH_MAX], target[128];
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int cfd, gfd, dfds[64], n_dfds = 0, spapr = 0;
	const char *failed = NULL;
	int failed_errno = 0;
	unsigned char *info = NULL;
	size_t len = 0;
	long model;

	put(path, sizeof(path), "/dev/vfio/%s", number);
	cfd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	gfd = open(path, O_RDWR | O_CLOEXEC);
	if (cfd < 0 || gfd < 0 || ioctl(gfd, VFIO_GROUP_GET_STATUS, &status) < 0 ||
	    !(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		/* Refused before anything is attached: left out (see the top). */
		if (cfd >= 0)
			close(cfd);
		if (gfd >= 0)
			close(gfd);
		return;
	}
	put(target, sizeof(target), "fd %d", cfd);
	if (ioctl(gfd, VFIO_GROUP_SET_CONTAINER, &cfd) < 0) {
		failed = "VFIO_GROUP_SET_CONTAINER", failed_errno = errno;
		put(target, sizeof(target), "group %s (%s)", number, path);
	} else {
		/* The library's order: type1v2, type1, then IBM POWER's sPAPR TCE v2, v1. */
		static const long models[] = { VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU,
					       VFIO_SPAPR_TCE_v2_IOMMU, VFIO_SPAPR_TCE_IOMMU };
		model = models[0];
		for (size_t m = 0; m < sizeof(models) / sizeof(models[0]); m++)
			if (ioctl(cfd, VFIO_CHECK_EXTENSION, models[m]) > 0) {
				model = models[m];
				break;
			}
		spapr = model == VFIO_SPAPR_TCE_v2_IOMMU || model == VFIO_SPAPR_TCE_IOMMU;
		if (ioctl(cfd, VFIO_SET_IOMMU, model) < 0) {
			failed = "VFIO_SET_IOMMU", failed_errno = errno;
			put(target, sizeof(target), "container /dev/vfio/vfio");
		}
	}
	if (!failed) {
		for (size_t i = 0; i < listing->n_entries && n_dfds < 64; i++) {
			char link[PATH_MAX];
			const char *drv;

			put(link, sizeof(link), "/sys/kernel/iommu_groups/%s/devices/%s/driver",
				 number, listing->entries[i]);
			drv = node(link)->link;
			if (drv && !strcmp(base(drv), "vfio-pci"))
				ask_device(gfd, number, listing->entries[i], &dfds[n_dfds++]);
		}
		if (!spapr) {
			info = fill(cfd, VFIO_IOMMU_GET_INFO, INFO_FIRST, -1, VFIO_IOMMU_INFO_CAPS,
				    &len);
			if (!info)
				failed = "VFIO_IOMMU_GET_INFO", failed_errno = errno;
		} else {
			len = 32;
			info = calloc(1, len);
			if (!info)
				die("out of memory");
			st32(info, (uint32_t)len);
			if (ioctl(cfd, VFIO_IOMMU_SPAPR_TCE_GET_INFO, info) < 0)
				failed = "VFIO_IOMMU_SPAPR_TCE_GET_INFO", failed_errno = errno;
		}
	}
	if (spapr) {
		next(&spapr_tce);
		fprintf(out, "{\"groups\": [%s], \"model\": \"%s\", ", number,
			model == VFIO_SPAPR_TCE_v2_IOMMU ? "VFIO_SPAPR_TCE_v2_IOMMU" :
							   "VFIO_SPAPR_TCE_IOMMU");
		if (failed) {
			fputs("\"error\": ", out);
			write_ioctl_error(failed, target, failed_errno, NULL);
		} else {
			fputs("\"get_info\": ", out);
			jhex(info, len);
		}
		fputc('}', out);
	} else {
		next(&containers);
		fprintf(out, "{\"groups\": [%s], ", number);
		if (failed) {
			fputs("\"error\": ", out);
			write_ioctl_error(failed, target, failed_errno, NULL);
		} else {
			struct vfio_ioas_arg ioas = { .size = sizeof(ioas) };
			struct iommu_option_arg option = { .size = sizeof(option), .op = 1 };
			int compat = 1;

			if (ioctl(cfd, IOMMU_VFIO_IOAS, &ioas) == 0) {
				fprintf(out, "\"backend\": \"iommufd-compat\", \"compat_ioas\": %u, ",
					ioas.ioas_id);
			} else if (errno == ENOTTY || errno == EINVAL) {
				fputs("\"backend\": \"type1\", ", out);
				compat = 0;
			} else {
				fputs("\"backend\": \"iommufd-compat\", ", out);
			}
			/* query::iommufd::rlimit_mode_val64: its answer, or the error as it says it. */
			if (compat && ioctl(cfd, IOMMU_OPTION, &option) == 0) {
				fprintf(out, "\"rlimit_mode\": %llu, ", (unsigned long long)option.val64);
			} else if (compat) {
				int e = errno;

				put(target, sizeof(target), "fd %d", cfd);
				fputs("\"rlimit_mode_error\": ", out);
				write_ioctl_error("IOMMU_OPTION", target, e,
						  e == ENOTTY ? "not served by iommufd (the VFIO type1 container has no rlimit mode: it always charges the process), or a kernel before 6.2" :
								NULL);
				fputs(", ", out);
			}
			fputs("\"get_info\": ", out);
			jhex(info, len);
		}
		fputc('}', out);
	}
	free(info);
	for (int i = 0; i < n_dfds; i++)
		if (dfds[i] >= 0)
			close(dfds[i]);
	close(gfd);
	close(cfd);
}

/* Of /proc/cpuinfo, only what the library keeps (cpu.rs, snapshot_subset): the first
 * line that starts with "address sizes" (the physical width `guest` reads), empty
 * without one or when the text is not UTF-8; no model name, serial number or flags. */
static void ask_cpuinfo(void)
{
	struct node *n = node("/proc/cpuinfo");
	size_t keep = 0;

	rec_read("/proc/cpuinfo");
	if (!n->has_data)
		return;
	if (is_utf8(n->data, n->len)) {
		for (size_t at = 0; at < n->len;) {
			const unsigned char *eol = memchr(n->data + at, '\n', n->len - at);
			size_t end = eol ? (size_t)(eol - n->data) : n->len, first = at;

			while (first < end && (n->data[first] == ' ' || n->data[first] == '\t'))
				first++;
			if (end - first >= 13 && !memcmp(n->data + first, "address sizes", 13)) {
				if (end > at && n->data[end - 1] == '\r')
					end--;
				memmove(n->data, n->data + at, end - at);
				keep = end - at;
				n->data[keep++] = '\n';
				break;
			}
			at = end + 1;
		}
	}
	n->len = keep;
}

/* A limit as the snapshot writes one: "unlimited" or the bytes in decimal. */
static void jlimit(rlim_t v)
{
	if (v == RLIM_INFINITY)
		fputs("\"unlimited\"", out);
	else
		fprintf(out, "\"%llu\"", (unsigned long long)v);
}

/* STATUS's NAME line ("VmLck:\t   8 kB") in bytes, or -1 without one. */
static long long status_kb(const char *status, const char *name)
{
	const char *line = strstr(status, name);
	char *end;

	if (!line)
		return -1;
	unsigned long long kb = strtoull(line + strlen(name), &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	if (end == line + strlen(name) || strncmp(end, "kB", 2) || kb > ULLONG_MAX / 1024)
		return -1;
	return (long long)(kb * 1024);
}

/* What limits the memory this process may pin, as the library records it (taken_as):
 * memlock_limit ("cap_ipc_lock", "unlimited" or the soft limit in bytes) and memlock
 * (RLIMIT_MEMLOCK's two values, CAP_IPC_LOCK in the effective set, VmLck and VmPin). */
static void write_taken_as(void)
{
	char status[8192];
	const char *cap;
	struct rlimit rl;
	int has_status = read_sysfs("/proc/self/status", status, sizeof(status)) >= 0;
	int has_rl = getrlimit(RLIMIT_MEMLOCK, &rl) == 0;
	int cap_ipc_lock = -1;
	const char *sep = "";

	if (has_status && (cap = strstr(status, "\nCapEff:\t")))
		cap_ipc_lock = (int)(strtoull(cap + 9, NULL, 16) >> CAP_IPC_LOCK_BIT & 1);
	fputs("  \"taken_as\": {", out);
	if (cap_ipc_lock == 1) {
		fputs("\"memlock_limit\": \"cap_ipc_lock\", ", out);
	} else if (has_rl) {
		fputs("\"memlock_limit\": ", out);
		jlimit(rl.rlim_cur);
		fputs(", ", out);
	}
	fputs("\"memlock\": {", out);
	if (has_rl) {
		member(&sep, "rlimit");
		fputs("{\"soft\": ", out);
		jlimit(rl.rlim_cur);
		fputs(", \"hard\": ", out);
		jlimit(rl.rlim_max);
		fputc('}', out);
	}
	if (cap_ipc_lock >= 0) {
		member(&sep, "cap_ipc_lock");
		fputs(cap_ipc_lock ? "true" : "false", out);
	}
	if (has_status) {
		long long lck = status_kb(status, "\nVmLck:"), pin = status_kb(status, "\nVmPin:");

		if (lck >= 0) {
			member(&sep, "vm_lck");
			fprintf(out, "%lld", lck);
		}
		if (pin >= 0) {
			member(&sep, "vm_pin");
			fprintf(out, "%lld", pin);
		}
	}
	fputs("}},\n", out);
}

int main(int argc, char **argv)
{
	const uint16_t probe = 0x0102;
	struct utsname u;
	struct node *groups;
	char p[PATH_MAX];
	char *cbuf = NULL, *sbuf = NULL, *dbuf = NULL;
	size_t clen = 0, slen = 0, dlen = 0;
	FILE *file;

	if (argc != 2)
		die("usage: snapshot FILE");
	if (uname(&u) < 0)
		die("uname: %s", strerror(errno));
	containers = (struct sink){ open_memstream(&cbuf, &clen), 1 };
	spapr_tce = (struct sink){ open_memstream(&sbuf, &slen), 1 };
	devices = (struct sink){ open_memstream(&dbuf, &dlen), 1 };
	if (!containers.f || !spapr_tce.f || !devices.f)
		die("open_memstream: %s", strerror(errno));

	rec_read("/proc/sys/kernel/osrelease");
	groups = rec_dir("/sys/kernel/iommu_groups");
	size_t n_groups = groups->n_entries;
	char **names = xmalloc((n_groups + 1) * sizeof(char *));
	int *viable = xmalloc((n_groups + 1) * sizeof(int));
	for (size_t i = 0; i < n_groups; i++)
		names[i] = groups->entries[i];
	for (size_t i = 0; i < n_groups; i++)
		ask_group_files(names[i], &viable[i]);
	ask_modules();
	rec_dir("/sys/bus/pci/drivers");
	if (rec_exists("/dev/vfio/vfio"))
		rec_rdwr("/dev/vfio/vfio");
	rec_exists("/dev/iommu");
	ask_pci_ids();
	ask_cpuinfo();
	for (size_t i = 0; i < n_groups; i++) {
		put(p, sizeof(p), "/dev/vfio/%s", names[i]);
		if (!viable[i] || node(p)->exists != 1)
			continue;
		put(p, sizeof(p), "/sys/kernel/iommu_groups/%s/devices", names[i]);
		ask_container(names[i], node(p));
	}
	fclose(containers.f);
	fclose(spapr_tce.f);
	fclose(devices.f);

	file = fopen(argv[1], "wx");
	if (!file)
		die("create %s: %s", argv[1], strerror(errno));
	out = file;
	fputs("{\n  \"format\": \"vfio-iommu-info snapshot\",\n  \"schema_version\": 1,\n", out);
	fputs("  \"taken_by\": \"lab/guest/snapshot.c\",\n", out);
	fputs("  \"machine\": {\"arch\": ", out);
	jcstr(u.machine);
	fprintf(out, ", \"byte_order\": \"%s\", \"page_size\": %ld},\n",
		*(const unsigned char *)&probe == 0x01 ? "big" : "little", sysconf(_SC_PAGESIZE));
	write_taken_as();
	write_files();
	fprintf(out, "  \"containers\": [\n%s\n  ],\n", cbuf);
	if (slen)
		fprintf(out, "  \"spapr_tce\": [\n%s\n  ],\n", sbuf);
	fprintf(out, "  \"devices\": [\n%s\n  ]\n}\n", dbuf);
	if (fclose(file) != 0)
		die("write %s: %s", argv[1], strerror(errno));
	printf("snapshot: %zu paths, %zu groups written to %s\n", n_nodes, n_groups, argv[1]);
	return 0;
}
