#pragma once
// A failure that stops the program before or while it starts, with the
// exit code the command documents. `main` prints what() as one line.

#include <stdexcept>
#include <string>

namespace casacal::daemon {

/// Exit codes of every command (product.md, "Setup and commands").
enum exit_code : int { exit_ok = 0, exit_invalid = 1, exit_usage = 2, exit_runtime = 3 };

class startup_error : public std::runtime_error {
  public:
    startup_error(int code, const std::string& message)
        : std::runtime_error(message), code_(code) {}
    int code() const noexcept { return code_; }

  private:
    int code_;
};

} // namespace casacal::daemon
