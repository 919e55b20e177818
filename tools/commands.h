// The subcommands of `claimmatch` and what they share: exit codes (CLI.md), error printing and
// default paths. Each Run* takes the arguments after the command name and returns the exit code.
#ifndef CLAIMMATCH_TOOLS_COMMANDS_H_
#define CLAIMMATCH_TOOLS_COMMANDS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "embeddings/sentence_encoder.h"
#include "tools/cli_args.h"

namespace claimmatch::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;   // I/O, corrupt database, model error
inline constexpr int kExitUsage = 2;     // unknown option, missing argument
inline constexpr int kExitRejected = 3;  // input data rejected under --strict

using Args = std::vector<std::string>;

int RunEmbed(const Args& args);
int RunIngest(const Args& args);
int RunInfo(const Args& args);
int RunCheck(const Args& args);
int RunDelete(const Args& args);
int RunReindex(const Args& args);
int RunLookup(const Args& args);
int RunScore(const Args& args);
int RunFlag(const Args& args);
int RunTrainReranker(const Args& args);
int RunEval(const Args& args);

// Prints "claimmatch: error: <message>" to stderr (no status code dump) and returns kExitFailure.
int Fail(const absl::Status& status);
int Fail(absl::string_view message);
// Prints the usage error, the usage line and a hint; returns kExitUsage.
int UsageError(const ArgParser& parser, absl::string_view message);
// Handles Parse() + --help for a command: returns -1 to continue, else the exit code to return.
int ParseOrExit(ArgParser& parser, const Args& args);

int RunTrain(const Args& args);
int RunEvaluate(const Args& args);

// The bundled default model directory (CLAIMMATCH_MODEL overrides; see README).
std::string DefaultModelDir();
// The model directory for the existing database `db`: `model` when not empty, else the one its
// manifest names (the bundled default when that path no longer exists). Fails with the manifest's
// error when it cannot be read.
absl::StatusOr<std::string> DatabaseModelDir(const std::string& model, const std::string& db);
// Loads the model in `dir` with `threads` encoder threads; fails with the loader's code and
// "cannot load model: ..." in front of its message.
absl::StatusOr<std::unique_ptr<SentenceEncoder>> LoadEncoder(const std::string& dir, int threads);
// The value of the --threads option; fails with kInvalidArgument unless it is a whole number >= 1.
absl::StatusOr<int> ThreadsOption(const ArgParser& p);
// Returns the number of CPUs this process may run on (its affinity mask: a container's or
// taskset's limit), at least 1.
int UsableCores();
// Declares --threads as the encoder's threads, by default UsableCores() (ingest, reindex, embed).
// Returns `p`, to go on declaring options.
ArgParser& AddEncoderThreadsOption(ArgParser& p);
// The default claim database: $XDG_DATA_HOME/claimmatch/default, else
// ~/.local/share/claimmatch/default (CLAIMMATCH_DB overrides, through the option's env).
std::string DefaultDbDir();

}  // namespace claimmatch::cli

#endif  // CLAIMMATCH_TOOLS_COMMANDS_H_
