#include "lib/errbuf.h"

#include <stdio.h>
#include <string.h>

void mv_escape_ctl(char *dst, size_t len, const char *src)
{
	size_t n = 0;

	if (!len)
		return;
	for (; *src; src++) {
		unsigned char c = (unsigned char)*src;
		char esc[5];
		size_t elen;

		if (c == '\n')
			elen = (size_t)snprintf(esc, sizeof(esc), "\\n");
		else if (c == '\t')
			elen = (size_t)snprintf(esc, sizeof(esc), "\\t");
		else if (c == '\r')
			elen = (size_t)snprintf(esc, sizeof(esc), "\\r");
		else if (c < 0x20 || c == 0x7f)
			elen = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", c);
		else
			esc[0] = (char)c, esc[1] = '\0', elen = 1;
		if (n + elen >= len)
			break;
		memcpy(dst + n, esc, elen);
		n += elen;
	}
	dst[n] = '\0';
}

void mv_verrbuf(char *err, size_t len, const char *fmt, va_list ap)
{
	char raw[4096];

	if (!err || !len)
		return;
	/* Formatted aside first: the values are escaped, not the format. */
	vsnprintf(raw, sizeof(raw), fmt, ap);
	mv_escape_ctl(err, len, raw);
}

void mv_errbuf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mv_verrbuf(err, len, fmt, ap);
	va_end(ap);
}
