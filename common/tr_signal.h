/* tr_signal: shutdown signals without handlers or globals. Call tr_signal_block()
 * first thing in main(), before any thread starts, so every thread inherits the mask;
 * then the main thread waits for SIGINT/SIGTERM with tr_signal_wait(). SIGPIPE is
 * ignored process-wide. */
#ifndef TR_SIGNAL_H
#define TR_SIGNAL_H

/* Blocks SIGINT, SIGTERM, SIGHUP and SIGQUIT in the calling thread; ignores SIGPIPE. */
void tr_signal_block(void);

/* Waits up to timeout_ms (-1: forever) for a blocked signal; returns its number, or 0
 * on timeout. */
int tr_signal_wait(int timeout_ms);

/* Bounds the last part of a shutdown: if the process has not exited ms from now, a
 * thread logs a warning naming what was being done and ends the process with _exit(0).
 * Arm it only after everything the process held was answered, committed or handed
 * back, before teardown steps inside libraries that can wedge (nng 1.5.2's socket close
 * and nng_fini were seen never to return). Hangs in our own draining stay visible. */
void tr_signal_exit_deadline(int ms, const char *what);

#endif
