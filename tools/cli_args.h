// A small command-line parser for claimmatch's subcommands (absl flags are process-global, which
// does not fit one binary with many subcommands). Options are declared per command, with help
// text, default and an optional environment variable; resolution order is flag, then
// environment, then default (CLI.md). Accepts --name=value, --name value, short aliases (-k 5),
// boolean --flag / --no-flag, "--" to end options, and "-" as a positional (stdin/stdout).
//
// Not thread-safe; used once in main().
#ifndef CLAIMMATCH_TOOLS_CLI_ARGS_H_
#define CLAIMMATCH_TOOLS_CLI_ARGS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace claimmatch::cli {

class ArgParser {
 public:
  ArgParser(std::string command, std::string usage, std::string description);

  // Declares options. `env` may be empty. Returns *this for chaining.
  ArgParser& Option(std::string name, std::string help, std::string default_value = "",
                    std::string env = "", char short_name = 0);
  ArgParser& Flag(std::string name, std::string help, char short_name = 0);
  ArgParser& Example(std::string example);

  // Parses `args` (without the command name). Returns OK, or kInvalidArgument with a message for
  // the user (unknown option, missing value). `--help` sets help_requested().
  absl::Status Parse(const std::vector<std::string>& args);

  bool help_requested() const { return help_; }
  std::string Help() const;
  std::string Usage() const { return usage_; }

  // Returns the option's resolved value (flag > env > default).
  std::string Get(absl::string_view name) const;
  // Returns true if the option was given on the command line or in its environment variable.
  bool IsSet(absl::string_view name) const;
  bool GetFlag(absl::string_view name) const;
  // Parses the option as an int / double; kInvalidArgument naming the option when it is not one.
  absl::Status GetInt(absl::string_view name, int* out) const;
  absl::Status GetDouble(absl::string_view name, double* out) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  struct Spec {
    std::string help;
    std::string default_value;
    std::string env;
    char short_name = 0;
    bool is_flag = false;
  };
  const Spec* FindShort(char c, std::string* name) const;

  std::string command_, usage_, description_;
  std::map<std::string, Spec> specs_;
  std::vector<std::string> order_;
  std::vector<std::string> examples_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

}  // namespace claimmatch::cli

#endif  // CLAIMMATCH_TOOLS_CLI_ARGS_H_
