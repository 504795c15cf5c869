/*
 * Unit tests for board_dimms_match: on restore, the "dimms" and "memhp"
 * sections each load only if they are consistent in themselves; this is
 * the check that they agree with each other (a snapshot file is input, and
 * a hostile one may pair a DIMM with a free slot, or the other way round).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "board/dimm.h"

#define AREA  (4ULL << 30)
#define SLOTS 8

struct pair {
	struct dimm_set set;
	struct memhp_regs regs;
};

/* One 256M DIMM plugged in slot 0, its slot enabled in the controller. */
static struct pair *pair_new(void)
{
	struct pair *p = calloc(1, sizeof(*p));
	struct dimm_object_req req = {.id = "m0", .kind = DIMM_BACKEND_RAM, .size = 256 << 20};
	struct dimm_error e = {0};
	struct dimm_plan plan;

	assert_non_null(p);
	assert_int_equal(dimm_set_init(&p->set, AREA, AREA, SLOTS, 2), 0);
	assert_int_equal(dimm_object_add(&p->set, &req, &e), 0);
	assert_int_equal(dimm_plug_check(&p->set, "d0", "m0", 1, &plan, &e), 0);
	dimm_plug_commit(&p->set, "d0", &plan);
	p->regs.nr_slots = SLOTS;
	p->regs.slots[plan.slot] = (struct memhp_slot){
	    .addr = plan.addr, .size = plan.size, .node = plan.node, .enabled = true};
	return p;
}

static void agree(struct pair *p)
{
	char err[200] = "";

	assert_int_equal(board_dimms_match(&p->set, &p->regs, err, sizeof(err)), 0);
}

static void disagree(struct pair *p, unsigned int slot)
{
	char err[200] = "", want[100];

	assert_int_equal(board_dimms_match(&p->set, &p->regs, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "dimms: slot %u: the DIMM and the memhp slot disagree", slot);
	assert_string_equal(err, want);
}

static void test_agreeing_pairs(void **state)
{
	struct pair *p = pair_new();

	agree(p);
	/* An unplug asked and then the guest's eject, not yet released. */
	p->set.dimms[0].state = DIMM_UNPLUGGING;
	agree(p);
	p->regs.slots[0].enabled = false;
	p->regs.slots[0].ejecting = true;
	agree(p);
	p->set.dimms[0].state = DIMM_EJECTED;
	agree(p);
	free(p);
}

static void test_disagreeing_pairs(void **state)
{
	struct pair *p;

	p = pair_new(); /* a DIMM in a free slot */
	memset(&p->regs.slots[0], 0, sizeof(p->regs.slots[0]));
	disagree(p, 0);
	free(p);

	p = pair_new(); /* a slot in use without a DIMM */
	p->regs.slots[3] = p->regs.slots[0];
	p->regs.slots[3].addr += 1ULL << 30;
	disagree(p, 3);
	free(p);

	p = pair_new(); /* another address, size or node */
	p->regs.slots[0].addr += 128 << 20;
	disagree(p, 0);
	p->regs.slots[0].addr -= 128 << 20;
	p->regs.slots[0].size = 128 << 20;
	disagree(p, 0);
	p->regs.slots[0].size = 256 << 20;
	p->regs.slots[0].node = 0;
	disagree(p, 0);
	free(p);

	p = pair_new(); /* ejected by the DIMMs' account, still enabled by the controller's */
	p->set.dimms[0].state = DIMM_EJECTED;
	disagree(p, 0);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_agreeing_pairs),
	    cmocka_unit_test(test_disagreeing_pairs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
