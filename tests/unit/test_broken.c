// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The broken policies of the fuzz corpus (tests/fuzz/broken/NN-name.yaml), each with the error it
 * must give (NN-name.err: LINE:COL: key: message, as `interceptor validate` prints it after the
 * file name). Each file is rejected, and that diagnostic is among those printed.
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "config.h"

static void broken_dir(char *buf, size_t size)
{
	char src[] = __FILE__;

	snprintf(buf, size, "%s/../fuzz/broken", dirname(src));
}

/* The first line of FILE, without its newline, in BUF. */
static void first_line(const char *file, char *buf, size_t size)
{
	FILE *f = fopen(file, "re");

	cr_assert_not_null(f, "%s: %s", file, strerror(errno));
	cr_assert_not_null(fgets(buf, (int)size, f), "%s is empty", file);
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static void check_one(const char *dir, const char *name)
{
	char *yaml, *err, *line, *printed = NULL, want[1024];
	struct sc_diags diags = {0};
	struct sc_config cfg;
	size_t len = 0;
	FILE *out;

	cr_assert_geq(asprintf(&yaml, "%s/%s", dir, name), 0);
	cr_assert_geq(asprintf(&err, "%.*s.err", (int)(strlen(yaml) - 5), yaml), 0);
	first_line(err, want, sizeof(want));
	cr_assert_eq(sc_config_load(yaml, &cfg, &diags), -EINVAL, "%s was accepted", name);
	out = open_memstream(&printed, &len);
	cr_assert_not_null(out);
	sc_diags_print(&diags, out);
	fclose(out);
	cr_assert_geq(asprintf(&line, "%s:%s\n", yaml, want), 0);
	cr_assert(strstr(printed, line), "%s: want\n  %s:%s\ngot\n%s", name, name, want, printed);
	free(line);
	free(printed);
	free(err);
	free(yaml);
	sc_diags_free(&diags);
}

Test(broken, every_broken_policy_gives_its_error)
{
	char dir[4096];
	struct dirent **names;
	int i, n, checked = 0;

	broken_dir(dir, sizeof(dir));
	n = scandir(dir, &names, NULL, alphasort);
	cr_assert_gt(n, 0, "%s: %s", dir, strerror(errno));
	for (i = 0; i < n; i++) {
		size_t l = strlen(names[i]->d_name);

		if (l > 5 && !strcmp(names[i]->d_name + l - 5, ".yaml")) {
			check_one(dir, names[i]->d_name);
			checked++;
		}
		free(names[i]);
	}
	free(names);
	/* Issue 17 asks for at least 50. */
	cr_assert_geq(checked, 50, "only %d broken policies", checked);
}
