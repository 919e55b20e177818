// RepeatCache: the match results of texts `claimmatch score` has scored recently, so that a text
// that comes back (a retweet, a copied post: the stream a fact-checker sees repeats itself) is
// answered without matching it again. The results are the ones matching would give: a query's
// results depend only on its text, its date and the run's options (the Matcher's results do not
// depend on which other texts share a batch), and a run's options are fixed.
//
//   key:    the text and the date together (RepeatCache::Key); two texts are the same only if
//           every byte is.
//   memory: at most `max_bytes` (as EntryBytes counts them), in two generations of half as much:
//           new entries and entries found again go into the current one; when it is full it
//           becomes the previous one and the old previous one is dropped. A text asked for again
//           before half the budget has filled with others therefore stays (an approximate LRU).
//           An entry larger than half the budget gets a generation of its own (the bound is then
//           half the budget plus that entry).
//
// Thread safety: Get and Put lock one mutex; any number of threads may use one cache.
#ifndef CLAIMMATCH_TOOLS_REPEAT_CACHE_H_
#define CLAIMMATCH_TOOLS_REPEAT_CACHE_H_

#include <cstddef>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "engine/matcher.h"

namespace claimmatch::cli {

class RepeatCache {
 public:
  // max_bytes 0: the cache keeps nothing (every Get misses).
  explicit RepeatCache(size_t max_bytes) : max_bytes_(max_bytes) {}
  RepeatCache(const RepeatCache&) = delete;
  RepeatCache& operator=(const RepeatCache&) = delete;

  // Returns the key of a text with its date (unambiguous: the date's length comes first).
  static std::string Key(absl::string_view text, absl::string_view date);
  // Returns the memory an entry is counted as: its key, its results and their strings, plus a
  // fixed overhead for the map's slot.
  static size_t EntryBytes(const std::string& key, const std::vector<MatchResult>& results);

  // Returns true and copies the cached results into `*out` if `key` is cached (and keeps it for
  // the current generation); returns false otherwise.
  bool Get(const std::string& key, std::vector<MatchResult>* out);
  // Caches `results` under `key` (replacing what it held).
  void Put(const std::string& key, const std::vector<MatchResult>& results);

  // Returns false for a cache of no bytes (one that keeps nothing).
  bool enabled() const { return max_bytes_ > 0; }
  // Returns the number of entries held.
  size_t size() const;
  // Returns the bytes held (EntryBytes summed over the entries).
  size_t bytes() const;

 private:
  struct Generation {
    absl::flat_hash_map<std::string, std::pair<std::vector<MatchResult>, size_t>> entries;
    size_t bytes = 0;
  };
  // Inserts an entry of `entry_bytes` into current_, first making it the previous generation if
  // the entry would overfill it (under mu_).
  void Insert(const std::string& key, std::vector<MatchResult> results, size_t entry_bytes);

  const size_t max_bytes_;
  mutable std::mutex mu_;
  Generation current_, previous_;  // guarded by mu_
};

}  // namespace claimmatch::cli

#endif  // CLAIMMATCH_TOOLS_REPEAT_CACHE_H_
