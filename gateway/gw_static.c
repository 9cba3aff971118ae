/* gw_static: URL path to file mapping for the dashboard, with traversal defences. */
#include "gw_static.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool gw_seg_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

bool gw_static_path(const char *url, char *out, size_t outlen)
{
	if (!url || url[0] != '/')
		return false;
	if (strcmp(url, "/") == 0)
		url = "/index.html";
	size_t len = strlen(url + 1);
	if (len == 0 || len >= outlen || len >= GW_STATIC_PATH_MAX)
		return false;
	int depth = 0;
	const char *seg = url + 1;
	for (;;) {
		const char *end = strchr(seg, '/');
		size_t slen = end ? (size_t)(end - seg) : strlen(seg);
		if (slen == 0 || slen > 255 || seg[0] == '.' || ++depth > 8)
			return false;
		for (size_t i = 0; i < slen; i++) {
			if (!gw_seg_char(seg[i]))
				return false;
		}
		if (!end)
			break;
		seg = end + 1;
	}
	memcpy(out, url + 1, len + 1);
	return true;
}

const char *gw_static_content_type(const char *name)
{
	static const struct {
		const char *ext;
		const char *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".json", "application/json"},
		{".map", "application/json"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".ico", "image/x-icon"},
		{".txt", "text/plain; charset=utf-8"},
		{".woff2", "font/woff2"},
	};
	const char *dot = strrchr(name, '.');
	if (dot && !strchr(dot, '/')) {
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
			if (strcmp(dot, types[i].ext) == 0)
				return types[i].type;
		}
	}
	return "application/octet-stream";
}

bool gw_static_open(const char *root, const char *rel, int *fd, uint64_t *size)
{
	char joined[PATH_MAX], real[PATH_MAX];
	size_t rlen = strlen(root);
	if (snprintf(joined, sizeof joined, "%s/%s", root, rel) >= (int)sizeof joined)
		return false;
	if (!realpath(joined, real))
		return false;
	/* The resolved file must be inside root (symlinks may not lead out). */
	if (strncmp(real, root, rlen) != 0 || real[rlen] != '/')
		return false;
	int f = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f < 0)
		return false;
	struct stat st;
	if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(f);
		return false;
	}
	*fd = f;
	*size = (uint64_t)st.st_size;
	return true;
}
