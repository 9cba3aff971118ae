/* triage-probe: a test tool that talks to the pipeline's nng sockets directly, for what
 * HTTP cannot reach: malformed bytes, results from the past, raw events.
 *
 *   triage-probe raw req|push URL HEX...      send each HEX message (raw bytes; big:N is N
 *                                             bytes of garbage); for req,
 *                                             print "reply" or "no-reply" per message
 *   triage-probe raw ask URL HEX...           as raw req, printing each reply decoded:
 *                                             "reply REQUEST_ID CODE CREATED INCIDENT_ID
 *                                             JSON" (a BATCH_REPLY: one such line per
 *                                             submit), or "no-reply"
 *   triage-probe result URL ID ATTEMPT OUTCOME [SEVERITY CATEGORY SUMMARY [TOKEN]]
 *                                             push a PROTO_RESULT (enricher "probe"),
 *                                             echoing the lease TOKEN if given
 *   triage-probe sub URL COUNT TIMEOUT_MS     print COUNT events as JSON lines
 *   triage-probe serve pub|push URL MS HEX... listen on URL and send the HEX messages
 *                                             (raw bytes) over and over for MS ms, to a
 *                                             gateway (pub) or an enricher (push)
 * Exit status: 0 on success, 1 on a failure, 2 on bad usage. */
#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "proto_sock.h"
#include "tr_err.h"
#include "tr_log.h"
#include "tr_time.h"

static int probe_hex(const char *hex, unsigned char **out, size_t *outlen)
{
	if (strncmp(hex, "big:", 4) == 0) { /* big:N - N bytes of garbage (too long for argv) */
		size_t big = strtoul(hex + 4, NULL, 10);
		unsigned char *buf = malloc(big ? big : 1);
		if (!buf)
			return -1;
		memset(buf, 0xdc, big);
		*out = buf;
		*outlen = big;
		return 0;
	}
	size_t n = strlen(hex);
	if (n % 2)
		return -1;
	unsigned char *buf = malloc(n / 2 + 1);
	if (!buf)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int b;
		if (sscanf(hex + 2 * i, "%2x", &b) != 1) {
			free(buf);
			return -1;
		}
		buf[i] = (unsigned char)b;
	}
	*out = buf;
	*outlen = n / 2;
	return 0;
}

/* nng has no linger: give queued messages a moment to leave before closing. */
static void probe_linger(void)
{
	nng_msleep(300);
}

static void probe_print_reply(const proto_reply *r)
{
	printf("reply %s %d %d %lld %s\n", r->request_id, r->code, r->created ? 1 : 0,
	       (long long)r->incident_id, r->json ? r->json : "");
}

/* "ask": the reply decoded, one line per answer; anything else: "no-reply". */
static void probe_print(const void *reply, size_t len)
{
	proto_msg m;
	char err[200];
	if (proto_decode(reply, len, &m, err, sizeof err) != TR_OK) {
		printf("no-reply\n");
		return;
	}
	if (m.type == PROTO_REPLY)
		probe_print_reply(&m.u.reply);
	for (size_t i = 0; m.type == PROTO_BATCH_REPLY && i < m.u.batch_reply.nreplies; i++)
		probe_print_reply(&m.u.batch_reply.replies[i]);
	if (m.type != PROTO_REPLY && m.type != PROTO_BATCH_REPLY)
		printf("no-reply\n");
	proto_msg_free(&m);
}

static int probe_raw(int argc, char **argv)
{
	bool ask = strcmp(argv[2], "ask") == 0;
	bool req = ask || strcmp(argv[2], "req") == 0;
	nng_socket s;
	int rc = 1;

	if (proto_sock_dial(req ? PROTO_SOCK_REQ : PROTO_SOCK_PUSH, argv[3], &s) != 0)
		return 1;
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 5000);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 1500);
	for (int i = 4; i < argc; i++) {
		unsigned char *buf;
		size_t len;
		if (probe_hex(argv[i], &buf, &len) != 0) {
			fprintf(stderr, "probe: bad hex\n");
			goto out;
		}
		int rv = nng_send(s, buf, len, 0);
		free(buf);
		if (rv != 0) {
			fprintf(stderr, "probe: send: %s\n", nng_strerror(rv));
			goto out;
		}
		if (req) {
			void *reply;
			size_t rlen;
			rv = nng_recv(s, &reply, &rlen, NNG_FLAG_ALLOC);
			if (rv == 0 && ask)
				probe_print(reply, rlen);
			else
				printf("%s\n", rv == 0 ? "reply" : "no-reply");
			if (rv == 0)
				nng_free(reply, rlen);
			fflush(stdout);
		}
	}
	probe_linger();
	rc = 0;
out:
	proto_sock_close(s);
	return rc;
}

static int probe_result(int argc, char **argv)
{
	static const struct {
		const char *name;
		int outcome;
	} outcomes[] = {{"triaged", PROTO_OUTCOME_TRIAGED}, {"failed", PROTO_OUTCOME_FAILED},
			{"retry", PROTO_OUTCOME_RETRY}, {"released", PROTO_OUTCOME_RELEASED}};
	proto_msg m = {.type = PROTO_RESULT};
	proto_result *r = &m.u.result;
	nng_socket s;

	r->incident_id = atoll(argv[3]);
	r->attempt = atoi(argv[4]);
	r->enricher_id = "probe";
	for (size_t i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		if (strcmp(argv[5], outcomes[i].name) == 0)
			r->outcome = outcomes[i].outcome;
	if (!r->outcome) {
		fprintf(stderr, "probe: unknown outcome %s\n", argv[5]);
		return 2;
	}
	r->prompt_tokens = r->completion_tokens = -1;
	if (r->outcome == PROTO_OUTCOME_TRIAGED) {
		if (argc < 9) {
			fprintf(stderr, "probe: triaged needs SEVERITY CATEGORY SUMMARY\n");
			return 2;
		}
		r->severity = argv[6];
		r->category = argv[7];
		r->summary = argv[8];
		r->backend = "rules";
		r->model = "probe";
		r->prompt_version = "probe";
		r->confidence = 0.5;
		if (argc >= 10)
			r->lease_token = atoll(argv[9]);
	} else {
		r->reason = "llm_error";
		r->detail = "sent by triage-probe";
	}
	if (proto_sock_dial(PROTO_SOCK_PUSH, argv[2], &s) != 0)
		return 1;
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 5000);
	int rc = proto_sock_send(s, &m);
	if (rc == 0)
		probe_linger();
	proto_sock_close(s);
	return rc == 0 ? 0 : 1;
}

static int probe_sub(char **argv)
{
	int want = atoi(argv[3]);
	nng_socket s;
	if (proto_sock_dial(PROTO_SOCK_SUB, argv[2], &s) != 0)
		return 1;
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, atoi(argv[4]));
	printf("subscribed\n");
	fflush(stdout);
	int got = 0;
	while (got < want) {
		proto_msg m;
		int rc = proto_sock_recv(s, &m);
		if (rc == TR_ERR_PROTO)
			continue;
		if (rc != 0)
			break;
		if (m.type == PROTO_EVENT) {
			proto_event *e = &m.u.event;
			printf("{\"epoch\":%lld,\"seq\":%lld,\"id\":%lld,\"version\":%lld,"
			       "\"kind\":\"%s\",\"status\":\"%s\"}\n",
			       (long long)e->epoch, (long long)e->seq, (long long)e->incident_id,
			       (long long)e->version, e->kind, e->status);
			fflush(stdout);
			got++;
		}
		proto_msg_free(&m);
	}
	proto_sock_close(s);
	return got == want ? 0 : 1;
}

/* Plays the store's side of the events (pub) or jobs (push) socket with raw bytes. */
static int probe_serve(int argc, char **argv)
{
	bool pub = strcmp(argv[2], "pub") == 0;
	nng_socket s;
	int rc = 1;
	if (proto_sock_listen(pub ? PROTO_SOCK_PUB : PROTO_SOCK_PUSH, argv[3], &s) != 0)
		return 1;
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 100);
	int64_t until = tr_mono_ms() + atoll(argv[4]);
	unsigned long sent = 0;
	while (tr_mono_ms() < until) {
		for (int i = 5; i < argc; i++) {
			unsigned char *buf;
			size_t len;
			if (probe_hex(argv[i], &buf, &len) != 0) {
				fprintf(stderr, "probe: bad hex\n");
				goto out;
			}
			if (nng_send(s, buf, len, 0) == 0)
				sent++;
			free(buf);
		}
		nng_msleep(50); /* pacing the repeats, not synchronising */
	}
	printf("sent %lu\n", sent);
	rc = 0;
out:
	proto_sock_close(s);
	return rc;
}

int main(int argc, char **argv)
{
	tr_log_init("probe", TR_LOG_WARN);
	if (argc >= 5 && strcmp(argv[1], "raw") == 0 &&
	    (strcmp(argv[2], "req") == 0 || strcmp(argv[2], "push") == 0 ||
	     strcmp(argv[2], "ask") == 0))
		return probe_raw(argc, argv);
	if (argc >= 6 && strcmp(argv[1], "result") == 0)
		return probe_result(argc, argv);
	if (argc == 5 && strcmp(argv[1], "sub") == 0)
		return probe_sub(argv);
	if (argc >= 6 && strcmp(argv[1], "serve") == 0 &&
	    (strcmp(argv[2], "pub") == 0 || strcmp(argv[2], "push") == 0))
		return probe_serve(argc, argv);
	fprintf(stderr, "usage: see the comment at the top of tests/tools/triage_probe.c\n");
	return 2;
}
