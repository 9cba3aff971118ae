/* tr_log: formats a line into a stack buffer and writes it with one write(2). */
#include "tr_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

tr_log_level tr_log_threshold = TR_LOG_INFO;
static char tr_log_service[32] = "triage";

static const char *const tr_log_names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

void tr_log_init(const char *service, tr_log_level threshold)
{
	snprintf(tr_log_service, sizeof(tr_log_service), "%s", service ? service : "triage");
	tr_log_threshold = threshold;
}

bool tr_log_level_parse(const char *text, tr_log_level *out)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	for (int i = 0; i < 4; i++) {
		if (text && strcmp(text, names[i]) == 0) {
			*out = (tr_log_level)i;
			return true;
		}
	}
	return false;
}

void tr_log_write(tr_log_level level, int64_t incident_id, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	va_list ap;
	int w;

	if (level < TR_LOG_DEBUG || level > TR_LOG_ERROR)
		level = TR_LOG_ERROR;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	w = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s ", ts.tv_nsec / 1000000,
		     tr_log_names[level], tr_log_service);
	if (w > 0)
		n += (size_t)w;
	if (incident_id > 0) {
		w = snprintf(line + n, sizeof(line) - n, "incident=%lld ", (long long)incident_id);
		if (w > 0)
			n += (size_t)w;
	}
	va_start(ap, fmt);
	w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (w > 0)
		n += (size_t)w;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2; /* truncated: keep the newline */
	/* One event, one line: fold control characters a caller may have passed along. */
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)line[i] < 0x20)
			line[i] = ' ';
	}
	line[n++] = '\n';
	ssize_t off = 0;
	while ((size_t)off < n) {
		ssize_t r = write(STDERR_FILENO, line + off, n - (size_t)off);
		if (r <= 0)
			break;
		off += r;
	}
}
