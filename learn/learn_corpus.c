/* learn_corpus: JSONL files of labelled incidents into learn_examples (jansson, strict). */
#include "learn_corpus.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES (64 * 1024)

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *str_or_null(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* One line into example i; returns NULL or what is wrong. */
static const char *add_line(learn_corpus *c, const char *line, size_t len)
{
	json_error_t e;
	json_t *doc = json_loadb(line, len, JSON_REJECT_DUPLICATES, &e);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return "not a JSON object";
	}
	learn_example *x = &c->ex[c->n];
	memset(x, 0, sizeof *x);
	const char *title = str_or_null(doc, "title"), *reason = str_or_null(doc, "reason");
	x->category = learn_category_index(str_or_null(doc, "category"));
	x->severity = learn_severity_index(str_or_null(doc, "severity"));
	const char *bad = !title || !title[0] ? "title missing"
			  : !str_or_null(doc, "description") ? "description missing"
			  : x->category < 0 ? "category missing or not one of the nine"
			  : x->severity < 0 ? "severity missing or not one of the four"
			  : !reason || !reason[0] ? "reason missing" : NULL;
	json_t *labels = json_object_get(doc, "labels");
	if (!bad && labels && !json_is_object(labels))
		bad = "labels is not an object";
	if (bad) {
		json_decref(doc);
		return bad;
	}
	size_t nl = labels ? json_object_size(labels) : 0;
	proto_kv *kv = nl ? calloc(nl, sizeof *kv) : NULL;
	if (nl && !kv) {
		json_decref(doc);
		return "out of memory";
	}
	size_t k = 0;
	const char *key;
	json_t *val;
	json_object_foreach(labels, key, val) {
		if (!json_is_string(val) || k >= PROTO_LABELS_MAX)
			continue;
		kv[k].key = (char *)key;
		kv[k++].value = (char *)json_string_value(val);
	}
	x->in = (learn_input){title, str_or_null(doc, "description"), str_or_null(doc, "source"),
			      str_or_null(doc, "service"), kv, k};
	x->weight = 1;
	c->docs[c->n] = doc;
	c->labels[c->n] = kv;
	c->n++;
	return NULL;
}

static int grow(learn_corpus *c, size_t *cap)
{
	size_t nc = *cap ? *cap * 2 : 256;
	learn_example *ex = realloc(c->ex, nc * sizeof *ex);
	if (!ex)
		return -1;
	c->ex = ex;
	void **d = realloc(c->docs, nc * sizeof *d);
	if (!d)
		return -1;
	c->docs = d;
	void **l = realloc(c->labels, nc * sizeof *l);
	if (!l)
		return -1;
	c->labels = l;
	*cap = nc;
	return 0;
}

int learn_corpus_load(const char *dir, learn_corpus *out, char *why, size_t whylen)
{
	int rc = -1;
	size_t cap = 0, nnames = 0;
	char **names = NULL, *line = malloc(LINE_MAX_BYTES + 2);
	FILE *f = NULL;
	memset(out, 0, sizeof *out);
	DIR *d = opendir(dir);
	if (!d || !line) {
		snprintf(why, whylen, "%s: cannot open the folder", dir);
		goto out;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 7 || strcmp(de->d_name + l - 6, ".jsonl") != 0)
			continue;
		char **nn = realloc(names, (nnames + 1) * sizeof *nn);
		if (!nn || !(nn[nnames] = strdup(de->d_name))) {
			names = nn ? nn : names;
			snprintf(why, whylen, "out of memory");
			goto out;
		}
		names = nn, nnames++;
	}
	qsort(names, nnames, sizeof *names, cmp_name);
	for (size_t i = 0; i < nnames; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		f = fopen(path, "r");
		if (!f) {
			snprintf(why, whylen, "%s: cannot open", path);
			goto out;
		}
		for (int ln = 1; fgets(line, LINE_MAX_BYTES + 2, f); ln++) {
			size_t len = strlen(line);
			if (len > LINE_MAX_BYTES) {
				snprintf(why, whylen, "%s:%d: line too long", path, ln);
				goto out;
			}
			while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
				len--;
			if (!len)
				continue;
			if (out->n == cap && grow(out, &cap) != 0) {
				snprintf(why, whylen, "out of memory");
				goto out;
			}
			const char *bad = add_line(out, line, len);
			if (bad) {
				snprintf(why, whylen, "%s:%d: %s", path, ln, bad);
				goto out;
			}
		}
		fclose(f);
		f = NULL;
	}
	if (out->n == 0) {
		snprintf(why, whylen, "%s: no labelled incidents", dir);
		goto out;
	}
	rc = 0;
out:
	if (f)
		fclose(f);
	if (d)
		closedir(d);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(line);
	if (rc != 0)
		learn_corpus_free(out);
	return rc;
}

void learn_corpus_free(learn_corpus *c)
{
	for (size_t i = 0; i < c->n; i++) {
		json_decref(c->docs[i]);
		free(c->labels[i]);
	}
	free(c->ex);
	free(c->docs);
	free(c->labels);
	memset(c, 0, sizeof *c);
}
