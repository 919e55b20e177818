#include "tools/repeat_cache.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace claimmatch::cli {

std::string RepeatCache::Key(absl::string_view text, absl::string_view date) {
  return absl::StrCat(date.size(), ":", date, text);
}

bool RepeatCache::Get(const std::string& key, std::vector<MatchResult>* out) {
  if (half_ == 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = current_.find(key); it != current_.end()) {
    *out = it->second;
    return true;
  }
  auto it = previous_.find(key);
  if (it == previous_.end()) return false;
  *out = it->second;
  // Found again: it moves to the current generation, so it outlives the previous one.
  std::vector<MatchResult> results = std::move(it->second);
  previous_.erase(it);
  RotateIfFull();
  current_.emplace(key, std::move(results));
  return true;
}

void RepeatCache::Put(const std::string& key, const std::vector<MatchResult>& results) {
  if (half_ == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = current_.find(key); it != current_.end()) {
    it->second = results;
    return;
  }
  previous_.erase(key);
  RotateIfFull();
  current_.emplace(key, results);
}

size_t RepeatCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_.size() + previous_.size();
}

void RepeatCache::RotateIfFull() {
  if (current_.size() < half_) return;
  previous_ = std::move(current_);
  current_ = Map();
}

}  // namespace claimmatch::cli
