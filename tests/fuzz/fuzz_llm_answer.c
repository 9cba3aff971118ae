/* fuzz_llm_answer: what comes back from a model server (Ollama's and OpenAI's replies,
 * the answer inside them) and the one-shot mode's incident JSON. The first byte picks
 * the parser; an answer that parses must also pass triage_validate. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm_ollama.h"
#include "llm_openai.h"
#include "oneshot.h"
#include "triage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	char why[256];
	triage_result *t = calloc(1, sizeof *t);
	if (!t)
		return 0;
	/* provenance comes from the enricher, not the answer */
	strcpy(t->backend, "ollama");
	strcpy(t->model, "phi3:mini");
	strcpy(t->prompt_version, "v1");
	switch (data[0] % 4) {
	case 0:
		if (llm_ollama_parse(text, len, t, why, sizeof why) == LLM_OK &&
		    !triage_validate(t, why, sizeof why))
			abort();
		break;
	case 1:
		if (llm_openai_parse(text, len, t, why, sizeof why) == LLM_OK &&
		    !triage_validate(t, why, sizeof why))
			abort();
		break;
	case 2:
		if (triage_parse_json(text, len, t, why, sizeof why) &&
		    !triage_validate(t, why, sizeof why))
			abort();
		break;
	case 3: {
		json_t *root = NULL;
		triage_incident inc;
		proto_kv labels[PROTO_LABELS_MAX];
		if (enr_oneshot_parse(text, len, &root, &inc, labels, why, sizeof why))
			json_decref(root);
		break;
	}
	}
	free(t);
	return 0;
}
