/* config: defaults, argv and key=value parsing, sizes. Validation is in validate.c. */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/kv.h"
#include "config/options.h"
#include "lib/size.h"

/* Longest single value (a path) we accept; PATH_MAX plus room. */
#define VALUE_MAX 4096

void config_init(struct mv_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->rng = true;
	cfg->cpus.boot = 1;
	cfg->memory.size = CONFIG_DEFAULT_MEM;
	cfg->memory.unplugged_inaccessible = true;
}

void config_free(struct mv_config *cfg)
{
	free(cfg->kernel);
	free(cfg->initramfs);
	free(cfg->cmdline);
	free(cfg->serial_file);
	free(cfg->api_socket);
	free(cfg->vsock.socket);
	cfg->vsock.socket = NULL;
	free(cfg->restore.source_url);
	cfg->restore.source_url = NULL;
	cfg->kernel = cfg->initramfs = cfg->cmdline = cfg->serial_file = cfg->api_socket = NULL;
	for (unsigned int i = 0; i < cfg->nr_zones; i++) {
		free(cfg->zones[i].file);
		cfg->zones[i].file = NULL;
	}
	for (unsigned int i = 0; i < cfg->nr_pmem; i++) {
		free(cfg->pmem[i].file);
		cfg->pmem[i].file = NULL;
	}
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		free(cfg->disks[i].path);
		free(cfg->disks[i].socket);
		cfg->disks[i].path = cfg->disks[i].socket = NULL;
	}
	for (unsigned int i = 0; i < cfg->nr_fs; i++) {
		free(cfg->fs[i].tag);
		free(cfg->fs[i].socket);
		cfg->fs[i].tag = cfg->fs[i].socket = NULL;
	}
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		struct net_config *n = &cfg->nets[i];

		free(n->tap);
		free(n->ip);
		free(n->mask);
		free(n->mac);
		free(n->host_mac);
		free(n->socket);
		n->tap = n->ip = n->mask = n->mac = n->host_mac = n->socket = NULL;
	}
}

/* Decimal, no sign, no blanks, at most max. */
static int parse_uint(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!len)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		if (v > (max - (s[i] - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Zone ids show up in messages and QMP; keep them to plain names. */
static bool id_ok(const char *s, size_t len)
{
	if (!len || len >= CONFIG_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_-.", s[i]))
			return false;
	return true;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "true"))
		*out = true;
	else if (!strcmp(v, "off") || !strcmp(v, "false"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

struct key_ctx {
	const char *opt; /* "--numa" */
	const char *key;
	const char *val;
	char *err;
	size_t errlen;
};

#define key_err(c, fmt, ...)                                                                       \
	config_errf((c)->err, (c)->errlen, "%s %s=%s: " fmt, (c)->opt, (c)->key, (c)->val,         \
		    ##__VA_ARGS__)

static int set_cpu_list(struct key_ctx *c, struct numa_config *n)
{
	const char *inner, *item, *dash;
	struct kv_iter it;
	size_t len;
	unsigned long a, b;
	int r;

	if (kv_list(c->val, strlen(c->val), &inner, &len))
		return key_err(c, "not a CPU list (e.g. 3, 0-4 or [0-3,7])");
	kv_iter_init(&it, inner, len);
	while ((r = kv_next_item(&it, &item, &len)) > 0) {
		dash = memchr(item, '-', len);
		if (parse_uint(item, dash ? (size_t)(dash - item) : len, CONFIG_MAX_CPUS, &a) ||
		    parse_uint(dash ? dash + 1 : item, dash ? len - (dash + 1 - item) : len,
			       CONFIG_MAX_CPUS, &b))
			return key_err(c, "'%.*s' is not a CPU number (0-%d) or range", (int)len,
				       item, CONFIG_MAX_CPUS);
		if (a > b)
			return key_err(c, "range '%.*s' is backwards", (int)len, item);
		for (; a <= b; a++)
			n->cpus[a / 8] |= 1u << (a % 8);
	}
	return r < 0 ? key_err(c, "unbalanced [ ]") : 0;
}

static int set_distances(struct key_ctx *c, struct numa_config *n)
{
	const char *inner, *item, *at;
	struct kv_iter it;
	size_t len;
	unsigned long dest, dist;
	int r;

	if (kv_list(c->val, strlen(c->val), &inner, &len))
		return key_err(c, "not a distance list (e.g. 1@20 or [1@20,2@30])");
	kv_iter_init(&it, inner, len);
	while ((r = kv_next_item(&it, &item, &len)) > 0) {
		at = memchr(item, '@', len);
		if (!at || parse_uint(item, at - item, UINT32_MAX, &dest) ||
		    parse_uint(at + 1, len - (at + 1 - item), UINT8_MAX, &dist))
			return key_err(c, "'%.*s' is not <node>@<distance> (distance 10-255)",
				       (int)len, item);
		if (n->nr_distances == CONFIG_MAX_NUMA)
			return key_err(c, "more than %d distances", CONFIG_MAX_NUMA);
		n->distances[n->nr_distances].dest = dest;
		n->distances[n->nr_distances++].distance = dist;
	}
	return r < 0 ? key_err(c, "unbalanced [ ]") : 0;
}

/* memory_zones=[mem0,mem2] into n->zones; sgx_epc_sections only counted. */
static int set_id_list(struct key_ctx *c, struct numa_config *n, bool sgx)
{
	const char *inner, *item;
	struct kv_iter it;
	size_t len;
	int r;

	if (kv_list(c->val, strlen(c->val), &inner, &len))
		return key_err(c, "not a list of ids (e.g. mem0 or [mem0,mem2])");
	kv_iter_init(&it, inner, len);
	while ((r = kv_next_item(&it, &item, &len)) > 0) {
		if (!id_ok(item, len))
			return key_err(c, "'%.*s' is not an id (letters, digits, _ - .)", (int)len,
				       item);
		if (sgx) {
			n->nr_sgx_epc_sections++;
			continue;
		}
		if (n->nr_zones == CONFIG_MAX_ZONES)
			return key_err(c, "more than %d memory zones", CONFIG_MAX_ZONES);
		memcpy(n->zones[n->nr_zones], item, len);
		n->zones[n->nr_zones++][len] = '\0';
	}
	return r < 0 ? key_err(c, "unbalanced [ ]") : 0;
}

/* Stores one key's value into its field in obj (the option's struct). */
static int set_key(struct key_ctx *c, void *obj, const struct config_key_desc *k)
{
	void *field = (char *)obj + k->offset;
	unsigned long u;
	int r;

	switch (k->type) {
	case KT_SIZE:
		r = mv_size_parse(c->val, field);
		if (r == -ERANGE)
			return key_err(c, "size too large");
		if (r)
			return key_err(c, MV_SIZE_SYNTAX);
		return 0;
	case KT_BOOL:
		if (parse_bool(c->val, field))
			return key_err(c, "expected on or off");
		return 0;
	case KT_ID:
		if (!id_ok(c->val, strlen(c->val)))
			return key_err(c, "not an id (1 to %d letters, digits, _ - .)",
				       CONFIG_ID_LEN - 1);
		strcpy(field, c->val);
		return 0;
	case KT_PATH:
		if (!*c->val)
			return key_err(c, "empty path");
		*(char **)field = strdup(c->val);
		return *(char **)field ? 0 : -ENOMEM;
	case KT_UINT:
	case KT_NODE:
		r = parse_uint(c->val, strlen(c->val), k->type == KT_NODE ? INT_MAX : UINT_MAX, &u);
		if (r)
			return key_err(c, "not a non-negative integer%s",
				       r == -ERANGE ? " (too large)" : "");
		if (k->type == KT_NODE)
			*(int *)field = u;
		else
			*(unsigned int *)field = u;
		return 0;
	case KT_HOTPLUG_METHOD:
		if (!strcmp(c->val, "acpi"))
			*(enum hotplug_method *)field = HOTPLUG_ACPI;
		else if (!strcmp(c->val, "virtio-mem"))
			*(enum hotplug_method *)field = HOTPLUG_VIRTIO_MEM;
		else
			return key_err(c, "expected acpi or virtio-mem");
		return 0;
	case KT_PMEM_MODEL:
		if (!strcmp(c->val, "virtio-pmem"))
			*(enum pmem_model *)field = PMEM_VIRTIO;
		else if (!strcmp(c->val, "nvdimm"))
			*(enum pmem_model *)field = PMEM_NVDIMM;
		else
			return key_err(c, "expected virtio-pmem or nvdimm");
		return 0;
	case KT_CPU_LIST:
		return set_cpu_list(c, obj);
	case KT_DISTANCES:
		return set_distances(c, obj);
	case KT_ZONE_LIST:
		return set_id_list(c, obj, false);
	case KT_SGX_LIST:
		return set_id_list(c, obj, true);
	}
	return -EINVAL;
}

/* Parses "k=v,k=[a,b],..." (len bytes) for opt into obj, marking *keys. */
static int parse_keys(enum config_opt opt, const char *s, size_t slen, void *obj, uint64_t *keys,
		      char *err, size_t errlen)
{
	const char *name = config_opt_name(opt), *item, *eq;
	char key[64], val[VALUE_MAX + 1], list[512];
	struct key_ctx c = {.opt = name, .key = key, .val = val, .err = err, .errlen = errlen};
	struct kv_iter it;
	size_t len;
	int r, k;

	if (!slen)
		return config_errf(err, errlen, "%s: empty value", name);
	kv_iter_init(&it, s, slen);
	while ((r = kv_next_item(&it, &item, &len)) > 0) {
		eq = memchr(item, '=', len);
		if (!len)
			return config_errf(err, errlen, "%s %.*s: empty item (stray comma?)", name,
					   (int)slen, s);
		if (!eq)
			return config_errf(err, errlen,
					   "%s %.*s: '%.*s' is not key=value (lists need "
					   "brackets: key=[a,b])",
					   name, (int)slen, s, (int)len, item);
		k = config_key_find(opt, item, eq - item);
		if (k < 0) {
			config_key_list(opt, list, sizeof(list));
			return config_errf(err, errlen, "%s %.*s: unknown key '%.*s' (keys: %s)",
					   name, (int)slen, s, (int)(eq - item), item, list);
		}
		if (*keys & CONFIG_KEY_BIT(k))
			return config_errf(err, errlen, "%s %.*s: key %s given twice", name,
					   (int)slen, s, config_key_name(k));
		if (len - (eq + 1 - item) > VALUE_MAX)
			return config_errf(err, errlen, "%s: value of %s too long", name,
					   config_key_name(k));
		snprintf(key, sizeof(key), "%s", config_key_name(k));
		memcpy(val, eq + 1, len - (eq + 1 - item));
		val[len - (eq + 1 - item)] = '\0';
		*keys |= CONFIG_KEY_BIT(k);
		r = set_key(&c, obj, &config_keys[k]);
		if (r)
			return r;
	}
	if (r < 0)
		return config_errf(err, errlen, "%s %.*s: unbalanced [ ]", name, (int)slen, s);
	return 0;
}

int config_parse_memory(struct mv_config *cfg, const char *value, char *err, size_t errlen)
{
	struct memory_config *m = &cfg->memory;

	if (m->given)
		return config_errf(err, errlen, "%s %s: given twice; use one %s with all keys",
				   config_opt_name(OPT_MEMORY), value, config_opt_name(OPT_MEMORY));
	m->given = true;
	/* --memory without size= must not fall back to the default silently. */
	m->size = 0;
	int r = parse_keys(OPT_MEMORY, value, strlen(value), m, &m->keys, err, errlen);
	m->hotplug_method_given = m->keys & CONFIG_KEY_BIT(KEY_MEM_HOTPLUG_METHOD);
	m->unplugged_inaccessible_given = m->keys & CONFIG_KEY_BIT(KEY_MEM_UNPLUGGED_INACCESSIBLE);
	return r;
}

/* Calls one(cfg, word) for every blank-separated word of value. */
static int parse_words(struct mv_config *cfg, enum config_opt opt, const char *value,
		       int (*one)(struct mv_config *, const char *, size_t, char *, size_t),
		       char *err, size_t errlen)
{
	struct kv_iter it;
	const char *w;
	size_t len;
	int r, n = 0;

	kv_iter_init(&it, value, strlen(value));
	while ((r = kv_next_word(&it, &w, &len)) > 0) {
		r = one(cfg, w, len, err, errlen);
		if (r)
			return r;
		n++;
	}
	if (r < 0)
		return config_errf(err, errlen, "%s %s: unbalanced [ ]", config_opt_name(opt),
				   value);
	if (!n)
		return config_errf(err, errlen, "%s: empty value", config_opt_name(opt));
	return 0;
}

static int parse_zone(struct mv_config *cfg, const char *s, size_t len, char *err, size_t errlen)
{
	struct zone_config *z;

	if (cfg->nr_zones == CONFIG_MAX_ZONES)
		return config_errf(err, errlen, "%s %.*s: more than %d zones",
				   config_opt_name(OPT_MEMORY_ZONE), (int)len, s, CONFIG_MAX_ZONES);
	/* Counted before parsing so config_free() releases a half-parsed zone. */
	z = &cfg->zones[cfg->nr_zones++];
	memset(z, 0, sizeof(*z));
	z->host_numa_node = -1;
	z->guest_numa_node = -1;
	z->unplugged_inaccessible = true;
	return parse_keys(OPT_MEMORY_ZONE, s, len, z, &z->keys, err, errlen);
}

int config_parse_memory_zone(struct mv_config *cfg, const char *value, char *err, size_t errlen)
{
	return parse_words(cfg, OPT_MEMORY_ZONE, value, parse_zone, err, errlen);
}

static int parse_pmem(struct mv_config *cfg, const char *s, size_t len, char *err, size_t errlen)
{
	struct pmem_config *p;

	if (cfg->nr_pmem == CONFIG_MAX_PMEM)
		return config_errf(err, errlen, "%s %.*s: more than %d devices",
				   config_opt_name(OPT_PMEM), (int)len, s, CONFIG_MAX_PMEM);
	/* Counted before parsing so config_free() releases a half-parsed device. */
	p = &cfg->pmem[cfg->nr_pmem++];
	memset(p, 0, sizeof(*p));
	p->node = -1;
	return parse_keys(OPT_PMEM, s, len, p, &p->keys, err, errlen);
}

int config_parse_pmem(struct mv_config *cfg, const char *value, char *err, size_t errlen)
{
	return parse_words(cfg, OPT_PMEM, value, parse_pmem, err, errlen);
}

static int parse_disk(struct mv_config *cfg, const char *s, size_t len, char *err, size_t errlen)
{
	struct disk_config *d;

	if (cfg->nr_disks == CONFIG_MAX_DISKS)
		return config_errf(err, errlen, "%s %.*s: more than %d disks",
				   config_opt_name(OPT_DISK), (int)len, s, CONFIG_MAX_DISKS);
	/* Counted before parsing so config_free() releases a half-parsed disk. */
	d = &cfg->disks[cfg->nr_disks++];
	memset(d, 0, sizeof(*d));
	return parse_keys(OPT_DISK, s, len, d, &d->keys, err, errlen);
}

int config_parse_disk(struct mv_config *cfg, const char *value, char *err, size_t errlen)
{
	return parse_words(cfg, OPT_DISK, value, parse_disk, err, errlen);
}

static int parse_net(struct mv_config *cfg, const char *s, size_t len, char *err, size_t errlen)
{
	struct net_config *n;

	if (cfg->nr_nets == CONFIG_MAX_NETS)
		return config_errf(err, errlen, "%s %.*s: more than %d network devices",
				   config_opt_name(OPT_NET), (int)len, s, CONFIG_MAX_NETS);
	/* Counted before parsing so config_free() releases a half-parsed one. */
	n = &cfg->nets[cfg->nr_nets++];
	memset(n, 0, sizeof(*n));
	return parse_keys(OPT_NET, s, len, n, &n->keys, err, errlen);
}

int config_parse_net(struct mv_config *cfg, const char *value, char *err, size_t errlen)
{
	return parse_words(cfg, OPT_NET, value, parse_net, err, errlen);
}

static int parse_fs(struct mv_config *cfg, const char *s, size_t len, char *err, size_t errlen)
{
	struct fs_config *f;
	int r;

	if (cfg->nr_fs == CONFIG_MAX_FS)
		return config_errf(err, errlen, "%s %.*s: more than %d shares",
				   config_opt_name(OPT_FS), (int)len, s, CONFIG_MAX_FS);
	/* Counted before parsing so config_free() releases a half-parsed one. */
	f = &cfg->fs[cfg->nr_fs++];
	memset(f, 0, sizeof(*f));
	snprintf(f->id, sizeof(f->id), "fs%u", cfg->nr_fs - 1);
	r = parse_keys(OPT_FS, s, len, f, &f->keys, err, errlen);
	for (int key = KEY_FS_TAG; !r && key <= KEY_FS_SOCKET; key++)
		if (!(f->keys & CONFIG_KEY_BIT(key)))
			r = config_errf(err, errlen, "%s %.*s: %s= is needed",
					config_opt_name(OPT_FS), (int)len, s, config_key_name(key));
	return r;
}

int config_parse_fs(struct mv_config *cfg, const char *value, char *err, size_t errlen)
{
	return parse_words(cfg, OPT_FS, value, parse_fs, err, errlen);
}

static int parse_node(struct mv_config *cfg, const char *s, size_t len, char *err, size_t errlen)
{
	struct numa_config *n;
	int r;

	if (cfg->nr_numa == CONFIG_MAX_NUMA)
		return config_errf(err, errlen, "%s %.*s: more than %d nodes",
				   config_opt_name(OPT_NUMA), (int)len, s, CONFIG_MAX_NUMA);
	n = &cfg->numa[cfg->nr_numa++];
	memset(n, 0, sizeof(*n));
	r = parse_keys(OPT_NUMA, s, len, n, &n->keys, err, errlen);
	n->cpus_given = n->keys & CONFIG_KEY_BIT(KEY_NUMA_CPUS);
	return r;
}

int config_parse_numa(struct mv_config *cfg, const char *value, char *err, size_t errlen)
{
	return parse_words(cfg, OPT_NUMA, value, parse_node, err, errlen);
}

int config_parse_balloon(struct mv_config *cfg, const char *value, char *err, size_t errlen)
{
	struct balloon_config *b = &cfg->balloon;
	int r;

	b->given = true;
	snprintf(b->id, sizeof(b->id), "balloon0");
	r = parse_keys(OPT_BALLOON, value, strlen(value), b, &b->keys, err, errlen);
	if (!r && !(b->keys & CONFIG_KEY_BIT(KEY_BALLOON_SIZE)))
		r = config_errf(err, errlen, "%s %s: %s= is needed (0 for an empty balloon)",
				config_opt_name(OPT_BALLOON), value,
				config_key_name(KEY_BALLOON_SIZE));
	return r;
}

static int config_parse_vsock(struct mv_config *cfg, const char *value, char *err, size_t errlen)
{
	struct vsock_config *k = &cfg->vsock;
	int r;

	if (k->given)
		return config_errf(err, errlen, "%s: given twice (one vsock device per VM)",
				   config_opt_name(OPT_VSOCK));
	k->given = true;
	snprintf(k->id, sizeof(k->id), "vsock0");
	r = parse_keys(OPT_VSOCK, value, strlen(value), k, &k->keys, err, errlen);
	for (int key = KEY_VSOCK_CID; !r && key <= KEY_VSOCK_SOCKET; key++)
		if (!(k->keys & CONFIG_KEY_BIT(key)))
			r = config_errf(err, errlen, "%s %s: %s= is needed",
					config_opt_name(OPT_VSOCK), value, config_key_name(key));
	return r;
}

int config_parse_autoscale(struct mv_config *cfg, const char *value, char *err, size_t errlen)
{
	struct autoscale_config *a = &cfg->autoscale;
	int r;

	a->given = true;
	a->low = 20;
	a->high = 50;
	a->up_step = 128ULL << 20;
	a->down_delay = 30;
	r = parse_keys(OPT_AUTOSCALE, value, strlen(value), a, &a->keys, err, errlen);
	for (enum config_key k = KEY_AS_MIN; !r && k <= KEY_AS_MAX; k++)
		if (!(a->keys & CONFIG_KEY_BIT(k)))
			r = config_errf(err, errlen, "%s %s: %s= is needed",
					config_opt_name(OPT_AUTOSCALE), value, config_key_name(k));
	return r;
}

int config_parse_cpus(struct mv_config *cfg, const char *value, char *err, size_t errlen)
{
	if (cfg->cpus.keys)
		return config_errf(err, errlen, "%s %s: given twice", config_opt_name(OPT_CPUS),
				   value);
	return parse_keys(OPT_CPUS, value, strlen(value), &cfg->cpus, &cfg->cpus.keys, err, errlen);
}

static int set_string(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

/* One option with its value (NULL for a flag). */
static int parse_option(struct mv_config *cfg, enum config_opt opt, const char *v, char *err,
			size_t errlen)
{
	const char *name = config_opt_name(opt);

	switch (opt) {
	case OPT_KERNEL:
	case OPT_INITRAMFS:
	case OPT_CMDLINE:
		if (!*v && opt != OPT_CMDLINE)
			return config_errf(err, errlen, "%s: empty path", name);
		return set_string(opt == OPT_KERNEL	 ? &cfg->kernel
				  : opt == OPT_INITRAMFS ? &cfg->initramfs
							 : &cfg->cmdline,
				  v);
	case OPT_MEMORY:
		return config_parse_memory(cfg, v, err, errlen);
	case OPT_MEMORY_ZONE:
		return config_parse_memory_zone(cfg, v, err, errlen);
	case OPT_NUMA:
		return config_parse_numa(cfg, v, err, errlen);
	case OPT_PMEM:
		return config_parse_pmem(cfg, v, err, errlen);
	case OPT_DISK:
		return config_parse_disk(cfg, v, err, errlen);
	case OPT_NET:
		return config_parse_net(cfg, v, err, errlen);
	case OPT_CPUS:
		return config_parse_cpus(cfg, v, err, errlen);
	case OPT_SERIAL:
		if (!strcmp(v, "tty"))
			cfg->serial = SERIAL_TTY;
		else if (!strcmp(v, "off"))
			cfg->serial = SERIAL_OFF;
		else if (!strncmp(v, "file=", 5) && v[5]) {
			cfg->serial = SERIAL_FILE;
			return set_string(&cfg->serial_file, v + 5);
		} else if (!strncmp(v, "file=", 5))
			return config_errf(err, errlen, "%s %s: file= needs a path", name, v);
		else
			return config_errf(err, errlen, "%s %s: expected tty, off or file=<path>",
					   name, v);
		return 0;
	case OPT_API_SOCKET:
		if (!strncmp(v, "path=", 5))
			v += 5;
		if (!*v)
			return config_errf(err, errlen, "%s: empty path", name);
		return set_string(&cfg->api_socket, v);
	case OPT_ON_REBOOT:
		if (!strcmp(v, "reset"))
			cfg->on_reboot = ON_REBOOT_RESET;
		else if (!strcmp(v, "exit"))
			cfg->on_reboot = ON_REBOOT_EXIT;
		else
			return config_errf(err, errlen, "%s %s: expected reset or exit", name, v);
		return 0;
	case OPT_RESTORE:
		return config_parse_restore(cfg, v, err, errlen);
	case OPT_BALLOON:
		return config_parse_balloon(cfg, v, err, errlen);
	case OPT_VSOCK:
		return config_parse_vsock(cfg, v, err, errlen);
	case OPT_FS:
		return config_parse_fs(cfg, v, err, errlen);
	case OPT_AUTOSCALE:
		return config_parse_autoscale(cfg, v, err, errlen);
	case OPT_RNG:
		if (parse_bool(v, &cfg->rng))
			return config_errf(err, errlen, "%s %s: expected on or off", name, v);
		return 0;
	case OPT_DRY_RUN:
		cfg->dry_run = true;
		return 0;
	case OPT_CHECK_KVM:
		cfg->check_kvm = true;
		return 0;
	case OPT_HELP:
		config_print_help(stdout);
		return 0;
	case OPT_VERSION:
		printf("memvisor %s\n", MV_VERSION);
		return 0;
	case OPT__COUNT:
		break;
	}
	return -EINVAL;
}

static bool is_option(const char *w)
{
	return w[0] == '-' && w[1] == '-';
}

int config_parse_restore(struct mv_config *cfg, const char *value, char *err, size_t errlen)
{
	struct restore_config *r = &cfg->restore;
	char *copy = strdup(value), *save = NULL, *item;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	r->given = true;
	r->prefault = -1;
	r->mode = RESTORE_COPY;
	r->resume = false;
	for (item = strtok_r(copy, ",", &save); item && !ret; item = strtok_r(NULL, ",", &save)) {
		char *v = strchr(item, '=');
		bool b;

		if (!v) {
			ret = config_errf(err, errlen, OPT_NAME_RESTORE " %s: expected key=value",
					  item);
			break;
		}
		*v++ = '\0';
		if (!strcmp(item, "source_url")) {
			if (!*v)
				ret =
				    config_errf(err, errlen, OPT_NAME_RESTORE ": empty source_url");
			else
				ret = set_string(&r->source_url, v);
		} else if (!strcmp(item, "prefault") || !strcmp(item, "resume")) {
			if (parse_bool(v, &b))
				ret = config_errf(err, errlen,
						  OPT_NAME_RESTORE " %s=%s: expected on or off",
						  item, v);
			else if (item[0] == 'p')
				r->prefault = b;
			else
				r->resume = b;
		} else if (!strcmp(item, "memory_restore_mode")) {
			if (!strcmp(v, "copy"))
				r->mode = RESTORE_COPY;
			else if (!strcmp(v, "cow"))
				r->mode = RESTORE_COW;
			else if (!strcmp(v, "ondemand"))
				r->mode = RESTORE_ONDEMAND;
			else
				ret = config_errf(err, errlen,
						  OPT_NAME_RESTORE
						  " memory_restore_mode=%s: expected "
						  "copy, cow or ondemand",
						  v);
		} else {
			ret = config_errf(err, errlen, OPT_NAME_RESTORE ": unknown key '%s'", item);
		}
	}
	free(copy);
	if (!ret && !r->source_url)
		ret = config_errf(err, errlen,
				  OPT_NAME_RESTORE ": source_url=file:///<path> is needed");
	return ret;
}

int config_parse_args(struct mv_config *cfg, int argc, char **argv, bool *exit_now, char *err,
		      size_t errlen)
{
	bool seen[OPT__COUNT] = {false};
	int i, r, opt;

	*exit_now = false;
	for (i = 1; i < argc; i++) {
		const char *w = argv[i], *eq = strchr(w, '='), *v = NULL;
		const struct config_option *o;

		if (is_option(w))
			opt = config_opt_find(w, eq ? (size_t)(eq - w) : strlen(w));
		else if (w[0] == '-' && w[1] && !w[2])
			opt = config_opt_find_short(w[1]);
		else
			return config_errf(err, errlen,
					   "unexpected argument '%s' (options start "
					   "with --; see --help)",
					   w);
		if (opt < 0)
			return config_errf(err, errlen, "unknown option '%.*s' (see --help)",
					   eq && is_option(w) ? (int)(eq - w) : (int)strlen(w), w);
		o = &config_options[opt];
		if (seen[opt] && !o->multi)
			return config_errf(err, errlen, "%s given twice", o->name);
		seen[opt] = true;
		if (!o->arg && eq && is_option(w))
			return config_errf(err, errlen, "%s takes no value", o->name);
		if (o->arg) {
			if (eq && is_option(w))
				v = eq + 1;
			else if (i + 1 < argc && !is_option(argv[i + 1]))
				v = argv[++i];
			else
				return config_errf(err, errlen, "%s needs a value: %s", o->name,
						   o->arg);
		}
		r = parse_option(cfg, opt, v, err, errlen);
		if (r)
			return r;
		/* --memory-zone a b c: every following word that is not an option. */
		while (o->multi && i + 1 < argc && !is_option(argv[i + 1])) {
			r = parse_option(cfg, opt, argv[++i], err, errlen);
			if (r)
				return r;
		}
		if (opt == OPT_HELP || opt == OPT_VERSION) {
			*exit_now = true;
			return 0;
		}
	}
	/* The snapshot says what the machine is; only where it talks may change. */
	if (seen[OPT_RESTORE])
		for (opt = 0; opt < OPT__COUNT; opt++)
			if (seen[opt] && opt != OPT_RESTORE && opt != OPT_API_SOCKET &&
			    opt != OPT_SERIAL)
				return config_errf(err, errlen,
						   "%s cannot be combined with " OPT_NAME_RESTORE
						   " (the configuration comes from the snapshot; "
						   "only " OPT_NAME_API_SOCKET
						   " and " OPT_NAME_SERIAL " may be given)",
						   config_options[opt].name);
	return 0;
}
