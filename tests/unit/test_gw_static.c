/* test_gw_static: URL-to-file mapping refuses traversal, hidden files and odd bytes;
 * files are opened only inside the web directory (symlinks out are refused); content
 * types by extension. Uses a private temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gw_static.h"

static void test_paths(void **state)
{
	(void)state;
	char out[GW_STATIC_PATH_MAX];
	assert_true(gw_static_path("/", out, sizeof out));
	assert_string_equal(out, "index.html");
	assert_true(gw_static_path("/app.js", out, sizeof out));
	assert_string_equal(out, "app.js");
	assert_true(gw_static_path("/vendor/uPlot-1.6.min.js", out, sizeof out));
	assert_string_equal(out, "vendor/uPlot-1.6.min.js");
	const char *bad[] = {
		"",	      "app.js",	   "/..",	   "/../x",	"/a/../b",    "/a/..",
		"/./a",	      "/.env",	   "/a/.hidden", "//a",	"/a//b",      "/a/",
		"/a\\b",      "/a b",	   "/a%2e",	   "/a\x01",	"/\xc3\xa9.js", "/a?b",
		"/a;b",	      "/~root",	   "/a:b",	   "/1/2/3/4/5/6/7/8/9",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (gw_static_path(bad[i], out, sizeof out))
			fail_msg("'%s' was accepted as '%s'", bad[i], out);
	}
	assert_false(gw_static_path(NULL, out, sizeof out));
	assert_true(gw_static_path("/1/2/3/4/5/6/7/8", out, sizeof out)); /* 8 deep is fine */
	char longp[400] = "/";
	memset(longp + 1, 'a', 300);
	longp[301] = '\0';
	assert_false(gw_static_path(longp, out, sizeof out));
}

static void test_content_types(void **state)
{
	(void)state;
	assert_string_equal(gw_static_content_type("index.html"), "text/html; charset=utf-8");
	assert_string_equal(gw_static_content_type("app.js"), "text/javascript; charset=utf-8");
	assert_string_equal(gw_static_content_type("a/b.mjs"), "text/javascript; charset=utf-8");
	assert_string_equal(gw_static_content_type("app.css"), "text/css; charset=utf-8");
	assert_string_equal(gw_static_content_type("favicon.svg"), "image/svg+xml");
	assert_string_equal(gw_static_content_type("LICENSE"), "application/octet-stream");
	assert_string_equal(gw_static_content_type("x.exe"), "application/octet-stream");
	assert_string_equal(gw_static_content_type("dir.js/file"), "application/octet-stream");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_open_inside_root(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/gw-static-XXXXXX";
	char *base = mkdtemp(tmpl);
	assert_non_null(base);
	char root[300], path[400], outside[400], real[4096];
	snprintf(root, sizeof root, "%s/web", base);
	assert_int_equal(mkdir(root, 0700), 0);
	snprintf(path, sizeof path, "%s/index.html", root);
	write_file(path, "<p>hi</p>");
	snprintf(path, sizeof path, "%s/sub", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/sub/a.js", root);
	write_file(path, "x");
	snprintf(outside, sizeof outside, "%s/secret.txt", base);
	write_file(outside, "secret");
	snprintf(path, sizeof path, "%s/link.txt", root);
	assert_int_equal(symlink(outside, path), 0);
	snprintf(path, sizeof path, "%s/webx", base); /* a sibling sharing the prefix */
	assert_int_equal(mkdir(path, 0700), 0);
	assert_non_null(realpath(root, real));

	int fd = -1;
	uint64_t size = 0;
	assert_true(gw_static_open(real, "index.html", &fd, &size));
	assert_int_equal(size, 9);
	close(fd);
	assert_true(gw_static_open(real, "sub/a.js", &fd, &size));
	close(fd);
	assert_false(gw_static_open(real, "missing.js", &fd, &size));
	assert_false(gw_static_open(real, "sub", &fd, &size));         /* a directory */
	assert_false(gw_static_open(real, "link.txt", &fd, &size));    /* symlink out */
	assert_false(gw_static_open(real, "../secret.txt", &fd, &size)); /* even if asked */
	assert_false(gw_static_open(real, "../webx", &fd, &size));

	snprintf(path, sizeof path, "rm -rf '%s'", base);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_content_types),
		cmocka_unit_test(test_open_inside_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
