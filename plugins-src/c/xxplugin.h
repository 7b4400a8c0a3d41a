/* xxplugin.h: write xxlang plugins in C with the typed plugin ABI v1 (docs/ABI.md).
 *
 * One header, no other files: copy it next to your plugin. It gives you
 *   - the three host imports (module "xxplugin"): xxplugin_arg, xxplugin_result, xxplugin_error;
 *   - the manifest, as a custom section named "xxplugin": XXPLUGIN_PLUGIN and XXPLUGIN_FN;
 *   - string and bytes arguments and results: xxplugin_arg_string, xxplugin_result_str, ...;
 *   - a small MessagePack writer and reader for array, map and any (ABI section 5), and
 *     xxplugin_value, a decoded `any` as a C tree.
 *
 *   #include "xxplugin.h"
 *   XXPLUGIN_PLUGIN("hello", "1.0.0");
 *
 *   XXPLUGIN_FN(greet, "(who: string) -> string", "Says hello.")
 *   void greet(uint32_t who_len) {              // a string parameter arrives as its byte length
 *       char *who = xxplugin_arg_string(0, who_len);   // copied into malloc'ed memory
 *       if (!who) return;                       // out of memory: the error is already sent
 *       ...
 *       xxplugin_result_str(text);              // the host copies the result at once...
 *       free(who);                              // ...so free everything afterwards
 *   }
 *
 *   clang --target=wasm32-wasi -O2 -mexec-model=reactor -Wl,--strip-all -o hello.wasm hello.c
 *
 * Types (ABI section 1): int is int64_t, float is double, bool is bool (i32); string, bytes,
 * array, map and any arrive as a uint32_t byte length (fetch the value with xxplugin_arg) and
 * are returned with xxplugin_result (the C function returns void). To fail, call
 * xxplugin_error / xxplugin_error_str and return normally, after freeing what you allocated.
 *
 * Everything is static inline: what you do not use costs nothing. Compiled without
 * __wasm__ (e.g. with gcc, for unit tests) the imports become ordinary extern functions that
 * the test provides, and the manifest macros expand to nothing.
 */
#ifndef XXPLUGIN_H
#define XXPLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
#error "xxplugin.h is C (C11 or later); its manifest macros rely on C string rules"
#endif

/* ------------------------------------------------------------------ host imports */

#if defined(__wasm__)
#define XXPLUGIN__IMPORT(n) __attribute__((import_module("xxplugin"), import_name(n)))
/* Exports the following function under the wasm name N (a string). */
#define XXPLUGIN_EXPORT(n) __attribute__((export_name(n)))
#else
#define XXPLUGIN__IMPORT(n)
#define XXPLUGIN_EXPORT(n)
#endif

/* Copies memory-type parameter INDEX (0-based over all parameters) to DST: exactly the byte
 * length the function received for it. */
XXPLUGIN__IMPORT("arg") void xxplugin_arg(int32_t index, void *dst);
/* Sends the result of a function with a memory-type result: LEN bytes at PTR. Once per call. */
XXPLUGIN__IMPORT("result") void xxplugin_result(const void *ptr, int32_t len);
/* Fails the running call with a UTF-8 message. Returns normally: clean up and return. */
XXPLUGIN__IMPORT("error") void xxplugin_error(const void *ptr, int32_t len);

/* ---------------------------------------------------------------------- manifest */

/* The manifest lives in a custom section named "xxplugin", written by file-scope assembly
 * (clang 14 puts `__attribute__((section(...)))` data in a data segment, not a custom
 * section). Each macro adds lines; the linker concatenates them. The strings are C string
 * literals; escapes such as \n, \t, \" and \xNN work. */
#if defined(__wasm__)
#define XXPLUGIN__SECTION(...)                                                               \
	__asm__(".section .custom_section.xxplugin,\"\",@\n.ascii " #__VA_ARGS__ "\n.text\n")
#else
#define XXPLUGIN__SECTION(...) _Static_assert(1, "xxplugin manifest")
#endif

/* Raw manifest lines; TEXT must end with "\n". E.g. XXPLUGIN_MANIFEST("x-note hi\n"); */
#define XXPLUGIN_MANIFEST(text) XXPLUGIN__SECTION(text)

/* `abi 1`, `name NAME`, `version VERSION`. Once per plugin, at file scope:
 *   XXPLUGIN_PLUGIN("textkit", "1.0.0-c");                                               */
#define XXPLUGIN_PLUGIN(name, version)                                                       \
	XXPLUGIN__SECTION("abi 1\nname " name "\nversion " version "\n")

/* Declares and exports a function; put it right before the definition:
 *   XXPLUGIN_FN(scale, "(x: float, factor: float) -> float", "x times factor.")
 *   double scale(double x, double factor) { return x * factor; }
 * NAME is the export and script name; the C function below it may be named anything.
 * SIG is "(params) [-> type]"; DOC is a non-empty one-line description. */
#define XXPLUGIN_FN(name, sig, doc)                                                          \
	XXPLUGIN__SECTION("fn " #name sig " -- " doc "\n");                                      \
	XXPLUGIN_EXPORT(#name)

/* --------------------------------------------------------- strings, bytes, errors */

/* Sends MSG (a C string) as the call's error. */
static inline void xxplugin_error_str(const char *msg) {
	xxplugin_error(msg, (int32_t)strlen(msg));
}

/* Sends a C string as the result (it must be valid UTF-8). */
static inline void xxplugin_result_str(const char *s) {
	xxplugin_result(s, (int32_t)strlen(s));
}

/* Sends LEN bytes at P as the result (a string, bytes or MessagePack). */
static inline void xxplugin_result_bytes(const void *p, size_t len) {
	xxplugin_result(p, (int32_t)len);
}

/* Copies memory-type argument INDEX, of LEN bytes, into new heap memory with a NUL after it,
 * so a string argument is also a C string (one that may contain NULs: trust LEN). Free it
 * with free(). Out of memory: sends the error "out of memory" and returns NULL. */
static inline char *xxplugin_arg_string(int32_t index, uint32_t len) {
	char *p = len < UINT32_MAX ? (char *)malloc((size_t)len + 1) : NULL;
	if (!p) {
		xxplugin_error_str("out of memory");
		return NULL;
	}
	xxplugin_arg(index, p);
	p[len] = '\0';
	return p;
}

/* The same for a bytes argument. */
static inline uint8_t *xxplugin_arg_bytes(int32_t index, uint32_t len) {
	return (uint8_t *)xxplugin_arg_string(index, len);
}

/* ------------------------------------------------------------ MessagePack writer */

/* A growable output buffer. Start with XXPLUGIN_WRITER_INIT, write values, then
 * xxplugin_writer_finish (sends the result and frees) or xxplugin_writer_free. An allocation
 * failure is remembered and reported by finish as the error "out of memory". */
typedef struct {
	uint8_t *data;
	size_t len, cap;
	bool oom;
} xxplugin_writer;
#define XXPLUGIN_WRITER_INIT {NULL, 0, 0, false}

static inline void xxplugin_writer_free(xxplugin_writer *w) {
	free(w->data);
	w->data = NULL;
	w->len = w->cap = 0;
}

/* Room for N more bytes; NULL when out of memory. */
static inline uint8_t *xxplugin_writer_reserve(xxplugin_writer *w, size_t n) {
	if (w->oom)
		return NULL;
	if (n > SIZE_MAX - w->len) {
		w->oom = true;
		return NULL;
	}
	size_t need = w->len + n;
	if (need > w->cap) {
		size_t cap = w->cap ? w->cap : 64;
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		uint8_t *p = (uint8_t *)realloc(w->data, cap);
		if (!p) {
			w->oom = true;
			return NULL;
		}
		w->data = p;
		w->cap = cap;
	}
	uint8_t *out = w->data + w->len;
	w->len = need;
	return out;
}

/* Sends the buffer as the call's result (or "out of memory"), then frees it. */
static inline void xxplugin_writer_finish(xxplugin_writer *w) {
	if (w->oom)
		xxplugin_error_str("out of memory");
	else
		xxplugin_result(w->data, (int32_t)w->len);
	xxplugin_writer_free(w);
}

static inline void xxplugin__put(xxplugin_writer *w, uint8_t tag, uint64_t v, int nbytes) {
	uint8_t *p = xxplugin_writer_reserve(w, 1 + (size_t)nbytes);
	if (!p)
		return;
	*p++ = tag;
	for (int i = nbytes - 1; i >= 0; i--) /* big-endian */
		*p++ = (uint8_t)(v >> (8 * i));
}

static inline void xxplugin__put_raw(xxplugin_writer *w, const void *src, size_t n) {
	uint8_t *p = xxplugin_writer_reserve(w, n);
	if (p && n)
		memcpy(p, src, n);
}

static inline void xxplugin_write_nil(xxplugin_writer *w) { xxplugin__put(w, 0xc0, 0, 0); }

static inline void xxplugin_write_bool(xxplugin_writer *w, bool b) {
	xxplugin__put(w, b ? 0xc3 : 0xc2, 0, 0);
}

/* An int, in its shortest encoding. */
static inline void xxplugin_write_int(xxplugin_writer *w, int64_t v) {
	if (v >= 0) {
		if (v < 128)
			xxplugin__put(w, (uint8_t)v, 0, 0);
		else if (v <= 0xff)
			xxplugin__put(w, 0xcc, (uint64_t)v, 1);
		else if (v <= 0xffff)
			xxplugin__put(w, 0xcd, (uint64_t)v, 2);
		else if (v <= 0xffffffffLL)
			xxplugin__put(w, 0xce, (uint64_t)v, 4);
		else
			xxplugin__put(w, 0xd3, (uint64_t)v, 8);
	} else if (v >= -32) {
		xxplugin__put(w, (uint8_t)v, 0, 0); /* negative fixint 0xe0..0xff */
	} else if (v >= INT8_MIN) {
		xxplugin__put(w, 0xd0, (uint64_t)v, 1);
	} else if (v >= INT16_MIN) {
		xxplugin__put(w, 0xd1, (uint64_t)v, 2);
	} else if (v >= INT32_MIN) {
		xxplugin__put(w, 0xd2, (uint64_t)v, 4);
	} else {
		xxplugin__put(w, 0xd3, (uint64_t)v, 8);
	}
}

/* A float, as float64. */
static inline void xxplugin_write_float(xxplugin_writer *w, double f) {
	uint64_t bits;
	memcpy(&bits, &f, sizeof bits);
	xxplugin__put(w, 0xcb, bits, 8);
}

/* A length or count: FIX | N up to FIXMAX, else tag T8 (0: none), T16 or T32 and N. */
static inline void xxplugin__put_len(xxplugin_writer *w, size_t n, uint8_t fix, size_t fixmax,
                                     uint8_t t8, uint8_t t16, uint8_t t32) {
	if (n <= fixmax)
		xxplugin__put(w, (uint8_t)(fix | n), 0, 0);
	else if (t8 && n <= 0xff)
		xxplugin__put(w, t8, n, 1);
	else if (n <= 0xffff)
		xxplugin__put(w, t16, n, 2);
	else if ((uint64_t)n <= 0xffffffffu)
		xxplugin__put(w, t32, n, 4);
	else
		w->oom = true; /* cannot be encoded */
}

/* A string: LEN bytes of UTF-8 at S. */
static inline void xxplugin_write_str(xxplugin_writer *w, const char *s, size_t len) {
	xxplugin__put_len(w, len, 0xa0, 31, 0xd9, 0xda, 0xdb);
	xxplugin__put_raw(w, s, len);
}

/* A C string. */
static inline void xxplugin_write_cstr(xxplugin_writer *w, const char *s) {
	xxplugin_write_str(w, s, strlen(s));
}

/* Bytes. */
static inline void xxplugin_write_bin(xxplugin_writer *w, const void *p, size_t len) {
	if (len <= 0xff)
		xxplugin__put(w, 0xc4, len, 1);
	else if (len <= 0xffff)
		xxplugin__put(w, 0xc5, len, 2);
	else if ((uint64_t)len <= 0xffffffffu)
		xxplugin__put(w, 0xc6, len, 4);
	else
		w->oom = true;
	xxplugin__put_raw(w, p, len);
}

/* An array header: then write its N elements. */
static inline void xxplugin_write_array(xxplugin_writer *w, size_t n) {
	xxplugin__put_len(w, n, 0x90, 15, 0, 0xdc, 0xdd);
}

/* A map header: then write N keys and values, alternating (keys int, string or bool; each
 * key at most once). */
static inline void xxplugin_write_map(xxplugin_writer *w, size_t n) {
	xxplugin__put_len(w, n, 0x80, 15, 0, 0xde, 0xdf);
}

/* ------------------------------------------------------------ MessagePack reader */

/* The kinds of values. */
typedef enum {
	XXPLUGIN_INVALID = 0, /* end of input, or a byte that starts no value of the subset */
	XXPLUGIN_NIL,
	XXPLUGIN_BOOL,
	XXPLUGIN_INT,
	XXPLUGIN_FLOAT,
	XXPLUGIN_STR,
	XXPLUGIN_BIN,
	XXPLUGIN_ARRAY,
	XXPLUGIN_MAP
} xxplugin_kind;

/* Reads MessagePack from a buffer. Every xxplugin_read_* returns false, and consumes
 * nothing, when the next value is not of its kind or is cut short. */
typedef struct {
	const uint8_t *p, *end;
	uint8_t *owned; /* freed by xxplugin_reader_free */
} xxplugin_reader;

static inline void xxplugin_reader_init(xxplugin_reader *r, const void *data, size_t len) {
	r->p = (const uint8_t *)data;
	r->end = r->p + len;
	r->owned = NULL;
}

/* Fetches array/map/any argument INDEX of LEN bytes into new memory and reads it. Out of
 * memory: sends the error "out of memory" and returns false. Free with xxplugin_reader_free. */
static inline bool xxplugin_arg_msgpack(int32_t index, uint32_t len, xxplugin_reader *r) {
	uint8_t *buf = xxplugin_arg_bytes(index, len);
	xxplugin_reader_init(r, buf, buf ? len : 0);
	r->owned = buf;
	return buf != NULL;
}

static inline void xxplugin_reader_free(xxplugin_reader *r) {
	free(r->owned);
	r->owned = NULL;
	r->p = r->end = NULL;
}

/* Whether everything has been read. */
static inline bool xxplugin_reader_done(const xxplugin_reader *r) { return r->p == r->end; }

static inline size_t xxplugin__left(const xxplugin_reader *r) { return (size_t)(r->end - r->p); }

static inline uint64_t xxplugin__be(const uint8_t *p, int n) {
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* The kind of the next value. */
static inline xxplugin_kind xxplugin_peek(const xxplugin_reader *r) {
	if (r->p >= r->end)
		return XXPLUGIN_INVALID;
	uint8_t t = *r->p;
	if (t <= 0x7f || t >= 0xe0 || (t >= 0xcc && t <= 0xd3))
		return XXPLUGIN_INT;
	if (t <= 0x8f || t == 0xde || t == 0xdf)
		return XXPLUGIN_MAP;
	if (t <= 0x9f || t == 0xdc || t == 0xdd)
		return XXPLUGIN_ARRAY;
	if (t <= 0xbf || (t >= 0xd9 && t <= 0xdb))
		return XXPLUGIN_STR;
	switch (t) {
	case 0xc0: return XXPLUGIN_NIL;
	case 0xc2: case 0xc3: return XXPLUGIN_BOOL;
	case 0xc4: case 0xc5: case 0xc6: return XXPLUGIN_BIN;
	case 0xca: case 0xcb: return XXPLUGIN_FLOAT;
	default: return XXPLUGIN_INVALID; /* 0xc1 (never used), ext types */
	}
}

/* The header of the next value: its tag's kind-specific number (the int, the length...) and
 * how many bytes the header takes. False when cut short. */
static inline bool xxplugin__header(const xxplugin_reader *r, uint64_t *v, size_t *hdr) {
	uint8_t t = *r->p;
	int n;
	if (t <= 0x7f || t >= 0xe0) { *v = t; *hdr = 1; return true; }
	if (t <= 0x8f) { *v = t & 0x0f; *hdr = 1; return true; }
	if (t <= 0x9f) { *v = t & 0x0f; *hdr = 1; return true; }
	if (t <= 0xbf) { *v = t & 0x1f; *hdr = 1; return true; }
	switch (t) {
	case 0xc4: case 0xcc: case 0xd0: case 0xd9: n = 1; break;
	case 0xc5: case 0xcd: case 0xd1: case 0xda: case 0xdc: case 0xde: n = 2; break;
	case 0xc6: case 0xce: case 0xd2: case 0xdb: case 0xdd: case 0xdf: case 0xca: n = 4; break;
	case 0xcf: case 0xd3: case 0xcb: n = 8; break;
	default: n = 0; break;
	}
	if (xxplugin__left(r) < 1 + (size_t)n)
		return false;
	*v = xxplugin__be(r->p + 1, n);
	*hdr = 1 + (size_t)n;
	return true;
}

static inline bool xxplugin_read_nil(xxplugin_reader *r) {
	if (xxplugin_peek(r) != XXPLUGIN_NIL)
		return false;
	r->p++;
	return true;
}

static inline bool xxplugin_read_bool(xxplugin_reader *r, bool *out) {
	if (xxplugin_peek(r) != XXPLUGIN_BOOL)
		return false;
	*out = *r->p++ == 0xc3;
	return true;
}

/* Any int format; a uint64 above INT64_MAX fails. */
static inline bool xxplugin_read_int(xxplugin_reader *r, int64_t *out) {
	uint64_t v;
	size_t hdr;
	if (xxplugin_peek(r) != XXPLUGIN_INT || !xxplugin__header(r, &v, &hdr))
		return false;
	switch (*r->p) {
	case 0xd0: *out = (int8_t)v; break;
	case 0xd1: *out = (int16_t)v; break;
	case 0xd2: *out = (int32_t)v; break;
	case 0xd3: *out = (int64_t)v; break;
	case 0xcf:
		if (v > (uint64_t)INT64_MAX)
			return false;
		*out = (int64_t)v;
		break;
	default: *out = *r->p >= 0xe0 ? (int8_t)*r->p : (int64_t)v; break;
	}
	r->p += hdr;
	return true;
}

/* A float64 or float32; an int is accepted too (converted), as for an `array<float>`. */
static inline bool xxplugin_read_float(xxplugin_reader *r, double *out) {
	uint64_t v;
	size_t hdr;
	xxplugin_kind k = xxplugin_peek(r);
	if (k == XXPLUGIN_INT) {
		int64_t i;
		if (!xxplugin_read_int(r, &i))
			return false;
		*out = (double)i;
		return true;
	}
	if (k != XXPLUGIN_FLOAT || !xxplugin__header(r, &v, &hdr))
		return false;
	if (*r->p == 0xcb) {
		memcpy(out, &v, sizeof *out);
	} else {
		uint32_t b = (uint32_t)v;
		float f;
		memcpy(&f, &b, sizeof f);
		*out = f;
	}
	r->p += hdr;
	return true;
}

static inline bool xxplugin__read_blob(xxplugin_reader *r, xxplugin_kind kind,
                                       const uint8_t **data, uint32_t *len) {
	uint64_t v;
	size_t hdr;
	if (xxplugin_peek(r) != kind || !xxplugin__header(r, &v, &hdr) ||
	    v > xxplugin__left(r) - hdr)
		return false;
	*data = r->p + hdr;
	*len = (uint32_t)v;
	r->p += hdr + v;
	return true;
}

/* A string: *S points into the reader's buffer (not NUL-terminated), *LEN bytes. */
static inline bool xxplugin_read_str(xxplugin_reader *r, const char **s, uint32_t *len) {
	return xxplugin__read_blob(r, XXPLUGIN_STR, (const uint8_t **)s, len);
}

/* Bytes: *DATA points into the reader's buffer. */
static inline bool xxplugin_read_bin(xxplugin_reader *r, const uint8_t **data, uint32_t *len) {
	return xxplugin__read_blob(r, XXPLUGIN_BIN, data, len);
}

static inline bool xxplugin__read_count(xxplugin_reader *r, xxplugin_kind kind, uint32_t *n,
                                        uint64_t per) {
	uint64_t v;
	size_t hdr;
	/* Each element takes at least one byte: a count the bytes cannot hold is refused before
	 * anyone allocates for it. */
	if (xxplugin_peek(r) != kind || !xxplugin__header(r, &v, &hdr) ||
	    v > (xxplugin__left(r) - hdr) / per)
		return false;
	*n = (uint32_t)v;
	r->p += hdr;
	return true;
}

/* An array header: *N elements follow. */
static inline bool xxplugin_read_array(xxplugin_reader *r, uint32_t *n) {
	return xxplugin__read_count(r, XXPLUGIN_ARRAY, n, 1);
}

/* A map header: *N key-value pairs follow (key, value, key, value...). */
static inline bool xxplugin_read_map(xxplugin_reader *r, uint32_t *n) {
	return xxplugin__read_count(r, XXPLUGIN_MAP, n, 2);
}

/* ------------------------------------------------------------- values (`any`) */

/* A decoded MessagePack value. Strings are NUL-terminated copies (s.len excludes the NUL);
 * an array has a.len items; a map has a.len pairs in 2 * a.len items: key, value, ... */
typedef struct xxplugin_value xxplugin_value;
struct xxplugin_value {
	xxplugin_kind kind;
	union {
		bool b;
		int64_t i;
		double f;
		struct {
			char *ptr;
			uint32_t len;
		} s; /* XXPLUGIN_STR, XXPLUGIN_BIN */
		struct {
			xxplugin_value *items;
			uint32_t len;
		} a; /* XXPLUGIN_ARRAY, XXPLUGIN_MAP */
	} u;
};

#define XXPLUGIN_MAX_DEPTH 64

/* Frees what V owns (not V itself) and makes it nil. */
static inline void xxplugin_value_free(xxplugin_value *v) {
	if (v->kind == XXPLUGIN_STR || v->kind == XXPLUGIN_BIN) {
		free(v->u.s.ptr);
	} else if (v->kind == XXPLUGIN_ARRAY || v->kind == XXPLUGIN_MAP) {
		size_t n = (size_t)v->u.a.len * (v->kind == XXPLUGIN_MAP ? 2 : 1);
		for (size_t i = 0; i < n; i++)
			xxplugin_value_free(&v->u.a.items[i]);
		free(v->u.a.items);
	}
	v->kind = XXPLUGIN_NIL;
}

static inline bool xxplugin__read_value(xxplugin_reader *r, xxplugin_value *out, int depth) {
	const uint8_t *start = r->p;
	out->kind = XXPLUGIN_NIL;
	switch (xxplugin_peek(r)) {
	case XXPLUGIN_NIL:
		return xxplugin_read_nil(r);
	case XXPLUGIN_BOOL:
		out->kind = XXPLUGIN_BOOL;
		return xxplugin_read_bool(r, &out->u.b);
	case XXPLUGIN_INT:
		out->kind = XXPLUGIN_INT;
		return xxplugin_read_int(r, &out->u.i);
	case XXPLUGIN_FLOAT:
		out->kind = XXPLUGIN_FLOAT;
		return xxplugin_read_float(r, &out->u.f);
	case XXPLUGIN_STR:
	case XXPLUGIN_BIN: {
		xxplugin_kind k = xxplugin_peek(r);
		const uint8_t *data;
		uint32_t len;
		if (!xxplugin__read_blob(r, k, &data, &len))
			return false;
		char *copy = (char *)malloc((size_t)len + 1);
		if (!copy) {
			r->p = start;
			return false;
		}
		if (len)
			memcpy(copy, data, len);
		copy[len] = '\0';
		out->kind = k;
		out->u.s.ptr = copy;
		out->u.s.len = len;
		return true;
	}
	case XXPLUGIN_ARRAY:
	case XXPLUGIN_MAP: {
		xxplugin_kind k = xxplugin_peek(r);
		uint32_t n;
		if (depth >= XXPLUGIN_MAX_DEPTH)
			return false;
		if (!(k == XXPLUGIN_MAP ? xxplugin_read_map(r, &n) : xxplugin_read_array(r, &n)))
			return false;
		size_t count = (size_t)n * (k == XXPLUGIN_MAP ? 2 : 1);
		xxplugin_value *items = (xxplugin_value *)calloc(count ? count : 1, sizeof *items);
		if (!items) {
			r->p = start;
			return false;
		}
		out->kind = k;
		out->u.a.items = items;
		out->u.a.len = n;
		for (size_t i = 0; i < count; i++) {
			if (!xxplugin__read_value(r, &items[i], depth + 1)) {
				xxplugin_value_free(out); /* the rest are zeroed: nil */
				r->p = start;
				return false;
			}
		}
		return true;
	}
	default:
		return false;
	}
}

/* Decodes the next value into OUT (which then owns heap memory: xxplugin_value_free).
 * False on malformed input, nesting deeper than XXPLUGIN_MAX_DEPTH, or out of memory. */
static inline bool xxplugin_read_value(xxplugin_reader *r, xxplugin_value *out) {
	return xxplugin__read_value(r, out, 0);
}

/* Encodes V. */
static inline void xxplugin_write_value(xxplugin_writer *w, const xxplugin_value *v) {
	switch (v->kind) {
	case XXPLUGIN_BOOL: xxplugin_write_bool(w, v->u.b); break;
	case XXPLUGIN_INT: xxplugin_write_int(w, v->u.i); break;
	case XXPLUGIN_FLOAT: xxplugin_write_float(w, v->u.f); break;
	case XXPLUGIN_STR: xxplugin_write_str(w, v->u.s.ptr, v->u.s.len); break;
	case XXPLUGIN_BIN: xxplugin_write_bin(w, v->u.s.ptr, v->u.s.len); break;
	case XXPLUGIN_ARRAY:
	case XXPLUGIN_MAP: {
		size_t n = v->u.a.len;
		if (v->kind == XXPLUGIN_MAP) {
			xxplugin_write_map(w, n);
			n *= 2;
		} else {
			xxplugin_write_array(w, n);
		}
		for (size_t i = 0; i < n && !w->oom; i++)
			xxplugin_write_value(w, &v->u.a.items[i]);
		break;
	}
	default: xxplugin_write_nil(w); break;
	}
}

#endif /* XXPLUGIN_H */
