/* tr_time: the two clocks the services use, in milliseconds. */
#ifndef TR_TIME_H
#define TR_TIME_H

#include <stdint.h>

/* Wall-clock time since the Unix epoch: for timestamps that cross processes. */
int64_t tr_now_ms(void);

/* Monotonic time: for deadlines and latencies inside one process. */
int64_t tr_mono_ms(void);

/* Monotonic time in microseconds, for latency measurements. */
int64_t tr_mono_us(void);

#endif
