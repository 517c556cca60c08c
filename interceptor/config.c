// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The config file, in two passes. The parse pass walks the libyaml document tree, each mapping
 * with the keys the table of config_keys.c gives it, and fills struct sc_config, checking each
 * value on its own (config_values.c, config_services.c). The validation pass then checks the
 * values against each other (config_validate.c). Both passes report every problem they find
 * rather than the first, so one run of the daemon shows the user all there is to fix; the marks
 * of the nodes the validation pass needs are kept in the parser's side tables, since the config
 * struct itself carries no positions. The parts share config_int.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_int.h"
#include "yaml_load.h"

/* The keys of MAP, as "a, b, c". */
static void sc_allowed(const struct sc_key *map, char *buf, size_t size)
{
	size_t k, len = 0;

	buf[0] = '\0';
	for (k = 1; k < K__MAX && len < size; k++)
		if (sc_keys[k].parent == sc_key_id(map))
			len += snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
					sc_keys[k].name);
}

/* A no-value mapping is an empty section; any other key given no value is an error. */
static bool sc_null(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	if (!sc_is_null(node))
		return false;
	if (key->type != T_MAP)
		sc_bad(p, key, node, "no value (%s)", key->hint);
	return true;
}

static void sc_parse_map(struct sc_parser *p, const struct sc_key *map, const yaml_node_t *node);

static void sc_parse_value(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	if (sc_null(p, key, node))
		return;
	switch (key->type) {
	case T_MAP:
		sc_parse_map(p, key, node);
		break;
	case T_PATH:
		sc_parse_path(p, key, node);
		break;
	case T_CGROUP:
		sc_parse_cgroup(p, key, node);
		break;
	case T_ID:
		sc_parse_id(p, key, node);
		break;
	case T_PORT:
		sc_parse_port(p, key, node);
		break;
	case T_BOOL:
		sc_parse_bool(p, key, node);
		break;
	case T_CIDRS:
		sc_parse_cidrs(p, key, node);
		break;
	case T_PORTS:
		sc_parse_ports(p, key, node);
		break;
	case T_BOOL_CHOICE:
		sc_parse_bool_choice(p, key, node);
		break;
	case T_CHOICE:
		sc_parse_choice(p, key, node);
		break;
	case T_LISTEN:
		sc_parse_listen(p, key, node);
		break;
	case T_ACCEL:
		sc_parse_accel(p, key, node);
		break;
	case T_COUNT:
		sc_parse_count(p, key, node);
		break;
	case T_SERVICES:
		sc_parse_services(p, key, node);
		break;
	case T_ADDRS:
		sc_parse_addrs(p, key, node);
		break;
	case T__MAX:
		break;
	}
}

/* The key NAME of MAP; else NULL, with *NEAR set to one that differs only in case. */
static const struct sc_key *sc_find_key(const struct sc_key *map, const char *name,
					const struct sc_key **near)
{
	size_t k;

	*near = NULL;
	for (k = 1; k < K__MAX; k++) {
		if (sc_keys[k].parent != sc_key_id(map))
			continue;
		if (!strcmp(sc_keys[k].name, name))
			return &sc_keys[k];
		if (!strcasecmp(sc_keys[k].name, name))
			*near = &sc_keys[k];
	}
	return NULL;
}

static void sc_parse_map(struct sc_parser *p, const struct sc_key *map, const yaml_node_t *node)
{
	const struct sc_key *key, *near;
	yaml_node_t *k, *v;
	yaml_node_pair_t *pair;
	char allowed[256], what[80], path[128];
	struct sc_seen *seen;

	sc_allowed(map, allowed, sizeof(allowed));
	if (node->type != YAML_MAPPING_NODE) {
		sc_bad(p, map, node, "%smust be a mapping (keys: %s), not %s",
		       map == &sc_keys[K_ROOT] ? "the document " : "", allowed,
		       sc_what(node, what, sizeof(what)));
		return;
	}
	for (pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(p->doc, pair->key);
		v = yaml_document_get_node(p->doc, pair->value);
		if (k->type != YAML_SCALAR_NODE || strlen(sc_value(k)) != k->data.scalar.length) {
			sc_diag(p, k->start_mark, map->path,
				"keys must be plain names (allowed: %s)", allowed);
			continue;
		}
		key = sc_find_key(map, sc_value(k), &near);
		if (!key) {
			snprintf(path, sizeof(path), "%s%s%.64s", map->path,
				 map == &sc_keys[K_ROOT] ? "" : ".", sc_value(k));
			sc_diag(p, k->start_mark, path, "unknown key%s%s%s (allowed: %s)",
				near ? "; did you mean " : "", near ? near->name : "",
				near ? "?" : "", allowed);
			continue;
		}
		seen = &p->seen[sc_key_id(key)];
		if (seen->present) {
			sc_diag(p, k->start_mark, key->path,
				"duplicate key (first at line %zu); remove one",
				seen->key_mark.line + 1);
			continue;
		}
		seen->present = true;
		seen->key_mark = k->start_mark;
		seen->mark = v->start_mark;
		sc_parse_value(p, key, v);
	}
}

/*
 * The default pin path names the pod by its cgroup: the path without its leading slash, each
 * slash turned into an underscore, so that pods in different cgroups never share pins.
 */
static int sc_default_pin_path(struct sc_config *cfg)
{
	char *c;

	if (asprintf(&cfg->pin_path, "%s/%s", SC_PIN_ROOT, cfg->cgroup + 1) < 0) {
		cfg->pin_path = NULL;
		return -ENOMEM;
	}
	for (c = cfg->pin_path + strlen(SC_PIN_ROOT) + 1; *c; c++)
		if (*c == '/')
			*c = '_';
	return 0;
}

/* Fill in what depends on which keys were given, once the whole document has been read. */
static void sc_config_finish(struct sc_parser *p)
{
	struct sc_config *cfg = p->cfg;

	/* No cgroup: the interceptor finds its pod's at run time (sc_target_resolve()). */
	if (!p->seen[K_CGROUP].present)
		cfg->cgroup_auto = true;
	if (!p->seen[K_PIN_PATH].present && cfg->cgroup && sc_default_pin_path(cfg))
		p->err = -ENOMEM;
	cfg->proxy.has_gid = p->seen[K_GID].present && !p->seen[K_GID].bad;
	if (p->mode != SC_MODE_FROM_FILE)
		cfg->mode = p->mode;
	/* outbound.includePorts: [] means every port, as "*" does. */
	if (!cfg->outbound.include_ports.n)
		cfg->outbound.include_ports.all = true;
	/* Metrics are on when the section is there, even empty: listen has a default. */
	cfg->metrics.enabled = p->seen[K_METRICS].present && !p->seen[K_METRICS].bad;
	if (cfg->metrics.enabled && !cfg->metrics.listen) {
		cfg->metrics.listen = strdup("127.0.0.1:15020");
		if (!cfg->metrics.listen)
			p->err = -ENOMEM;
	}
}

static void sc_syntax_error(struct sc_parser *p, const yaml_parser_t *parser)
{
	if (parser->error == YAML_MEMORY_ERROR) {
		p->err = -ENOMEM;
		return;
	}
	/* The reader fails on bad encodings, before it has counted lines. */
	if (parser->error == YAML_READER_ERROR) {
		p->errors++;
		if (parser->problem && strstr(parser->problem, "control characters"))
			sc_diags_add(p->diags, p->file, 0, 0, "",
				     "control character U+%04X at byte %zu; YAML allows only tab, "
				     "CR and LF (remove it)",
				     parser->problem_value, parser->problem_offset);
		else
			sc_diags_add(p->diags, p->file, 0, 0, "",
				     "not valid UTF-8 or UTF-16: %s at byte %zu (save the file as "
				     "UTF-8)",
				     parser->problem, parser->problem_offset);
		return;
	}
	/* libyaml's words for a key it gave up on: YAML caps a key without quotes or `?` at
	 * 1024 characters, so a huge key (or a line without its `:`) ends up here. */
	if (parser->context && strstr(parser->context, "simple key"))
		sc_diag(p, parser->context_mark, "",
			"YAML syntax error: %s (%s at line %zu, column %zu): a key is longer than "
			"1024 characters or has no ':' after it (keys are the names of docs/config.md; "
			"shorten it, or add the ':')",
			parser->problem, parser->context, parser->context_mark.line + 1,
			parser->context_mark.column + 1);
	else if (parser->context)
		sc_diag(p, parser->problem_mark, "",
			"YAML syntax error: %s (%s at line %zu, column %zu)", parser->problem,
			parser->context, parser->context_mark.line + 1,
			parser->context_mark.column + 1);
	else
		sc_diag(p, parser->problem_mark, "", "YAML syntax error: %s", parser->problem);
}

/* A config file holds one document; a second one would be silently ignored otherwise. */
static void sc_check_single_document(struct sc_parser *p, yaml_parser_t *parser)
{
	yaml_document_t next;
	yaml_node_t *root;

	if (!sc_yaml_load(parser, &next)) {
		sc_syntax_error(p, parser);
		return;
	}
	root = yaml_document_get_root_node(&next);
	if (root)
		sc_diag(p, next.start_mark, "",
			"a second YAML document; a config file holds one (remove this ---)");
	yaml_document_delete(&next);
}

int sc_config_parse_string(const char *name, const char *text, size_t len, struct sc_config *cfg,
			   struct sc_diags *diags)
{
	return sc_config_parse_string_mode(name, text, len, SC_MODE_FROM_FILE, cfg, diags);
}

static int sc_parse_text(const char *name, const char *text, size_t len, int mode,
			 struct sc_config *cfg, struct sc_diags *diags, struct sc_items_layout *lay)
{
	struct sc_diags scratch = {0};
	struct sc_parser p = {0};
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	size_t i, first;
	int err;

	memset(cfg, 0, sizeof(*cfg));
	if (lay)
		*lay = (struct sc_items_layout){.why = "the file does not parse"};
	p.file = name ? name : "<string>";
	p.cfg = cfg;
	p.doc = &doc;
	p.diags = diags ? diags : &scratch;
	p.mode = mode;
	first = p.diags->n;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!sc_yaml_load(&parser, &doc)) {
		sc_syntax_error(&p, &parser);
		goto out_parser;
	}
	err = sc_config_defaults(cfg, p.file);
	if (err) {
		p.err = err;
		goto out_doc;
	}
	/* An empty file, or one holding only comments, has no root node: it is an empty mapping. */
	root = yaml_document_get_root_node(&doc);
	p.seen[K_ROOT].present = true;
	p.seen[K_ROOT].mark = root ? root->start_mark : doc.start_mark;
	if (root)
		sc_parse_value(&p, &sc_keys[K_ROOT], root);
	if (!p.seen[K_ROOT].bad) {
		sc_config_finish(&p);
		sc_config_validate(&p);
	}
	sc_check_single_document(&p, &parser);
	if (lay && !p.err && !p.errors) {
		lay->why = sc_layout_of(&doc, lay);
		lay->usable = !lay->why;
	}

out_doc:
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	for (i = 0; i < K__MAX; i++)
		free(p.items[i].v);
	for (i = 0; i < p.n_svcs; i++)
		free(p.svcs[i].eps);
	free(p.svcs);
	/* No diagnostics: v may be NULL, and NULL + 0 is undefined. */
	if (p.diags->n > first)
		sc_diags_sort(p.diags->v + first, p.diags->n - first);
	sc_diags_free(&scratch);
	err = p.err ? p.err : p.errors ? -EINVAL : 0;
	if (err)
		sc_config_free(cfg);
	if (err && lay)
		lay->usable = false;
	return err;
}

int sc_config_parse_string_mode(const char *name, const char *text, size_t len, int mode,
				struct sc_config *cfg, struct sc_diags *diags)
{
	return sc_parse_text(name, text, len, mode, cfg, diags, NULL);
}

int sc_config_parse_layout(const char *name, const char *text, size_t len, int mode,
			   struct sc_config *cfg, struct sc_diags *diags,
			   struct sc_items_layout *lay)
{
	return sc_parse_text(name, text, len, mode, cfg, diags, lay);
}

/* How to fix a file that cannot be opened or is no regular file. */
static const char *sc_open_hint(int err)
{
	switch (err) {
	case ENOENT:
		return "; create it, or point --config at the policy file";
	case EACCES:
	case EPERM:
		return "; let the daemon's user read it (chmod/chown), or run as that user";
	case ELOOP:
		return "; a symbolic link loop: point the link at the policy file";
	case ENOTDIR:
		return "; a component of the path is not a directory";
	default:
		return "";
	}
}

/* Open FILE for reading, a regular file only: a FIFO would block the daemon in open or read. */
static int sc_open_regular(const char *file, struct sc_diags *diags)
{
	struct stat st;
	int fd, err;

	fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		err = -errno;
		sc_diags_add(diags, file, 0, 0, "", "cannot open: %s%s", strerror(-err),
			     sc_open_hint(-err));
		return err;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		sc_diags_add(diags, file, 0, 0, "", "cannot stat: %s", strerror(-err));
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		sc_diags_add(diags, file, 0, 0, "",
			     "is %s, not a regular file; point --config at "
			     "the policy file",
			     S_ISDIR(st.st_mode)    ? "a directory"
			     : S_ISFIFO(st.st_mode) ? "a FIFO"
			     : S_ISSOCK(st.st_mode) ? "a socket"
						    : "a device");
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	return fd;
}

int sc_config_read(const char *file, char **out, size_t *out_len, struct sc_diags *diags)
{
	size_t len = 0;
	char *text, *shrunk;
	ssize_t n;
	int fd, err = 0;

	*out = NULL;
	*out_len = 0;
	/* One byte more than the limit tells a file at the limit from a larger one. */
	text = malloc(SC_MAX_FILE_SIZE + 1);
	if (!text)
		return -ENOMEM;
	fd = sc_open_regular(file, diags);
	if (fd < 0) {
		err = fd;
		goto out_free;
	}
	while (len < SC_MAX_FILE_SIZE + 1) {
		n = read(fd, text + len, SC_MAX_FILE_SIZE + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			sc_diags_add(diags, file, 0, 0, "", "cannot read: %s", strerror(-err));
			goto out_close;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	if (len > SC_MAX_FILE_SIZE) {
		err = -EFBIG;
		sc_diags_add(diags, file, 0, 0, "",
			     "larger than %d bytes; is this the config file?", SC_MAX_FILE_SIZE);
		goto out_close;
	}
	shrunk = realloc(text, len + 1);
	if (shrunk)
		text = shrunk;
	text[len] = '\0';
	*out = text;
	*out_len = len;
	text = NULL;

out_close:
	close(fd);
out_free:
	free(text);
	return err;
}

int sc_config_load(const char *file, struct sc_config *cfg, struct sc_diags *diags)
{
	return sc_config_load_mode(file, SC_MODE_FROM_FILE, cfg, diags);
}

int sc_config_load_mode(const char *file, int mode, struct sc_config *cfg, struct sc_diags *diags)
{
	struct sc_diags scratch = {0};
	size_t len;
	char *text;
	int err;

	memset(cfg, 0, sizeof(*cfg));
	if (!diags)
		diags = &scratch;
	err = sc_config_read(file, &text, &len, diags);
	if (!err)
		err = sc_config_parse_string_mode(file, text, len, mode, cfg, diags);
	free(text);
	sc_diags_free(&scratch);
	return err;
}
