/*
 * kv: splits option values into pieces without copying or allocating.
 *
 * "id=mem0,size=1G" splits at commas into items, "cpus=[1-3,7]" keeps the
 * comma inside brackets, and "id=mem0 id=mem1" splits at blanks into words.
 * Brackets do not nest; an unbalanced or nested bracket is -EINVAL.
 */
#ifndef MV_CONFIG_KV_H
#define MV_CONFIG_KV_H

#include <stdbool.h>
#include <stddef.h>

struct kv_iter {
	const char *p;
	const char *end;
	bool more; /* a separator was consumed: one more (maybe empty) item */
};

void kv_iter_init(struct kv_iter *it, const char *s, size_t len);

/*
 * Next comma-separated item: 1 with (*item, *len) set, 0 at the end, -EINVAL
 * for bad brackets. An empty item ("a=1,,b=2", "a=1,") is returned as such so
 * the caller can name it.
 */
int kv_next_item(struct kv_iter *it, const char **item, size_t *len);

/* Next blank-separated word (blanks inside brackets do not split). */
int kv_next_word(struct kv_iter *it, const char **word, size_t *len);

/*
 * The items of a list value: "[a,b]" gives a and b, a bare "a" gives a.
 * Sets *inner and *inner_len to what should be fed to kv_next_item; -EINVAL
 * for "[" without "]" or an empty list.
 */
int kv_list(const char *val, size_t len, const char **inner, size_t *inner_len);

#endif
