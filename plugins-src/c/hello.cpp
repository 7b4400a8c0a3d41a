/* hello.cpp: a C++ plugin on xxplugin.h (typed ABI v1), the header used unchanged from C++,
 * with the C++ standard library (libc++ for wasm32-wasi). Built by build.sh with clang++:
 *
 *   clang++ --target=wasm32-wasi -std=c++17 -O2 -fno-exceptions -mexec-model=reactor \
 *       -Wl,--strip-all -o hello_cpp.wasm hello.cpp
 *
 * No exceptions (wasm32-wasi's libc++ is built without them): a failed allocation aborts,
 * which the host reports as a trap. Report everything else with xxplugin_error.
 */
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "xxplugin.h"

XXPLUGIN_PLUGIN("hello_cpp", "1.0.0-cpp");

namespace {

/* Memory-type argument INDEX, of LEN bytes, as a std::string. */
std::string arg_string(int32_t index, uint32_t len) {
	std::string s(len, '\0');
	if (len > 0)
		xxplugin_arg(index, &s[0]);
	return s;
}

void result_string(const std::string &s) {
	xxplugin_result(s.data(), static_cast<int32_t>(s.size()));
}

/* The words of S: the runs of bytes other than ASCII space, tab and newline. */
std::vector<std::string> words(const std::string &s) {
	std::vector<std::string> out;
	std::string word;
	for (char c : s) {
		if (c == ' ' || c == '\t' || c == '\n') {
			if (!word.empty())
				out.push_back(std::move(word));
			word.clear();
		} else {
			word += c;
		}
	}
	if (!word.empty())
		out.push_back(std::move(word));
	return out;
}

} // namespace

XXPLUGIN_FN(greet, "(who: string) -> string", "Hello, who! Fails on an empty name.")
void greet(uint32_t who_len) {
	if (who_len == 0) {
		xxplugin_error_str("empty name");
		return;
	}
	result_string("Hello, " + arg_string(0, who_len) + "!");
}

XXPLUGIN_FN(sorted_words, "(s: string) -> array<string>", "The words of s, sorted.")
void sorted_words(uint32_t len) {
	std::vector<std::string> list = words(arg_string(0, len));
	std::sort(list.begin(), list.end());
	xxplugin_writer w = XXPLUGIN_WRITER_INIT;
	xxplugin_write_array(&w, list.size());
	for (const std::string &word : list)
		xxplugin_write_str(&w, word.data(), word.size());
	xxplugin_writer_finish(&w);
}

XXPLUGIN_FN(word_counts, "(s: string) -> map", "Each word of s mapped to how often it occurs.")
void word_counts(uint32_t len) {
	std::map<std::string, int64_t> counts;
	for (const std::string &word : words(arg_string(0, len)))
		counts[word] += 1;
	xxplugin_writer w = XXPLUGIN_WRITER_INIT;
	xxplugin_write_map(&w, counts.size());
	for (const auto &entry : counts) {
		xxplugin_write_str(&w, entry.first.data(), entry.first.size());
		xxplugin_write_int(&w, entry.second);
	}
	xxplugin_writer_finish(&w);
}

XXPLUGIN_FN(mean, "(xs: array<float>) -> float", "The mean of xs; fails on an empty array.")
double mean(uint32_t len) {
	xxplugin_reader r;
	if (!xxplugin_arg_msgpack(0, len, &r))
		return 0;
	std::vector<double> xs;
	uint32_t n = 0;
	bool ok = xxplugin_read_array(&r, &n);
	for (uint32_t i = 0; ok && i < n; i++) {
		double x = 0;
		ok = xxplugin_read_float(&r, &x);
		xs.push_back(x);
	}
	xxplugin_reader_free(&r);
	if (!ok) {
		xxplugin_error_str("not an array of floats");
		return 0;
	}
	if (xs.empty()) {
		xxplugin_error_str("empty array");
		return 0;
	}
	double sum = 0;
	for (double x : xs)
		sum += x;
	return sum / static_cast<double>(xs.size());
}
