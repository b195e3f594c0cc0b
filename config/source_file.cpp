#include "config/source_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace casacal::config {
namespace {

struct file_closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

} // namespace

// errno is the only way to tell "No such file" from "Permission denied",
// which is why this is stdio rather than iostreams.
std::optional<std::string> read_source(const std::filesystem::path& file, std::string* error) {
    errno = 0;
    std::unique_ptr<std::FILE, file_closer> f(std::fopen(file.c_str(), "rb"));
    if (!f) {
        *error = std::strerror(errno);
        return std::nullopt;
    }
    std::string content;
    char buffer[16384];
    for (;;) {
        const std::size_t n = std::fread(buffer, 1, sizeof buffer, f.get());
        content.append(buffer, n);
        if (n < sizeof buffer) break;
    }
    if (std::ferror(f.get())) {
        *error = std::strerror(errno);
        return std::nullopt;
    }
    return content;
}

std::optional<toml::table> parse_source(std::string_view content, const std::string& shown,
                                        diagnostics& out) {
    try {
        // No path for toml++: every node would hold a counted reference to
        // it, and positions are reported with `shown` anyway.
        return toml::parse(content);
    } catch (const toml::parse_error& e) {
        const auto& begin = e.source().begin;
        out.error({shown, static_cast<int>(begin.line), static_cast<int>(begin.column)},
                  std::string(e.description()));
        return std::nullopt;
    }
}

std::optional<toml::table> load_source(const std::filesystem::path& file, const std::string& shown,
                                       diagnostics& out) {
    std::string error;
    const auto content = read_source(file, &error);
    if (!content) {
        out.error({shown, 1, 1}, "cannot read file: " + error);
        return std::nullopt;
    }
    return parse_source(*content, shown, out);
}

} // namespace casacal::config
