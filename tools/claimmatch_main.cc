// claimmatch: tells whether a sentence repeats a claim that has already been fact-checked.
// One binary, subcommands (see `claimmatch --help` and README.md).
#include <dirent.h>
#include <dlfcn.h>
#include <faiss/Index.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "Eigen/Core"
#include "absl/strings/str_format.h"
#include "engine/dense_scan.h"
#include "tools/commands.h"

namespace claimmatch::cli {
namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const Args&);
};

const std::vector<Command> kCommands = {
    {"lookup", "find the checked claims a text repeats (table, JSON, or interactive)", RunLookup},
    {"flag", "report the sentences of an article or post that repeat checked claims", RunFlag},
    {"score", "batch-score many records (JSONL/TSV/CSV/lines) into JSONL, streaming", RunScore},
    {"eval", "rank queries and report MAP@k, MRR, recall (CheckThat! metrics)", RunEval},
    {"ingest", "add or update fact-checked claims in a claim database", RunIngest},
    {"info", "describe a claim database (counts, model, index, sizes)", RunInfo},
    {"check", "verify that a database's store, indexes and manifest agree", RunCheck},
    {"delete", "remove claims by id", RunDelete},
    {"reindex", "re-embed every claim (new model, or repair corrupt indexes)", RunReindex},
    {"train", "train a static embedding model from sentence pairs", RunTrain},
    {"evaluate", "a model's dense retrieval on claims-dev (training aid)", RunEvaluate},
    {"embed", "print sentence embeddings of text, one JSON object per line", RunEmbed},
};

// OpenBLAS (FAISS's BLAS on Debian) starts its worker threads when it is loaded, and each spins
// (sched_yield) for 2^28 cycles before it sleeps: on two cores that took a core for about 0.1 s
// of every run, 0.11 of the 0.26 CPU-seconds of a one-text `lookup` (benchmarks/README.md,
// session 19). Stopping them costs nothing: OpenBLAS starts them again at its next call that
// wants threads (ingest's training). Another BLAS lacks the function: nothing to do.
// Returns whether the BLAS is OpenBLAS (whose threads it then stopped).
bool StopIdleBlasThreads() {
  using Shutdown = int (*)();
  void* fn = dlsym(RTLD_DEFAULT, "blas_thread_shutdown_");
  if (fn != nullptr) reinterpret_cast<Shutdown>(fn)();
  return fn != nullptr;
}

// Returns the number of threads of this process (-1 when /proc cannot tell).
int ThreadCount() {
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  int n = 0;
  while (const dirent* e = readdir(dir)) n += e->d_name[0] != '.';
  closedir(dir);
  return n;
}

void PrintHelp() {
  std::printf(
      "claimmatch: finds the fact-checked claims a sentence repeats.\n\n"
      "usage: claimmatch <command> [options] [args]\n\ncommands:\n");
  for (const Command& c : kCommands) std::printf("  %-10s %s\n", c.name, c.summary);
  std::printf(
      "\n`claimmatch <command> --help` shows a command's options and examples.\n"
      "exit codes: 0 ok, 1 failure, 2 usage error, 3 input rejected under --strict\n");
}

void PrintVersion(bool openblas) {
  std::printf("claimmatch %s (%s build)\n", CLAIMMATCH_VERSION, CLAIMMATCH_BUILD_TYPE);
  std::printf("  faiss %d.%d.%d, eigen %d.%d.%d, sentencepiece 0.1.97 (Debian 12)\n",
              FAISS_VERSION_MAJOR, FAISS_VERSION_MINOR, FAISS_VERSION_PATCH, EIGEN_WORLD_VERSION,
              EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION);
  std::printf("  dense prefilter kernel: %s (this CPU's widest)\n",
              claimmatch::DenseScan::KernelName(claimmatch::DenseScan::BestKernel()));
  // Whichever allocator the process really runs with (linked, or preloaded).
  std::printf("  allocator: %s\n", dlsym(RTLD_DEFAULT, "tc_malloc") != nullptr
                                       ? "tcmalloc (gperftools)"
                                       : "the C library's malloc");
  std::printf("  BLAS: %s (threads running: %d)\n",
              openblas ? "OpenBLAS, idle worker threads stopped" : "not OpenBLAS", ThreadCount());
}

}  // namespace
}  // namespace claimmatch::cli

int main(int argc, char** argv) {
  using namespace claimmatch::cli;
  const bool openblas = StopIdleBlasThreads();
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    PrintHelp();
    return argc < 2 ? kExitUsage : kExitOk;
  }
  if (std::strcmp(argv[1], "--version") == 0) {
    PrintVersion(openblas);
    return kExitOk;
  }
  const Args args(argv + 2, argv + argc);
  for (const Command& c : kCommands) {
    if (std::strcmp(argv[1], c.name) == 0) return c.run(args);
  }
  std::fprintf(stderr, "claimmatch: error: unknown command '%s' (see 'claimmatch --help')\n",
               argv[1]);
  return kExitUsage;
}
