/* fuzz_proto_decode: every msgpack message any socket may receive goes through
 * proto_decode; whatever the bytes, it decodes within bounds or refuses, never leaks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	proto_msg m;
	char err[256];
	if (proto_decode(data, size, &m, err, sizeof err) == 0) {
		/* what decodes must encode again (the decoder enforces the encoder's bounds) */
		void *buf = NULL;
		size_t len = 0;
		if (proto_encode(&m, &buf, &len) != 0)
			abort();
		free(buf);
		proto_msg_free(&m);
	}
	return 0;
}
