/*
 * check.h: the checks the C test programs share (ffi/tests/c). Define CHECK_PROGRAM (the
 * program's name, for messages) before including it.
 *
 *   check(ok, fmt, ...)   counts a check; prints "FAIL <fmt...>" on stdout when !ok
 *                         (thread-safe: the counters are atomic, the line is locked)
 *   CHECK(cond)           check(cond), naming the line, the condition and the last error
 *   CHECK_RC(call, want)  CHECK that a call returns `want`, naming what it returned
 *   check_summary()       prints "<program>: N checks, M failed"; returns 1 when a check
 *                         failed, else 0
 *
 * bad-input-test has its own case-by-case checks (CASE, FAILS, OK...): a failing case
 * names the call and what it got, and the summary counts cases.
 */
#ifndef CHECK_H
#define CHECK_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* flockfile under -std=c11 */
#endif
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include <vfio_iommu_info.h>

#ifndef CHECK_PROGRAM
#error "define CHECK_PROGRAM before including check.h"
#endif

static atomic_int checks, failures;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
	atomic_fetch_add(&checks, 1);
	if (ok)
		return;
	atomic_fetch_add(&failures, 1);
	va_list ap;
	va_start(ap, fmt);
	flockfile(stdout);
	fputs("FAIL ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	funlockfile(stdout);
	va_end(ap);
}

#define CHECK(cond)                                                                      \
	do {                                                                             \
		bool ok_ = (cond);                                                       \
		check(ok_, "%s:%d: %s (last error: %s)", CHECK_PROGRAM, __LINE__, #cond, \
		      vfio_iommu_info_last_error());                                     \
	} while (0)

#define CHECK_RC(call, want)                                                             \
	do {                                                                             \
		int rc_ = (call);                                                        \
		check(rc_ == (want), "%s:%d: %s returned %d (%s), not %s: %s", CHECK_PROGRAM, \
		      __LINE__, #call, rc_, vfio_iommu_info_strerror(rc_), #want,        \
		      vfio_iommu_info_last_error());                                     \
	} while (0)

static int check_summary(void)
{
	printf("%s: %d checks, %d failed\n", CHECK_PROGRAM, atomic_load(&checks),
	       atomic_load(&failures));
	return atomic_load(&failures) ? 1 : 0;
}

#endif
