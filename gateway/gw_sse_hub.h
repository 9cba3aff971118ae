/* gw_sse_hub: the SSE hub's insides, shared by gw_sse.c (streams, MHD side) and
 * gw_sse_feed.c (the reader thread); not for other modules. Locking: see gw_sse.c. */
#ifndef GW_SSE_HUB_H
#define GW_SSE_HUB_H

#include <microhttpd.h>
#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gw_sse.h"

typedef struct {
	atomic_int refs;
	size_t len;
	char text[];
} gw_frame;

typedef struct gw_stream {
	gw_sse *hub;
	struct MHD_Connection *conn;
	gw_frame **ring;
	size_t head, count;
	gw_frame *cur; /* being sent, from cur_off */
	size_t cur_off;
	bool heartbeat_due;
	bool parked;  /* suspended by its reader, not yet re-entered */
	bool resumed; /* MHD_resume_connection already called for this park */
	bool closing;
	int64_t last_send_ms;
	bool awaiting_hello; /* opened before the hub was subscribed */
	bool resync_on_hello; /* the client sent Last-Event-ID */
	int resync_pending;   /* a coalesced resync reason to send, or -1 */
	int64_t last_resync_ms;
	struct gw_stream *prev, *next;
} gw_stream;

#define GW_RESYNC_MIN_MS 1000
#define GW_EPOCHS_MAX 8 /* store processes followed at once */
/* an epoch silent this long is forgotten (its store stopped: syncs come every 0.5 s) */
#define GW_EPOCH_FORGET_MS 10000

enum { GW_RESYNC_RECONNECT, GW_RESYNC_GAP, GW_RESYNC_EPOCH, GW_RESYNC_OVERFLOW, GW_RESYNC_ERROR,
       GW_RESYNC__COUNT };
extern const char *const gw_resync_reasons[GW_RESYNC__COUNT];

struct gw_sse {
	char *events_url;
	long heartbeat_ms;
	long max_streams;
	size_t queue_len;
	nng_socket sock;
	pthread_t thread;
	bool thread_started;
	atomic_bool stop;

	pthread_mutex_t mu;
	pthread_cond_t cv; /* a parked stream was re-entered or freed */
	gw_stream *streams;
	size_t nstreams;
	bool closing;
	/* the last sequence number seen of each store epoch (one per store process; two
	 * stores side by side are two epochs), oldest-seen replaced first */
	struct {
		int64_t epoch, last_seq, seen_ms;
	} epochs[GW_EPOCHS_MAX];
	size_t nepochs;
	bool ever_followed; /* an event or sync was seen: a new epoch is then news */
	bool subscribed; /* a sync or an event arrived since the link to the store came up */
	int links;       /* pipes to the store's PUB socket */
	gw_frame *hello;
	gw_frame *heartbeat;
	gw_frame *resync[GW_RESYNC__COUNT];
};

/* Frames (refcounted; gw_frame_new takes text, malloc'd, and frees it). */
gw_frame *gw_frame_new(char *text);
gw_frame *gw_frame_ref(gw_frame *f);
void gw_frame_unref(gw_frame *f);

/* With the hub mutex held. */
void gw_stream_wake(gw_stream *st);
void gw_stream_resync(gw_stream *st, int reason, int64_t now);
void gw_stream_push(gw_stream *st, gw_frame *f);
void gw_hub_subscribed(gw_sse *h);

/* gw_sse_feed.c: the reader thread and nng's pipe callback. */
void *gw_sse_thread(void *arg);
void gw_sse_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg);

#endif
