// RepeatCache: the match results of texts `claimmatch score` has scored recently, so that a text
// that comes back (a retweet, a copied post: the stream a fact-checker sees repeats itself) is
// answered without matching it again. The results are the ones matching would give: a query's
// results depend only on its text, its date and the run's options (the Matcher's results do not
// depend on which other texts share a batch), and a run's options are fixed.
//
//   key:    the text and the date together (RepeatCache::Key); two texts are the same only if
//           every byte is.
//   memory: at most `capacity` entries (rounded up to an even number), in two generations of
//           half as many: new entries and entries found again go into the current one; when it
//           is full it becomes the previous one and the old previous one is dropped. A text asked
//           for again within capacity / 2 distinct texts therefore stays (an approximate LRU).
//
// Thread safety: Get and Put lock one mutex; any number of threads may use one cache.
#ifndef CLAIMMATCH_TOOLS_REPEAT_CACHE_H_
#define CLAIMMATCH_TOOLS_REPEAT_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "engine/matcher.h"

namespace claimmatch::cli {

class RepeatCache {
 public:
  // capacity 0: the cache keeps nothing (every Get misses).
  explicit RepeatCache(size_t capacity) : half_((capacity + 1) / 2) {}
  RepeatCache(const RepeatCache&) = delete;
  RepeatCache& operator=(const RepeatCache&) = delete;

  // Returns the key of a text with its date (unambiguous: the date's length comes first).
  static std::string Key(absl::string_view text, absl::string_view date);

  // Returns true and copies the cached results into `*out` if `key` is cached (and keeps it for
  // the current generation); returns false otherwise.
  bool Get(const std::string& key, std::vector<MatchResult>* out);
  // Caches `results` under `key` (replacing what it held).
  void Put(const std::string& key, const std::vector<MatchResult>& results);

  // Returns false for a cache of capacity 0 (one that keeps nothing).
  bool enabled() const { return half_ > 0; }
  // Returns the number of entries held (at most the capacity).
  size_t size() const;

 private:
  using Map = absl::flat_hash_map<std::string, std::vector<MatchResult>>;
  // Makes room for one entry in current_ (under mu_).
  void RotateIfFull();

  const size_t half_;
  mutable std::mutex mu_;
  Map current_, previous_;  // guarded by mu_
};

}  // namespace claimmatch::cli

#endif  // CLAIMMATCH_TOOLS_REPEAT_CACHE_H_
