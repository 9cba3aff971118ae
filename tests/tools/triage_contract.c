/* triage-contract: prints proto/'s contract (vocabularies and bounds) as JSON, so tests
 * check the SQL, the web constants, the fake LLM and the test code against the one source. */
#include <stdio.h>

#include "proto.h"
#include "proto_contract.h"

static void list(const char *name, const char *const *names, int last)
{
	printf("  \"%s\": [", name);
	for (size_t i = 0; names[i]; i++)
		printf("%s\"%s\"", i ? ", " : "", names[i]);
	printf("]%s\n", last ? "" : ",");
}

int main(void)
{
	printf("{\n");
	list("severities", proto_severities, 0);
	list("categories", proto_categories, 0);
	list("statuses", proto_statuses, 0);
	list("states", proto_states, 0);
	list("feedbacks", proto_feedbacks, 0);
	printf("  \"bounds\": {\"title_max_chars\": %d, \"description_max_bytes\": %d,"
	       " \"short_max\": %d, \"labels_max\": %d, \"label_key_max\": %d,"
	       " \"label_value_max\": %d, \"summary_max\": %d, \"actions_max\": %d,"
	       " \"action_max\": %d, \"detail_max\": %d, \"q_max_chars\": %d,"
	       " \"list_limit_max\": %d, \"list_limit_default\": %d}\n",
	       PROTO_TITLE_MAX_CHARS, PROTO_DESC_MAX, PROTO_SHORT_MAX, PROTO_LABELS_MAX,
	       PROTO_LABEL_KEY_MAX, PROTO_LABEL_VALUE_MAX, PROTO_SUMMARY_MAX, PROTO_ACTIONS_MAX,
	       PROTO_ACTION_MAX, PROTO_DETAIL_MAX, PROTO_Q_MAX_CHARS, PROTO_LIST_LIMIT_MAX,
	       PROTO_LIST_LIMIT_DEFAULT);
	printf("}\n");
	return 0;
}
