#include "devices/power.h"

#include <string.h>

#include "acpi/acpi.h"
#include "lib/log.h"
#include "lib/util.h"

static void power_pm_read(struct bus_dev *d, uint64_t off, void *data, uint32_t len)
{
	/* Sleep status: never "woken"; the guest only writes here. */
	memset(data, 0, len);
}

static void power_pm_write(struct bus_dev *d, uint64_t off, const void *data, uint32_t len)
{
	struct power *p = container_of(d, struct power, pm);
	uint8_t v = *(const uint8_t *)data;

	mv_debug("power: ACPI register write %#x", v);
	if (v == ACPI_RESET_VAL)
		p->events->post(p->events, VM_EV_RESET);
	else if ((v & ACPI_SLP_EN) && ((v >> 2) & 7) == ACPI_SLP_TYP_S5)
		p->events->post(p->events, VM_EV_POWEROFF);
}

static const struct bus_dev_ops power_pm_ops = {
    .read = power_pm_read,
    .write = power_pm_write,
};

static void power_kbc_read(struct bus_dev *d, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len); /* status: output and input buffers empty */
}

static void power_kbc_write(struct bus_dev *d, uint64_t off, const void *data, uint32_t len)
{
	struct power *p = container_of(d, struct power, kbc);

	mv_debug("power: i8042 write %#x to port %#llx", *(const uint8_t *)data,
		 (unsigned long long)(I8042_PORT + off));

	if (off == 4 && *(const uint8_t *)data == 0xFE)
		p->events->post(p->events, VM_EV_RESET);
}

static const struct bus_dev_ops power_kbc_ops = {
    .read = power_kbc_read,
    .write = power_kbc_write,
};

static void power_panic_read(struct bus_dev *d, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
	*(uint8_t *)data = 0x01; /* supports "panicked" */
}

static void power_panic_write(struct bus_dev *d, uint64_t off, const void *data, uint32_t len)
{
	struct power *p = container_of(d, struct power, panic);

	if (*(const uint8_t *)data & 0x01)
		p->events->post(p->events, VM_EV_PANIC);
}

static const struct bus_dev_ops power_panic_ops = {
    .read = power_panic_read,
    .write = power_panic_write,
};

void power_button(struct power *p)
{
	irq_pulse(p->irq, POWER_BUTTON_GSI);
}

int power_init(struct power *p, struct bus *pio, struct vm_events *events, struct irq_sink *irq)
{
	int ret;

	memset(p, 0, sizeof(*p));
	p->events = events;
	p->irq = irq;
	p->pm = (struct bus_dev){.ops = &power_pm_ops, .name = "acpi-pm"};
	p->kbc = (struct bus_dev){.ops = &power_kbc_ops, .name = "i8042"};
	p->panic = (struct bus_dev){.ops = &power_panic_ops, .name = "pvpanic"};
	ret = bus_register(pio, &p->pm, ACPI_PM_PORT, 1);
	if (!ret)
		ret = bus_register(pio, &p->kbc, I8042_PORT, 5);
	if (!ret)
		ret = bus_register(pio, &p->panic, PVPANIC_PORT, 1);
	if (ret)
		power_destroy(p, pio);
	return ret;
}

void power_destroy(struct power *p, struct bus *pio)
{
	bus_unregister(pio, &p->pm);
	bus_unregister(pio, &p->kbc);
	bus_unregister(pio, &p->panic);
}
