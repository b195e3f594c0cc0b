#pragma once
// Problems found in the site's files, each with the place it was found.

#include <compare>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace casacal::config {

/// A file's name as diagnostics print it. Copies share one string: a site of
/// 10,000 events keeps some 100,000 positions, most of them in a few files.
class source_path {
  public:
    source_path() = default;
    source_path(std::string path)
        : text_(path.empty() ? nullptr : std::make_shared<const std::string>(std::move(path))) {}
    source_path(const char* path) : source_path(std::string(path)) {}

    const std::string& str() const { return text_ ? *text_ : none(); }
    operator const std::string&() const { return str(); }
    bool empty() const { return !text_; }

    friend bool operator==(const source_path& a, const source_path& b) {
        return a.text_ == b.text_ || a.str() == b.str();
    }
    friend bool operator==(const source_path& a, const std::string& b) { return a.str() == b; }
    friend bool operator==(const source_path& a, const char* b) { return a.str() == b; }
    friend std::strong_ordering operator<=>(const source_path& a, const source_path& b) {
        return a.str().compare(b.str()) <=> 0;
    }

  private:
    static const std::string& none() {
        static const std::string empty;
        return empty;
    }
    std::shared_ptr<const std::string> text_;
};

/// A place in a source file; line and column count from 1, 0 when unknown.
struct position {
    source_path path;
    int line = 0;
    int column = 0;

    /// "path:line:column", or "path" when the line is unknown.
    std::string text() const;

    friend bool operator==(const position&, const position&) = default;
};

enum class severity { error, warning };

/// One problem, printed as `path:line:column: error: message` (or
/// `warning:`); `path: error: message` when the line is unknown.
struct diagnostic {
    position where;
    severity level = severity::error;
    std::string message;

    std::string format() const;
};

/// Every problem found so far, in the order found. Value type.
class diagnostics {
public:
    void error(const position& where, std::string message);
    void warning(const position& where, std::string message);
    void append(const diagnostics& other);

    bool has_errors() const;
    const std::vector<diagnostic>& items() const { return items_; }
    /// Sorted by path, line, column (stable), for printing.
    std::vector<diagnostic> sorted() const;

private:
    std::vector<diagnostic> items_;
};

} // namespace casacal::config
