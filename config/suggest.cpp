#include "config/suggest.hpp"

#include "config/text.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace casacal::config {

std::size_t edit_distance(std::string_view a, std::string_view b) {
    const std::size_t n = a.size(), m = b.size();
    // Three rows suffice: the swap rule looks two rows back.
    std::vector<std::size_t> before(m + 1), previous(m + 1), current(m + 1);
    for (std::size_t j = 0; j <= m; ++j)
        previous[j] = j;
    for (std::size_t i = 1; i <= n; ++i) {
        current[0] = i;
        for (std::size_t j = 1; j <= m; ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                current[j] = std::min(current[j], before[j - 2] + 1);
            }
        }
        std::swap(before, previous);
        std::swap(previous, current);
    }
    return previous[m];
}

std::string closest(std::string_view word, std::span<const std::string_view> candidates) {
    // Case is no mistake of spelling ("HTTP" is "http"), and long words
    // take one more slip ("category" for "categories").
    const std::size_t max_edits = word.size() >= 8 ? 3 : 2;
    const std::string folded = ascii_lower(word);
    std::string_view best;
    std::size_t best_distance = max_edits + 1;
    for (std::string_view candidate : candidates) {
        const std::size_t d = edit_distance(folded, ascii_lower(candidate));
        if (d < best_distance && d < word.size()) {
            best = candidate;
            best_distance = d;
        }
    }
    return std::string(best);
}

std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
    const std::string hint = closest(word, candidates);
    return hint.empty() ? std::string() : "; did you mean '" + hint + "'?";
}

} // namespace casacal::config
