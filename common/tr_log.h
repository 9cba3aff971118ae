/* tr_log: one line per event on stderr, with time, level, service and, where there is
 * one, the incident id. The level is checked before arguments are formatted. Two forms,
 * chosen once at start (TRIAGE_LOG_FORMAT):
 *
 *   2026-11-25T13:00:00.123Z INFO  store incident=42 dispatched attempt=1
 *   {"time":"2026-11-25T13:00:00.123Z","level":"info","service":"store","incident":42,"msg":"dispatched attempt=1"}
 *
 * Thread-safe: each line is written with a single write(2). Never log API keys. */
#ifndef TR_LOG_H
#define TR_LOG_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
	TR_LOG_DEBUG = 0,
	TR_LOG_INFO,
	TR_LOG_WARN,
	TR_LOG_ERROR,
} tr_log_level;

typedef enum {
	TR_LOG_TEXT = 0,
	TR_LOG_JSON,
} tr_log_format;

/* The only mutable globals of the library: the threshold and the format, set once at
 * start by tr_log_init() and tr_log_set_format() and read (never written) by every
 * thread afterwards. */
extern tr_log_level tr_log_threshold;

/* Sets the service name (copied, at most 31 bytes) and the threshold. */
void tr_log_init(const char *service, tr_log_level threshold);

/* Chooses the form of every following line (default TR_LOG_TEXT). Call at start, before
 * threads exist. */
void tr_log_set_format(tr_log_format format);

/* Parses "text" | "json"; returns false on anything else (and leaves *out alone). */
bool tr_log_format_parse(const char *text, tr_log_format *out);

/* Parses "debug" | "info" | "warn" | "error"; returns false on anything else. */
bool tr_log_level_parse(const char *text, tr_log_level *out);

/* Writes one line. incident_id <= 0 means "no incident". Use the macros below. */
void tr_log_write(tr_log_level level, int64_t incident_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define TR_LOG_AT(level, incident, ...)                                   \
	do {                                                              \
		if ((level) >= tr_log_threshold)                          \
			tr_log_write((level), (incident), __VA_ARGS__);   \
	} while (0)

#define tr_debug(...) TR_LOG_AT(TR_LOG_DEBUG, 0, __VA_ARGS__)
#define tr_info(...) TR_LOG_AT(TR_LOG_INFO, 0, __VA_ARGS__)
#define tr_warn(...) TR_LOG_AT(TR_LOG_WARN, 0, __VA_ARGS__)
#define tr_error(...) TR_LOG_AT(TR_LOG_ERROR, 0, __VA_ARGS__)

/* The same, about one incident. */
#define tr_idebug(id, ...) TR_LOG_AT(TR_LOG_DEBUG, (id), __VA_ARGS__)
#define tr_iinfo(id, ...) TR_LOG_AT(TR_LOG_INFO, (id), __VA_ARGS__)
#define tr_iwarn(id, ...) TR_LOG_AT(TR_LOG_WARN, (id), __VA_ARGS__)
#define tr_ierror(id, ...) TR_LOG_AT(TR_LOG_ERROR, (id), __VA_ARGS__)

#endif
