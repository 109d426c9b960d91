/*
 * bad-input-test: every C entry point of libvfio_iommu_info fed what a careless caller
 * passes: NULL for each pointer argument, zero lengths and zero-size requests, indices
 * past the end (count, count + 1, SIZE_MAX), unknown enumerators (UINT32_MAX), bad fds
 * (closed, -1, /dev/null, a regular file, a directory), bad targets and paths, the
 * shared malformed-buffer corpus, and 64 MiB buffers; with the contract's rules checked
 * on every failure: the documented code, out-parameters byte-for-byte untouched (filled
 * with 0xA5 before the call), and a last error that starts with the function's name and
 * says which argument or what is wrong. `*_free(NULL)` is a no-op for every free
 * function. Run plain, under ASan+UBSan, static and under valgrind by run-tests.
 *
 *   bad-input-test CORPUS_DIR
 *       CORPUS_DIR is tests/bad-input, with MANIFEST.tsv: TAB-separated lines
 *       `file kind order expect offset text` (kind iommu|device|region, order
 *       little|big|native, expect error|ok, offset decimal or -, text a substring of the
 *       error message), `#` comments and blank lines ignored.
 *   bad-input-test lab GROUP_NUMBER [NOT_VFIO_PCI_ADDRESS]
 *       On a host with VFIO: group N's fd passed as a container fd, a fresh
 *       /dev/vfio/vfio with no group and no IOMMU model, a live container's handle
 *       functions with bad arguments, and a device that is not on vfio-pci.
 *
 * Prints `ok CASE` or `FAIL CASE: WHY` per case (`skip CASE: WHY` for a lab case the
 * host cannot run, not counted) and `bad-input-test: N passed, M failed`; exit status 0
 * when nothing failed, 1 when something did, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vfio_iommu_info.h>

#define E_MALFORMED VFIO_IOMMU_INFO_E_MALFORMED
#define E_NULL VFIO_IOMMU_INFO_E_NULL
#define E_INVALID VFIO_IOMMU_INFO_E_INVALID
#define E_ABSENT VFIO_IOMMU_INFO_E_ABSENT
#define E_RANGE VFIO_IOMMU_INFO_E_RANGE
#define PREFIX "vfio_iommu_info_"

/* ---- The harness: cases, reasons, watched out-parameters. ---- */

static int passed, failed;
static char case_name[512];
static char why[8192];
static size_t why_len;

static void whyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void whyf(const char *fmt, ...)
{
	va_list ap;
	if (why_len && why_len < sizeof(why) - 2)
		why_len += (size_t)snprintf(why + why_len, sizeof(why) - why_len, "; ");
	if (why_len >= sizeof(why) - 1)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(why + why_len, sizeof(why) - why_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		why_len = why_len + (size_t)n < sizeof(why) ? why_len + (size_t)n : sizeof(why) - 1;
}

#define MAX_WATCH 4
static struct {
	const unsigned char *p;
	size_t n;
	unsigned char copy[1024];
} watches[MAX_WATCH];
static int n_watches;

static int begin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int begin(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(case_name, sizeof(case_name), fmt, ap);
	va_end(ap);
	why_len = 0;
	why[0] = 0;
	n_watches = 0;
	return 1;
}

static int end(void)
{
	if (why_len == 0) {
		printf("ok %s\n", case_name);
		passed++;
	} else {
		printf("FAIL %s: %s\n", case_name, why);
		failed++;
	}
	fflush(stdout);
	return 0;
}

/* One case: CASE("name %d", i) { ...checks... } reports ok or FAIL at the block's end. */
#define CASE(...) for (int once_ = begin(__VA_ARGS__); once_; once_ = end())

static void skip(const char *name, const char *reason)
{
	printf("skip %s: %s\n", name, reason);
}

/* Remembers an out-parameter's bytes, to compare after a failing call. */
static void watch(const void *p, size_t n)
{
	if (n_watches == MAX_WATCH || n > sizeof(watches[0].copy)) {
		whyf("harness: cannot watch %zu bytes", n);
		return;
	}
	watches[n_watches].p = p;
	watches[n_watches].n = n;
	memcpy(watches[n_watches].copy, p, n);
	n_watches++;
}

static void check_untouched(void)
{
	for (int i = 0; i < n_watches; i++) {
		for (size_t b = 0; b < watches[i].n; b++) {
			if (watches[i].p[b] != watches[i].copy[b]) {
				whyf("out-parameter %d written on failure (byte %zu: %#x, was %#x)", i, b,
				     watches[i].p[b], watches[i].copy[b]);
				break;
			}
		}
	}
	n_watches = 0;
}

static const char *last(void)
{
	return vfio_iommu_info_last_error();
}

static void check_contains(const char *needle)
{
	if (!strstr(last(), needle))
		whyf("last error \"%s\" lacks \"%s\"", last(), needle);
}

/* The message of a failure starts with the function's name: "vfio_iommu_info_x: ". */
static void check_prefix(const char *call)
{
	char fn[128];
	size_t n = strcspn(call, "( ");
	if (n >= sizeof(fn) - 2)
		n = sizeof(fn) - 3;
	memcpy(fn, call, n);
	fn[n] = ':';
	fn[n + 1] = ' ';
	fn[n + 2] = 0;
	if (strncmp(last(), fn, n + 2) != 0)
		whyf("last error \"%s\" does not start with \"%s\"", last(), fn);
}

static void check_rc(int rc, int want, const char *call)
{
	if (rc != want)
		whyf("%s returned %d (%s), want %d (%s); last error: %s", call, rc,
		     vfio_iommu_info_strerror(rc), want, vfio_iommu_info_strerror(want), last());
}

/* A call that must fail with `want`: the code, the watched out-parameters untouched, the
 * message naming the function and holding each needle. */
#define FAILS(call, want, ...)                                                           \
	do {                                                                             \
		int rc_ = (call);                                                        \
		const char *needles_[] = { __VA_ARGS__ };                                \
		check_rc(rc_, (want), #call);                                            \
		check_untouched();                                                       \
		if (rc_ != 0) {                                                          \
			check_prefix(#call);                                             \
			for (size_t i_ = 0; i_ < sizeof(needles_) / sizeof(*needles_); i_++) \
				if (needles_[i_][0])                                     \
					check_contains(needles_[i_]);                    \
		}                                                                        \
	} while (0)

/* A call that must succeed, leaving the last error empty. */
#define OK(call)                                                                         \
	do {                                                                             \
		int rc_ = (call);                                                        \
		check_rc(rc_, 0, #call);                                                 \
		if (rc_ == 0 && last()[0])                                               \
			whyf("%s succeeded but the last error is \"%s\"", #call, last()); \
		n_watches = 0;                                                           \
	} while (0)

/* A call that may answer 0 or one of the failures listed (E_ABSENT...): on failure the
 * watched out-parameters are untouched and the message names the function. Yields rc. */
static int settle(int rc, const char *call, int alt1, int alt2)
{
	if (rc == 0) {
		if (last()[0])
			whyf("%s succeeded but the last error is \"%s\"", call, last());
		n_watches = 0;
		return 0;
	}
	if (rc != alt1 && rc != alt2)
		whyf("%s returned %d (%s); last error: %s", call, rc, vfio_iommu_info_strerror(rc),
		     last());
	else
		check_prefix(call);
	check_untouched();
	return rc;
}
#define MAY(call, alt1, alt2) settle((call), #call, (alt1), (alt2))

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond))                                                             \
			whyf("line %d: %s", __LINE__, #cond);                            \
	} while (0)

#define SENT(x) memset(&(x), 0xA5, sizeof(x))
/* A sized struct: sentinel bytes with `size` set as the contract asks. */
#define SENT_SIZED(x) (SENT(x), (x).size = (uint32_t)sizeof(x))

static char msg[512];
static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	vsnprintf(msg, sizeof(msg), f, ap);
	va_end(ap);
	return msg;
}

/* Sets the leading `uint32_t size` of a sized struct. */
static void set_size(void *p, size_t n)
{
	uint32_t size = (uint32_t)n;
	memcpy(p, &size, sizeof(size));
}

/* ---- The matrix for one accessor shape, as macros over the function. ---- */

/* f(obj, const T **items, size_t *count), a list call (since 0.4): NULL obj, NULL items,
 * NULL count, each E_NULL with the other outputs untouched; then a call on obj that
 * lends `want` elements, NULL exactly when there are none. */
#define LIST(f, obj, T, oname, want)                                                     \
	do {                                                                             \
		CASE("%s/%s=NULL", #f + strlen(PREFIX), oname) {                         \
			const T *p_;                                                     \
			size_t n_;                                                       \
			SENT(p_);                                                        \
			SENT(n_);                                                        \
			watch(&p_, sizeof(p_));                                          \
			watch(&n_, sizeof(n_));                                          \
			FAILS(f(NULL, &p_, &n_), E_NULL, oname " is NULL");              \
		}                                                                        \
		CASE("%s/items=NULL", #f + strlen(PREFIX)) {                             \
			size_t n_;                                                       \
			SENT(n_);                                                        \
			watch(&n_, sizeof(n_));                                          \
			FAILS(f((obj), NULL, &n_), E_NULL, "items is NULL");             \
		}                                                                        \
		CASE("%s/count=NULL", #f + strlen(PREFIX)) {                             \
			const T *p_;                                                     \
			SENT(p_);                                                        \
			watch(&p_, sizeof(p_));                                          \
			FAILS(f((obj), &p_, NULL), E_NULL, "count is NULL");             \
		}                                                                        \
		CASE("%s/lends-%zu", #f + strlen(PREFIX), (size_t)(want)) {              \
			const T *p_;                                                     \
			size_t n_;                                                       \
			SENT(p_);                                                        \
			SENT(n_);                                                        \
			OK(f((obj), &p_, &n_));                                          \
			CHECK(n_ == (size_t)(want) && (p_ == NULL) == (n_ == 0));        \
		}                                                                        \
	} while (0)

/* f(obj, T *out): NULL obj, NULL out. */
#define GET(f, obj, T, oname, pname)                                                     \
	do {                                                                             \
		CASE("%s/%s=NULL", #f + strlen(PREFIX), oname) {                         \
			T v_;                                                            \
			SENT(v_);                                                        \
			watch(&v_, sizeof(v_));                                          \
			FAILS(f(NULL, &v_), E_NULL, oname " is NULL");                   \
		}                                                                        \
		CASE("%s/%s=NULL", #f + strlen(PREFIX), pname) {                         \
			FAILS(f((obj), NULL), E_NULL, pname " is NULL");                 \
		}                                                                        \
	} while (0)

/* f(obj, T *out) where T is sized: also `size` 0 and sizeof - 1. */
#define GET_S(f, obj, T, oname, pname)                                                   \
	do {                                                                             \
		CASE("%s/%s=NULL", #f + strlen(PREFIX), oname) {                         \
			T v_;                                                            \
			SENT_SIZED(v_);                                                  \
			watch(&v_, sizeof(v_));                                          \
			FAILS(f(NULL, &v_), E_NULL, oname " is NULL");                   \
		}                                                                        \
		CASE("%s/%s=NULL", #f + strlen(PREFIX), pname) {                         \
			FAILS(f((obj), NULL), E_NULL, pname " is NULL");                 \
		}                                                                        \
		CASE("%s/%s->size=0", #f + strlen(PREFIX), pname) {                      \
			T v_;                                                            \
			SENT(v_);                                                        \
			v_.size = 0;                                                     \
			watch(&v_, sizeof(v_));                                          \
			FAILS(f((obj), &v_), E_INVALID, pname "->size is 0");            \
		}                                                                        \
		CASE("%s/%s->size=sizeof-1", #f + strlen(PREFIX), pname) {               \
			T v_;                                                            \
			SENT(v_);                                                        \
			v_.size = (uint32_t)sizeof(v_) - 1;                              \
			watch(&v_, sizeof(v_));                                          \
			FAILS(f((obj), &v_), E_INVALID, pname "->size is");              \
		}                                                                        \
	} while (0)

/* f(obj, size_t index, T *out): NULL obj, NULL out, index count, count + 1, SIZE_MAX
 * (E_RANGE, or `past` for a list that is absent). `sized`: T has a `size` field. */
#define GETI_(f, obj, T, oname, pname, count, past, sized)                              \
	do {                                                                             \
		size_t idx_[3] = { (count), (count) + 1, SIZE_MAX };                     \
		CASE("%s/%s=NULL", #f + strlen(PREFIX), oname) {                         \
			T v_;                                                            \
			SENT(v_);                                                        \
			if (sized)                                                       \
				set_size(&v_, sizeof(v_));                               \
			watch(&v_, sizeof(v_));                                          \
			FAILS(f(NULL, 0, &v_), E_NULL, oname " is NULL");                \
		}                                                                        \
		CASE("%s/%s=NULL", #f + strlen(PREFIX), pname) {                         \
			FAILS(f((obj), 0, NULL), E_NULL, pname " is NULL");              \
		}                                                                        \
		for (int k_ = 0; k_ < 3; k_++)                                           \
			CASE("%s/index=%s(%zu)", #f + strlen(PREFIX),                    \
			     k_ == 0 ? "count" : k_ == 1 ? "count+1" : "SIZE_MAX", idx_[k_]) { \
				T v_;                                                    \
				SENT(v_);                                                \
				if (sized)                                               \
					set_size(&v_, sizeof(v_));                       \
				watch(&v_, sizeof(v_));                                  \
				FAILS(f((obj), idx_[k_], &v_), (past),                   \
				      (past) == E_RANGE ? "index" : "");                 \
			}                                                                \
	} while (0)
#define GETI(f, obj, T, oname, pname, count) GETI_(f, obj, T, oname, pname, count, E_RANGE, 0)
#define GETI_S(f, obj, T, oname, pname, count)                                           \
	do {                                                                             \
		GETI_(f, obj, T, oname, pname, count, E_RANGE, 1);                       \
		CASE("%s/%s->size=0", #f + strlen(PREFIX), pname) {                      \
			T v_;                                                            \
			SENT(v_);                                                        \
			v_.size = 0;                                                     \
			watch(&v_, sizeof(v_));                                          \
			FAILS(f((obj), 0, &v_), E_INVALID, pname "->size is 0");        \
		}                                                                        \
	} while (0)

/* ---- Buffers laid out as the kernel fills them (native byte order). ---- */

struct buf {
	unsigned char b[256];
	size_t len;
};

static void put(struct buf *b, size_t at, uint64_t v, size_t width)
{
	switch (width) {
	case 2: { uint16_t x = (uint16_t)v; memcpy(b->b + at, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)v; memcpy(b->b + at, &x, 4); break; }
	default: memcpy(b->b + at, &v, 8); break;
	}
	if (at + width > b->len)
		b->len = at + width;
}

static void cap_header(struct buf *b, size_t at, uint16_t id, uint16_t version, uint32_t next)
{
	put(b, at, id, 2);
	put(b, at + 2, version, 2);
	put(b, at + 4, next, 4);
}

/* struct vfio_iommu_type1_info with every capability: IOVA ranges [0, 0xfedfffff] and
 * [0xfef00000, 0xffffffffff] (the MSI hole between), MIGRATION, DMA_AVAIL 65535, and an
 * unknown capability 99. */
static struct buf full_iommu_info(void)
{
	struct buf b = { { 0 }, 0 };
	put(&b, 4, 3, 4); /* PGSIZES | CAPS */
	put(&b, 8, 0x40201000ull, 8);
	put(&b, 16, 24, 4);
	put(&b, 20, 0, 4);
	cap_header(&b, 24, 1, 1, 72);
	put(&b, 32, 2, 4);
	put(&b, 36, 0, 4);
	put(&b, 40, 0, 8);
	put(&b, 48, 0xfedfffffull, 8);
	put(&b, 56, 0xfef00000ull, 8);
	put(&b, 64, 0xffffffffffull, 8);
	cap_header(&b, 72, 2, 1, 104);
	put(&b, 80, 0, 4);
	put(&b, 88, 0x1000, 8);
	put(&b, 96, 0x10000000, 8);
	cap_header(&b, 104, 3, 1, 120);
	put(&b, 112, 65535, 4);
	put(&b, 116, 0, 4);
	cap_header(&b, 120, 99, 1, 0);
	put(&b, 128, 0x1122334455667788ull, 8);
	put(&b, 0, b.len, 4);
	return b;
}

/* A kernel before 5.4 without page sizes: nothing but the fixed part, flags 0. */
static struct buf bare_iommu_info(void)
{
	struct buf b = { { 0 }, 0 };
	put(&b, 0, 24, 4);
	put(&b, 4, 0, 4);
	put(&b, 8, 0, 8);
	put(&b, 16, 0, 8);
	return b;
}

/* struct vfio_device_info of an x86 PCI function: no capabilities. */
static struct buf plain_device_info(void)
{
	struct buf b = { { 0 }, 0 };
	put(&b, 0, 24, 4);
	put(&b, 4, 0x3, 4); /* RESET | PCI */
	put(&b, 8, 9, 4);
	put(&b, 12, 5, 4);
	put(&b, 16, 0, 4);
	put(&b, 20, 0, 4);
	return b;
}

/* struct vfio_region_info of BAR0: readable, writable, mmappable, no capabilities. */
static struct buf bar0_region_info(void)
{
	struct buf b = { { 0 }, 0 };
	put(&b, 0, 32, 4);
	put(&b, 4, 0x7, 4);
	put(&b, 8, 0, 4);
	put(&b, 12, 0, 4);
	put(&b, 16, 0x1000, 8);
	put(&b, 24, 0, 8);
	return b;
}

static struct vfio_iommu_info *decode_or_die(struct buf b)
{
	struct vfio_iommu_info *info = NULL;
	if (vfio_iommu_info_decode(b.b, b.len, VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE, &info) != 0) {
		fprintf(stderr, "bad-input-test: cannot decode a built buffer: %s\n", last());
		exit(2);
	}
	return info;
}

/* ---- Static functions and the free functions. ---- */

static void test_static_functions(void)
{
	struct vfio_iommu_info *info = NULL;
	char saved[512];

	CASE("version") {
		uint32_t v = vfio_iommu_info_version();
		const char *s = vfio_iommu_info_version_string();
		CHECK(v >> 16 == VFIO_IOMMU_INFO_VERSION_MAJOR && ((v >> 8) & 0xff) >= VFIO_IOMMU_INFO_VERSION_MINOR);
		CHECK(s != NULL && strlen(s) >= 5);
	}
	/* Set a last error, then call every function that returns no int: it stays. */
	vfio_iommu_info_decode(NULL, 1, 0, &info);
	snprintf(saved, sizeof(saved), "%s", last());
	CASE("strerror/unknown-codes") {
		const int codes[] = { 1, INT_MAX, INT_MIN, -4096, -4095 - 1000, -4200, -1, -4095 };
		for (size_t i = 0; i < sizeof(codes) / sizeof(*codes); i++) {
			const char *s = vfio_iommu_info_strerror(codes[i]);
			if (!s || !s[0])
				whyf("strerror(%d) is NULL or empty", codes[i]);
		}
		CHECK(strstr(vfio_iommu_info_strerror(1), "not a vfio-iommu-info result code"));
		CHECK(strstr(vfio_iommu_info_strerror(INT_MIN), "not a vfio-iommu-info result code"));
		CHECK(strstr(vfio_iommu_info_strerror(-4096), "not a vfio-iommu-info result code"));
		for (int c = -4116; c <= -4097; c++)
			if (strstr(vfio_iommu_info_strerror(c), "not a vfio-iommu-info"))
				whyf("strerror(%d) does not know its own code", c);
	}
	CASE("span_problem_str/out-of-range") {
		const uint32_t v[] = { 10, 11, 255, UINT32_MAX };
		for (size_t i = 0; i < 4; i++) {
			const char *s = vfio_iommu_info_span_problem_str(v[i]);
			if (!s || !s[0])
				whyf("span_problem_str(%u) is NULL or empty", v[i]);
		}
		for (uint32_t p = 0; p <= 9; p++)
			CHECK(vfio_iommu_info_span_problem_str(p) && vfio_iommu_info_span_problem_str(p)[0]);
	}
	CASE("backend_str/out-of-range") {
		CHECK(strcmp(vfio_iommu_info_backend_str(0), "unknown") == 0);
		CHECK(strcmp(vfio_iommu_info_backend_str(VFIO_IOMMU_INFO_BACKEND_SPAPR_TCE + 1), "unknown") == 0);
		CHECK(strcmp(vfio_iommu_info_backend_str(VFIO_IOMMU_INFO_BACKEND_SPAPR_TCE), "spapr-tce") == 0);
		CHECK(strcmp(vfio_iommu_info_backend_str(UINT32_MAX), "unknown") == 0);
		CHECK(strcmp(vfio_iommu_info_backend_str(VFIO_IOMMU_INFO_BACKEND_TYPE1), "type1") == 0);
	}
	CASE("source_str/out-of-range") {
		CHECK(strcmp(vfio_iommu_info_source_str(0), "none") == 0);
		CHECK(strcmp(vfio_iommu_info_source_str(VFIO_IOMMU_INFO_SOURCE_SPAPR_DDW + 1), "unknown") == 0);
		CHECK(strcmp(vfio_iommu_info_source_str(VFIO_IOMMU_INFO_SOURCE_SPAPR_DDW), "spapr:ddw") == 0);
		CHECK(strcmp(vfio_iommu_info_source_str(UINT32_MAX), "unknown") == 0);
	}
	CASE("free-functions/NULL") {
		vfio_iommu_info_free(NULL);
		vfio_iommu_info_container_free(NULL);
		vfio_iommu_info_space_free(NULL);
		vfio_iommu_info_allocator_free(NULL);
		vfio_iommu_info_layout_free(NULL);
		vfio_iommu_info_device_info_free(NULL);
		vfio_iommu_info_region_info_free(NULL);
		vfio_iommu_info_iommufd_free(NULL);
		vfio_iommu_info_string_free(NULL);
	}
	CASE("last_error/kept-by-non-int-functions") {
		CHECK(last() != NULL);
		if (strcmp(last(), saved) != 0)
			whyf("last error changed from \"%s\" to \"%s\"", saved, last());
		CHECK(strstr(saved, "vfio_iommu_info_decode: buf is NULL"));
	}
	CASE("last_error/reset-by-success") {
		struct vfio_iommu_info *i = NULL;
		struct buf b = bare_iommu_info();
		OK(vfio_iommu_info_decode(b.b, b.len, VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE, &i));
		CHECK(last() != NULL && last()[0] == 0);
		vfio_iommu_info_free(i);
	}
}

/* ---- Decoders. ---- */

typedef int (*decoder)(const uint8_t *, size_t, uint32_t, void **);

static int dec_iommu(const uint8_t *b, size_t n, uint32_t o, void **out)
{
	return vfio_iommu_info_decode(b, n, o, (struct vfio_iommu_info **)out);
}
static int dec_device(const uint8_t *b, size_t n, uint32_t o, void **out)
{
	return vfio_iommu_info_device_info_decode(b, n, o, (struct vfio_iommu_info_device_info **)out);
}
static int dec_region(const uint8_t *b, size_t n, uint32_t o, void **out)
{
	return vfio_iommu_info_region_info_decode(b, n, o, (struct vfio_iommu_info_region_info **)out);
}
static void free_iommu(void *p) { vfio_iommu_info_free(p); }
static void free_device(void *p) { vfio_iommu_info_device_info_free(p); }
static void free_region(void *p) { vfio_iommu_info_region_info_free(p); }

static const struct kind {
	const char *name, *fn, *structure;
	decoder decode;
	void (*free)(void *);
	struct buf (*good)(void);
	size_t fixed;
} kinds[] = {
	{ "iommu", PREFIX "decode", "struct vfio_iommu_type1_info", dec_iommu, free_iommu, full_iommu_info, 16 },
	{ "device", PREFIX "device_info_decode", "", dec_device, free_device, plain_device_info, 16 },
	{ "region", PREFIX "region_info_decode", "", dec_region, free_region, bar0_region_info, 32 },
};

static void test_decoders(void)
{
	for (size_t k = 0; k < 3; k++) {
		const struct kind *d = &kinds[k];
		struct buf good = d->good();
		void *out;
		char null_msg[64];
		snprintf(null_msg, sizeof(null_msg), "%s: buf is NULL", d->fn);

#define DEC_FAILS(buf, len, order, want, ...)                                            \
	do {                                                                             \
		SENT(out);                                                               \
		watch(&out, sizeof(out));                                                \
		int rc_ = d->decode((buf), (len), (order), &out);                        \
		const char *needles_[] = { __VA_ARGS__ };                                \
		check_rc(rc_, (want), d->fn);                                            \
		check_untouched();                                                       \
		if (rc_ != 0) {                                                          \
			check_prefix(d->fn);                                             \
			for (size_t i_ = 0; i_ < sizeof(needles_) / sizeof(*needles_); i_++) \
				if (needles_[i_][0])                                     \
					check_contains(needles_[i_]);                    \
		} else {                                                                 \
			d->free(out);                                                    \
		}                                                                        \
	} while (0)

		CASE("%s/buf=NULL,len=%zu", d->fn + strlen(PREFIX), good.len)
			DEC_FAILS(NULL, good.len, 0, E_NULL, null_msg);
		CASE("%s/buf=NULL,len=SIZE_MAX", d->fn + strlen(PREFIX))
			DEC_FAILS(NULL, SIZE_MAX, 0, E_NULL, "buf is NULL");
		CASE("%s/out=NULL", d->fn + strlen(PREFIX)) {
			int rc = d->decode(good.b, good.len, 0, NULL);
			check_rc(rc, E_NULL, d->fn);
			check_contains("out is NULL");
			check_prefix(d->fn);
		}
		CASE("%s/out=NULL,buf=NULL,len=0", d->fn + strlen(PREFIX)) {
			int rc = d->decode(NULL, 0, 0, NULL);
			check_rc(rc, E_NULL, d->fn);
			check_contains("out is NULL");
		}
		CASE("%s/buf=NULL,len=0", d->fn + strlen(PREFIX))
			DEC_FAILS(NULL, 0, 0, E_MALFORMED, "byte offset 0", "the buffer is 0 bytes");
		CASE("%s/len=0", d->fn + strlen(PREFIX))
			DEC_FAILS(good.b, 0, 0, E_MALFORMED, "byte offset 0", "the buffer is 0 bytes");
		CASE("%s/len=fixed-1", d->fn + strlen(PREFIX))
			DEC_FAILS(good.b, d->fixed - 1, 0, E_MALFORMED, fmt("byte offset %zu", d->fixed - 1),
				  fmt("the buffer is %zu bytes, shorter than the %zu-byte fixed part", d->fixed - 1, d->fixed));
		CASE("%s/len=SIZE_MAX", d->fn + strlen(PREFIX))
			DEC_FAILS(good.b, SIZE_MAX, 0, E_INVALID, "len 18446744073709551615");
		CASE("%s/len=PTRDIFF_MAX+1", d->fn + strlen(PREFIX))
			DEC_FAILS(good.b, (size_t)PTRDIFF_MAX + 1, 0, E_INVALID, "larger than any buffer");
		const uint32_t orders[] = { 3, 4, 0x100, UINT32_MAX };
		for (size_t i = 0; i < 4; i++)
			CASE("%s/byte_order=%" PRIu32, d->fn + strlen(PREFIX), orders[i])
				DEC_FAILS(good.b, good.len, orders[i], E_INVALID,
					  fmt("byte_order %" PRIu32, orders[i]));
		/* NULL out wins over a bad byte order; a bad byte order over a short buffer. */
		CASE("%s/byte_order=UINT32_MAX,len=0", d->fn + strlen(PREFIX))
			DEC_FAILS(good.b, 0, UINT32_MAX, E_INVALID, "byte_order");
		CASE("%s/good-buffer-decodes", d->fn + strlen(PREFIX)) {
			for (uint32_t o = 0; o <= 1; o++) { /* native and little: this is x86/arm */
				void *p = NULL;
				OK(d->decode(good.b, good.len, o, &p));
				CHECK(p != NULL);
				d->free(p);
			}
		}
#undef DEC_FAILS
	}
}

/* The 64 MiB buffers: all zero, and zero with argsz set to the length. Whatever the
 * answer, it comes at once (no walk over 64 MiB), out untouched on failure. */
static void test_huge_buffers(void)
{
	const size_t len = 64u << 20;
	unsigned char *z = calloc(len, 1);
	if (!z) {
		CASE("huge/alloc") whyf("cannot allocate 64 MiB");
		return;
	}
	for (int variant = 0; variant < 2; variant++) {
		if (variant) {
			uint32_t a = (uint32_t)len;
			memcpy(z, &a, 4);
		}
		for (size_t k = 0; k < 3; k++) {
			CASE("%s/64MiB-%s", kinds[k].fn + strlen(PREFIX), variant ? "argsz=len" : "zero") {
				void *out;
				struct timespec t0, t1;
				SENT(out);
				watch(&out, sizeof(out));
				clock_gettime(CLOCK_MONOTONIC, &t0);
				int rc = kinds[k].decode(z, len, VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE, &out);
				clock_gettime(CLOCK_MONOTONIC, &t1);
				double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
				if (s > 2.0)
					whyf("took %.2f s", s);
				if (settle(rc, kinds[k].fn, E_MALFORMED, E_MALFORMED) == 0) {
					/* Accepted: a fixed part with no flags and no chain. */
					if (k == 0) {
						struct vfio_iommu_info_header h;
						SENT_SIZED(h);
						OK(vfio_iommu_info_header(out, &h));
						CHECK(h.argsz == (variant ? len : 0) && h.flags == 0 &&
						      h.cap_offset == 0 && h.caps_truncated == 0);
						size_t n;
						OK(vfio_iommu_info_chain_length(out, &n));
						CHECK(n == 0);
						uint64_t bm;
						SENT(bm);
						watch(&bm, sizeof(bm));
						FAILS(vfio_iommu_info_page_sizes(out, &bm), E_ABSENT, "");
					} else if (k == 1) {
						struct vfio_iommu_info_device_header h;
						SENT_SIZED(h);
						OK(vfio_iommu_info_device_info_header(out, &h));
						CHECK(h.argsz == (variant ? len : 0) && h.caps_truncated == 0);
					} else {
						struct vfio_iommu_info_region_header h;
						SENT_SIZED(h);
						OK(vfio_iommu_info_region_info_header(out, &h));
						CHECK(h.argsz == (variant ? len : 0) && h.caps_truncated == 0);
					}
					kinds[k].free(out);
				} else {
					check_contains("byte offset");
				}
			}
		}
	}
	/* The same with the CAPS flag and a chain that starts at the last byte. */
	for (size_t k = 0; k < 3; k++) {
		CASE("%s/64MiB-chain-at-end", kinds[k].fn + strlen(PREFIX)) {
			uint32_t flags = k == 0 ? 2 : k == 1 ? 0x80 : 0x8;
			size_t cap_at = k == 2 ? 12 : 16;
			uint32_t off = (uint32_t)(len - 1);
			memcpy(z + 4, &flags, 4);
			memcpy(z + cap_at, &off, 4);
			void *out;
			SENT(out);
			watch(&out, sizeof(out));
			int rc = kinds[k].decode(z, len, VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE, &out);
			check_rc(rc, E_MALFORMED, kinds[k].fn);
			check_untouched();
			check_prefix(kinds[k].fn);
			check_contains(fmt("byte offset %zu: capability header at offset %zu (8 bytes) lies outside the %zu-byte buffer",
					   cap_at, len - 1, len));
			memset(z + 4, 0, 4);
			memset(z + cap_at, 0, 4);
		}
	}
	free(z);
}

/* ---- The info object's accessors. ---- */

static void test_info(void)
{
	struct buf fb = full_iommu_info(), bb = bare_iommu_info();
	struct vfio_iommu_info *full = decode_or_die(fb), *bare = decode_or_die(bb);
	size_t ranges = 0, holes = 0, unknown = 0, chain = 0;

	CASE("info/counts") {
		OK(vfio_iommu_info_iova_range_count(full, &ranges));
		OK(vfio_iommu_info_hole_count(full, &holes));
		OK(vfio_iommu_info_unknown_cap_count(full, &unknown));
		OK(vfio_iommu_info_chain_length(full, &chain));
		CHECK(ranges == 2 && holes == 1 && unknown == 1 && chain == 4);
	}

	GET_S(vfio_iommu_info_header, full, struct vfio_iommu_info_header, "info", "out");
	GET(vfio_iommu_info_page_sizes, full, uint64_t, "info", "bitmap");
	GET(vfio_iommu_info_iova_range_count, full, size_t, "info", "count");
	GETI(vfio_iommu_info_iova_range, full, struct vfio_iommu_info_range, "info", "range", ranges);
	GET(vfio_iommu_info_aperture, full, struct vfio_iommu_info_range, "info", "range");
	GET(vfio_iommu_info_hole_count, full, size_t, "info", "count");
	GETI(vfio_iommu_info_hole, full, struct vfio_iommu_info_range, "info", "range", holes);
	GET_S(vfio_iommu_info_migration, full, struct vfio_iommu_info_migration, "info", "out");
	GET(vfio_iommu_info_dma_avail, full, uint32_t, "info", "avail");
	GET(vfio_iommu_info_unknown_cap_count, full, size_t, "info", "count");
	GETI_S(vfio_iommu_info_unknown_cap, full, struct vfio_iommu_info_cap, "info", "out", unknown);
	GET(vfio_iommu_info_chain_length, full, size_t, "info", "count");
	GETI_S(vfio_iommu_info_chain_entry, full, struct vfio_iommu_info_cap, "info", "out", chain);
	LIST(vfio_iommu_info_unknown_caps, full, struct vfio_iommu_info_cap, "info", unknown);
	LIST(vfio_iommu_info_chain, full, struct vfio_iommu_info_cap, "info", chain);
	CASE("unknown_caps/empty-chain") {
		const struct vfio_iommu_info_cap *p;
		size_t n;
		SENT(p);
		SENT(n);
		OK(vfio_iommu_info_unknown_caps(bare, &p, &n));
		CHECK(p == NULL && n == 0);
		SENT(p);
		SENT(n);
		OK(vfio_iommu_info_chain(bare, &p, &n));
		CHECK(p == NULL && n == 0);
	}
	GET(vfio_iommu_info_to_json, full, char *, "info", "json");
	GET(vfio_iommu_info_space_from_info, full, struct vfio_iommu_info_space *, "info", "out");

	/* Absent items: E_ABSENT, out untouched, and absence() says why. */
	{
		uint64_t bm;
		size_t n;
		struct vfio_iommu_info_range r;
		struct vfio_iommu_info_migration m;
		uint32_t avail;
		struct vfio_iommu_info_space *sp;
		CASE("page_sizes/absent") { SENT(bm); watch(&bm, sizeof(bm)); FAILS(vfio_iommu_info_page_sizes(bare, &bm), E_ABSENT, ""); }
		CASE("iova_range_count/absent") { SENT(n); watch(&n, sizeof(n)); FAILS(vfio_iommu_info_iova_range_count(bare, &n), E_ABSENT, ""); }
		const size_t idx[] = { 0, 1, SIZE_MAX };
		for (int i = 0; i < 3; i++)
			CASE("iova_range/absent,index=%zu", idx[i]) { SENT(r); watch(&r, sizeof(r)); FAILS(vfio_iommu_info_iova_range(bare, idx[i], &r), E_ABSENT, ""); }
		for (int i = 0; i < 3; i++)
			CASE("hole/absent,index=%zu", idx[i]) { SENT(r); watch(&r, sizeof(r)); FAILS(vfio_iommu_info_hole(bare, idx[i], &r), E_ABSENT, ""); }
		CASE("aperture/absent") { SENT(r); watch(&r, sizeof(r)); FAILS(vfio_iommu_info_aperture(bare, &r), E_ABSENT, ""); }
		CASE("hole_count/absent") { SENT(n); watch(&n, sizeof(n)); FAILS(vfio_iommu_info_hole_count(bare, &n), E_ABSENT, ""); }
		CASE("migration/absent") { SENT_SIZED(m); watch(&m, sizeof(m)); FAILS(vfio_iommu_info_migration(bare, &m), E_ABSENT, ""); }
		CASE("dma_avail/absent") { SENT(avail); watch(&avail, sizeof(avail)); FAILS(vfio_iommu_info_dma_avail(bare, &avail), E_ABSENT, ""); }
		CASE("space_from_info/absent") { SENT(sp); watch(&sp, sizeof(sp)); FAILS(vfio_iommu_info_space_from_info(bare, &sp), E_ABSENT, ""); }
		CASE("unknown_cap/empty-chain") {
			struct vfio_iommu_info_cap c;
			SENT_SIZED(c);
			watch(&c, sizeof(c));
			FAILS(vfio_iommu_info_unknown_cap(bare, 0, &c), E_RANGE, "index");
			SENT_SIZED(c);
			watch(&c, sizeof(c));
			FAILS(vfio_iommu_info_chain_entry(bare, 0, &c), E_RANGE, "index");
		}
	}

	/* absence(info, cap_id, reason, text): NULL info and reason are errors, text is
	 * optional; unknown cap ids are E_INVALID. */
	CASE("absence/info=NULL") {
		uint32_t reason;
		const char *text;
		SENT(reason);
		SENT(text);
		watch(&reason, sizeof(reason));
		watch(&text, sizeof(text));
		FAILS(vfio_iommu_info_absence(NULL, 1, &reason, &text), E_NULL, "info is NULL");
	}
	CASE("absence/reason=NULL") {
		const char *text;
		SENT(text);
		watch(&text, sizeof(text));
		FAILS(vfio_iommu_info_absence(full, 1, NULL, &text), E_NULL, "reason is NULL");
	}
	CASE("absence/text=NULL-is-optional") {
		uint32_t reason = 77;
		OK(vfio_iommu_info_absence(bare, VFIO_IOMMU_INFO_CAP_IOVA_RANGE, &reason, NULL));
		CHECK(reason == VFIO_IOMMU_INFO_ABSENT_NO_CAPABILITY_CHAIN);
	}
	{
		const uint32_t ids[] = { 0, 4, 99, UINT32_MAX };
		for (int i = 0; i < 4; i++)
			CASE("absence/cap_id=%" PRIu32, ids[i]) {
				uint32_t reason;
				const char *text;
				SENT(reason);
				SENT(text);
				watch(&reason, sizeof(reason));
				watch(&text, sizeof(text));
				FAILS(vfio_iommu_info_absence(full, ids[i], &reason, &text), E_INVALID,
				      fmt("%" PRIu32, ids[i]));
			}
	}

	/* check(): NULL info, NULL verdict, size 0; zero length and wrapping spans are
	 * answers, not errors. */
	CASE("check/info=NULL") {
		struct vfio_iommu_info_verdict v;
		SENT_SIZED(v);
		watch(&v, sizeof(v));
		FAILS(vfio_iommu_info_check(NULL, 0, 4096, &v), E_NULL, "info is NULL");
	}
	CASE("check/verdict=NULL") { FAILS(vfio_iommu_info_check(full, 0, 4096, NULL), E_NULL, "verdict is NULL"); }
	CASE("check/verdict->size=0") {
		struct vfio_iommu_info_verdict v;
		SENT(v);
		v.size = 0;
		watch(&v, sizeof(v));
		FAILS(vfio_iommu_info_check(full, 0, 4096, &v), E_INVALID, "verdict->size is 0");
	}
	CASE("check/len=0-is-EMPTY") {
		struct vfio_iommu_info_verdict v;
		SENT_SIZED(v);
		OK(vfio_iommu_info_check(full, 0, 0, &v));
		CHECK(v.problem == VFIO_IOMMU_INFO_SPAN_EMPTY && v.size == sizeof(v));
	}
	CASE("check/iova=UINT64_MAX,len=2-WRAPS") {
		struct vfio_iommu_info_verdict v;
		SENT_SIZED(v);
		OK(vfio_iommu_info_check(full, UINT64_MAX, 2, &v));
		CHECK(v.problem == VFIO_IOMMU_INFO_SPAN_WRAPS);
	}
	CASE("check/len=UINT64_MAX") {
		struct vfio_iommu_info_verdict v;
		SENT_SIZED(v);
		OK(vfio_iommu_info_check(full, 0, UINT64_MAX, &v));
		CHECK(v.problem != VFIO_IOMMU_INFO_SPAN_OK);
	}
	CASE("check/absent-ranges-is-NO_RANGES") {
		struct vfio_iommu_info_verdict v;
		SENT_SIZED(v);
		OK(vfio_iommu_info_check(bare, 0, 4096, &v));
		CHECK(v.problem == VFIO_IOMMU_INFO_SPAN_NO_RANGES);
	}

	/* The facts of a type1 answer. */
	CASE("iommufd_facts/iommufd=NULL") {
		struct vfio_iommu_info_facts f;
		SENT_SIZED(f);
		watch(&f, sizeof(f));
		FAILS(vfio_iommu_info_iommufd_facts(NULL, &f), E_NULL, "iommufd is NULL");
	}
	CASE("facts_type1/info=NULL") {
		struct vfio_iommu_info_facts f;
		SENT_SIZED(f);
		watch(&f, sizeof(f));
		FAILS(vfio_iommu_info_facts_type1(NULL, VFIO_IOMMU_INFO_BACKEND_TYPE1, &f), E_NULL, "info is NULL");
	}
	CASE("facts_type1/out=NULL") {
		FAILS(vfio_iommu_info_facts_type1(full, VFIO_IOMMU_INFO_BACKEND_TYPE1, NULL), E_NULL, "out is NULL");
	}
	CASE("facts_type1/out->size=0") {
		struct vfio_iommu_info_facts f;
		SENT(f);
		f.size = 0;
		watch(&f, sizeof(f));
		FAILS(vfio_iommu_info_facts_type1(full, VFIO_IOMMU_INFO_BACKEND_TYPE1, &f), E_INVALID, "out->size is 0");
	}
	{
		const uint32_t backends[] = { 0, VFIO_IOMMU_INFO_BACKEND_IOMMUFD, 4, UINT32_MAX };
		for (int i = 0; i < 4; i++) {
			CASE("facts_type1/backend=%" PRIu32, backends[i]) {
				struct vfio_iommu_info_facts f;
				SENT_SIZED(f);
				watch(&f, sizeof(f));
				FAILS(vfio_iommu_info_facts_type1(full, backends[i], &f), E_INVALID, "backend");
			}
			CASE("facts_type1_to_json/backend=%" PRIu32, backends[i]) {
				char *json;
				SENT(json);
				watch(&json, sizeof(json));
				FAILS(vfio_iommu_info_facts_type1_to_json(full, backends[i], &json), E_INVALID, "backend");
			}
		}
	}
	CASE("facts_type1_to_json/info=NULL") {
		char *json;
		SENT(json);
		watch(&json, sizeof(json));
		FAILS(vfio_iommu_info_facts_type1_to_json(NULL, VFIO_IOMMU_INFO_BACKEND_TYPE1, &json), E_NULL, "info is NULL");
	}
	CASE("facts_type1_to_json/json=NULL") {
		FAILS(vfio_iommu_info_facts_type1_to_json(full, VFIO_IOMMU_INFO_BACKEND_TYPE1, NULL), E_NULL, "json is NULL");
	}
	CASE("facts_type1/bare-info") {
		struct vfio_iommu_info_facts f;
		SENT_SIZED(f);
		OK(vfio_iommu_info_facts_type1(bare, VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT, &f));
		CHECK(f.iova_ranges_source == 0 && f.page_sizes_source == 0 && f.iova_range_count == 0);
		char *json = NULL;
		OK(vfio_iommu_info_facts_type1_to_json(bare, VFIO_IOMMU_INFO_BACKEND_TYPE1, &json));
		CHECK(json && json[0] == '{');
		vfio_iommu_info_string_free(json);
	}

	vfio_iommu_info_free(full);
	vfio_iommu_info_free(bare);
}

/* ---- Spaces, allocators, layouts. ---- */

static void test_space(void)
{
	struct vfio_iommu_info *info = decode_or_die(full_iommu_info());
	struct vfio_iommu_info_space *space = NULL, *empty = NULL;
	size_t ranges = 0, holes = 0, reserved = 0;

	CASE("space/setup") {
		OK(vfio_iommu_info_space_from_info(info, &space));
		OK(vfio_iommu_info_space_range_count(space, &ranges));
		OK(vfio_iommu_info_space_hole_count(space, &holes));
		OK(vfio_iommu_info_space_reserved_count(space, &reserved));
		CHECK(ranges == 2 && holes == 1 && reserved == 2);
	}
	vfio_iommu_info_free(info);
	if (!space)
		return;

	/* space_new: NULL ranges with n > 0, NULL out, inverted ranges, impossible counts;
	 * zero ranges (NULL or not) is an empty space. */
	{
		struct vfio_iommu_info_range good[2] = { { 0, 0xffff }, { 0x20000, 0x2ffff } };
		struct vfio_iommu_info_range bad[2] = { { 0, 0xffff }, { 0x30000, 0x2ffff } };
		struct vfio_iommu_info_space *s;
		CASE("space_new/ranges=NULL,n=1") { SENT(s); watch(&s, sizeof(s)); FAILS(vfio_iommu_info_space_new(NULL, 1, 0x1000, &s), E_NULL, "ranges is NULL"); }
		CASE("space_new/ranges=NULL,n=SIZE_MAX") { SENT(s); watch(&s, sizeof(s)); FAILS(vfio_iommu_info_space_new(NULL, SIZE_MAX, 0x1000, &s), E_NULL, "ranges is NULL"); }
		CASE("space_new/out=NULL") { FAILS(vfio_iommu_info_space_new(good, 2, 0x1000, NULL), E_NULL, "out is NULL"); }
		CASE("space_new/inverted") { SENT(s); watch(&s, sizeof(s)); FAILS(vfio_iommu_info_space_new(bad, 2, 0x1000, &s), E_INVALID, ""); }
		CASE("space_new/n=SIZE_MAX") { SENT(s); watch(&s, sizeof(s)); FAILS(vfio_iommu_info_space_new(good, SIZE_MAX, 0x1000, &s), E_INVALID, "more than any array can hold"); }
		CASE("space_new/n=SIZE_MAX/16") { SENT(s); watch(&s, sizeof(s)); FAILS(vfio_iommu_info_space_new(good, SIZE_MAX / 16, 0x1000, &s), E_INVALID, "more than any array can hold"); }
		CASE("space_new/ranges=non-NULL,n=0") {
			s = NULL;
			OK(vfio_iommu_info_space_new(good, 0, 0, &s));
			size_t n = 9;
			OK(vfio_iommu_info_space_range_count(s, &n));
			CHECK(n == 0);
			vfio_iommu_info_space_free(s);
		}
		CASE("space_new/ranges=NULL,n=0") { OK(vfio_iommu_info_space_new(NULL, 0, 0, &empty)); }
	}

	GET(vfio_iommu_info_space_range_count, space, size_t, "space", "count");
	GETI(vfio_iommu_info_space_range, space, struct vfio_iommu_info_range, "space", "range", ranges);
	GET(vfio_iommu_info_space_page_sizes, space, uint64_t, "space", "bitmap");
	GET(vfio_iommu_info_space_granule, space, uint64_t, "space", "granule");
	GET(vfio_iommu_info_space_aperture, space, struct vfio_iommu_info_range, "space", "range");
	GET(vfio_iommu_info_space_hole_count, space, size_t, "space", "count");
	GETI_S(vfio_iommu_info_space_hole, space, struct vfio_iommu_info_hole, "space", "hole", holes);
	GET(vfio_iommu_info_space_reserved_count, space, size_t, "space", "count");
	GETI(vfio_iommu_info_space_reserved, space, struct vfio_iommu_info_range, "space", "range", reserved);
	GET(vfio_iommu_info_space_to_json, space, char *, "space", "json");
	GET(vfio_iommu_info_allocator_new, space, struct vfio_iommu_info_allocator *, "space", "out");
	/* 0.4: the whole space in one call, and a hole's causes in one call. */
	GET_S(vfio_iommu_info_space_view, space, struct vfio_iommu_info_space_view, "space", "view");
	CASE("space_view/lists") {
		struct vfio_iommu_info_space_view v;
		SENT_SIZED(v);
		OK(vfio_iommu_info_space_view(space, &v));
		CHECK(v.size == sizeof(v) && v.range_count == ranges && v.hole_count == holes &&
		      v.reserved_count == reserved && v.ranges && v.holes && v.reserved &&
		      v.facts && v.backend == 0);
	}
	for (size_t k = 0; k < 3; k++) {
		size_t idx = k == 0 ? holes : k == 1 ? holes + 1 : SIZE_MAX;
		CASE("space_hole_causes/index=%zu", idx) {
			const struct vfio_iommu_info_reserved_region *p;
			size_t n;
			SENT(p);
			SENT(n);
			watch(&p, sizeof(p));
			watch(&n, sizeof(n));
			FAILS(vfio_iommu_info_space_hole_causes(space, idx, &p, &n), E_RANGE,
			      "is past the end");
		}
	}
	CASE("space_hole_causes/space=NULL") {
		const struct vfio_iommu_info_reserved_region *p;
		size_t n;
		SENT(p);
		SENT(n);
		watch(&p, sizeof(p));
		watch(&n, sizeof(n));
		FAILS(vfio_iommu_info_space_hole_causes(NULL, 0, &p, &n), E_NULL, "space is NULL");
	}
	CASE("space_hole_causes/items=NULL") {
		size_t n;
		SENT(n);
		watch(&n, sizeof(n));
		FAILS(vfio_iommu_info_space_hole_causes(space, 0, NULL, &n), E_NULL, "items is NULL");
	}
	CASE("space_hole_causes/count=NULL") {
		const struct vfio_iommu_info_reserved_region *p;
		SENT(p);
		watch(&p, sizeof(p));
		FAILS(vfio_iommu_info_space_hole_causes(space, 0, &p, NULL), E_NULL, "count is NULL");
	}
	CASE("space_hole_causes/no-cause") {
		const struct vfio_iommu_info_reserved_region *p;
		size_t n;
		SENT(p);
		SENT(n);
		OK(vfio_iommu_info_space_hole_causes(space, 0, &p, &n));
		CHECK(p == NULL && n == 0);
	}

	/* 0.6: why a span is refused; a space with groups' reserved regions. */
	CASE("space_explain/space=NULL") {
		char *t;
		SENT(t);
		watch(&t, sizeof(t));
		FAILS(vfio_iommu_info_space_explain(NULL, 0, 4096, &t), E_NULL, "space is NULL");
	}
	CASE("space_explain/text=NULL") {
		FAILS(vfio_iommu_info_space_explain(space, 0, 4096, NULL), E_NULL, "text is NULL");
	}
	{
		/* Spans at every edge: empty, wrapping, the top page, everything; never a crash. */
		const uint64_t spans[][2] = { { 0, 0 }, { UINT64_MAX, 1 }, { UINT64_MAX, 2 },
					      { UINT64_MAX - 4095, 4096 }, { 0, UINT64_MAX }, { 1, 4096 } };
		for (size_t i = 0; i < sizeof(spans) / sizeof(*spans); i++)
			CASE("space_explain/iova=%#" PRIx64 ",len=%#" PRIx64, spans[i][0], spans[i][1]) {
				char *t = NULL;
				OK(vfio_iommu_info_space_explain(space, spans[i][0], spans[i][1], &t));
				CHECK(t == NULL || strncmp(t, "cannot map ", 11) == 0);
				vfio_iommu_info_string_free(t);
			}
	}
	CASE("space_with_groups/space=NULL") {
		struct vfio_iommu_info_space *o;
		SENT(o);
		watch(&o, sizeof(o));
		FAILS(vfio_iommu_info_space_with_groups(NULL, NULL, 0, &o), E_NULL, "space is NULL");
	}
	CASE("space_with_groups/out=NULL") {
		FAILS(vfio_iommu_info_space_with_groups(space, NULL, 0, NULL), E_NULL, "out is NULL");
	}
	CASE("space_with_groups/groups=NULL,count=1") {
		struct vfio_iommu_info_space *o;
		SENT(o);
		watch(&o, sizeof(o));
		FAILS(vfio_iommu_info_space_with_groups(space, NULL, 1, &o), E_NULL, "groups is NULL");
	}
	CASE("space_with_groups/group=4294967295") {
		const uint32_t g = UINT32_MAX;
		struct vfio_iommu_info_space *o;
		SENT(o);
		watch(&o, sizeof(o));
		FAILS(vfio_iommu_info_space_with_groups(space, &g, 1, &o), -ENOENT,
		      "iommu_groups/4294967295/reserved_regions");
	}
	CASE("space_with_groups/none") {
		struct vfio_iommu_info_space *o = NULL;
		OK(vfio_iommu_info_space_with_groups(space, NULL, 0, &o));
		CHECK(o != NULL);
		vfio_iommu_info_space_free(o);
	}

	/* 0.7: a whole guest's plan. */
	{
		struct vfio_iommu_info_guest_request req;
		struct vfio_iommu_info_ram_region dimm;
		const uint64_t bar = 1ull << 34;
		memset(&req, 0, sizeof(req));
		req.size = sizeof(req);
		req.ram = 1ull << 30;
		req.cpu_phys_bits = VFIO_IOMMU_INFO_CPU_BITS_UNKNOWN;
		req.dma_avail = -1;
		memset(&dimm, 0, sizeof(dimm));
		dimm.size = sizeof(dimm);
		dimm.flags = VFIO_IOMMU_INFO_RAM_FIXED;
		dimm.len = 2u << 20;
		dimm.addr = 0xfd00000000ull;
		CASE("guest_plan_new/space=NULL") {
			struct vfio_iommu_info_guest_plan *o;
			SENT(o);
			watch(&o, sizeof(o));
			FAILS(vfio_iommu_info_guest_plan_new(NULL, &req, NULL, 0, NULL, 0, NULL, 0, &o), E_NULL, "space is NULL");
		}
		CASE("guest_plan_new/req=NULL") {
			struct vfio_iommu_info_guest_plan *o;
			SENT(o);
			watch(&o, sizeof(o));
			FAILS(vfio_iommu_info_guest_plan_new(space, NULL, NULL, 0, NULL, 0, NULL, 0, &o), E_NULL, "req is NULL");
		}
		CASE("guest_plan_new/out=NULL") {
			FAILS(vfio_iommu_info_guest_plan_new(space, &req, NULL, 0, NULL, 0, NULL, 0, NULL), E_NULL, "out is NULL");
		}
		CASE("guest_plan_new/fixed=NULL,n=1") {
			struct vfio_iommu_info_guest_plan *o;
			SENT(o);
			watch(&o, sizeof(o));
			FAILS(vfio_iommu_info_guest_plan_new(space, &req, NULL, 1, NULL, 0, NULL, 0, &o), E_NULL, "fixed is NULL");
		}
		CASE("guest_plan_new/nodes=NULL,n=2") {
			struct vfio_iommu_info_guest_plan *o;
			SENT(o);
			watch(&o, sizeof(o));
			FAILS(vfio_iommu_info_guest_plan_new(space, &req, NULL, 0, NULL, 2, NULL, 0, &o), E_NULL, "nodes is NULL");
		}
		CASE("guest_plan_new/bars=NULL,n=SIZE_MAX") {
			struct vfio_iommu_info_guest_plan *o;
			SENT(o);
			watch(&o, sizeof(o));
			FAILS(vfio_iommu_info_guest_plan_new(space, &req, NULL, 0, NULL, 0, NULL, SIZE_MAX, &o), E_NULL, "bars is NULL");
		}
		{
			/* Requests that are no guest: each refused, *out untouched. */
			struct vfio_iommu_info_guest_request bad[8];
			for (size_t i = 0; i < 8; i++)
				bad[i] = req;
			bad[0].ram = 0;
			bad[1].ram = 4097;
			bad[2].viommu = 99;
			bad[3].flags = 1;
			bad[4].size = 8;
			bad[5].backend = VFIO_IOMMU_INFO_BACKEND_SPAPR_TCE;
			bad[6].dma_avail = -2;
			bad[7].phys_bits = 300;
			for (size_t i = 0; i < 8; i++)
				CASE("guest_plan_new/bad-request-%zu", i) {
					struct vfio_iommu_info_guest_plan *o;
					SENT(o);
					watch(&o, sizeof(o));
					FAILS(vfio_iommu_info_guest_plan_new(space, &bad[i], NULL, 0, NULL, 0, NULL, 0, &o), E_INVALID, "");
				}
		}
		CASE("guest_plan_new/fixed-without-flag") {
			struct vfio_iommu_info_ram_region d = dimm;
			struct vfio_iommu_info_guest_plan *o;
			d.flags = 0;
			SENT(o);
			watch(&o, sizeof(o));
			FAILS(vfio_iommu_info_guest_plan_new(space, &req, &d, 1, NULL, 0, NULL, 0, &o), E_INVALID, "VFIO_IOMMU_INFO_RAM_FIXED");
		}
		CASE("guest_plan/summary,text,free") {
			struct vfio_iommu_info_guest_plan *o = NULL;
			struct vfio_iommu_info_guest_summary sum;
			char *t = NULL;
			OK(vfio_iommu_info_guest_plan_new(space, &req, &dimm, 1, NULL, 0, &bar, 1, &o));
			CHECK(o != NULL);
			SENT_SIZED(sum);
			OK(vfio_iommu_info_guest_plan_summary(o, &sum));
			CHECK(sum.size == sizeof(sum) && sum.refusal_count > 0 && sum.fits == 0);
			for (uint32_t w = VFIO_IOMMU_INFO_GUEST_TEXT_REFUSALS; w <= VFIO_IOMMU_INFO_GUEST_TEXT_CLOUD_HYPERVISOR; w++) {
				t = NULL;
				OK(vfio_iommu_info_guest_plan_text(o, w, &t));
				CHECK(t != NULL);
				vfio_iommu_info_string_free(t);
			}
			SENT(t);
			watch(&t, sizeof(t));
			FAILS(vfio_iommu_info_guest_plan_text(o, 0, &t), E_INVALID, "what 0");
			FAILS(vfio_iommu_info_guest_plan_text(o, 1, NULL), E_NULL, "text is NULL");
			SENT(sum);
			sum.size = 4;
			watch(&sum, sizeof(sum));
			FAILS(vfio_iommu_info_guest_plan_summary(o, &sum), E_INVALID, "");
			FAILS(vfio_iommu_info_guest_plan_summary(o, NULL), E_NULL, "out is NULL");
			vfio_iommu_info_guest_plan_free(o);
		}
		CASE("guest_plan_summary/plan=NULL") {
			struct vfio_iommu_info_guest_summary sum;
			SENT_SIZED(sum);
			watch(&sum, sizeof(sum));
			FAILS(vfio_iommu_info_guest_plan_summary(NULL, &sum), E_NULL, "plan is NULL");
		}
		CASE("guest_plan_text/plan=NULL") {
			char *t;
			SENT(t);
			watch(&t, sizeof(t));
			FAILS(vfio_iommu_info_guest_plan_text(NULL, 1, &t), E_NULL, "plan is NULL");
		}
		CASE("guest_plan_free/NULL") { vfio_iommu_info_guest_plan_free(NULL); }
	}

	/* 0.8: what-if for hotplug. No group is attached on a host without an IOMMU: the
	 * group's sysfs file is missing, and nothing is stored. */
	{
		const uint32_t attached = 1;
		const struct vfio_iommu_info_range whole = { 0, UINT64_MAX };
		const struct vfio_iommu_info_range inverted = { 0x2000, 0x1000 };
		CASE("space_what_if_attach/space=NULL") {
			struct vfio_iommu_info_what_if w;
			SENT_SIZED(w);
			watch(&w, sizeof(w));
			FAILS(vfio_iommu_info_space_what_if_attach(NULL, NULL, 0, 1, NULL, 0, &w, NULL, NULL), E_NULL, "space is NULL");
		}
		CASE("space_what_if_attach/out=NULL") {
			FAILS(vfio_iommu_info_space_what_if_attach(space, NULL, 0, 1, NULL, 0, NULL, NULL, NULL), E_NULL, "out is NULL");
		}
		CASE("space_what_if_attach/out->size=4") {
			struct vfio_iommu_info_what_if w;
			SENT(w);
			w.size = 4;
			watch(&w, sizeof(w));
			FAILS(vfio_iommu_info_space_what_if_attach(space, NULL, 0, 1, NULL, 0, &w, NULL, NULL), E_INVALID, "out->size");
		}
		CASE("space_what_if_attach/attached=NULL,n=1") {
			struct vfio_iommu_info_what_if w;
			SENT_SIZED(w);
			watch(&w, sizeof(w));
			FAILS(vfio_iommu_info_space_what_if_attach(space, NULL, 1, 1, NULL, 0, &w, NULL, NULL), E_NULL, "attached is NULL");
		}
		CASE("space_what_if_attach/live=NULL,n=SIZE_MAX") {
			struct vfio_iommu_info_what_if w;
			SENT_SIZED(w);
			watch(&w, sizeof(w));
			FAILS(vfio_iommu_info_space_what_if_attach(space, &attached, 1, 1, NULL, SIZE_MAX, &w, NULL, NULL), E_NULL, "live is NULL");
		}
		CASE("space_what_if_attach/live=whole") {
			struct vfio_iommu_info_what_if w;
			SENT_SIZED(w);
			watch(&w, sizeof(w));
			FAILS(vfio_iommu_info_space_what_if_attach(space, NULL, 0, 1, &whole, 1, &w, NULL, NULL), E_INVALID, "live[0]");
		}
		CASE("space_what_if_attach/live=inverted") {
			struct vfio_iommu_info_what_if w;
			SENT_SIZED(w);
			watch(&w, sizeof(w));
			FAILS(vfio_iommu_info_space_what_if_attach(space, NULL, 0, 1, &inverted, 1, &w, NULL, NULL), E_INVALID, "live[0]");
		}
		CASE("space_what_if_attach/no-such-group") {
			struct vfio_iommu_info_what_if w;
			struct vfio_iommu_info_space *after;
			char *json;
			SENT_SIZED(w);
			SENT(after);
			SENT(json);
			watch(&w, sizeof(w));
			watch(&after, sizeof(after));
			watch(&json, sizeof(json));
			FAILS(vfio_iommu_info_space_what_if_attach(space, &attached, 1, UINT32_MAX, NULL, 0, &w, &after, &json), -ENOENT,
			      "iommu_groups/4294967295/reserved_regions");
		}
	}

	/* hole_cause: both indices; a space from an info object knows no causes. */
	{
		struct vfio_iommu_info_reserved_region rr;
		const size_t pairs[][2] = { { 0, 0 }, { holes, 0 }, { holes + 1, 0 }, { SIZE_MAX, 0 }, { 0, SIZE_MAX }, { SIZE_MAX, SIZE_MAX } };
		for (size_t i = 0; i < sizeof(pairs) / sizeof(*pairs); i++)
			CASE("space_hole_cause/hole_index=%zu,cause_index=%zu", pairs[i][0], pairs[i][1]) {
				SENT_SIZED(rr);
				watch(&rr, sizeof(rr));
				FAILS(vfio_iommu_info_space_hole_cause(space, pairs[i][0], pairs[i][1], &rr), E_RANGE, "");
			}
		CASE("space_hole_cause/space=NULL") { SENT_SIZED(rr); watch(&rr, sizeof(rr)); FAILS(vfio_iommu_info_space_hole_cause(NULL, 0, 0, &rr), E_NULL, "space is NULL"); }
		CASE("space_hole_cause/region=NULL") { FAILS(vfio_iommu_info_space_hole_cause(space, 0, 0, NULL), E_NULL, "region is NULL"); }
	}
	/* hole_at: NULL, and answers that are not errors. */
	CASE("space_hole_at/space=NULL") { size_t at; SENT(at); watch(&at, sizeof(at)); FAILS(vfio_iommu_info_space_hole_at(NULL, 0, &at), E_NULL, "space is NULL"); }
	CASE("space_hole_at/index=NULL") { FAILS(vfio_iommu_info_space_hole_at(space, 0, NULL), E_NULL, "index is NULL"); }
	CASE("space_hole_at/iova=UINT64_MAX") {
		size_t at = 7;
		OK(vfio_iommu_info_space_hole_at(space, UINT64_MAX, &at));
		CHECK(at == VFIO_IOMMU_INFO_NO_HOLE);
		OK(vfio_iommu_info_space_hole_at(empty, 0x1000, &at));
		CHECK(at == VFIO_IOMMU_INFO_NO_HOLE);
	}
	/* space_check: like check(). */
	CASE("space_check/space=NULL") { struct vfio_iommu_info_verdict v; SENT_SIZED(v); watch(&v, sizeof(v)); FAILS(vfio_iommu_info_space_check(NULL, 0, 4096, &v), E_NULL, "space is NULL"); }
	CASE("space_check/verdict=NULL") { FAILS(vfio_iommu_info_space_check(space, 0, 4096, NULL), E_NULL, "verdict is NULL"); }
	CASE("space_check/verdict->size=0") {
		struct vfio_iommu_info_verdict v;
		SENT(v);
		v.size = 0;
		watch(&v, sizeof(v));
		FAILS(vfio_iommu_info_space_check(space, 0, 4096, &v), E_INVALID, "verdict->size is 0");
	}
	CASE("space_check/len=0-is-EMPTY") {
		struct vfio_iommu_info_verdict v;
		SENT_SIZED(v);
		OK(vfio_iommu_info_space_check(space, 0x1000, 0, &v));
		CHECK(v.problem == VFIO_IOMMU_INFO_SPAN_EMPTY);
		SENT_SIZED(v);
		OK(vfio_iommu_info_space_check(empty, 0x1000, 0x1000, &v));
		CHECK(v.problem == VFIO_IOMMU_INFO_SPAN_NO_RANGES);
		SENT_SIZED(v);
		OK(vfio_iommu_info_space_check(space, UINT64_MAX - 0xfff, UINT64_MAX, &v));
		CHECK(v.problem == VFIO_IOMMU_INFO_SPAN_WRAPS);
	}
	/* The empty space: everything is an answer or E_ABSENT / E_RANGE. */
	if (empty) {
		CASE("space/empty") {
			size_t n = 9;
			uint64_t g = 0, bm;
			struct vfio_iommu_info_range r;
			struct vfio_iommu_info_hole h;
			OK(vfio_iommu_info_space_range_count(empty, &n));
			CHECK(n == 0);
			SENT(r); watch(&r, sizeof(r));
			FAILS(vfio_iommu_info_space_range(empty, 0, &r), E_RANGE, "index");
			SENT(r); watch(&r, sizeof(r));
			FAILS(vfio_iommu_info_space_aperture(empty, &r), E_ABSENT, "");
			SENT(bm); watch(&bm, sizeof(bm));
			FAILS(vfio_iommu_info_space_page_sizes(empty, &bm), E_ABSENT, "");
			OK(vfio_iommu_info_space_granule(empty, &g));
			CHECK(g == 4096);
			OK(vfio_iommu_info_space_hole_count(empty, &n));
			CHECK(n == 0);
			SENT_SIZED(h); watch(&h, sizeof(h));
			FAILS(vfio_iommu_info_space_hole(empty, 0, &h), E_RANGE, "index");
			OK(vfio_iommu_info_space_reserved_count(empty, &n));
			CHECK(n == 1);
			OK(vfio_iommu_info_space_reserved(empty, 0, &r));
			CHECK(r.start == 0 && r.end == UINT64_MAX);
			char *json = NULL;
			OK(vfio_iommu_info_space_to_json(empty, &json));
			CHECK(json && json[0] == '{');
			vfio_iommu_info_string_free(json);
		}
	}

	/* The allocator. */
	struct vfio_iommu_info_allocator *alloc = NULL, *empty_alloc = NULL;
	CASE("allocator/setup") {
		OK(vfio_iommu_info_allocator_new(space, &alloc));
		OK(vfio_iommu_info_allocator_new(empty, &empty_alloc));
	}
	if (alloc) {
		uint64_t iova;
		GET(vfio_iommu_info_allocator_live_count, alloc, size_t, "allocator", "count");
		GET(vfio_iommu_info_allocator_granule, alloc, uint64_t, "allocator", "granule");
		CASE("allocator_alloc/allocator=NULL") { SENT(iova); watch(&iova, sizeof(iova)); FAILS(vfio_iommu_info_allocator_alloc(NULL, 4096, 0, UINT64_MAX, &iova), E_NULL, "allocator is NULL"); }
		CASE("allocator_alloc/iova_out=NULL") {
			FAILS(vfio_iommu_info_allocator_alloc(alloc, 4096, 0, UINT64_MAX, NULL), E_NULL, "iova_out is NULL");
			size_t n = 9;
			OK(vfio_iommu_info_allocator_live_count(alloc, &n));
			CHECK(n == 0); /* nothing allocated by the failed call */
		}
		const struct { uint64_t size, align, limit; int want; const char *what, *needle; } a[] = {
			{ 0, 0, UINT64_MAX, E_INVALID, "size=0", "" },
			{ 4096, 3, UINT64_MAX, E_INVALID, "align=3", "3" },
			{ 4096, UINT64_MAX, UINT64_MAX, E_INVALID, "align=UINT64_MAX", "" },
			{ 4096, 0, 0, VFIO_IOMMU_INFO_E_NO_ROOM, "limit=0", "" },
			{ 4096, 0, 4094, VFIO_IOMMU_INFO_E_NO_ROOM, "limit=4094", "" },
			{ UINT64_MAX, 0, UINT64_MAX, VFIO_IOMMU_INFO_E_NO_ROOM, "size=UINT64_MAX", "" },
			{ UINT64_MAX - 4094, 0, UINT64_MAX, VFIO_IOMMU_INFO_E_NO_ROOM, "size=UINT64_MAX-4094", "" },
			{ 1ull << 40, 0, UINT64_MAX, VFIO_IOMMU_INFO_E_NO_ROOM, "size=1TiB", "" },
		};
		for (size_t i = 0; i < sizeof(a) / sizeof(*a); i++)
			CASE("allocator_alloc/%s", a[i].what) {
				SENT(iova);
				watch(&iova, sizeof(iova));
				FAILS(vfio_iommu_info_allocator_alloc(alloc, a[i].size, a[i].align, a[i].limit, &iova), a[i].want, a[i].needle);
			}
		CASE("allocator_alloc/align=2^63-no-aligned-address") {
			struct vfio_iommu_info_range above0 = { 0x1000, 0xffffffffull };
			struct vfio_iommu_info_space *s = NULL;
			struct vfio_iommu_info_allocator *al = NULL;
			OK(vfio_iommu_info_space_new(&above0, 1, 0x1000, &s));
			OK(vfio_iommu_info_allocator_new(s, &al));
			SENT(iova);
			watch(&iova, sizeof(iova));
			FAILS(vfio_iommu_info_allocator_alloc(al, 4096, 1ull << 63, UINT64_MAX, &iova), VFIO_IOMMU_INFO_E_NO_ROOM, "");
			vfio_iommu_info_allocator_free(al);
			vfio_iommu_info_space_free(s);
		}
		CASE("allocator_alloc/empty-space") { SENT(iova); watch(&iova, sizeof(iova)); FAILS(vfio_iommu_info_allocator_alloc(empty_alloc, 4096, 0, UINT64_MAX, &iova), VFIO_IOMMU_INFO_E_NO_ROOM, ""); }

		CASE("allocator_release/allocator=NULL") { uint64_t l; SENT(l); watch(&l, sizeof(l)); FAILS(vfio_iommu_info_allocator_release(NULL, 0, &l), E_NULL, "allocator is NULL"); }
		const uint64_t rel[] = { 0, 0x1000, UINT64_MAX, UINT64_MAX - 0xfff };
		for (size_t i = 0; i < 4; i++)
			CASE("allocator_release/not-allocated,iova=%#" PRIx64, rel[i]) {
				uint64_t l;
				SENT(l);
				watch(&l, sizeof(l));
				FAILS(vfio_iommu_info_allocator_release(alloc, rel[i], &l), VFIO_IOMMU_INFO_E_NOT_ALLOCATED, "");
				FAILS(vfio_iommu_info_allocator_release(alloc, rel[i], NULL), VFIO_IOMMU_INFO_E_NOT_ALLOCATED, "");
			}
		CASE("allocator_release/len_out=NULL-is-optional") {
			uint64_t at = 0;
			OK(vfio_iommu_info_allocator_alloc(alloc, 4096, 0, UINT64_MAX, &at));
			OK(vfio_iommu_info_allocator_release(alloc, at, NULL));
			uint64_t l;
			SENT(l);
			watch(&l, sizeof(l));
			FAILS(vfio_iommu_info_allocator_release(alloc, at, &l), VFIO_IOMMU_INFO_E_NOT_ALLOCATED, ""); /* released once */
		}

		CASE("allocator_reserve/allocator=NULL") { FAILS(vfio_iommu_info_allocator_reserve(NULL, 0x100000, 0x1000), E_NULL, "allocator is NULL"); }
		const struct { uint64_t iova, len; int want; const char *what; } r[] = {
			{ 0x100000, 0, E_INVALID, "len=0" },
			{ 0, 0, E_INVALID, "iova=0,len=0" },
			{ UINT64_MAX, 0, E_INVALID, "iova=UINT64_MAX,len=0" },
			{ 0xfee00000ull, 0x1000, VFIO_IOMMU_INFO_E_UNUSABLE, "in-hole" },
			{ 0x10000000000ull, 0x1000, VFIO_IOMMU_INFO_E_UNUSABLE, "beyond-aperture" },
			{ 0x100800, 0x1000, VFIO_IOMMU_INFO_E_UNUSABLE, "misaligned" },
			{ 0xfed00000ull, 0x200000, VFIO_IOMMU_INFO_E_UNUSABLE, "across-hole" },
			{ UINT64_MAX - 0xfff, 0x1000, VFIO_IOMMU_INFO_E_UNUSABLE, "top-page-beyond-aperture" },
			{ 0x1000, UINT64_MAX, VFIO_IOMMU_INFO_E_UNUSABLE, "len=UINT64_MAX" },
		};
		for (size_t i = 0; i < sizeof(r) / sizeof(*r); i++)
			CASE("allocator_reserve/%s", r[i].what) {
				FAILS(vfio_iommu_info_allocator_reserve(alloc, r[i].iova, r[i].len), r[i].want, "");
				size_t n = 9;
				OK(vfio_iommu_info_allocator_live_count(alloc, &n));
				CHECK(n == 0);
			}
		CASE("allocator_reserve/overlap") {
			OK(vfio_iommu_info_allocator_reserve(alloc, 0x100000, 0x2000));
			FAILS(vfio_iommu_info_allocator_reserve(alloc, 0x101000, 0x1000), VFIO_IOMMU_INFO_E_OVERLAP, "");
			OK(vfio_iommu_info_allocator_release(alloc, 0x100000, NULL));
		}
		CASE("allocator_reserve/top-page") {
			struct vfio_iommu_info_range whole = { 0, UINT64_MAX };
			struct vfio_iommu_info_space *s = NULL;
			struct vfio_iommu_info_allocator *al = NULL;
			OK(vfio_iommu_info_space_new(&whole, 1, 0x1000, &s));
			OK(vfio_iommu_info_allocator_new(s, &al));
			FAILS(vfio_iommu_info_allocator_reserve(al, UINT64_MAX - 0xfff, 0x1000), VFIO_IOMMU_INFO_E_TOP_PAGE, "");
			FAILS(vfio_iommu_info_allocator_reserve(al, UINT64_MAX - 0xfff, UINT64_MAX), VFIO_IOMMU_INFO_E_UNUSABLE, "");
			vfio_iommu_info_allocator_free(al);
			vfio_iommu_info_space_free(s);
		}
	}
	vfio_iommu_info_allocator_free(alloc);
	vfio_iommu_info_allocator_free(empty_alloc);

	/* The layout. */
	struct vfio_iommu_info_ram_region regs[2] = {
		{ sizeof(struct vfio_iommu_info_ram_region), 0, 1ull << 30, 0 },
		{ sizeof(struct vfio_iommu_info_ram_region), VFIO_IOMMU_INFO_RAM_FIXED, 0x200000, 0xfee00000ull },
	};
	struct vfio_iommu_info_layout *layout = NULL, *lo;
	CASE("layout_new/space=NULL") { SENT(lo); watch(&lo, sizeof(lo)); FAILS(vfio_iommu_info_layout_new(NULL, regs, 2, 65535, &lo), E_NULL, "space is NULL"); }
	CASE("layout_new/regions=NULL,n=2") { SENT(lo); watch(&lo, sizeof(lo)); FAILS(vfio_iommu_info_layout_new(space, NULL, 2, 65535, &lo), E_NULL, "regions is NULL"); }
	CASE("layout_new/out=NULL") { FAILS(vfio_iommu_info_layout_new(space, regs, 2, 65535, NULL), E_NULL, "out is NULL"); }
	{
		struct vfio_iommu_info_ram_region bad[2];
		const char *what[] = { "regions[0].size=0", "regions[0].size=sizeof-1", "regions[1].size-differs",
				       "flags=0x2", "flags=UINT32_MAX", "len=0", "fixed-len=0", "n=SIZE_MAX", "n=SIZE_MAX/32" };
		for (int i = 0; i < 9; i++) {
			memcpy(bad, regs, sizeof(bad));
			size_t n = 2;
			switch (i) {
			case 0: bad[0].size = 0; break;
			case 1: bad[0].size = sizeof(bad[0]) - 1; break;
			case 2: bad[1].size = sizeof(bad[0]) + 8; break;
			case 3: bad[0].flags = 2; break;
			case 4: bad[1].flags = UINT32_MAX; break;
			case 5: bad[0].len = 0; break;
			case 6: bad[1].len = 0; break;
			case 7: n = SIZE_MAX; break;
			case 8: n = SIZE_MAX / 32; break;
			}
			CASE("layout_new/%s", what[i]) {
				SENT(lo);
				watch(&lo, sizeof(lo));
				FAILS(vfio_iommu_info_layout_new(space, bad, n, 65535, &lo), E_INVALID, "");
			}
		}
		const int64_t avail[] = { -2, INT64_MIN, (int64_t)UINT32_MAX + 1, INT64_MAX };
		for (int i = 0; i < 4; i++)
			CASE("layout_new/dma_avail=%" PRId64, avail[i]) {
				SENT(lo);
				watch(&lo, sizeof(lo));
				FAILS(vfio_iommu_info_layout_new(space, regs, 2, avail[i], &lo), E_INVALID, "dma_avail");
			}
	}
	CASE("layout_new/regions=NULL,n=0") {
		lo = NULL;
		OK(vfio_iommu_info_layout_new(space, NULL, 0, VFIO_IOMMU_INFO_DMA_AVAIL_UNKNOWN, &lo));
		size_t n = 9;
		OK(vfio_iommu_info_layout_placement_count(lo, &n));
		CHECK(n == 0);
		const struct vfio_iommu_info_placement *places;
		SENT(places);
		n = 9;
		OK(vfio_iommu_info_layout_placements(lo, &places, &n));
		CHECK(places == NULL && n == 0);
		struct vfio_iommu_info_placement p;
		SENT_SIZED(p);
		watch(&p, sizeof(p));
		FAILS(vfio_iommu_info_layout_placement(lo, 0, &p), E_RANGE, "index");
		struct vfio_iommu_info_mappings m;
		SENT_SIZED(m);
		OK(vfio_iommu_info_layout_mappings(lo, &m));
		CHECK(m.all_placed == 1 && m.per_region == 0 && m.fits == -1);
		vfio_iommu_info_layout_free(lo);
	}
	CASE("layout_new/empty-space") {
		lo = NULL;
		OK(vfio_iommu_info_layout_new(empty, regs, 2, 0, &lo));
		struct vfio_iommu_info_placement p;
		SENT_SIZED(p);
		OK(vfio_iommu_info_layout_placement(lo, 0, &p));
		CHECK(p.result == VFIO_IOMMU_INFO_PLACEMENT_NO_ROOM);
		vfio_iommu_info_layout_free(lo);
	}
	CASE("layout/setup") { OK(vfio_iommu_info_layout_new(space, regs, 2, 65535, &layout)); }
	if (layout) {
		size_t places = 0, pages = 0;
		CASE("layout/counts") {
			OK(vfio_iommu_info_layout_placement_count(layout, &places));
			OK(vfio_iommu_info_layout_page_count(layout, &pages));
			CHECK(places == 2 && pages == 3);
			struct vfio_iommu_info_placement p;
			SENT_SIZED(p);
			OK(vfio_iommu_info_layout_placement(layout, 1, &p));
			CHECK(p.result == VFIO_IOMMU_INFO_PLACEMENT_CONFLICT && p.problem == VFIO_IOMMU_INFO_SPAN_IN_HOLE &&
			      p.hole_cause_count == 0);
		}
		GET(vfio_iommu_info_layout_placement_count, layout, size_t, "layout", "count");
		GETI_S(vfio_iommu_info_layout_placement, layout, struct vfio_iommu_info_placement, "layout", "out", places);
		GET_S(vfio_iommu_info_layout_mappings, layout, struct vfio_iommu_info_mappings, "layout", "out");
		GET(vfio_iommu_info_layout_page_count, layout, size_t, "layout", "count");
		GETI(vfio_iommu_info_layout_page, layout, struct vfio_iommu_info_mapping_count, "layout", "out", pages);
		LIST(vfio_iommu_info_layout_placements, layout, struct vfio_iommu_info_placement, "layout", places);
		LIST(vfio_iommu_info_layout_pages, layout, struct vfio_iommu_info_mapping_count, "layout", pages);
		GET(vfio_iommu_info_layout_to_json, layout, char *, "layout", "json");
		struct vfio_iommu_info_reserved_region rr;
		const size_t pairs[][2] = { { 0, 0 }, { 1, 0 }, { places, 0 }, { places + 1, 0 }, { SIZE_MAX, 0 }, { 1, SIZE_MAX } };
		for (size_t i = 0; i < sizeof(pairs) / sizeof(*pairs); i++)
			CASE("layout_hole_cause/index=%zu,cause_index=%zu", pairs[i][0], pairs[i][1]) {
				SENT_SIZED(rr);
				watch(&rr, sizeof(rr));
				FAILS(vfio_iommu_info_layout_hole_cause(layout, pairs[i][0], pairs[i][1], &rr), E_RANGE, "");
			}
		CASE("layout_hole_cause/layout=NULL") { SENT_SIZED(rr); watch(&rr, sizeof(rr)); FAILS(vfio_iommu_info_layout_hole_cause(NULL, 0, 0, &rr), E_NULL, "layout is NULL"); }
		CASE("layout_hole_cause/region=NULL") { FAILS(vfio_iommu_info_layout_hole_cause(layout, 1, 0, NULL), E_NULL, "region is NULL"); }
	}
	vfio_iommu_info_layout_free(layout);
	vfio_iommu_info_space_free(space);
	vfio_iommu_info_space_free(empty);
}

/* ---- Device and region info. ---- */

static void test_device_region(void)
{
	struct buf db = plain_device_info(), rb = bar0_region_info();
	struct vfio_iommu_info_device_info *dev = NULL;
	struct vfio_iommu_info_region_info *reg = NULL;
	CASE("device_region/setup") {
		OK(vfio_iommu_info_device_info_decode(db.b, db.len, VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE, &dev));
		OK(vfio_iommu_info_region_info_decode(rb.b, rb.len, VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE, &reg));
	}
	if (!dev || !reg)
		return;
	GET_S(vfio_iommu_info_device_info_header, dev, struct vfio_iommu_info_device_header, "info", "out");
	GET(vfio_iommu_info_device_info_dma_window, dev, struct vfio_iommu_info_range, "info", "window");
	GET_S(vfio_iommu_info_device_info_zpci_base, dev, struct vfio_iommu_info_zpci_base, "info", "out");
	GET_S(vfio_iommu_info_device_info_zpci_group, dev, struct vfio_iommu_info_zpci_group, "info", "out");
	GET(vfio_iommu_info_device_info_atomic_comp, dev, uint32_t, "info", "flags");
	GET(vfio_iommu_info_device_info_chain_length, dev, size_t, "info", "count");
	GETI_S(vfio_iommu_info_device_info_chain_entry, dev, struct vfio_iommu_info_cap, "info", "out", 0);
	LIST(vfio_iommu_info_device_info_chain, dev, struct vfio_iommu_info_cap, "info", 0);

	/* Without capabilities: every capability is E_ABSENT, out untouched. */
	CASE("device_info/absent-capabilities") {
		struct vfio_iommu_info_range w;
		struct vfio_iommu_info_zpci_base zb;
		struct vfio_iommu_info_zpci_group zg;
		uint32_t flags;
		SENT(w); watch(&w, sizeof(w));
		FAILS(vfio_iommu_info_device_info_dma_window(dev, &w), E_ABSENT, "");
		SENT_SIZED(zb); watch(&zb, sizeof(zb));
		FAILS(vfio_iommu_info_device_info_zpci_base(dev, &zb), E_ABSENT, "");
		SENT_SIZED(zg); watch(&zg, sizeof(zg));
		FAILS(vfio_iommu_info_device_info_zpci_group(dev, &zg), E_ABSENT, "");
		SENT(flags); watch(&flags, sizeof(flags));
		FAILS(vfio_iommu_info_device_info_atomic_comp(dev, &flags), E_ABSENT, "");
	}
	/* The byte-string accessors: three pointers each. */
#define BYTES_CASES(f)                                                                    \
	do {                                                                             \
		const uint8_t *p_;                                                       \
		size_t n_;                                                               \
		CASE("%s/info=NULL", #f + strlen(PREFIX)) { SENT(p_); SENT(n_); watch(&p_, sizeof(p_)); watch(&n_, sizeof(n_)); FAILS(f(NULL, &p_, &n_), E_NULL, "info is NULL"); } \
		CASE("%s/bytes=NULL", #f + strlen(PREFIX)) { SENT(n_); watch(&n_, sizeof(n_)); FAILS(f(dev, NULL, &n_), E_NULL, "bytes is NULL"); } \
		CASE("%s/len=NULL", #f + strlen(PREFIX)) { SENT(p_); watch(&p_, sizeof(p_)); FAILS(f(dev, &p_, NULL), E_NULL, "len is NULL"); } \
		CASE("%s/absent", #f + strlen(PREFIX)) { SENT(p_); SENT(n_); watch(&p_, sizeof(p_)); watch(&n_, sizeof(n_)); FAILS(f(dev, &p_, &n_), E_ABSENT, ""); } \
	} while (0)
	BYTES_CASES(vfio_iommu_info_device_info_zpci_util);
	BYTES_CASES(vfio_iommu_info_device_info_zpci_pfip);
#undef BYTES_CASES

	size_t areas = 0;
	CASE("region_info/counts") {
		size_t chain = 9;
		OK(vfio_iommu_info_region_info_mmap_area_count(reg, &areas));
		OK(vfio_iommu_info_region_info_chain_length(reg, &chain));
		CHECK(areas == 1 && chain == 0);
	}
	GET_S(vfio_iommu_info_region_info_header, reg, struct vfio_iommu_info_region_header, "info", "out");
	GET_S(vfio_iommu_info_region_info_type, reg, struct vfio_iommu_info_region_type, "info", "out");
	GET(vfio_iommu_info_region_info_msix_mappable, reg, uint32_t, "info", "mappable");
	GET(vfio_iommu_info_region_info_mmap_area_count, reg, size_t, "info", "count");
	GETI_S(vfio_iommu_info_region_info_mmap_area, reg, struct vfio_iommu_info_mmap_area, "info", "out", areas);
	GET(vfio_iommu_info_region_info_chain_length, reg, size_t, "info", "count");
	GETI_S(vfio_iommu_info_region_info_chain_entry, reg, struct vfio_iommu_info_cap, "info", "out", 0);
	LIST(vfio_iommu_info_region_info_mmap_areas, reg, struct vfio_iommu_info_mmap_area, "info", areas);
	LIST(vfio_iommu_info_region_info_chain, reg, struct vfio_iommu_info_cap, "info", 0);
	CASE("region_info_type/absent") {
		struct vfio_iommu_info_region_type t;
		SENT_SIZED(t);
		watch(&t, sizeof(t));
		FAILS(vfio_iommu_info_region_info_type(reg, &t), E_ABSENT, "");
	}
	vfio_iommu_info_device_info_free(dev);
	vfio_iommu_info_region_info_free(reg);
}

/* ---- Handles this host cannot make (containers, iommufd): NULL handles. ---- */

static void test_null_handles(void)
{
	const struct vfio_iommu_info_container *c = NULL;
	const struct vfio_iommu_info_iommufd *h = NULL;

	CASE("container_query/container=NULL") { struct vfio_iommu_info *i; SENT(i); watch(&i, sizeof(i)); FAILS(vfio_iommu_info_container_query(c, &i), E_NULL, "container is NULL"); }
	CASE("container_fd/container=NULL") { int fd; SENT(fd); watch(&fd, sizeof(fd)); FAILS(vfio_iommu_info_container_fd(c, &fd), E_NULL, "container is NULL"); }
	CASE("container_group_count/container=NULL") { size_t n; SENT(n); watch(&n, sizeof(n)); FAILS(vfio_iommu_info_container_group_count(c, &n), E_NULL, "container is NULL"); }
	CASE("container_group/container=NULL") {
		int fd;
		int64_t num;
		SENT(fd); SENT(num);
		watch(&fd, sizeof(fd)); watch(&num, sizeof(num));
		FAILS(vfio_iommu_info_container_group(c, 0, &fd, &num), E_NULL, "container is NULL");
		SENT(fd); SENT(num);
		watch(&fd, sizeof(fd)); watch(&num, sizeof(num));
		FAILS(vfio_iommu_info_container_group(c, SIZE_MAX, &fd, &num), E_NULL, "container is NULL");
	}
	CASE("container_groups/container=NULL") {
		const struct vfio_iommu_info_group *p;
		size_t n;
		SENT(p); SENT(n);
		watch(&p, sizeof(p)); watch(&n, sizeof(n));
		FAILS(vfio_iommu_info_container_groups(c, &p, &n), E_NULL, "container is NULL");
	}
	CASE("container_backend/container=NULL") { uint32_t b; SENT(b); watch(&b, sizeof(b)); FAILS(vfio_iommu_info_container_backend(c, &b), E_NULL, "container is NULL"); }
	CASE("space_from_container/container=NULL") { struct vfio_iommu_info_space *s; SENT(s); watch(&s, sizeof(s)); FAILS(vfio_iommu_info_space_from_container(c, &s), E_NULL, "container is NULL"); }

	CASE("iommufd_ids/iommufd=NULL") { struct vfio_iommu_info_iommufd_ids v; SENT_SIZED(v); watch(&v, sizeof(v)); FAILS(vfio_iommu_info_iommufd_ids(h, &v), E_NULL, "iommufd is NULL"); }
	CASE("iommufd_iova_range_count/iommufd=NULL") { size_t n; SENT(n); watch(&n, sizeof(n)); FAILS(vfio_iommu_info_iommufd_iova_range_count(h, &n), E_NULL, "iommufd is NULL"); }
	CASE("iommufd_iova_range/iommufd=NULL") {
		struct vfio_iommu_info_range r;
		const size_t idx[] = { 0, SIZE_MAX };
		for (int i = 0; i < 2; i++) {
			SENT(r);
			watch(&r, sizeof(r));
			FAILS(vfio_iommu_info_iommufd_iova_range(h, idx[i], &r), E_NULL, "iommufd is NULL");
		}
	}
	CASE("iommufd_aperture/iommufd=NULL") { struct vfio_iommu_info_range r; SENT(r); watch(&r, sizeof(r)); FAILS(vfio_iommu_info_iommufd_aperture(h, &r), E_NULL, "iommufd is NULL"); }
	CASE("iommufd_space/iommufd=NULL") { struct vfio_iommu_info_space *s; SENT(s); watch(&s, sizeof(s)); FAILS(vfio_iommu_info_iommufd_space(h, &s), E_NULL, "iommufd is NULL"); }
	CASE("iommufd_hw_info/iommufd=NULL") { struct vfio_iommu_info_hw_info v; SENT_SIZED(v); watch(&v, sizeof(v)); FAILS(vfio_iommu_info_iommufd_hw_info(h, &v), E_NULL, "iommufd is NULL"); }
	CASE("iommufd_to_json/iommufd=NULL") { char *j; SENT(j); watch(&j, sizeof(j)); FAILS(vfio_iommu_info_iommufd_to_json(h, &j), E_NULL, "iommufd is NULL"); }
	/* (iommufd_facts: in test_info, with the other facts.) */
}

/* ---- Handles of the wrong kind (each handle carries its kind). ---- */

#define WRONG(fn, type, obj, param, out, want_kind)                                       \
	CASE("wrong-kind/" #fn) {                                                        \
		SENT(out);                                                               \
		watch(&(out), sizeof(out));                                              \
		FAILS(vfio_iommu_info_##fn((const struct type *)(const void *)(obj), &(out)), \
		      E_INVALID, param " is a struct vfio_iommu_info" want_kind,        \
		      "not the struct " #type " expected");                              \
	}

static void test_wrong_kinds(void)
{
	struct buf fb = full_iommu_info();
	struct vfio_iommu_info *info = decode_or_die(fb);
	struct vfio_iommu_info_space *space = NULL;
	CASE("wrong-kind/space_from_info") OK(vfio_iommu_info_space_from_info(info, &space));
	if (!space)
		return;
	size_t n;
	uint64_t u64;
	int fd;
	WRONG(iova_range_count, vfio_iommu_info, space, "info", n, "_space,");
	WRONG(container_fd, vfio_iommu_info_container, info, "container", fd, ",");
	WRONG(space_granule, vfio_iommu_info_space, info, "space", u64, ",");
	WRONG(allocator_live_count, vfio_iommu_info_allocator, space, "allocator", n, "_space,");
	WRONG(layout_placement_count, vfio_iommu_info_layout, info, "layout", n, ",");
	WRONG(device_info_chain_length, vfio_iommu_info_device_info, info, "info", n, ",");
	WRONG(region_info_chain_length, vfio_iommu_info_region_info, space, "info", n, "_space,");
	WRONG(iommufd_iova_range_count, vfio_iommu_info_iommufd, info, "iommufd", n, ",");
	/* A _free of the wrong kind frees nothing and keeps the refusal as the last error. */
	CASE("wrong-kind/free functions") {
		vfio_iommu_info_container_free((struct vfio_iommu_info_container *)(void *)info);
		check_prefix("vfio_iommu_info_container_free(");
		check_contains("the handle is a struct vfio_iommu_info, not the struct vfio_iommu_info_container expected");
		vfio_iommu_info_space_free((struct vfio_iommu_info_space *)(void *)info);
		vfio_iommu_info_allocator_free((struct vfio_iommu_info_allocator *)(void *)info);
		vfio_iommu_info_layout_free((struct vfio_iommu_info_layout *)(void *)space);
		vfio_iommu_info_device_info_free((struct vfio_iommu_info_device_info *)(void *)space);
		vfio_iommu_info_region_info_free((struct vfio_iommu_info_region_info *)(void *)info);
		vfio_iommu_info_iommufd_free((struct vfio_iommu_info_iommufd *)(void *)space);
		vfio_iommu_info_free((struct vfio_iommu_info *)(void *)space);
		check_prefix("vfio_iommu_info_free(");
		check_contains("the handle is a struct vfio_iommu_info_space, not the struct vfio_iommu_info expected");
		/* Both still live. */
		OK(vfio_iommu_info_iova_range_count(info, &n));
		OK(vfio_iommu_info_space_granule(space, &u64));
	}
	vfio_iommu_info_space_free(space);
	vfio_iommu_info_free(info);
}

/* ---- fds. ---- */

enum fdkind { FD_CLOSED, FD_MINUS1, FD_INT_MIN, FD_HUGE, FD_DEVNULL, FD_REGULAR, FD_DIR, FD_KINDS };
static const char *const fd_names[] = { "closed", "-1", "INT_MIN", "1048576", "/dev/null", "regular-file", "directory" };

/* An fd of that kind, and its number; for FD_CLOSED the number of an fd just closed (no
 * other fd is opened until the call). */
static int make_fd(enum fdkind k, const char *regular)
{
	int fd;
	switch (k) {
	case FD_CLOSED:
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		close(fd);
		return fd;
	case FD_MINUS1: return -1;
	case FD_INT_MIN: return INT_MIN;
	case FD_HUGE: return 1 << 20;
	case FD_DEVNULL: return open("/dev/null", O_RDWR | O_CLOEXEC);
	case FD_REGULAR: return open(regular, O_RDONLY | O_CLOEXEC);
	case FD_DIR: return open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	default: return -1;
	}
}

static void test_fds(const char *regular)
{
	for (int k = 0; k < FD_KINDS; k++) {
		CASE("query/container_fd=%s", fd_names[k]) {
			struct vfio_iommu_info *i;
			int fd = make_fd((enum fdkind)k, regular);
			SENT(i);
			watch(&i, sizeof(i));
			int rc = vfio_iommu_info_query(fd, &i);
			switch (k) {
			case FD_MINUS1:
			case FD_INT_MIN:
				check_rc(rc, -EBADF, "vfio_iommu_info_query");
				check_contains(fmt("container_fd %d is not a file descriptor", fd));
				break;
			case FD_CLOSED:
			case FD_HUGE:
				check_rc(rc, -EBADF, "vfio_iommu_info_query");
				check_contains(fmt("fd %d is not an open file descriptor", fd));
				break;
			default:
				if (fd < 0)
					whyf("cannot open the %s: %s", fd_names[k], strerror(errno));
				/* Refused on what the fd is, before VFIO_IOMMU_GET_INFO reaches it. */
				check_rc(rc, -ENOTTY, "vfio_iommu_info_query");
				check_contains(fmt("fd %d is ", fd));
				check_contains("not a VFIO container (/dev/vfio/vfio, misc 10:196)");
				check_contains("refused before any read-write open or ioctl");
				check_contains("pass the /dev/vfio/vfio fd a group was attached to");
			}
			check_prefix("vfio_iommu_info_query");
			check_untouched();
			if (k >= FD_DEVNULL && fd >= 0) {
				/* The fd stays the caller's: still open. */
				if (fcntl(fd, F_GETFD) < 0)
					whyf("the library closed fd %d", fd);
				close(fd);
			}
		}
		CASE("query_backend/container_fd=%s", fd_names[k]) {
			uint32_t b;
			int fd = make_fd((enum fdkind)k, regular);
			SENT(b);
			watch(&b, sizeof(b));
			int rc = vfio_iommu_info_query_backend(fd, &b);
			if (k <= FD_HUGE) {
				check_rc(rc, -EBADF, "vfio_iommu_info_query_backend");
				check_contains(fmt("container_fd %d is not an open file descriptor", fd));
				check_prefix("vfio_iommu_info_query_backend");
				check_untouched();
			} else {
				/* Not a VFIO container: -ENOTTY, naming the fd. */
				if (fd < 0)
					whyf("cannot open the %s: %s", fd_names[k], strerror(errno));
				check_rc(rc, -ENOTTY, "vfio_iommu_info_query_backend");
				check_contains(fmt("fd %d is ", fd));
				check_contains("not a VFIO container (/dev/vfio/vfio, misc 10:196)");
				check_prefix("vfio_iommu_info_query_backend");
				check_untouched();
				if (fd >= 0)
					close(fd);
			}
		}
	}
	/* 0.4: the calls on the caller's own fds refuse every fd that is not the node they
	 * need, naming it, before any ioctl; the fd stays open. */
	static const struct {
		const char *fn, *param, *expected;
	} own[] = {
		{ "vfio_iommu_info_container_space", "container_fd", "not a VFIO container" },
		{ "vfio_iommu_info_ioas_space", "iommufd_fd", "not iommufd's node" },
		{ "vfio_iommu_info_hw_info_query", "iommufd_fd", "not iommufd's node" },
		{ "vfio_iommu_info_device_info_query", "device_fd", "not a VFIO device fd" },
		{ "vfio_iommu_info_region_info_query", "device_fd", "not a VFIO device fd" },
	};
	for (size_t f = 0; f < sizeof(own) / sizeof(own[0]); f++)
		for (int k = 0; k < FD_KINDS; k++)
			CASE("%s/%s=%s", own[f].fn + strlen(PREFIX), own[f].param, fd_names[k]) {
				void *obj;
				struct vfio_iommu_info_hw_info hw;
				int fd = make_fd((enum fdkind)k, regular), rc;
				SENT(obj);
				SENT_SIZED(hw);
				watch(&obj, sizeof(obj));
				watch(&hw, sizeof(hw));
				switch (f) {
				case 0: rc = vfio_iommu_info_container_space(fd, (struct vfio_iommu_info_space **)&obj); break;
				case 1: rc = vfio_iommu_info_ioas_space(fd, 1, (struct vfio_iommu_info_space **)&obj); break;
				case 2: rc = vfio_iommu_info_hw_info_query(fd, 1, &hw); break;
				case 3: rc = vfio_iommu_info_device_info_query(fd, (struct vfio_iommu_info_device_info **)&obj); break;
				default: rc = vfio_iommu_info_region_info_query(fd, 0, (struct vfio_iommu_info_region_info **)&obj);
				}
				if (k <= FD_HUGE) {
					check_rc(rc, -EBADF, own[f].fn);
					check_contains(fmt("%s %d is not an open file descriptor", own[f].param, fd));
				} else {
					if (fd < 0)
						whyf("cannot open the %s: %s", fd_names[k], strerror(errno));
					check_rc(rc, -ENOTTY, own[f].fn);
					check_contains(fmt("fd %d is ", fd));
					check_contains(own[f].expected);
					if (fcntl(fd, F_GETFD) < 0)
						whyf("the library closed fd %d", fd);
					close(fd);
				}
				check_prefix(own[f].fn);
				check_untouched();
			}
	CASE("own-fds/out=NULL") {
		int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		FAILS(vfio_iommu_info_container_space(fd, NULL), E_NULL, "out is NULL");
		FAILS(vfio_iommu_info_ioas_space(fd, 1, NULL), E_NULL, "out is NULL");
		FAILS(vfio_iommu_info_hw_info_query(fd, 1, NULL), E_NULL, "out is NULL");
		FAILS(vfio_iommu_info_device_info_query(fd, NULL), E_NULL, "out is NULL");
		FAILS(vfio_iommu_info_region_info_query(fd, 0, NULL), E_NULL, "out is NULL");
		close(fd);
	}
	CASE("hw_info_query/out->size=0") {
		int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		struct vfio_iommu_info_hw_info hw;
		SENT(hw);
		hw.size = 0;
		watch(&hw, sizeof(hw));
		FAILS(vfio_iommu_info_hw_info_query(fd, 1, &hw), E_INVALID, "out->size is 0");
		close(fd);
	}
	CASE("query/out=NULL") {
		int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		FAILS(vfio_iommu_info_query(fd, NULL), E_NULL, "out is NULL");
		close(fd);
		FAILS(vfio_iommu_info_query(-1, NULL), E_NULL, "out is NULL");
	}
	CASE("query_backend/backend=NULL") {
		int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		FAILS(vfio_iommu_info_query_backend(fd, NULL), E_NULL, "backend is NULL");
		close(fd);
		FAILS(vfio_iommu_info_query_backend(-1, NULL), E_NULL, "backend is NULL");
	}
}

/* ---- 0.5: IBM POWER's sPAPR TCE container. ---- */

/* A VFIO_IOMMU_SPAPR_TCE_GET_INFO answer in this machine's order, as a 6.12 pseries guest
 * gives it for `argsz`: the default window [0, 1 GiB), DDW 4K|64K|2M|16M, 2 windows, 1
 * level (the block only from argsz 32 on). */
static void spapr_info(uint8_t out[32], uint32_t argsz)
{
	uint32_t head[4] = { argsz, 1, 0, 0x40000000 };
	uint64_t pgsizes = 0x1211000;
	uint32_t tail[2] = { 2, 1 };
	memset(out, 0xAA, 32);
	memcpy(out, head, sizeof(head));
	if (argsz >= 32) {
		memcpy(out + 16, &pgsizes, sizeof(pgsizes));
		memcpy(out + 24, tail, sizeof(tail));
	}
}

static void test_spapr_tce(void)
{
	uint8_t b[32];
	CASE("spapr_tce_decode/whole") {
		struct vfio_iommu_info_spapr_tce t;
		SENT_SIZED(t);
		spapr_info(b, 32);
		OK(vfio_iommu_info_spapr_tce_decode(b, 32, VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE, &t));
		CHECK(t.size == sizeof(t));
		CHECK(t.has_default_window == 1 && t.default_window_start == 0);
		CHECK(t.default_window_end == 0x3fffffff && t.default_window_page_size == 4096);
		CHECK(t.ddw_state == VFIO_IOMMU_INFO_DDW_SUPPORTED && t.ddw_page_sizes == 0x1211000);
		CHECK(t.ddw_max_windows == 2 && t.ddw_levels == 1);
		CHECK(t.ddw_expected_start == (uint64_t)1 << 59);
	}
	CASE("spapr_tce_decode/argsz=16") {
		struct vfio_iommu_info_spapr_tce t;
		SENT_SIZED(t);
		spapr_info(b, 16);
		/* The whole 32-byte buffer of an argsz-16 call: the canaries are no DDW block. */
		OK(vfio_iommu_info_spapr_tce_decode(b, 32, VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE, &t));
		CHECK(t.ddw_state == VFIO_IOMMU_INFO_DDW_NOT_RETURNED && t.ddw_page_sizes == 0);
	}
	CASE("spapr_tce_decode/cut") {
		struct vfio_iommu_info_spapr_tce t;
		SENT_SIZED(t);
		spapr_info(b, 32);
		watch(&t, sizeof(t));
		FAILS(vfio_iommu_info_spapr_tce_decode(b, 24, VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE, &t),
		      E_MALFORMED, "byte offset 16", "cut short");
	}
	CASE("spapr_tce_decode/bad arguments") {
		struct vfio_iommu_info_spapr_tce t;
		spapr_info(b, 32);
		SENT_SIZED(t);
		watch(&t, sizeof(t));
		FAILS(vfio_iommu_info_spapr_tce_decode(NULL, 32, VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE, &t),
		      E_NULL, "");
		FAILS(vfio_iommu_info_spapr_tce_decode(b, 32, 3, &t), E_INVALID, "byte_order 3");
		FAILS(vfio_iommu_info_spapr_tce_decode(b, 32, VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE, NULL),
		      E_NULL, "out is NULL");
		SENT(t);
		t.size = 0;
		watch(&t, sizeof(t));
		FAILS(vfio_iommu_info_spapr_tce_decode(b, 32, VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE, &t),
		      E_INVALID, "out->size is 0");
	}
	CASE("spapr_tce/not a container") {
		int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		struct vfio_iommu_info_spapr_tce t;
		uint64_t start;
		SENT_SIZED(t);
		SENT(start);
		watch(&t, sizeof(t));
		watch(&start, sizeof(start));
		FAILS(vfio_iommu_info_spapr_tce_query(fd, &t), -ENOTTY, "not a VFIO container");
		FAILS(vfio_iommu_info_spapr_tce_create_window(fd, 16, (uint64_t)1 << 32, 1, &start),
		      -ENOTTY, "not a VFIO container");
		FAILS(vfio_iommu_info_spapr_tce_remove_window(fd, (uint64_t)1 << 59), -ENOTTY,
		      "not a VFIO container");
		/* A request no kernel accepts is refused before the fd is looked at. */
		FAILS(vfio_iommu_info_spapr_tce_create_window(fd, 16, 0x1000, 1, &start), E_INVALID,
		      "non-zero multiple of the page size");
		FAILS(vfio_iommu_info_spapr_tce_create_window(fd, 64, 0x1000, 1, &start), E_INVALID,
		      "page_shift 64");
		FAILS(vfio_iommu_info_spapr_tce_create_window(fd, 16, (uint64_t)1 << 32, 1, NULL),
		      E_NULL, "start is NULL");
		if (fcntl(fd, F_GETFD) < 0)
			whyf("the library closed fd %d", fd);
		close(fd);
		FAILS(vfio_iommu_info_spapr_tce_query(-1, &t), -EBADF, "not an open file descriptor");
		FAILS(vfio_iommu_info_spapr_tce_remove_window(-1, 0), -EBADF,
		      "not an open file descriptor");
	}
}

/* ---- Targets and paths: open, open_targets, iommufd_open. ---- */

struct target_case {
	const char *what, *text;
	int open_rc;             /* vfio_iommu_info_open's code on this host */
	const char *open_needle; /* ... and a piece of its message */
};

static void test_targets(void)
{
	const int have_vfio = access("/dev/vfio", F_OK) == 0;
	const int have_iommu = access("/dev/iommu", F_OK) == 0;
	const char *bad_target = "is not a target: expected an IOMMU group number";
	const struct target_case cases[] = {
		{ "missing-pci-address", "0000:99:1f.7", VFIO_IOMMU_INFO_E_NO_DEVICE, "PCI device 0000:99:1f.7 does not exist" },
		{ "missing-short-pci-address", "99:1f.7", VFIO_IOMMU_INFO_E_NO_DEVICE, "PCI device 0000:99:1f.7 does not exist" },
		{ "malformed-pci-address", "0000:zz:00.0", E_INVALID, bad_target },
		{ "pci-address-without-function", "03:00", E_INVALID, bad_target },
		{ "pci-address-function-8", "0000:00:00.8", E_INVALID, bad_target },
		{ "empty", "", E_INVALID, bad_target },
		{ "space", " ", E_INVALID, bad_target },
		{ "negative-group", "-1", E_INVALID, bad_target },
		{ "group-over-u32", "4294967296", E_INVALID, bad_target },
		{ "relative-path", "dev/vfio/4", E_INVALID, bad_target },
		{ "not-utf8", "\xff\xfe", E_INVALID, "is not UTF-8" },
		{ "group-without-node", "4095", -ENOENT, "cannot open /dev/vfio/4095" },
		{ "group-path-without-node", "/dev/vfio/4095", -ENOENT, "cannot open /dev/vfio/4095" },
		{ "directory", "/", -EISDIR, "/ is a directory, not a VFIO group node" },
		{ "dev-zero", "/dev/zero", -ENOTTY, "/dev/zero is a character device 1:5 (mem), not a VFIO group node" },
		{ "dev-null", "/dev/null", -ENOTTY, "/dev/null is a character device 1:3 (mem), not a VFIO group node" },
		{ "missing-path", "/nonexistent/vfio/7", -ENOENT, "cannot open /nonexistent/vfio/7" },
	};
	const size_t n = sizeof(cases) / sizeof(*cases);

	for (size_t i = 0; i < n; i++) {
		const struct target_case *t = &cases[i];
		/* On a host with VFIO, a group number may exist: only the forms that cannot be
		 * one are checked there. */
		if (have_vfio && t->open_rc == -ENOENT && strstr(t->text, "/dev/vfio")) {
			skip(fmt("open/%s", t->what), "this host has /dev/vfio");
			continue;
		}
		for (int with_container = 0; with_container < 2; with_container++)
			CASE("open/%s%s", t->what, with_container ? "" : ",container_out=NULL") {
				struct vfio_iommu_info *info;
				struct vfio_iommu_info_container *c;
				SENT(info);
				SENT(c);
				watch(&info, sizeof(info));
				watch(&c, sizeof(c));
				FAILS(vfio_iommu_info_open(t->text, with_container ? &c : NULL, &info), t->open_rc, t->open_needle);
				if (t->open_rc == -ENOENT && strstr(t->text, "4095"))
					check_contains("there is no IOMMU group 4095");
				if (t->open_rc == -ENOTTY || t->open_rc == -EISDIR)
					check_contains("refused before any read-write open or ioctl");
			}
		CASE("open_targets/%s", t->what) {
			struct vfio_iommu_info *info;
			struct vfio_iommu_info_container *c;
			const char *targets[1] = { t->text };
			SENT(info);
			SENT(c);
			watch(&info, sizeof(info));
			watch(&c, sizeof(c));
			FAILS(vfio_iommu_info_open_targets(targets, 1, &c, &info), t->open_rc, t->open_needle);
		}
		CASE("iommufd_open/%s", t->what) {
			struct vfio_iommu_info_iommufd *h;
			SENT(h);
			watch(&h, sizeof(h));
			int rc = vfio_iommu_info_iommufd_open(t->text, &h);
			if (strstr(t->what, "not-utf8")) {
				check_rc(rc, E_INVALID, "iommufd_open");
				check_contains("pci_address \"\\xff\\xfe\" is not UTF-8");
			} else if (t->open_rc != VFIO_IOMMU_INFO_E_NO_DEVICE) {
				/* Anything but a PCI address: refused before any file is opened. */
				check_rc(rc, E_INVALID, "iommufd_open");
				check_contains(fmt("pci_address \"%s\" is not a PCI address", t->text));
				check_contains("iommufd binds devices, not IOMMU groups");
			} else if (have_iommu) {
				check_rc(rc, VFIO_IOMMU_INFO_E_NO_DEVICE, "iommufd_open");
				check_contains("PCI device 0000:99:1f.7 does not exist");
			} else {
				check_rc(rc, -ENOENT, "iommufd_open");
				check_contains("cannot open /dev/iommu");
				check_contains("CONFIG_IOMMUFD");
			}
			check_prefix("vfio_iommu_info_iommufd_open");
			check_untouched();
		}
	}

	/* The pointers. */
	CASE("open/target=NULL") {
		struct vfio_iommu_info *info;
		struct vfio_iommu_info_container *c;
		SENT(info); SENT(c);
		watch(&info, sizeof(info)); watch(&c, sizeof(c));
		FAILS(vfio_iommu_info_open(NULL, &c, &info), E_NULL, "target is NULL");
	}
	CASE("open/info_out=NULL") {
		struct vfio_iommu_info_container *c;
		SENT(c);
		watch(&c, sizeof(c));
		FAILS(vfio_iommu_info_open("0000:99:1f.7", &c, NULL), E_NULL, "info_out is NULL");
	}
	CASE("open/all=NULL") { FAILS(vfio_iommu_info_open(NULL, NULL, NULL), E_NULL, "is NULL"); }
	CASE("open_targets/targets=NULL,n=1") {
		struct vfio_iommu_info *info;
		SENT(info);
		watch(&info, sizeof(info));
		FAILS(vfio_iommu_info_open_targets(NULL, 1, NULL, &info), E_NULL, "targets is NULL");
	}
	CASE("open_targets/targets=NULL,n=0") {
		struct vfio_iommu_info *info;
		SENT(info);
		watch(&info, sizeof(info));
		FAILS(vfio_iommu_info_open_targets(NULL, 0, NULL, &info), E_NULL, "targets is NULL");
	}
	CASE("open_targets/n_targets=0") {
		struct vfio_iommu_info *info;
		struct vfio_iommu_info_container *c;
		const char *targets[1] = { "4" };
		SENT(info); SENT(c);
		watch(&info, sizeof(info)); watch(&c, sizeof(c));
		FAILS(vfio_iommu_info_open_targets(targets, 0, &c, &info), E_INVALID, "n_targets is 0");
	}
	CASE("open_targets/info_out=NULL") {
		const char *targets[1] = { "4" };
		struct vfio_iommu_info_container *c;
		SENT(c);
		watch(&c, sizeof(c));
		FAILS(vfio_iommu_info_open_targets(targets, 1, &c, NULL), E_NULL, "info_out is NULL");
	}
	CASE("open_targets/targets[1]=NULL") {
		const char *targets[3] = { "0000:99:1f.7", NULL, "4" };
		struct vfio_iommu_info *info;
		SENT(info);
		watch(&info, sizeof(info));
		FAILS(vfio_iommu_info_open_targets(targets, 3, NULL, &info), E_NULL, "targets[1] is NULL");
	}
	CASE("open_targets/targets[2]-malformed") {
		/* Every target is parsed before anything is opened. */
		const char *targets[3] = { "0000:99:1f.7", "4095", "bogus" };
		struct vfio_iommu_info *info;
		SENT(info);
		watch(&info, sizeof(info));
		FAILS(vfio_iommu_info_open_targets(targets, 3, NULL, &info), E_INVALID, "\"bogus\" is not a target");
	}
	CASE("open_targets/second-missing") {
		const char *targets[2] = { "/dev/null", "0000:99:1f.7" };
		struct vfio_iommu_info *info;
		SENT(info);
		watch(&info, sizeof(info));
		int rc = vfio_iommu_info_open_targets(targets, 2, NULL, &info);
		if (rc != -ENOTTY && rc != VFIO_IOMMU_INFO_E_NO_DEVICE)
			whyf("returned %d (%s): %s", rc, vfio_iommu_info_strerror(rc), last());
		check_prefix("vfio_iommu_info_open_targets");
		check_untouched();
	}
	CASE("iommufd_open/pci_address=NULL") {
		struct vfio_iommu_info_iommufd *h;
		SENT(h);
		watch(&h, sizeof(h));
		FAILS(vfio_iommu_info_iommufd_open(NULL, &h), E_NULL, "pci_address is NULL");
	}
	CASE("iommufd_open/out=NULL") { FAILS(vfio_iommu_info_iommufd_open("0000:99:1f.7", NULL), E_NULL, "out is NULL"); }
	/* On this host, the "missing VFIO" answers the header documents. */
	if (!have_vfio)
		CASE("open/no-dev-vfio-group-4") {
			struct vfio_iommu_info *info;
			SENT(info);
			watch(&info, sizeof(info));
			FAILS(vfio_iommu_info_open("4", NULL, &info), -ENOENT, "cannot open /dev/vfio/4");
		}
	else
		skip("open/no-dev-vfio-group-4", "this host has /dev/vfio");
}

/* ---- The shared bad-buffer corpus. ---- */

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	unsigned char *b = malloc(cap);
	for (;;) {
		if (n == cap) {
			unsigned char *nb = realloc(b, cap *= 2);
			if (!nb) {
				free(b);
				fclose(f);
				return NULL;
			}
			b = nb;
		}
		size_t r = fread(b + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	*len = n;
	return b;
}

static void exercise_iommu(struct vfio_iommu_info *info)
{
	struct vfio_iommu_info_header h;
	struct vfio_iommu_info_range r;
	struct vfio_iommu_info_migration m;
	struct vfio_iommu_info_cap c;
	uint64_t bm;
	uint32_t avail;
	size_t n, i;
	int have[4] = { 0 };

	SENT_SIZED(h);
	OK(vfio_iommu_info_header(info, &h));
	SENT(bm); watch(&bm, sizeof(bm));
	MAY(vfio_iommu_info_page_sizes(info, &bm), E_ABSENT, E_ABSENT);
	SENT(n); watch(&n, sizeof(n));
	if (MAY(vfio_iommu_info_iova_range_count(info, &n), E_ABSENT, E_ABSENT) == 0) {
		have[VFIO_IOMMU_INFO_CAP_IOVA_RANGE] = 1;
		for (i = 0; i < n && i < 100000; i++) {
			OK(vfio_iommu_info_iova_range(info, i, &r));
			CHECK(r.start <= r.end);
		}
		SENT(r); watch(&r, sizeof(r));
		FAILS(vfio_iommu_info_iova_range(info, n, &r), E_RANGE, "index");
		SENT(r); watch(&r, sizeof(r));
		MAY(vfio_iommu_info_aperture(info, &r), E_ABSENT, E_ABSENT);
		OK(vfio_iommu_info_hole_count(info, &n));
		for (i = 0; i < n && i < 100000; i++)
			OK(vfio_iommu_info_hole(info, i, &r));
		SENT(r); watch(&r, sizeof(r));
		FAILS(vfio_iommu_info_hole(info, n, &r), E_RANGE, "index");
	} else {
		SENT(r); watch(&r, sizeof(r));
		FAILS(vfio_iommu_info_iova_range(info, 0, &r), E_ABSENT, "");
		SENT(r); watch(&r, sizeof(r));
		FAILS(vfio_iommu_info_aperture(info, &r), E_ABSENT, "");
	}
	SENT_SIZED(m); watch(&m, sizeof(m));
	have[VFIO_IOMMU_INFO_CAP_MIGRATION] = MAY(vfio_iommu_info_migration(info, &m), E_ABSENT, E_ABSENT) == 0;
	SENT(avail); watch(&avail, sizeof(avail));
	have[VFIO_IOMMU_INFO_CAP_DMA_AVAIL] = MAY(vfio_iommu_info_dma_avail(info, &avail), E_ABSENT, E_ABSENT) == 0;
	for (uint32_t cap = 1; cap <= 3; cap++) {
		uint32_t reason = 77;
		const char *text = NULL;
		OK(vfio_iommu_info_absence(info, cap, &reason, &text));
		CHECK(reason <= VFIO_IOMMU_INFO_ABSENT_NOT_IN_CHAIN && text != NULL);
		if ((reason == VFIO_IOMMU_INFO_PRESENT) != have[cap])
			whyf("absence(%u) says %u, but the accessor %s", cap, reason, have[cap] ? "succeeded" : "failed");
	}
	OK(vfio_iommu_info_unknown_cap_count(info, &n));
	for (i = 0; i < n && i < 100000; i++) {
		SENT_SIZED(c);
		OK(vfio_iommu_info_unknown_cap(info, i, &c));
		CHECK(c.bytes != NULL && c.len >= 8);
	}
	SENT_SIZED(c); watch(&c, sizeof(c));
	FAILS(vfio_iommu_info_unknown_cap(info, n, &c), E_RANGE, "index");
	OK(vfio_iommu_info_chain_length(info, &n));
	for (i = 0; i < n && i < 100000; i++) {
		SENT_SIZED(c);
		OK(vfio_iommu_info_chain_entry(info, i, &c));
		CHECK((c.bytes == NULL) == (c.len == 0));
	}
	SENT_SIZED(c); watch(&c, sizeof(c));
	FAILS(vfio_iommu_info_chain_entry(info, n, &c), E_RANGE, "index");
	char *json = NULL;
	OK(vfio_iommu_info_to_json(info, &json));
	CHECK(json && json[0] == '{');
	vfio_iommu_info_string_free(json);
	struct vfio_iommu_info_verdict v;
	SENT_SIZED(v);
	OK(vfio_iommu_info_check(info, 0, 4096, &v));
	struct vfio_iommu_info_space *s;
	SENT(s); watch(&s, sizeof(s));
	if (MAY(vfio_iommu_info_space_from_info(info, &s), E_ABSENT, E_ABSENT) == 0) {
		struct vfio_iommu_info_allocator *a = NULL;
		uint64_t at;
		OK(vfio_iommu_info_allocator_new(s, &a));
		SENT(at); watch(&at, sizeof(at));
		MAY(vfio_iommu_info_allocator_alloc(a, 4096, 0, UINT64_MAX, &at), VFIO_IOMMU_INFO_E_NO_ROOM, VFIO_IOMMU_INFO_E_NO_ROOM);
		vfio_iommu_info_allocator_free(a);
		OK(vfio_iommu_info_space_to_json(s, &json));
		vfio_iommu_info_string_free(json);
		vfio_iommu_info_space_free(s);
	} else if (have[VFIO_IOMMU_INFO_CAP_IOVA_RANGE]) {
		whyf("space_from_info failed with ranges present");
	}
	for (uint32_t b = VFIO_IOMMU_INFO_BACKEND_TYPE1; b <= VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT; b++) {
		struct vfio_iommu_info_facts f;
		SENT_SIZED(f);
		OK(vfio_iommu_info_facts_type1(info, b, &f));
		CHECK(f.backend == b);
		json = NULL;
		OK(vfio_iommu_info_facts_type1_to_json(info, b, &json));
		vfio_iommu_info_string_free(json);
	}
}

static void exercise_device(struct vfio_iommu_info_device_info *d)
{
	struct vfio_iommu_info_device_header h;
	struct vfio_iommu_info_range w;
	struct vfio_iommu_info_zpci_base zb;
	struct vfio_iommu_info_zpci_group zg;
	struct vfio_iommu_info_cap c;
	const uint8_t *p;
	size_t n, i;
	uint32_t flags;

	SENT_SIZED(h);
	OK(vfio_iommu_info_device_info_header(d, &h));
	SENT(w); watch(&w, sizeof(w));
	if (MAY(vfio_iommu_info_device_info_dma_window(d, &w), E_ABSENT, E_MALFORMED) == 0)
		CHECK(w.start <= w.end);
	SENT_SIZED(zb); watch(&zb, sizeof(zb));
	MAY(vfio_iommu_info_device_info_zpci_base(d, &zb), E_ABSENT, E_ABSENT);
	SENT_SIZED(zg); watch(&zg, sizeof(zg));
	MAY(vfio_iommu_info_device_info_zpci_group(d, &zg), E_ABSENT, E_ABSENT);
	SENT(p); SENT(n); watch(&p, sizeof(p)); watch(&n, sizeof(n));
	MAY(vfio_iommu_info_device_info_zpci_util(d, &p, &n), E_ABSENT, E_ABSENT);
	SENT(p); SENT(n); watch(&p, sizeof(p)); watch(&n, sizeof(n));
	MAY(vfio_iommu_info_device_info_zpci_pfip(d, &p, &n), E_ABSENT, E_ABSENT);
	SENT(flags); watch(&flags, sizeof(flags));
	MAY(vfio_iommu_info_device_info_atomic_comp(d, &flags), E_ABSENT, E_ABSENT);
	OK(vfio_iommu_info_device_info_chain_length(d, &n));
	for (i = 0; i < n && i < 100000; i++) {
		SENT_SIZED(c);
		OK(vfio_iommu_info_device_info_chain_entry(d, i, &c));
	}
	SENT_SIZED(c); watch(&c, sizeof(c));
	FAILS(vfio_iommu_info_device_info_chain_entry(d, n, &c), E_RANGE, "index");
}

static void exercise_region(struct vfio_iommu_info_region_info *r)
{
	struct vfio_iommu_info_region_header h;
	struct vfio_iommu_info_region_type t;
	struct vfio_iommu_info_mmap_area a;
	struct vfio_iommu_info_cap c;
	uint32_t mappable = 7;
	size_t n, i;

	SENT_SIZED(h);
	OK(vfio_iommu_info_region_info_header(r, &h));
	SENT_SIZED(t); watch(&t, sizeof(t));
	MAY(vfio_iommu_info_region_info_type(r, &t), E_ABSENT, E_ABSENT);
	OK(vfio_iommu_info_region_info_msix_mappable(r, &mappable));
	CHECK(mappable <= 1);
	OK(vfio_iommu_info_region_info_mmap_area_count(r, &n));
	for (i = 0; i < n && i < 100000; i++) {
		SENT_SIZED(a);
		OK(vfio_iommu_info_region_info_mmap_area(r, i, &a));
		CHECK(a.within_region <= 1);
	}
	SENT_SIZED(a); watch(&a, sizeof(a));
	FAILS(vfio_iommu_info_region_info_mmap_area(r, n, &a), E_RANGE, "index");
	OK(vfio_iommu_info_region_info_chain_length(r, &n));
	for (i = 0; i < n && i < 100000; i++) {
		SENT_SIZED(c);
		OK(vfio_iommu_info_region_info_chain_entry(r, i, &c));
	}
	SENT_SIZED(c); watch(&c, sizeof(c));
	FAILS(vfio_iommu_info_region_info_chain_entry(r, n, &c), E_RANGE, "index");
}

static void exercise(size_t k, void *obj)
{
	if (k == 0)
		exercise_iommu(obj);
	else if (k == 1)
		exercise_device(obj);
	else
		exercise_region(obj);
}

/* Splits a line at TABs, in place; returns the number of fields. */
static int split_tabs(char *line, char **fields, int max)
{
	int n = 0;
	fields[n++] = line;
	for (char *p = line; *p && n < max; p++)
		if (*p == '\t') {
			*p = 0;
			fields[n++] = p + 1;
		}
	return n;
}

static void test_corpus(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/MANIFEST.tsv", dir);
	FILE *f = fopen(path, "r");
	int lines = 0;
	if (!f) {
		CASE("corpus/manifest") whyf("cannot open %s: %s", path, strerror(errno));
		return;
	}
	char line[4096];
	int lineno = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = 0;
		if (line[0] == '#' || line[strspn(line, " \t")] == 0)
			continue;
		char *fl[7];
		int nf = split_tabs(line, fl, 7);
		if (nf < 5 || nf > 6) {
			CASE("corpus/MANIFEST.tsv:%d", lineno) whyf("%d fields, want 6 (file kind order expect offset text)", nf);
			continue;
		}
		const char *file = fl[0], *kind = fl[1], *order = fl[2], *expect = fl[3], *offset = fl[4];
		const char *text = nf == 6 ? fl[5] : "";
		size_t k;
		for (k = 0; k < 3 && strcmp(kind, kinds[k].name) != 0; k++)
			;
		uint32_t bo = strcmp(order, "little") == 0 ? VFIO_IOMMU_INFO_BYTE_ORDER_LITTLE
			      : strcmp(order, "big") == 0  ? VFIO_IOMMU_INFO_BYTE_ORDER_BIG
			      : strcmp(order, "native") == 0 ? VFIO_IOMMU_INFO_BYTE_ORDER_NATIVE
							     : UINT32_MAX;
		int want_error = strcmp(expect, "error") == 0;
		lines++;
		snprintf(path, sizeof(path), "%s/%s", dir, file);
		size_t len = 0;
		unsigned char *buf = read_file(path, &len);
		CASE("corpus/%s", file) {
			if (k == 3 || bo == UINT32_MAX || (!want_error && strcmp(expect, "ok") != 0)) {
				whyf("MANIFEST.tsv:%d: bad kind %s, order %s or expect %s", lineno, kind, order, expect);
				continue; /* CASE's loop: reported */
			}
			if (!buf) {
				whyf("cannot read %s: %s", path, strerror(errno));
				continue;
			}
			void *out;
			SENT(out);
			watch(&out, sizeof(out));
			int rc = kinds[k].decode(buf, len, bo, &out);
			if (want_error) {
				check_rc(rc, E_MALFORMED, kinds[k].fn);
				check_untouched();
				check_prefix(kinds[k].fn);
				if (text[0] && strcmp(text, "-") != 0)
					check_contains(text);
				if (strcmp(offset, "-") != 0)
					check_contains(fmt("byte offset %s", offset));
				if (rc == 0)
					kinds[k].free(out);
			} else {
				check_rc(rc, 0, kinds[k].fn);
				n_watches = 0;
				if (rc == 0) {
					if (last()[0])
						whyf("decoded, but the last error is \"%s\"", last());
					exercise(k, out);
					kinds[k].free(out);
				}
			}
		}
		/* Every prefix of the file, and the file through the other decoders in both
		 * orders: 0 or E_MALFORMED with a byte offset, out untouched, no crash. */
		if (buf) {
			CASE("corpus/%s/prefixes-and-other-decoders", file) {
				for (size_t cut = 0; cut <= len; cut++) {
					for (size_t kk = 0; kk < 3; kk++) {
						for (uint32_t o = VFIO_IOMMU_INFO_BYTE_ORDER_LITTLE; o <= VFIO_IOMMU_INFO_BYTE_ORDER_BIG; o++) {
							if (cut < len && (kk != k || o != bo))
								continue;
							void *out;
							SENT(out);
							watch(&out, sizeof(out));
							int rc = kinds[kk].decode(buf, cut, o, &out);
							if (rc == 0) {
								n_watches = 0;
								if (cut == len && kk != k)
									exercise(kk, out);
								kinds[kk].free(out);
							} else {
								if (rc != E_MALFORMED)
									whyf("%s of %zu bytes: %d", kinds[kk].name, cut, rc);
								else if (!strstr(last(), "byte offset"))
									whyf("%s of %zu bytes: no byte offset: %s", kinds[kk].name, cut, last());
								check_untouched();
							}
						}
					}
					if (why_len > 1000)
						break;
				}
			}
		}
		free(buf);
	}
	fclose(f);
	CASE("corpus/manifest") {
		if (lines == 0)
			whyf("%s/MANIFEST.tsv lists no file", dir);
	}
}

/* ---- The lab: a host with VFIO. ---- */

static void lab_container_matrix(const char *group)
{
	struct vfio_iommu_info *info = NULL;
	struct vfio_iommu_info_container *c = NULL;
	int rc = vfio_iommu_info_open(group, &c, &info);
	if (rc != 0) {
		skip(fmt("lab/container-matrix group %s", group), last());
		return;
	}
	size_t groups = 0;
	CASE("lab/container_group_count") {
		OK(vfio_iommu_info_container_group_count(c, &groups));
		CHECK(groups == 1);
	}
	CASE("lab/container_query/info_out=NULL") { FAILS(vfio_iommu_info_container_query(c, NULL), E_NULL, "info_out is NULL"); }
	CASE("lab/container_fd/fd=NULL") { FAILS(vfio_iommu_info_container_fd(c, NULL), E_NULL, "fd is NULL"); }
	CASE("lab/container_group_count/count=NULL") { FAILS(vfio_iommu_info_container_group_count(c, NULL), E_NULL, "count is NULL"); }
	CASE("lab/container_backend/backend=NULL") { FAILS(vfio_iommu_info_container_backend(c, NULL), E_NULL, "backend is NULL"); }
	CASE("lab/space_from_container/out=NULL") { FAILS(vfio_iommu_info_space_from_container(c, NULL), E_NULL, "out is NULL"); }
	CASE("lab/container_group/fd=NULL") {
		int64_t num;
		SENT(num);
		watch(&num, sizeof(num));
		FAILS(vfio_iommu_info_container_group(c, 0, NULL, &num), E_NULL, "fd is NULL");
	}
	CASE("lab/container_group/number=NULL") {
		int fd;
		SENT(fd);
		watch(&fd, sizeof(fd));
		FAILS(vfio_iommu_info_container_group(c, 0, &fd, NULL), E_NULL, "number is NULL");
	}
	const size_t idx[3] = { groups, groups + 1, SIZE_MAX };
	for (int i = 0; i < 3; i++)
		CASE("lab/container_group/index=%zu", idx[i]) {
			int fd;
			int64_t num;
			SENT(fd); SENT(num);
			watch(&fd, sizeof(fd)); watch(&num, sizeof(num));
			FAILS(vfio_iommu_info_container_group(c, idx[i], &fd, &num), E_RANGE, "index");
		}
	CASE("lab/container_groups/items=NULL") {
		size_t n;
		SENT(n);
		watch(&n, sizeof(n));
		FAILS(vfio_iommu_info_container_groups(c, NULL, &n), E_NULL, "items is NULL");
	}
	CASE("lab/container_groups/count=NULL") {
		const struct vfio_iommu_info_group *p;
		SENT(p);
		watch(&p, sizeof(p));
		FAILS(vfio_iommu_info_container_groups(c, &p, NULL), E_NULL, "count is NULL");
	}
	CASE("lab/container_groups") {
		const struct vfio_iommu_info_group *list = NULL;
		size_t n = 0;
		OK(vfio_iommu_info_container_groups(c, &list, &n));
		CHECK(n == groups && list != NULL);
		for (size_t i = 0; list && i < n; i++) {
			int fd = -1;
			int64_t num = -2;
			OK(vfio_iommu_info_container_group(c, i, &fd, &num));
			CHECK(list[i].size == sizeof(list[i]) && list[i].fd == fd && list[i].number == num);
		}
	}
	CASE("lab/container-handles-work") {
		struct vfio_iommu_info *again = NULL;
		struct vfio_iommu_info_space *s = NULL;
		uint32_t b = 0;
		int fd = -1;
		OK(vfio_iommu_info_container_query(c, &again));
		vfio_iommu_info_free(again);
		OK(vfio_iommu_info_container_backend(c, &b));
		CHECK(b == VFIO_IOMMU_INFO_BACKEND_TYPE1 || b == VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT);
		OK(vfio_iommu_info_container_fd(c, &fd));
		again = NULL;
		OK(vfio_iommu_info_query(fd, &again));
		vfio_iommu_info_free(again);
		rc = vfio_iommu_info_space_from_container(c, &s);
		if (rc != 0 && rc != E_ABSENT)
			whyf("space_from_container: %d %s", rc, last());
		vfio_iommu_info_space_free(s);
	}
	vfio_iommu_info_free(info);
	vfio_iommu_info_container_free(c);
}

static void lab(const char *group, const char *not_vfio)
{
	char path[64];
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);

	/* A live container's handle functions with bad arguments (before the group fd below
	 * holds the group: a group opens once). */
	lab_container_matrix(group);

	int gfd = open(path, O_RDWR | O_CLOEXEC);
	if (gfd < 0) {
		CASE("lab/open %s", path) whyf("cannot open %s: %s", path, strerror(errno));
	} else {
		CASE("lab/query/group-fd") {
			struct vfio_iommu_info *i;
			SENT(i);
			watch(&i, sizeof(i));
			int rc = vfio_iommu_info_query(gfd, &i);
			check_untouched();
			check_prefix("vfio_iommu_info_query");
			check_contains(fmt("fd %d", gfd));
			if (rc == -ENOTTY)
				check_contains("(vfio), not a VFIO container");
			else if (rc == -EINVAL)
				check_contains("no IOMMU model");
			else
				whyf("returned %d (%s): %s", rc, vfio_iommu_info_strerror(rc), last());
		}
		CASE("lab/query_backend/group-fd") {
			uint32_t b;
			SENT(b);
			watch(&b, sizeof(b));
			FAILS(vfio_iommu_info_query_backend(gfd, &b), -ENOTTY,
			      fmt("fd %d is a character device ", gfd));
			check_contains("(vfio), not a VFIO container");
		}
		CASE("lab/query/group-fd-out=NULL") { FAILS(vfio_iommu_info_query(gfd, NULL), E_NULL, "out is NULL"); }
		CASE("lab/open/group-held") {
			/* The group is open here: the library's own open of it is refused. */
			struct vfio_iommu_info *i;
			struct vfio_iommu_info_container *c;
			SENT(i); SENT(c);
			watch(&i, sizeof(i)); watch(&c, sizeof(c));
			FAILS(vfio_iommu_info_open(group, &c, &i), -EBUSY, "already open");
		}
		close(gfd);
	}

	/* A fresh container: no group, no IOMMU model. Legacy VFIO answers EINVAL, iommufd's
	 * compat container ENODEV (no IOAS). */
	int cfd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (cfd < 0) {
		CASE("lab/open /dev/vfio/vfio") whyf("%s", strerror(errno));
	} else {
		CASE("lab/query/fresh-container") {
			struct vfio_iommu_info *i;
			SENT(i);
			watch(&i, sizeof(i));
			int rc = vfio_iommu_info_query(cfd, &i);
			check_untouched();
			check_prefix("vfio_iommu_info_query");
			check_contains(fmt("VFIO_IOMMU_GET_INFO on fd %d failed", cfd));
			if (rc == -EINVAL)
				check_contains("no IOMMU model is set on this container");
			else if (rc == -ENODEV)
				check_contains("has no IOAS");
			else
				whyf("returned %d (%s): %s", rc, vfio_iommu_info_strerror(rc), last());
		}
		CASE("lab/query_backend/fresh-container") {
			uint32_t b = 0;
			OK(vfio_iommu_info_query_backend(cfd, &b));
			CHECK(b == VFIO_IOMMU_INFO_BACKEND_TYPE1 || b == VFIO_IOMMU_INFO_BACKEND_IOMMUFD_COMPAT);
		}
		close(cfd);
	}

	if (not_vfio) {
		char link[512], drv[256] = "";
		snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/driver", not_vfio);
		ssize_t n = readlink(link, drv, sizeof(drv) - 1);
		const char *driver = NULL;
		if (n > 0) {
			drv[n] = 0;
			driver = strrchr(drv, '/') ? strrchr(drv, '/') + 1 : drv;
		}
		CASE("lab/open/not-vfio-device %s (%s)", not_vfio, driver ? driver : "no driver") {
			struct vfio_iommu_info *i;
			struct vfio_iommu_info_container *c;
			SENT(i); SENT(c);
			watch(&i, sizeof(i)); watch(&c, sizeof(c));
			int rc = vfio_iommu_info_open(not_vfio, &c, &i);
			check_untouched();
			check_prefix("vfio_iommu_info_open");
			if (rc == -ENOENT) {
				check_contains("no device of it is bound to vfio-pci");
				if (driver)
					check_contains(fmt("(%s)", driver));
			} else if (rc == VFIO_IOMMU_INFO_E_NOT_VIABLE) {
				check_contains("is not viable");
				if (driver)
					check_contains(fmt("bound to %s", driver));
			} else if (rc != VFIO_IOMMU_INFO_E_NO_IOMMU_GROUP) {
				whyf("returned %d (%s): %s", rc, vfio_iommu_info_strerror(rc), last());
			}
		}
		CASE("lab/open_targets/not-vfio-device %s", not_vfio) {
			struct vfio_iommu_info *i;
			const char *targets[2] = { not_vfio, group };
			SENT(i);
			watch(&i, sizeof(i));
			int rc = vfio_iommu_info_open_targets(targets, 2, NULL, &i);
			check_untouched();
			check_prefix("vfio_iommu_info_open_targets");
			if (rc != -ENOENT && rc != VFIO_IOMMU_INFO_E_NOT_VIABLE && rc != VFIO_IOMMU_INFO_E_NO_IOMMU_GROUP)
				whyf("returned %d (%s): %s", rc, vfio_iommu_info_strerror(rc), last());
		}
		CASE("lab/iommufd_open/not-vfio-device %s", not_vfio) {
			struct vfio_iommu_info_iommufd *h;
			SENT(h);
			watch(&h, sizeof(h));
			int rc = vfio_iommu_info_iommufd_open(not_vfio, &h);
			check_untouched();
			check_prefix("vfio_iommu_info_iommufd_open");
			if (access("/dev/iommu", F_OK) != 0) {
				check_rc(rc, -ENOENT, "iommufd_open");
				check_contains("cannot open /dev/iommu");
			} else {
				check_rc(rc, VFIO_IOMMU_INFO_E_NOT_VIABLE, "iommufd_open");
				check_contains("must be on vfio-pci");
				check_contains(driver ? fmt("bound to %s", driver) : "bound to no driver");
			}
		}
	}
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "lab") == 0 && argc <= 4) {
		lab(argv[2], argc == 4 ? argv[3] : NULL);
	} else if (argc == 2 && strcmp(argv[1], "lab") != 0) {
		test_static_functions();
		test_decoders();
		test_info();
		test_space();
		test_device_region();
		test_null_handles();
		test_wrong_kinds();
		test_fds(argv[0]);
		test_targets();
		test_spapr_tce();
		test_huge_buffers();
		test_corpus(argv[1]);
	} else {
		fprintf(stderr, "usage: bad-input-test CORPUS_DIR\n"
				"       bad-input-test lab GROUP_NUMBER [NOT_VFIO_PCI_ADDRESS]\n");
		return 2;
	}
	printf("bad-input-test: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
