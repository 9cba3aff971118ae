/* nt_message: the body of one delivery, from a claimed outbox row: the webhook JSON
 * (event id, delivery id, the incident as it was at the change) or a Slack-compatible
 * message (text and blocks; Slack, Mattermost and Rocket.Chat accept it). Pure. */
#ifndef NT_MESSAGE_H
#define NT_MESSAGE_H

#include <stdint.h>

/* One claimed delivery. Strings are borrowed (from the database result). */
typedef struct {
	int64_t delivery_id;
	int64_t event_id;
	int64_t incident_id;   /* 0: a test */
	int64_t channel_id;
	const char *event;     /* triaged|severity_raised|resolved|test */
	const char *at;        /* when the change committed (API timestamp) */
	const char *channel;   /* the channel's name */
	const char *kind;      /* webhook|slack */
	const char *payload;   /* JSON: the incident (or the test's message) */
} nt_delivery;

/* The body as a malloc'd NUL-terminated JSON string (free()), or NULL when the payload
 * is not a JSON object or memory ran out. dashboard_url may be "" (no links). */
char *nt_message_body(const nt_delivery *d, const char *dashboard_url);

#endif
