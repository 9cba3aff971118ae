/* oneshot: the operator's and the tests' way to run one triage without the store:
 * parse and bound the incident from stdin, run the backend, print the outcome as JSON. */
#include "oneshot.h"

#include <stdlib.h>
#include <string.h>

#include "tr_log.h"

static bool opt_string(json_t *root, const char *key, size_t max, const char **out, char *why,
		       size_t whylen)
{
	json_t *v = json_object_get(root, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v)) {
		snprintf(why, whylen, "'%s' must be a string", key);
		return false;
	}
	if (json_string_length(v) > max) {
		snprintf(why, whylen, "'%s' is longer than %zu bytes", key, max);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

bool enr_oneshot_parse(const char *text, size_t len, json_t **rootp, triage_incident *inc,
		       proto_kv *labels, char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	memset(inc, 0, sizeof *inc);
	if (!root) {
		snprintf(why, whylen, "not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
			 jerr.column);
		return false;
	}
	if (!json_is_object(root)) {
		snprintf(why, whylen, "the incident must be a JSON object");
		goto fail;
	}
	if (!json_is_string(json_object_get(root, "title"))) {
		snprintf(why, whylen, "'title' is required and must be a string");
		goto fail;
	}
	if (!opt_string(root, "title", PROTO_TITLE_MAX, &inc->title, why, whylen) ||
	    !opt_string(root, "description", PROTO_DESC_MAX, &inc->description, why, whylen) ||
	    !opt_string(root, "source", PROTO_SHORT_MAX, &inc->source, why, whylen) ||
	    !opt_string(root, "service", PROTO_SHORT_MAX, &inc->service, why, whylen))
		goto fail;
	if (!*inc->title) {
		snprintf(why, whylen, "'title' must not be empty");
		goto fail;
	}
	if (!inc->description)
		inc->description = "";
	json_t *lab = json_object_get(root, "labels");
	if (lab && !json_is_null(lab)) {
		if (!json_is_object(lab)) {
			snprintf(why, whylen, "'labels' must be an object of strings");
			goto fail;
		}
		if (json_object_size(lab) > PROTO_LABELS_MAX) {
			snprintf(why, whylen, "more than %d labels", PROTO_LABELS_MAX);
			goto fail;
		}
		const char *k;
		json_t *v;
		size_t n = 0;
		json_object_foreach(lab, k, v) {
			if (!json_is_string(v) || !*k || strlen(k) > PROTO_LABEL_KEY_MAX ||
			    json_string_length(v) > PROTO_LABEL_VALUE_MAX) {
				snprintf(why, whylen, "label '%.64s': key 1..%d bytes, value a string "
					 "of at most %d bytes", k, PROTO_LABEL_KEY_MAX,
					 PROTO_LABEL_VALUE_MAX);
				goto fail;
			}
			labels[n].key = (char *)k;
			labels[n].value = (char *)json_string_value(v);
			n++;
		}
		inc->labels = labels;
		inc->nlabels = n;
	}
	*rootp = root;
	return true;
fail:
	json_decref(root);
	return false;
}

static void print_json(FILE *out, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6)) : NULL;
	fprintf(out, "%s\n", text ? text : "{\"error\":\"internal\",\"detail\":\"out of memory\"}");
	fflush(out);
	free(text);
	json_decref(j);
}

int enr_oneshot(const enr_backend *b, llm_http *h, FILE *in, FILE *out)
{
	int code = ONESHOT_BAD_INPUT;
	char *text = malloc(ONESHOT_INPUT_MAX + 1);
	json_t *root = NULL;
	proto_kv labels[PROTO_LABELS_MAX];
	triage_incident inc;
	char why[256];
	enr_outcome *o = NULL;

	if (!text || !(o = malloc(sizeof *o))) {
		print_json(out, json_pack("{s:s, s:s}", "error", "internal", "detail", "out of memory"));
		code = ONESHOT_FAILED;
		goto out;
	}
	size_t len = fread(text, 1, ONESHOT_INPUT_MAX + 1, in);
	if (len > ONESHOT_INPUT_MAX) {
		snprintf(why, sizeof why, "input larger than %d bytes", ONESHOT_INPUT_MAX);
		goto bad;
	}
	if (!enr_oneshot_parse(text, len, &root, &inc, labels, why, sizeof why))
		goto bad;

	enr_backend_run(b, h, &inc, NULL, 0, o);
	if (o->outcome == PROTO_OUTCOME_TRIAGED) {
		json_t *j = triage_to_json(&o->triage);
		if (j && o->fell_back)
			json_object_set_new(j, "fallback",
					    json_pack("{s:s, s:s}", "reason", o->reason, "detail",
						      o->detail));
		print_json(out, j);
		code = ONESHOT_OK;
	} else {
		print_json(out, json_pack("{s:s, s:s, s:s}", "error", o->reason, "detail", o->detail,
					  "backend", enr_backend_name(b->kind)));
		code = ONESHOT_FAILED;
	}
	goto out;
bad:
	tr_error("--once: invalid input: %s", why);
	print_json(out, json_pack("{s:s, s:s}", "error", "invalid_input", "detail", why));
	code = ONESHOT_BAD_INPUT;
out:
	json_decref(root);
	free(o);
	free(text);
	return code;
}
