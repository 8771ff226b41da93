// Command-line options of the numbered tutorials, on top of CLI11 (Debian libcli11-dev, the parser
// ml/apps/ckks-ml uses). Every tutorial declares its options in main as
//
//     tutorial::Options options("Tutorial 02 — residues, CRT and fast base conversion");
//     int log_n = 10;                                   // the default
//     options.add("--log-n", log_n, "ring degree N = 2^L", 1, 16);
//     if (const auto code = options.parse(argc, argv)) return *code;
//
// so the defaults live in the variables, each option is checked (type and range) before any work,
// `--help` lists the options with their defaults, and a typo (`--logn 8`), a missing value or a value
// out of range ends the program with CLI11's message on stderr and CLI11's non-zero exit code
// (e.g. 105 for a value out of range, 109 for an unknown option) instead of silently running the defaults.
#pragma once
#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace tutorial {

/// The options of one tutorial: a CLI11 app whose description is the tutorial's title.
class Options {
 public:
  /// `description`: the one-line title printed by --help.
  explicit Options(const std::string& description) : app_(description) {}

  /// Registers "name value" (e.g. "--log-n 12") storing into `value`; the value `value` holds now
  /// is the default shown by --help. Returns the CLI11 option for further checks.
  template <class T>
  CLI::Option* add(const std::string& name, T& value, const std::string& help) {
    return app_.add_option(name, value, help)->capture_default_str();
  }

  /// The same, accepting only lo ≤ value ≤ hi (CLI::Range); parse() rejects anything else with
  /// CLI11's message naming the option and the range.
  template <class T>
  CLI::Option* add(const std::string& name, T& value, const std::string& help, T lo, T hi) {
    return add(name, value, help)->check(CLI::Range(lo, hi));
  }

  /// The same, accepting only one of `choices` (CLI::IsMember), e.g. {3, 5, 7} or {"sigmoid", "tanh"}.
  template <class T>
  CLI::Option* add_choice(const std::string& name, T& value, const std::string& help, const std::vector<T>& choices) {
    return add(name, value, help)->check(CLI::IsMember(choices));
  }

  /// Parses argv. Returns std::nullopt when the tutorial should run, or the exit code main must
  /// return: 0 after --help (the help text is printed on stdout), CLI11's non-zero code after a
  /// bad, unknown or incomplete option (CLI11's message and a hint to --help on stderr).
  std::optional<int> parse(int argc, char** argv) {
    try {
      app_.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return app_.exit(e);
    }
    return std::nullopt;
  }

  /// The underlying CLI11 app, for what the helpers above do not cover.
  CLI::App& app() { return app_; }

 private:
  CLI::App app_;
};

}  // namespace tutorial
