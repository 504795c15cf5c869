#include "config/kv.h"

#include <ctype.h>
#include <errno.h>

void kv_iter_init(struct kv_iter *it, const char *s, size_t len)
{
	it->p = s;
	it->end = s + len;
	it->more = false;
}

/* Scans one piece up to a separator at bracket depth 0. */
static int kv_scan(struct kv_iter *it, bool blank, const char **item, size_t *len)
{
	const char *s = it->p;
	int depth = 0;

	while (it->p < it->end) {
		char c = *it->p;

		if (c == '[') {
			if (depth++)
				return -EINVAL;
		} else if (c == ']') {
			if (!depth--)
				return -EINVAL;
		} else if (!depth && (blank ? isspace((unsigned char)c) : c == ',')) {
			break;
		}
		it->p++;
	}
	if (depth)
		return -EINVAL;
	*item = s;
	*len = it->p - s;
	it->more = it->p < it->end;
	if (it->more)
		it->p++;
	return 1;
}

int kv_next_item(struct kv_iter *it, const char **item, size_t *len)
{
	if (it->p >= it->end && !it->more)
		return 0;
	return kv_scan(it, false, item, len);
}

int kv_next_word(struct kv_iter *it, const char **word, size_t *len)
{
	while (it->p < it->end && isspace((unsigned char)*it->p))
		it->p++;
	if (it->p >= it->end)
		return 0;
	return kv_scan(it, true, word, len);
}

int kv_list(const char *val, size_t len, const char **inner, size_t *inner_len)
{
	if (len && val[0] == '[') {
		if (len < 2 || val[len - 1] != ']')
			return -EINVAL;
		val++;
		len -= 2;
	}
	if (!len)
		return -EINVAL;
	*inner = val;
	*inner_len = len;
	return 0;
}
