/* tr_signal: a blocked signal set consumed with sigtimedwait. */
#include "tr_signal.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <time.h>

static void tr_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
}

void tr_signal_block(void)
{
	sigset_t set;
	struct sigaction ign = {.sa_handler = SIG_IGN};
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, NULL);
	tr_signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int tr_signal_wait(int timeout_ms)
{
	sigset_t set;
	tr_signal_set(&set);
	for (;;) {
		int sig;
		if (timeout_ms < 0) {
			if (sigwait(&set, &sig) == 0)
				return sig;
			continue;
		}
		struct timespec ts = {.tv_sec = timeout_ms / 1000,
				      .tv_nsec = (long)(timeout_ms % 1000) * 1000000L};
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig > 0)
			return sig;
		if (errno == EAGAIN)
			return 0;
		/* EINTR: try again */
	}
}
