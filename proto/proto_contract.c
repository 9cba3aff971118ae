/* proto_contract: the shared vocabularies as arrays (see proto_contract.h). */
#include "proto_contract.h"

#include <string.h>

const char *const proto_severities[] = {PROTO_SEVERITIES(PROTO_STR, PROTO_COMMA), NULL};
const char *const proto_categories[] = {PROTO_CATEGORIES(PROTO_STR, PROTO_COMMA), NULL};
const char *const proto_statuses[] = {PROTO_STATUSES(PROTO_STR, PROTO_COMMA), NULL};
const char *const proto_states[] = {PROTO_STATES(PROTO_STR, PROTO_COMMA), NULL};
const char *const proto_feedbacks[] = {PROTO_FEEDBACKS(PROTO_STR, PROTO_COMMA), NULL};

const char *proto_enum_find(const char *const *list, const char *s, size_t len)
{
	if (!s)
		return NULL;
	for (size_t i = 0; list[i]; i++) {
		if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
			return list[i];
	}
	return NULL;
}

bool proto_is_severity(const char *s)
{
	return s && proto_enum_find(proto_severities, s, strlen(s));
}

bool proto_is_category(const char *s)
{
	return s && proto_enum_find(proto_categories, s, strlen(s));
}
