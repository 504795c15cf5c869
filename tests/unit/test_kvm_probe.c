/* Unit tests for core/kvm_probe: the verdict and its one line, for every kind of host. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#include "core/kvm_probe.h"

static struct kvm_probe_facts facts(enum kvm_probe_result r)
{
	return (struct kvm_probe_facts){
	    .dev = KVM_DEV_OK, .api_version = 12, .probe = r, .timeout_ms = 2000};
}

static void verdict(const struct kvm_probe_facts *f, bool want, const char *part)
{
	char line[256];

	assert_int_equal(kvm_probe_verdict(f, line, sizeof(line)), want);
	if (!strstr(line, part))
		fail_msg("verdict \"%s\" lacks \"%s\"", line, part);
	assert_null(strchr(line, '\n'));
}

static void test_no_device(void **state)
{
	struct kvm_probe_facts f = {.dev = KVM_DEV_ABSENT, .open_errno = ENOENT};

	verdict(&f, false, "no /dev/kvm");
	/* The module is named only when the device is there to be blamed. */
	f.pvm_module = true;
	verdict(&f, false, "no /dev/kvm");
}

static void test_cannot_open(void **state)
{
	struct kvm_probe_facts f = {.dev = KVM_DEV_NO_ACCESS, .open_errno = EACCES};

	verdict(&f, false, "cannot open /dev/kvm: Permission denied");
}

static void test_bad_api(void **state)
{
	struct kvm_probe_facts f = {.dev = KVM_DEV_BAD_API, .api_version = 11};

	verdict(&f, false, "API version 11, not 12");
}

static void test_probe_ok(void **state)
{
	struct kvm_probe_facts f = facts(KVM_PROBE_OK);

	f.elapsed_ms = 7;
	verdict(&f, true, "can run a stock guest");
	verdict(&f, true, "in 7 ms");
	/* The probe is the proof: a module present beside a KVM that runs it is fine. */
	f.pvm_module = true;
	verdict(&f, true, "can run a stock guest");
}

static void test_pvm_names_the_module(void **state)
{
	struct kvm_probe_facts f = facts(KVM_PROBE_WRONG_EXIT);

	f.pvm_module = true;
	f.exit_reason = KVM_EXIT_INTERNAL_ERROR;
	verdict(&f, false, "this host's KVM is kvm_pvm, which runs only PVM guest kernels");
	verdict(&f, false, "exit reason 17 (internal error)");
	f = facts(KVM_PROBE_TIMEOUT);
	f.pvm_module = true;
	verdict(&f, false,
		"kvm_pvm, which runs only PVM guest kernels (the probe guest did not "
		"reach its out within 2000 ms)");
}

static void test_timeout(void **state)
{
	struct kvm_probe_facts f = facts(KVM_PROBE_TIMEOUT);

	verdict(&f, false,
		"/dev/kvm cannot run a stock guest: the probe guest did not reach its "
		"out within 2000 ms");
	f.killed = true;
	verdict(&f, false, "KVM_RUN ignored signals");
}

static void test_wrong_exit(void **state)
{
	struct kvm_probe_facts f = facts(KVM_PROBE_WRONG_EXIT);

	f.exit_reason = KVM_EXIT_SHUTDOWN;
	verdict(&f, false, "exit reason 8 (shutdown: a triple fault)");
	/* An out from the right port with the wrong value: the handler never ran. */
	f.exit_reason = KVM_EXIT_IO;
	f.port = KVM_PROBE_PORT;
	f.value = 0;
	verdict(&f, false, "unexpected I/O exit (port 0x510 value 0x0)");
}

static void test_setup_failed(void **state)
{
	struct kvm_probe_facts f = facts(KVM_PROBE_SETUP_FAILED);

	f.step = "KVM_CREATE_VM";
	f.err = ENOMEM;
	verdict(&f, false, "KVM_CREATE_VM failed: Cannot allocate memory");
}

static void test_short_buffer(void **state)
{
	struct kvm_probe_facts f = facts(KVM_PROBE_TIMEOUT);
	char line[16];

	f.pvm_module = true;
	assert_false(kvm_probe_verdict(&f, line, sizeof(line)));
	assert_int_equal(strlen(line), sizeof(line) - 1);
}

/* The real thing, on whatever host runs the tests: bounded, and consistent. */
static void test_gather_bounded(void **state)
{
	struct kvm_probe_facts f;
	char line[256];

	kvm_probe_gather(&f, "/nonexistent/kvm", 500);
	assert_int_equal(f.dev, KVM_DEV_ABSENT);
	assert_false(kvm_probe_verdict(&f, line, sizeof(line)));
	kvm_probe_gather(&f, "/dev/null", 500);
	assert_int_equal(f.dev, KVM_DEV_BAD_API);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_device),
	    cmocka_unit_test(test_cannot_open),
	    cmocka_unit_test(test_bad_api),
	    cmocka_unit_test(test_probe_ok),
	    cmocka_unit_test(test_pvm_names_the_module),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_wrong_exit),
	    cmocka_unit_test(test_setup_failed),
	    cmocka_unit_test(test_short_buffer),
	    cmocka_unit_test(test_gather_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
