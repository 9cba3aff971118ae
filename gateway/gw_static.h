/* gw_static: the dashboard's files from the web directory: safe mapping of URL paths
 * to files (no traversal, no hidden files, no symlinks out of the directory) and their
 * Content-Type. */
#ifndef GW_STATIC_H
#define GW_STATIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_STATIC_PATH_MAX 256

/* Maps a decoded URL path to a path relative to the web directory: "/" is
 * "index.html"; segments must be 1..255 bytes of [A-Za-z0-9._-], not starting with '.'
 * (so no "..", no hidden files), no empty segments, at most 8 deep. Returns false for
 * anything else (the caller answers 404). */
bool gw_static_path(const char *url, char *out, size_t outlen);

/* The Content-Type for a file name, by extension; application/octet-stream if unknown. */
const char *gw_static_content_type(const char *name);

/* Opens rel inside root (an absolute, resolved directory path). The resolved file must
 * lie inside root and be a regular file. On success *fd (caller closes, or hands to
 * MHD) and *size are set. Returns false if there is no such file. */
bool gw_static_open(const char *root, const char *rel, int *fd, uint64_t *size);

#endif
