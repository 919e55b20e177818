#include "tools/repeat_cache.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace claimmatch::cli {

std::string RepeatCache::Key(absl::string_view text, absl::string_view date) {
  return absl::StrCat(date.size(), ":", date, text);
}

size_t RepeatCache::EntryBytes(const std::string& key, const std::vector<MatchResult>& results) {
  constexpr size_t kSlot = 64;  // the map's slot and control bytes, the vector's header
  size_t bytes = kSlot + key.size() + sizeof(MatchResult) * results.size();
  for (const MatchResult& r : results) {
    const ClaimRecord& c = r.claim;
    for (const std::string* s :
         {&c.id, &c.text, &c.title, &c.subtitle, &c.claimant, &c.claim_date, &c.verdict,
          &c.review_url, &c.publisher, &c.review_date, &c.language, &c.extra_json}) {
      bytes += s->size();
    }
  }
  return bytes;
}

bool RepeatCache::Get(const std::string& key, std::vector<MatchResult>* out) {
  if (!enabled()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = current_.entries.find(key); it != current_.entries.end()) {
    *out = it->second.first;
    return true;
  }
  auto it = previous_.entries.find(key);
  if (it == previous_.entries.end()) return false;
  *out = it->second.first;
  // Found again: it moves to the current generation, so it outlives the previous one.
  std::vector<MatchResult> results = std::move(it->second.first);
  const size_t entry_bytes = it->second.second;
  previous_.entries.erase(it);
  previous_.bytes -= entry_bytes;
  Insert(key, std::move(results), entry_bytes);
  return true;
}

void RepeatCache::Put(const std::string& key, const std::vector<MatchResult>& results) {
  if (!enabled()) return;
  const size_t entry_bytes = EntryBytes(key, results);
  std::lock_guard<std::mutex> lock(mu_);
  for (Generation* g : {&current_, &previous_}) {
    if (auto it = g->entries.find(key); it != g->entries.end()) {
      g->bytes -= it->second.second;
      g->entries.erase(it);
    }
  }
  Insert(key, results, entry_bytes);
}

size_t RepeatCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_.entries.size() + previous_.entries.size();
}

size_t RepeatCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_.bytes + previous_.bytes;
}

void RepeatCache::Insert(const std::string& key, std::vector<MatchResult> results,
                         size_t entry_bytes) {
  if (!current_.entries.empty() && current_.bytes + entry_bytes > max_bytes_ / 2) {
    previous_ = std::move(current_);
    current_ = Generation();
  }
  current_.entries.emplace(key, std::make_pair(std::move(results), entry_bytes));
  current_.bytes += entry_bytes;
}

}  // namespace claimmatch::cli
