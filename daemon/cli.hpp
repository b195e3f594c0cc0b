#pragma once
// The command line: `casacal [-c FILE] COMMAND [options]`. Parsing is
// separate from running so that it can be tested alone.

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace casacal::daemon {

enum class command { serve, check, export_feed, agenda, reminders, send_test, version, help };

/// What the command line asked for.
struct cli_options {
    command cmd = command::help;
    std::filesystem::path config = "/etc/casacal/casacal.toml";
    std::optional<std::string> category;   ///< export
    std::optional<std::string> output;     ///< export -o
    std::optional<std::string> from, to;   ///< agenda
    std::optional<std::string> to_address; ///< send-test --to
    bool json = false;                     ///< agenda, reminders
    std::optional<command> help_for;       ///< `casacal CMD --help`
};

/// The options, or a usage error (exit code 2) in `error`.
struct parse_result {
    std::optional<cli_options> options;
    std::string error;
    std::optional<command> command_given; ///< the error's command, whose help it points to
};

/// Parses argv[1..]. Never throws.
parse_result parse_arguments(const std::vector<std::string>& args);

/// The help text of the program, or of one command.
std::string usage(std::optional<command> cmd = std::nullopt);

/// Runs a parsed command line; returns the exit code. Start-up failures
/// throw startup_error (main prints them).
int run_command(const cli_options& options, std::ostream& out, std::ostream& err);

/// `casacal reminders` and `casacal send-test` (reminder_commands.cpp).
/// Returns the exit code.
int run_reminders_command(const cli_options& options, std::ostream& out, std::ostream& err);

/// The whole program: parse, run, report. What main() returns.
int main_program(int argc, char** argv);

} // namespace casacal::daemon
