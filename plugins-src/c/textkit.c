/* textkit: strings, bytes, floats, arrays and maps across the typed plugin ABI v1, in C
 * (docs/ABI.md; the functions are specified in plugins-src/README.md).
 *
 * Every function that allocates frees before it returns, on every path: the host copies a
 * result during xxplugin_result, so a buffer may be freed right after sending it.
 */
#include "xxplugin.h"

XXPLUGIN_PLUGIN("textkit", "1.0.0-c");

/* "Words" are maximal runs of bytes other than ASCII whitespace. */
static bool is_space(uint8_t c) {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* The byte length of the UTF-8 character starting with LEAD (the input is valid UTF-8). */
static uint32_t char_len(uint8_t lead) {
	return lead < 0x80 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
}

XXPLUGIN_FN(upper, "(s: string) -> string", "ASCII letters upper-cased; fails on empty input.")
void upper(uint32_t len) {
	if (len == 0) {
		xxplugin_error_str("empty input");
		return;
	}
	char *s = xxplugin_arg_string(0, len);
	if (!s)
		return;
	for (uint32_t i = 0; i < len; i++)
		if (s[i] >= 'a' && s[i] <= 'z')
			s[i] = (char)(s[i] - 'a' + 'A');
	xxplugin_result(s, (int32_t)len);
	free(s);
}

XXPLUGIN_FN(reverse, "(s: string) -> string", "The characters of s in reverse order.")
void reverse(uint32_t len) {
	char *s = xxplugin_arg_string(0, len);
	if (!s)
		return;
	char *out = malloc((size_t)len + 1);
	if (!out) {
		free(s);
		xxplugin_error_str("out of memory");
		return;
	}
	for (uint32_t i = 0; i < len;) {
		uint32_t n = char_len((uint8_t)s[i]);
		if (n > len - i) /* cannot happen with valid UTF-8; keeps the copy in bounds */
			n = len - i;
		memcpy(out + (len - i - n), s + i, n);
		i += n;
	}
	xxplugin_result(out, (int32_t)len);
	free(out);
	free(s);
}

XXPLUGIN_FN(concat, "(a: string, b: string) -> string", "a followed by b.")
void concat(uint32_t a_len, uint32_t b_len) {
	size_t len = (size_t)a_len + b_len;
	char *buf = len >= a_len ? malloc(len ? len : 1) : NULL;
	if (!buf) {
		xxplugin_error_str("out of memory");
		return;
	}
	xxplugin_arg(0, buf);
	xxplugin_arg(1, buf + a_len);
	xxplugin_result(buf, (int32_t)len);
	free(buf);
}

XXPLUGIN_FN(length, "(s: string) -> int", "The number of characters (Unicode scalar values) in s.")
int64_t length(uint32_t len) {
	char *s = xxplugin_arg_string(0, len);
	if (!s)
		return 0;
	int64_t count = 0;
	for (uint32_t i = 0; i < len; i++)
		count += ((uint8_t)s[i] & 0xc0) != 0x80; /* not a continuation byte */
	free(s);
	return count;
}

XXPLUGIN_FN(echo_str, "(s: string) -> string", "s unchanged.")
void echo_str(uint32_t len) {
	char *s = xxplugin_arg_string(0, len);
	if (!s)
		return;
	xxplugin_result(s, (int32_t)len);
	free(s);
}

XXPLUGIN_FN(xor, "(data: bytes, key: int) -> bytes", "Each byte of data XOR the low 8 bits of key.")
void xor_bytes(uint32_t len, int64_t key) {
	uint8_t *data = xxplugin_arg_bytes(0, len);
	if (!data)
		return;
	for (uint32_t i = 0; i < len; i++)
		data[i] ^= (uint8_t)key;
	xxplugin_result(data, (int32_t)len);
	free(data);
}

XXPLUGIN_FN(scale, "(x: float, factor: float) -> float", "x times factor.")
double scale(double x, double factor) { return x * factor; }

XXPLUGIN_FN(is_palindrome, "(s: string) -> bool", "Whether the characters of s read the same reversed.")
bool is_palindrome(uint32_t len) {
	char *s = xxplugin_arg_string(0, len);
	if (!s)
		return false;
	bool same = true;
	/* Compare the character starting at i with the one ending just before j. */
	uint32_t i = 0, j = len;
	while (same && i < j) {
		uint32_t n = char_len((uint8_t)s[i]);
		uint32_t k = j - 1;
		while (k > i && ((uint8_t)s[k] & 0xc0) == 0x80)
			k--;
		uint32_t m = j - k;
		if (k <= i) /* the middle character */
			break;
		same = n == m && memcmp(s + i, s + k, n) == 0;
		i += n;
		j = k;
	}
	free(s);
	return same;
}

XXPLUGIN_FN(choose, "(flag: bool, a: int, b: int) -> int", "a if flag, else b.")
int64_t choose(bool flag, int64_t a, int64_t b) { return flag ? a : b; }

XXPLUGIN_FN(split, "(s: string) -> array<string>", "The whitespace-separated words of s, in order.")
void split(uint32_t len) {
	char *s = xxplugin_arg_string(0, len);
	if (!s)
		return;
	size_t words = 0;
	for (uint32_t i = 0; i < len; i++)
		words += !is_space((uint8_t)s[i]) && (i == 0 || is_space((uint8_t)s[i - 1]));
	xxplugin_writer w = XXPLUGIN_WRITER_INIT;
	xxplugin_write_array(&w, words);
	for (uint32_t i = 0; i < len;) {
		while (i < len && is_space((uint8_t)s[i]))
			i++;
		uint32_t start = i;
		while (i < len && !is_space((uint8_t)s[i]))
			i++;
		if (i > start)
			xxplugin_write_str(&w, s + start, i - start);
	}
	xxplugin_writer_finish(&w);
	free(s);
}

XXPLUGIN_FN(sum, "(xs: array<float>) -> float", "The sum of xs, added left to right.")
double sum(uint32_t len) {
	xxplugin_reader r;
	if (!xxplugin_arg_msgpack(0, len, &r))
		return 0;
	double total = 0.0;
	uint32_t n;
	bool ok = xxplugin_read_array(&r, &n);
	for (uint32_t i = 0; ok && i < n; i++) {
		double x;
		ok = xxplugin_read_float(&r, &x);
		if (ok)
			total += x;
	}
	if (!ok)
		xxplugin_error_str("invalid argument: expected an array of floats");
	xxplugin_reader_free(&r);
	return total;
}

XXPLUGIN_FN(iota, "(n: int) -> array<int>", "[0, 1, ..., n-1]; fails on a negative n or n over 1000000.")
void iota(int64_t n) {
	if (n < 0) {
		xxplugin_error_str("negative length");
		return;
	}
	if (n > 1000000) {
		xxplugin_error_str("too long");
		return;
	}
	xxplugin_writer w = XXPLUGIN_WRITER_INIT;
	/* At most 5 bytes an element (uint32): one allocation. */
	if (xxplugin_writer_reserve(&w, 5 + 5 * (size_t)n))
		w.len = 0;
	xxplugin_write_array(&w, (size_t)n);
	for (int64_t i = 0; i < n; i++)
		xxplugin_write_int(&w, i);
	xxplugin_writer_finish(&w);
}

/* ------------------------------------------------------------------ word_counts */

typedef struct {
	const char *word; /* into the argument's copy */
	uint32_t len;
	int64_t count;
} word_entry;

static uint32_t hash_bytes(const char *p, uint32_t len) {
	uint32_t h = 2166136261u; /* FNV-1a */
	for (uint32_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)p[i]) * 16777619u;
	return h;
}

XXPLUGIN_FN(word_counts, "(s: string) -> map", "Each word of s mapped to how often it occurs.")
void word_counts(uint32_t len) {
	char *s = xxplugin_arg_string(0, len);
	if (!s)
		return;
	/* At most len/2 + 1 distinct words; an open-addressing table of indices into `words`,
	 * which keeps them in order of first occurrence. */
	size_t max_words = (size_t)len / 2 + 1;
	size_t slots = 16;
	while (slots < 2 * max_words)
		slots *= 2;
	word_entry *words = malloc(max_words * sizeof *words);
	uint32_t *table = malloc(slots * sizeof *table); /* 0: empty, else index + 1 */
	if (!words || !table) {
		free(words);
		free(table);
		free(s);
		xxplugin_error_str("out of memory");
		return;
	}
	memset(table, 0, slots * sizeof *table);
	size_t nwords = 0;
	for (uint32_t i = 0; i < len;) {
		while (i < len && is_space((uint8_t)s[i]))
			i++;
		uint32_t start = i;
		while (i < len && !is_space((uint8_t)s[i]))
			i++;
		if (i == start)
			continue;
		const char *word = s + start;
		uint32_t wlen = i - start;
		size_t slot = hash_bytes(word, wlen) & (slots - 1);
		for (;;) {
			uint32_t idx = table[slot];
			if (idx == 0) {
				table[slot] = (uint32_t)nwords + 1;
				words[nwords++] = (word_entry){word, wlen, 1};
				break;
			}
			word_entry *e = &words[idx - 1];
			if (e->len == wlen && memcmp(e->word, word, wlen) == 0) {
				e->count++;
				break;
			}
			slot = (slot + 1) & (slots - 1);
		}
	}
	xxplugin_writer w = XXPLUGIN_WRITER_INIT;
	xxplugin_write_map(&w, nwords);
	for (size_t k = 0; k < nwords; k++) {
		xxplugin_write_str(&w, words[k].word, words[k].len);
		xxplugin_write_int(&w, words[k].count);
	}
	xxplugin_writer_finish(&w);
	free(table);
	free(words);
	free(s);
}

XXPLUGIN_FN(echo, "(v: any) -> any", "v unchanged, after decoding it into C values and encoding it again.")
void echo(uint32_t len) {
	xxplugin_reader r;
	if (!xxplugin_arg_msgpack(0, len, &r))
		return;
	xxplugin_value v;
	if (xxplugin_read_value(&r, &v) && xxplugin_reader_done(&r)) {
		xxplugin_writer w = XXPLUGIN_WRITER_INIT;
		xxplugin_write_value(&w, &v);
		xxplugin_writer_finish(&w);
	} else {
		xxplugin_error_str("invalid argument: cannot decode the value");
	}
	xxplugin_value_free(&v);
	xxplugin_reader_free(&r);
}

XXPLUGIN_FN(noop, "(x: int)", "Does nothing.")
void noop(int64_t x) { (void)x; }
