#pragma once
// Problems found in the site's files, each with the place it was found.

#include <string>
#include <vector>

namespace casacal::config {

/// A place in a source file; line and column count from 1, 0 when unknown.
struct position {
    std::string path;
    int line = 0;
    int column = 0;
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
