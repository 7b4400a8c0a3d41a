/* wasiprobe: exercises WASI preview 1 from a plugin, so the host's capability policy can be
 * tested: files, directories, environment, arguments, stdout and stderr. Typed ABI v1.
 *
 * Failures come back as guest errors carrying the WASI error name (e.g. "errno 76"), so a
 * test can tell "denied by the sandbox" from "not there".
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

#include "xxplugin.h"

XXPLUGIN_PLUGIN("wasiprobe", "1.0.0-c");

static void fail_errno(const char *what, int err) {
	char msg[160];
	snprintf(msg, sizeof msg, "%s: %s (errno %d)", what, strerror(err), err);
	xxplugin_error_str(msg);
}

XXPLUGIN_FN(read, "(path: string) -> string", "The contents of the file at path (at most 1 MiB).")
void probe_read(uint32_t len) {
	char *path = xxplugin_arg_string(0, len);
	if (!path)
		return;
	FILE *f = fopen(path, "rb");
	if (!f) {
		fail_errno(path, errno);
		free(path);
		return;
	}
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf, f);
	int err = ferror(f) ? errno : 0;
	fclose(f);
	if (err)
		fail_errno(path, err);
	else
		xxplugin_result(buf, (int32_t)n);
	free(path);
}

XXPLUGIN_FN(write, "(path: string, text: string)", "Creates or replaces the file at path.")
void probe_write(uint32_t path_len, uint32_t text_len) {
	char *path = xxplugin_arg_string(0, path_len);
	char *text = path ? xxplugin_arg_string(1, text_len) : NULL;
	if (text) {
		FILE *f = fopen(path, "wb");
		if (!f)
			fail_errno(path, errno);
		else {
			size_t n = fwrite(text, 1, text_len, f);
			int err = n < text_len ? errno : 0;
			if (fclose(f) != 0 && !err)
				err = errno;
			if (err)
				fail_errno(path, err);
		}
	}
	free(text);
	free(path);
}

/* Runs OP on PATH (and TO, for rename); reports errno on failure. */
static void path_op(uint32_t len, int op, uint32_t to_len) {
	char *path = xxplugin_arg_string(0, len);
	char *to = path && op == 'r' ? xxplugin_arg_string(1, to_len) : NULL;
	if (!path || (op == 'r' && !to)) {
		free(path);
		return;
	}
	int rc = op == 'u' ? unlink(path) : op == 'm' ? mkdir(path, 0755) : rename(path, to);
	if (rc != 0)
		fail_errno(path, errno);
	free(to);
	free(path);
}

XXPLUGIN_FN(remove, "(path: string)", "Deletes the file at path.")
void probe_remove(uint32_t len) { path_op(len, 'u', 0); }

XXPLUGIN_FN(mkdir, "(path: string)", "Creates the directory path.")
void probe_mkdir(uint32_t len) { path_op(len, 'm', 0); }

XXPLUGIN_FN(rename, "(from: string, to: string)", "Renames from to to.")
void probe_rename(uint32_t len, uint32_t to_len) { path_op(len, 'r', to_len); }

XXPLUGIN_FN(list, "(dir: string) -> array<string>", "The names in dir, sorted, without . and ..")
void probe_list(uint32_t len) {
	char *path = xxplugin_arg_string(0, len);
	if (!path)
		return;
	struct dirent **names;
	int n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		fail_errno(path, errno);
		free(path);
		return;
	}
	size_t shown = 0;
	for (int i = 0; i < n; i++)
		shown += strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0;
	xxplugin_writer w = XXPLUGIN_WRITER_INIT;
	xxplugin_write_array(&w, shown);
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0)
			xxplugin_write_cstr(&w, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	xxplugin_writer_finish(&w);
	free(path);
}

XXPLUGIN_FN(open_raw, "(path: string) -> int",
            "path_open of path relative to the first preopened directory (fd 3), read-only, "
            "following symlinks, without libc's path resolution: 0 when it opens, else the WASI errno.")
int64_t probe_open_raw(uint32_t len) {
	char *path = xxplugin_arg_string(0, len);
	if (!path)
		return -1;
	__wasi_fd_t fd;
	__wasi_errno_t err = __wasi_path_open(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd);
	if (err == 0)
		(void)__wasi_fd_close(fd);
	free(path);
	return err;
}

XXPLUGIN_FN(getenv, "(name: string) -> any", "The value of the environment variable, or null.")
void probe_getenv(uint32_t len) {
	char *name = xxplugin_arg_string(0, len);
	if (!name)
		return;
	const char *v = getenv(name);
	xxplugin_writer w = XXPLUGIN_WRITER_INIT;
	if (v)
		xxplugin_write_cstr(&w, v);
	else
		xxplugin_write_nil(&w);
	xxplugin_writer_finish(&w);
	free(name);
}

XXPLUGIN_FN(environ_count, "() -> int", "How many environment variables the plugin can see.")
int64_t probe_environ_count(void) {
	__wasi_size_t count, size;
	if (__wasi_environ_sizes_get(&count, &size) != 0)
		return -1;
	return count;
}

XXPLUGIN_FN(args, "() -> array<string>", "The plugin's arguments (argv).")
void probe_args(void) {
	__wasi_size_t count, size;
	if (__wasi_args_sizes_get(&count, &size) != 0) {
		xxplugin_error_str("args_sizes_get failed");
		return;
	}
	char **argv = malloc((count + 1) * sizeof *argv);
	char *buf = malloc(size + 1);
	xxplugin_writer w = XXPLUGIN_WRITER_INIT;
	if (!argv || !buf || __wasi_args_get((uint8_t **)argv, (uint8_t *)buf) != 0)
		xxplugin_error_str("args_get failed");
	else {
		xxplugin_write_array(&w, count);
		for (__wasi_size_t i = 0; i < count; i++)
			xxplugin_write_cstr(&w, argv[i]);
		xxplugin_writer_finish(&w);
	}
	free(buf);
	free(argv);
}

static void print_to(FILE *f, uint32_t len) {
	char *s = xxplugin_arg_string(0, len);
	if (!s)
		return;
	fwrite(s, 1, len, f);
	fflush(f);
	free(s);
}

XXPLUGIN_FN(print, "(s: string)", "Writes s to stdout.")
void probe_print(uint32_t len) { print_to(stdout, len); }

XXPLUGIN_FN(eprint, "(s: string)", "Writes s to stderr.")
void probe_eprint(uint32_t len) { print_to(stderr, len); }
