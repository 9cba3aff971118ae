/* tr_log: formats a line (text, or one JSON object) into a stack buffer and writes it
 * with one write(2). */
#include "tr_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tr_utf8.h"

#define TR_LOG_LINE_MAX 2048

tr_log_level tr_log_threshold = TR_LOG_INFO;
static tr_log_format tr_log_form = TR_LOG_TEXT;
static char tr_log_service[32] = "triage";

static const char *const tr_log_names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
static const char *const tr_log_json_names[] = {"debug", "info", "warn", "error"};

void tr_log_init(const char *service, tr_log_level threshold)
{
	snprintf(tr_log_service, sizeof(tr_log_service), "%s", service ? service : "triage");
	tr_log_threshold = threshold;
}

void tr_log_set_format(tr_log_format format)
{
	tr_log_form = format == TR_LOG_JSON ? TR_LOG_JSON : TR_LOG_TEXT;
}

bool tr_log_format_parse(const char *text, tr_log_format *out)
{
	if (text && strcmp(text, "text") == 0) {
		*out = TR_LOG_TEXT;
		return true;
	}
	if (text && strcmp(text, "json") == 0) {
		*out = TR_LOG_JSON;
		return true;
	}
	return false;
}

bool tr_log_level_parse(const char *text, tr_log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (text && strcmp(text, tr_log_json_names[i]) == 0) {
			*out = (tr_log_level)i;
			return true;
		}
	}
	return false;
}

/* "2026-11-25T13:00:00.123Z" into buf (at least 32 bytes); returns its length. */
static size_t tr_log_timestamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	int w = snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
	return w > 0 ? n + (size_t)w : n;
}

/* Appends src[0..len) to dst (capacity cap, at *n) as the inside of a JSON string:
 * quotes, backslashes and control characters escaped, invalid UTF-8 replaced by U+FFFD.
 * Stops before a sequence that would not fit whole. */
static void tr_log_json_escape(char *dst, size_t cap, size_t *n, const char *src, size_t len)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t i = 0;
	while (i < len) {
		char esc[8];
		const char *out = esc;
		size_t outlen;
		size_t step = 1;
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			outlen = 2;
		} else if (c < 0x20) {
			outlen = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c);
		} else if (c < 0x80) {
			esc[0] = (char)c;
			outlen = 1;
		} else {
			step = tr_utf8_next(p + i, len - i, NULL);
			if (step == 0) {
				out = "\xef\xbf\xbd"; /* U+FFFD */
				outlen = 3;
				step = 1;
			} else {
				out = (const char *)p + i;
				outlen = step;
			}
		}
		if (*n + outlen > cap)
			return;
		memcpy(dst + *n, out, outlen);
		*n += outlen;
		i += step;
	}
}

static size_t tr_log_format_json(char *line, tr_log_level level, int64_t incident_id,
				 const char *msg, size_t msglen)
{
	char stamp[40];
	size_t n = 0;
	const size_t cap = TR_LOG_LINE_MAX - 3; /* room for "}\n" */
	tr_log_timestamp(stamp, sizeof(stamp));
	int w = snprintf(line, cap, "{\"time\":\"%s\",\"level\":\"%s\",\"service\":\"", stamp,
			 tr_log_json_names[level]);
	n = w > 0 ? (size_t)w : 0;
	tr_log_json_escape(line, cap - 2, &n, tr_log_service, strlen(tr_log_service));
	if (incident_id > 0)
		w = snprintf(line + n, cap - n, "\",\"incident\":%lld,\"msg\":\"",
			     (long long)incident_id);
	else
		w = snprintf(line + n, cap - n, "\",\"msg\":\"");
	if (w > 0)
		n += (size_t)w;
	if (n > cap - 1)
		n = cap - 1;
	tr_log_json_escape(line, cap - 1, &n, msg, msglen);
	line[n++] = '"';
	line[n++] = '}';
	return n;
}

static size_t tr_log_format_text(char *line, tr_log_level level, int64_t incident_id,
				 const char *msg, size_t msglen)
{
	size_t n = tr_log_timestamp(line, TR_LOG_LINE_MAX);
	int w = snprintf(line + n, TR_LOG_LINE_MAX - n, " %s %s ", tr_log_names[level],
			 tr_log_service);
	if (w > 0)
		n += (size_t)w;
	if (incident_id > 0) {
		w = snprintf(line + n, TR_LOG_LINE_MAX - n, "incident=%lld ",
			     (long long)incident_id);
		if (w > 0)
			n += (size_t)w;
	}
	if (n > TR_LOG_LINE_MAX - 2)
		n = TR_LOG_LINE_MAX - 2;
	if (msglen > TR_LOG_LINE_MAX - 2 - n)
		msglen = TR_LOG_LINE_MAX - 2 - n; /* truncated: keep the newline */
	memcpy(line + n, msg, msglen);
	n += msglen;
	/* One event, one line: fold control characters a caller may have passed along. */
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)line[i] < 0x20)
			line[i] = ' ';
	}
	return n;
}

void tr_log_write(tr_log_level level, int64_t incident_id, const char *fmt, ...)
{
	char msg[TR_LOG_LINE_MAX];
	char line[TR_LOG_LINE_MAX];
	va_list ap;
	size_t n;

	if (level < TR_LOG_DEBUG || level > TR_LOG_ERROR)
		level = TR_LOG_ERROR;
	va_start(ap, fmt);
	int w = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t msglen = w < 0 ? 0 : (size_t)w < sizeof(msg) ? (size_t)w : sizeof(msg) - 1;
	if (tr_log_form == TR_LOG_JSON)
		n = tr_log_format_json(line, level, incident_id, msg, msglen);
	else
		n = tr_log_format_text(line, level, incident_id, msg, msglen);
	line[n++] = '\n';
	ssize_t off = 0;
	while ((size_t)off < n) {
		ssize_t r = write(STDERR_FILENO, line + off, n - (size_t)off);
		if (r <= 0)
			break;
		off += r;
	}
}
