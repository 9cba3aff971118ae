/* harness-fault: a process that misbehaves on request, so tests/integration/test_harness.py
 * can prove the harness fails a test for each way a real service could go wrong. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#define FAULT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FAULT_TSAN 1
#endif
#endif

static volatile sig_atomic_t stop_requested;

static void on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int wait_for_term(void)
{
	printf("fault: ready\n");
	fflush(stdout);
	while (!stop_requested)
		pause();
	printf("fault: stopping\n");
	return 0;
}

#ifdef FAULT_TSAN
static int shared_counter;

static void *racer(void *arg)
{
	(void)arg;
	shared_counter++; /* unsynchronised on purpose: the data race TSan must report */
	return NULL;
}
#endif

/* A report on stderr, yet exit 0 (the test sets the sanitizer's exitcode to 0): under
 * ThreadSanitizer a data race, otherwise (AddressSanitizer) a leak found at exit. */
static int sanitizer_report(void)
{
#ifdef FAULT_TSAN
	pthread_t a, b;
	pthread_create(&a, NULL, racer, NULL);
	pthread_create(&b, NULL, racer, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("fault: raced (%d)\n", shared_counter);
#else
	char *volatile lost = malloc(4096);
	memset(lost, 'x', 4096);
	printf("fault: leaked %c\n", lost[7]);
	lost = NULL;
#endif
	return 0;
}

/* An AddressSanitizer error: a read past a heap block (ASan stops the process). Under
 * ThreadSanitizer there is no such check: says so and exits 77. */
static int overflow(void)
{
#ifdef FAULT_TSAN
	printf("fault: no AddressSanitizer in this build\n");
	return 77;
#else
	char *volatile block = malloc(16);
	memset(block, 'x', 16);
	int past = block[16 + (int)(strlen(block) & 0)];
	printf("fault: read %d\n", past);
	free(block);
	return 0;
#endif
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(mode, "exit") == 0 && argc > 2) {
		printf("fault: exiting with %s\n", argv[2]);
		return atoi(argv[2]);
	}
	if (strcmp(mode, "clean") == 0) {
		signal(SIGTERM, on_term);
		return wait_for_term();
	}
	if (strcmp(mode, "ignore-term") == 0) {
		signal(SIGTERM, SIG_IGN);
		return wait_for_term();
	}
	if (strcmp(mode, "sanitizer") == 0)
		return sanitizer_report();
	if (strcmp(mode, "overflow") == 0)
		return overflow();
	fprintf(stderr, "usage: harness-fault exit N | clean | ignore-term | sanitizer | overflow\n");
	return 2;
}
