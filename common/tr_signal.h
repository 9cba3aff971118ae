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

#endif
