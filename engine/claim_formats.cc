#include "engine/claim_formats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "embeddings/file_util.h"
#include "embeddings/status_macros.h"
#include "embeddings/utf8.h"
#include "engine/dates.h"
#include "engine/verdict.h"
#include "nlohmann/json.hpp"

namespace claimmatch {
namespace {

using json = nlohmann::json;

constexpr absl::string_view kUtf8Bom = "\xEF\xBB\xBF";

// ---------------------------------------------------------------------------------------------
// Small helpers

// Returns the offset of the first byte of `s` that is not part of well-formed UTF-8, or npos.
size_t FindInvalidUtf8(absl::string_view s) {
  size_t bad = 0;
  return IsValidUtf8(s, &bad) ? absl::string_view::npos : bad;
}

// `s` without ASCII whitespace and no-break spaces (U+00A0) at either end.
std::string Trimmed(absl::string_view s) {
  constexpr absl::string_view kNbsp = "\xC2\xA0";
  while (true) {
    const size_t size = s.size();
    s = absl::StripAsciiWhitespace(s);
    absl::ConsumePrefix(&s, kNbsp);
    absl::ConsumeSuffix(&s, kNbsp);
    if (s.size() == size) return std::string(s);
  }
}

// Never throws: invalid UTF-8 (already rejected before) would be replaced, not thrown.
std::string DumpJson(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

const json* Find(const json& obj, absl::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(std::string(key));
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

// A string value trimmed, a number or boolean as written; "" for anything else.
std::string Scalar(const json* v) {
  if (v == nullptr) return "";
  if (v->is_string()) return Trimmed(v->get_ref<const std::string&>());
  if (v->is_number() || v->is_boolean()) return DumpJson(*v);
  return "";
}
std::string Scalar(const json& obj, absl::string_view key) { return Scalar(Find(obj, key)); }

// Names of people / organisations: a string; an object's "name" (a string or an array of
// strings); an array of either. Several names are joined with ", ".
std::string Names(const json* v) {
  if (v == nullptr) return "";
  if (v->is_string()) return Trimmed(v->get_ref<const std::string&>());
  std::vector<std::string> names;
  const json* source = v;
  if (v->is_object()) source = Find(*v, "name");
  if (source == nullptr) return "";
  if (source->is_string()) return Trimmed(source->get_ref<const std::string&>());
  if (source->is_array()) {
    for (const json& e : *source) {
      std::string name = Names(&e);
      if (!name.empty()) names.push_back(std::move(name));
    }
  }
  return absl::StrJoin(names, ", ");
}

// A rating number: a JSON number or a numeric string. "", non-numeric strings, non-finite values
// and the sentinel -1 are absent.
std::optional<double> RatingNumber(const json* v) {
  if (v == nullptr) return std::nullopt;
  double d;
  if (v->is_number()) {
    d = v->get<double>();
  } else if (v->is_string()) {
    if (!absl::SimpleAtod(absl::StripAsciiWhitespace(v->get_ref<const std::string&>()), &d)) {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(d) || d == -1.0) return std::nullopt;
  return d;
}

// "stated on October 22, 2019 in a campaign mailer.:" -> "2019-10-22"; "" when unparseable.
std::string PolitiFactDate(absl::string_view raw) {
  if (!absl::ConsumePrefix(&raw, "stated on ")) return "";
  const size_t comma = raw.find(',');
  if (comma == absl::string_view::npos || raw.size() < comma + 6) return "";
  // "October 22, 2019": through the year's four digits after the comma and a space.
  return NormalizeDate(raw.substr(0, comma + 6));
}

// ---------------------------------------------------------------------------------------------
// Building records

// Where a record starts: a line, or the ordinal of a review in a JSON document.
struct Where {
  int64_t n = 0;
  bool is_record_number = false;
};

// Fills one record, checking sizes; remembers the first problem.
class RecordBuilder {
 public:
  explicit RecordBuilder(const ReadLimits& limits) : limits_(limits) {}

  // Sets `member` from `value`, read from key or column `source`. Dates are stored as ISO 8601
  // (engine/dates.h); one that is not understood is kept in extra as "<member>_raw", the field
  // stays empty, and the record gets a warning.
  void Set(std::string ClaimRecord::*member, absl::string_view source, std::string value) {
    const size_t limit =
        member == &ClaimRecord::text ? limits_.max_text_bytes : limits_.max_field_bytes;
    if (!CheckSize(source, value.size(), limit)) return;
    const bool claim_date = member == &ClaimRecord::claim_date;
    if ((claim_date || member == &ClaimRecord::review_date) && !value.empty()) {
      std::string iso = NormalizeDate(value);
      if (iso.empty()) {
        const std::string raw_key = claim_date ? "claim_date_raw" : "review_date_raw";
        absl::string_view shown = value;
        if (shown.size() > 60) {  // cut on a UTF-8 character boundary
          size_t cut = 60;
          while (cut > 0 && (static_cast<unsigned char>(shown[cut]) & 0xC0) == 0x80) --cut;
          shown = shown.substr(0, cut);
        }
        warnings_.push_back(
            {std::string(source),
             absl::StrCat("is not a date claimmatch understands (\"", shown,
                          shown.size() < value.size() ? "...\"" : "\"", "): kept in extra as ",
                          raw_key, "; date filters skip this claim")});
        SetExtra(raw_key, std::move(value));
        return;
      }
      value = std::move(iso);
    }
    record_.*member = std::move(value);
  }
  void SetRating(std::optional<double> ClaimRecord::*member, std::optional<double> value) {
    record_.*member = value;
  }
  void SetExtra(const std::string& key, json value) {
    const size_t size =
        value.is_string() ? value.get_ref<const std::string&>().size() : DumpJson(value).size();
    if (!CheckSize(key, size, limits_.max_field_bytes)) return;
    extra_[key] = std::move(value);
  }
  // Sets the claim text from `v`, the value of `key`: a string, or an array of strings joined
  // with "; ". Missing, non-string and blank texts fail the record.
  void SetText(const json* v, absl::string_view key) {
    if (v == nullptr) return Fail(key, "is missing");
    std::string text;
    if (v->is_string()) {
      text = Trimmed(v->get_ref<const std::string&>());
    } else if (v->is_array()) {
      std::vector<std::string> parts;
      for (const json& e : *v) {
        if (!e.is_string()) return Fail(key, "is not a string or an array of strings");
        std::string part = Trimmed(e.get_ref<const std::string&>());
        if (!part.empty()) parts.push_back(std::move(part));
      }
      text = absl::StrJoin(parts, "; ");
    } else {
      return Fail(key, "is not a string or an array of strings");
    }
    if (text.empty()) return Fail(key, "is empty");
    Set(&ClaimRecord::text, key, std::move(text));
  }
  void Fail(absl::string_view field, absl::string_view reason) {
    if (failed_) return;
    failed_ = true;
    fail_field_ = std::string(field);
    fail_reason_ = std::string(reason);
  }

  ClaimRecord& record() { return record_; }
  json& extra() { return extra_; }

  // Completes the record (verdict_normalized, id, extra_json) into `result`, or rejects it.
  void Finish(absl::string_view file, Where where, ReadResult& result) {
    if (!failed_ && record_.text.empty()) Fail("", "has no claim text");
    if (failed_) {
      result.rejections.push_back(
          Rejection{std::string(file), where.n, where.is_record_number, fail_field_, fail_reason_});
      return;
    }
    record_.verdict_normalized = NormalizeVerdict(record_.verdict, record_.rating_value,
                                                  record_.rating_best, record_.rating_worst);
    if (record_.id.empty()) record_.id = IdFromUrl(record_.review_url);
    if (record_.id.empty()) record_.id = IdFromText(record_.text);
    record_.extra_json = extra_.empty() ? "" : DumpJson(extra_);
    result.records.push_back(std::move(record_));
    for (auto& [field, reason] : warnings_) {
      result.warnings.push_back(Rejection{std::string(file), where.n, where.is_record_number,
                                          std::move(field), std::move(reason)});
    }
  }

 private:
  bool CheckSize(absl::string_view field, size_t size, size_t limit) {
    if (size <= limit) return true;
    Fail(field, absl::StrCat("is ", size, " bytes, over the limit of ", limit));
    return false;
  }

  const ReadLimits& limits_;
  ClaimRecord record_;
  json extra_ = json::object();
  std::vector<std::pair<std::string, std::string>> warnings_;  // (field, reason)
  bool failed_ = false;
  std::string fail_field_;
  std::string fail_reason_;
};

void Reject(ReadResult& result, absl::string_view file, Where where, absl::string_view field,
            absl::string_view reason) {
  result.rejections.push_back(Rejection{std::string(file), where.n, where.is_record_number,
                                        std::string(field), std::string(reason)});
}

// The FieldMapping members that feed string fields of ClaimRecord, by field name.
struct StringField {
  absl::string_view name;
  std::vector<std::string> FieldMapping::*candidates;
  std::string ClaimRecord::*member;
};
constexpr StringField kStringFields[] = {
    {"id", &FieldMapping::id, &ClaimRecord::id},
    {"text", &FieldMapping::text, &ClaimRecord::text},
    {"title", &FieldMapping::title, &ClaimRecord::title},
    {"subtitle", &FieldMapping::subtitle, &ClaimRecord::subtitle},
    {"claimant", &FieldMapping::claimant, &ClaimRecord::claimant},
    {"claim_date", &FieldMapping::claim_date, &ClaimRecord::claim_date},
    {"verdict", &FieldMapping::verdict, &ClaimRecord::verdict},
    {"review_url", &FieldMapping::review_url, &ClaimRecord::review_url},
    {"publisher", &FieldMapping::publisher, &ClaimRecord::publisher},
    {"review_date", &FieldMapping::review_date, &ClaimRecord::review_date},
    {"language", &FieldMapping::language, &ClaimRecord::language},
};
struct RatingField {
  absl::string_view name;
  std::vector<std::string> FieldMapping::*candidates;
  std::optional<double> ClaimRecord::*member;
};
constexpr RatingField kRatingFields[] = {
    {"rating_value", &FieldMapping::rating_value, &ClaimRecord::rating_value},
    {"rating_best", &FieldMapping::rating_best, &ClaimRecord::rating_best},
    {"rating_worst", &FieldMapping::rating_worst, &ClaimRecord::rating_worst},
};

// The first candidate key of `obj` with a non-null value, or nullptr.
const json* FirstPresent(const json& obj, const std::vector<std::string>& candidates,
                         const std::string** key) {
  for (const std::string& k : candidates) {
    if (const json* v = Find(obj, k)) {
      *key = &k;
      return v;
    }
  }
  return nullptr;
}

// Fills `b` from a flat object (a JSONL line, a CSV/TSV row as strings) through `mapping`; keys
// that feed no field go to extra.
void FillFlat(const json& obj, const FieldMapping& mapping, RecordBuilder& b) {
  std::vector<const std::string*> used;
  for (const StringField& f : kStringFields) {
    const std::string* key = nullptr;
    const json* v = FirstPresent(obj, mapping.*(f.candidates), &key);
    if (f.member == &ClaimRecord::text) {
      const std::vector<std::string>& names = mapping.text;
      b.SetText(v, v != nullptr ? *key : names.empty() ? "text" : names.front());
    } else if (v != nullptr) {
      if (!v->is_string() && !v->is_number() && !v->is_boolean()) {
        b.Fail(*key, "is not a string");
      } else {
        b.Set(f.member, *key, Scalar(v));
      }
    }
    if (v != nullptr) used.push_back(key);
  }
  for (const RatingField& f : kRatingFields) {
    const std::string* key = nullptr;
    const json* v = FirstPresent(obj, mapping.*(f.candidates), &key);
    if (v == nullptr) continue;
    used.push_back(key);
    b.SetRating(f.member, RatingNumber(v));
  }
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const bool is_used =
        std::any_of(used.begin(), used.end(), [&](const std::string* k) { return *k == it.key(); });
    const bool blank = it->is_string() && it->get_ref<const std::string&>().empty();
    if (!is_used && !blank) b.SetExtra(it.key(), it.value());
  }
}

// CheckThat: publisher by id prefix, language "en", and the "date" field read per source
// (PolitiFact: "stated on October 22, 2019 in ..." is when the claim was made; Snopes:
// "26 May 2015" is the article's date). The raw "date" stays in extra.
void FixUpCheckThat(RecordBuilder& b) {
  ClaimRecord& r = b.record();
  const bool politifact = absl::StartsWith(r.id, "vclaim-pol");
  const bool snopes = absl::StartsWith(r.id, "vclaim-sno");
  if (politifact) r.publisher = "PolitiFact";
  if (snopes) r.publisher = "Snopes";
  r.language = "en";
  const std::string raw_date = Scalar(b.extra(), "date");
  if (politifact) r.claim_date = PolitiFactDate(raw_date);
  if (snopes) r.review_date = NormalizeDate(raw_date);  // "26 May 2015"
}

FieldMapping CheckThatMapping() {
  FieldMapping m;
  m.id = {"id", "vclaim_id"};
  m.text = {"claim", "vclaim"};
  m.claimant = {"claimant"};  // Snopes' "author" wrote the fact-check: it stays in extra
  m.claim_date = {};          // "date" is read by FixUpCheckThat
  m.verdict = {"verdict"};
  m.review_url = {"url"};
  return m;
}

// ---------------------------------------------------------------------------------------------
// Line formats

void ReadJsonl(absl::string_view file, absl::string_view content, ClaimFormat format,
               const FieldMapping& mapping, const ReadLimits& limits, ReadResult& result) {
  int64_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_no;
    const Where where{line_no, false};
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    if (size_t bad = FindInvalidUtf8(line); bad != absl::string_view::npos) {
      Reject(result, file, where, "", absl::StrCat("invalid UTF-8 at byte ", bad + 1));
      continue;
    }
    const json obj = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    if (obj.is_discarded()) {
      Reject(result, file, where, "", "malformed JSON");
      continue;
    }
    if (!obj.is_object()) {
      Reject(result, file, where, "", "is not a JSON object");
      continue;
    }
    RecordBuilder b(limits);
    FillFlat(obj, mapping, b);
    if (format == ClaimFormat::kCheckThat) FixUpCheckThat(b);
    b.Finish(file, where, result);
  }
}

struct Row {
  int64_t line = 0;  // where the row starts
  std::vector<std::string> fields;
  std::string error;  // non-empty: the row is malformed
};

// Splits RFC 4180 CSV into rows. A quoted field may hold ',', '""' and line breaks; a quote inside
// an unquoted field is kept as is. Blank lines are skipped.
class CsvSplitter {
 public:
  explicit CsvSplitter(absl::string_view s) : s_(s) {}

  bool Next(Row& row) {
    while (pos_ < s_.size() && (s_[pos_] == '\n' || s_.substr(pos_, 2) == "\r\n")) {
      pos_ += s_[pos_] == '\n' ? 1 : 2;
      ++line_;
    }
    if (pos_ >= s_.size()) return false;
    row = Row{line_, {}, ""};
    while (true) {
      std::string field;
      if (pos_ < s_.size() && s_[pos_] == '"') {
        ++pos_;
        while (true) {
          const size_t quote = s_.find('"', pos_);
          if (quote == absl::string_view::npos) {
            row.error = "unterminated quoted field";
            pos_ = s_.size();
            return true;
          }
          const absl::string_view part = s_.substr(pos_, quote - pos_);
          line_ += std::count(part.begin(), part.end(), '\n');
          field.append(part.data(), part.size());
          pos_ = quote + 1;
          if (pos_ < s_.size() && s_[pos_] == '"') {
            field.push_back('"');
            ++pos_;
          } else {
            break;
          }
        }
        if (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != '\n' &&
            s_.substr(pos_, 2) != "\r\n") {
          row.error = "unexpected character after a closing quote";
          SkipLine();
          return true;
        }
      } else {
        const size_t end = std::min(s_.find_first_of(",\n", pos_), s_.size());
        absl::string_view part = s_.substr(pos_, end - pos_);
        if (end < s_.size() && s_[end] == '\n') absl::ConsumeSuffix(&part, "\r");
        if (end == s_.size()) absl::ConsumeSuffix(&part, "\r");
        field.assign(part.data(), part.size());
        pos_ = end;
      }
      row.fields.push_back(std::move(field));
      if (pos_ >= s_.size()) return true;
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      SkipLine();  // at "\n" or "\r\n"
      return true;
    }
  }

 private:
  void SkipLine() {
    const size_t nl = s_.find('\n', pos_);
    pos_ = nl == absl::string_view::npos ? s_.size() : nl + 1;
    ++line_;
  }

  absl::string_view s_;
  size_t pos_ = 0;
  int64_t line_ = 1;
};

// Splits TSV (no quoting) into rows; blank lines are skipped.
std::vector<Row> SplitTsv(absl::string_view content) {
  std::vector<Row> rows;
  int64_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_no;
    absl::ConsumeSuffix(&line, "\r");
    if (line.empty()) continue;
    Row row;
    row.line = line_no;
    row.fields = absl::StrSplit(line, '\t');
    rows.push_back(std::move(row));
  }
  return rows;
}

void ReadTable(absl::string_view file, absl::string_view content, ClaimFormat format,
               const FieldMapping& mapping, const ReadLimits& limits, ReadResult& result) {
  std::vector<Row> rows;
  if (format == ClaimFormat::kCsv) {
    CsvSplitter splitter(content);
    Row row;
    while (splitter.Next(row)) rows.push_back(std::move(row));
  } else {
    rows = SplitTsv(content);
  }
  if (rows.empty()) return;
  const Row& header = rows.front();
  if (!header.error.empty()) return Reject(result, file, {header.line, false}, "", header.error);
  std::vector<std::string> columns;
  for (const std::string& name : header.fields) {
    if (FindInvalidUtf8(name) != absl::string_view::npos) {
      return Reject(result, file, {header.line, false}, "", "header is not valid UTF-8");
    }
    columns.push_back(Trimmed(name));
  }
  for (size_t r = 1; r < rows.size(); ++r) {
    const Row& row = rows[r];
    const Where where{row.line, false};
    if (!row.error.empty()) {
      Reject(result, file, where, "", row.error);
      continue;
    }
    if (row.fields.size() != columns.size()) {
      Reject(result, file, where, "",
             absl::StrCat("has ", row.fields.size(), " fields, the header has ", columns.size()));
      continue;
    }
    json obj = json::object();
    RecordBuilder b(limits);
    for (size_t i = 0; i < columns.size(); ++i) {
      if (FindInvalidUtf8(row.fields[i]) != absl::string_view::npos) {
        b.Fail(columns[i], "is not valid UTF-8");
        break;
      }
      obj[columns[i]] = row.fields[i];
    }
    FillFlat(obj, mapping, b);
    if (format == ClaimFormat::kCheckThat) FixUpCheckThat(b);
    b.Finish(file, where, result);
  }
}

// ---------------------------------------------------------------------------------------------
// ClaimReview JSON-LD and the Fact Check Tools API

bool IsClaimReview(const json& obj) {
  const json* type = Find(obj, "@type");
  if (type == nullptr) return false;
  auto is = [](const json& t) {
    if (!t.is_string()) return false;
    const std::string& s = t.get_ref<const std::string&>();
    return s == "ClaimReview" || absl::EndsWith(s, "/ClaimReview") ||
           absl::EndsWith(s, ":ClaimReview");
  };
  if (type->is_array()) return std::any_of(type->begin(), type->end(), is);
  return is(*type);
}

// Collects the ClaimReview objects under `node`: itself, array elements, and the containers
// "@graph", "dataFeedElement", "item" and "mainEntity" of other objects.
void CollectClaimReviews(const json& node, std::vector<const json*>& out) {
  if (node.is_array()) {
    for (const json& e : node) CollectClaimReviews(e, out);
  } else if (node.is_object()) {
    if (IsClaimReview(node)) {
      out.push_back(&node);
      return;
    }
    for (const char* key : {"@graph", "dataFeedElement", "item", "mainEntity"}) {
      if (const json* v = Find(node, key)) CollectClaimReviews(*v, out);
    }
  }
}

// Urls of CreativeWork objects (or plain url strings), one or an array.
std::vector<std::string> Urls(const json* v) {
  std::vector<std::string> urls;
  if (v == nullptr) return urls;
  auto add = [&](const json& e) {
    std::string url = e.is_object() ? Scalar(e, "url") : Scalar(&e);
    if (!url.empty()) urls.push_back(std::move(url));
  };
  if (v->is_array()) {
    for (const json& e : *v) add(e);
  } else {
    add(*v);
  }
  return urls;
}

void ReadOneClaimReview(const json& cr, absl::string_view file, Where where,
                        const ReadLimits& limits, ReadResult& result) {
  RecordBuilder b(limits);
  b.SetText(Find(cr, "claimReviewed"), "claimReviewed");
  if (const json* item = Find(cr, "itemReviewed"); item != nullptr && item->is_object()) {
    b.Set(&ClaimRecord::claimant, "itemReviewed.author", Names(Find(*item, "author")));
    b.Set(&ClaimRecord::claim_date, "itemReviewed.datePublished", Scalar(*item, "datePublished"));
    if (std::vector<std::string> urls = Urls(Find(*item, "appearance")); !urls.empty()) {
      b.SetExtra("appearance", urls);
    }
    if (std::vector<std::string> urls = Urls(Find(*item, "firstAppearance")); !urls.empty()) {
      b.SetExtra("first_appearance", urls.front());
    }
    if (std::string url = Scalar(*item, "url"); !url.empty()) b.SetExtra("item_url", url);
  }
  if (const json* rating = Find(cr, "reviewRating"); rating != nullptr && rating->is_object()) {
    std::string verdict = Scalar(*rating, "alternateName");
    if (verdict.empty()) verdict = Scalar(*rating, "name");
    b.Set(&ClaimRecord::verdict, "reviewRating.alternateName", std::move(verdict));
    b.SetRating(&ClaimRecord::rating_value, RatingNumber(Find(*rating, "ratingValue")));
    b.SetRating(&ClaimRecord::rating_best, RatingNumber(Find(*rating, "bestRating")));
    b.SetRating(&ClaimRecord::rating_worst, RatingNumber(Find(*rating, "worstRating")));
  }
  b.Set(&ClaimRecord::review_url, "url", Scalar(cr, "url"));
  std::string title = Scalar(cr, "name");
  if (title.empty()) title = Scalar(cr, "headline");
  b.Set(&ClaimRecord::title, "name", std::move(title));
  b.Set(&ClaimRecord::subtitle, "description", Scalar(cr, "description"));
  const std::string authors = Names(Find(cr, "author"));
  const std::string publisher = Names(Find(cr, "publisher"));
  if (publisher.empty()) {
    b.Set(&ClaimRecord::publisher, "author", authors);
  } else {
    b.Set(&ClaimRecord::publisher, "publisher", publisher);
    if (!authors.empty() && authors != publisher) b.SetExtra("review_author", authors);
  }
  b.Set(&ClaimRecord::review_date, "datePublished", Scalar(cr, "datePublished"));
  b.Set(&ClaimRecord::language, "inLanguage", Scalar(cr, "inLanguage"));
  if (std::string body = Scalar(cr, "reviewBody"); !body.empty()) b.SetExtra("review_body", body);
  if (std::string d = Scalar(cr, "dateModified"); !d.empty()) b.SetExtra("date_modified", d);
  if (std::string sd = Names(Find(cr, "sdPublisher")); !sd.empty()) b.SetExtra("sd_publisher", sd);
  b.Finish(file, where, result);
}

// The <script type="application/ld+json"> blocks of an HTML page, with the line each starts on.
std::vector<std::pair<int64_t, absl::string_view>> LdJsonBlocks(absl::string_view html) {
  std::vector<std::pair<int64_t, absl::string_view>> blocks;
  const std::string lower = absl::AsciiStrToLower(html);
  size_t pos = 0;
  size_t counted = 0;  // newlines are counted in html[0, counted)
  int64_t line = 1;
  while ((pos = lower.find("<script", pos)) != std::string::npos) {
    const size_t tag_end = lower.find('>', pos);
    if (tag_end == std::string::npos) break;
    const absl::string_view tag = absl::string_view(lower).substr(pos, tag_end - pos);
    size_t end = lower.find("</script", tag_end + 1);
    if (end == std::string::npos) end = lower.size();
    if (absl::StrContains(tag, "application/ld+json")) {
      line += std::count(html.begin() + counted, html.begin() + tag_end, '\n');
      counted = tag_end;
      blocks.emplace_back(line, html.substr(tag_end + 1, end - tag_end - 1));
    }
    pos = end;
  }
  return blocks;
}

// Line (1-based) of byte `offset` of `s`.
int64_t LineOf(absl::string_view s, size_t offset) {
  return 1 + std::count(s.begin(), s.begin() + std::min(offset, s.size()), '\n');
}

void ReadClaimReview(absl::string_view file, absl::string_view content, const ReadLimits& limits,
                     ReadResult& result) {
  std::vector<std::pair<int64_t, absl::string_view>> blocks;
  const bool html = absl::StartsWith(absl::StripLeadingAsciiWhitespace(content), "<");
  if (html) {
    blocks = LdJsonBlocks(content);
  } else {
    blocks.emplace_back(0, content);
  }
  int64_t record = 0;
  for (const auto& [line, text] : blocks) {
    const json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
      Reject(result, file, {line, false}, "",
             html ? "malformed JSON in ld+json block" : "malformed JSON");
      continue;
    }
    std::vector<const json*> reviews;
    CollectClaimReviews(doc, reviews);
    for (const json* cr : reviews) ReadOneClaimReview(*cr, file, {++record, true}, limits, result);
  }
  if (result.records.empty() && result.rejections.empty()) {
    Reject(result, file, {}, "", "no ClaimReview object found");
  }
}

void ReadOneApiClaim(const json& claim, absl::string_view file, int64_t& record,
                     const ReadLimits& limits, ReadResult& result) {
  std::vector<const json*> reviews;
  if (const json* r = Find(claim, "claimReview")) {
    if (r->is_array()) {
      for (const json& e : *r) reviews.push_back(&e);
    } else {
      reviews.push_back(r);
    }
  }
  if (reviews.empty()) {
    return Reject(result, file, {++record, true}, "claimReview", "is missing");
  }
  for (const json* review : reviews) {
    RecordBuilder b(limits);
    b.SetText(Find(claim, "text"), "text");
    b.Set(&ClaimRecord::claimant, "claimant", Scalar(claim, "claimant"));
    b.Set(&ClaimRecord::claim_date, "claimDate", Scalar(claim, "claimDate"));
    if (const json* pub = Find(*review, "publisher")) {
      std::string publisher = Scalar(*pub, "name");
      if (publisher.empty()) publisher = Scalar(*pub, "site");
      b.Set(&ClaimRecord::publisher, "publisher", std::move(publisher));
    }
    b.Set(&ClaimRecord::review_url, "url", Scalar(*review, "url"));
    b.Set(&ClaimRecord::title, "title", Scalar(*review, "title"));
    b.Set(&ClaimRecord::review_date, "reviewDate", Scalar(*review, "reviewDate"));
    b.Set(&ClaimRecord::verdict, "textualRating", Scalar(*review, "textualRating"));
    b.Set(&ClaimRecord::language, "languageCode", Scalar(*review, "languageCode"));
    b.Finish(file, {++record, true}, result);
  }
}

void ReadFactCheckApi(absl::string_view file, absl::string_view content, const ReadLimits& limits,
                      ReadResult& result) {
  const json doc = json::parse(content.begin(), content.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Reject(result, file, {}, "", "malformed JSON");
  const json* claims = &doc;
  if (doc.is_object() && Find(doc, "claimReview") == nullptr) claims = Find(doc, "claims");
  if (claims == nullptr) return Reject(result, file, {}, "claims", "is missing");
  int64_t record = 0;
  if (claims->is_array()) {
    for (const json& c : *claims) ReadOneApiClaim(c, file, record, limits, result);
  } else {
    ReadOneApiClaim(*claims, file, record, limits, result);
  }
}

constexpr std::pair<ClaimFormat, absl::string_view> kFormatNames[] = {
    {ClaimFormat::kAuto, "auto"},
    {ClaimFormat::kJsonl, "jsonl"},
    {ClaimFormat::kCsv, "csv"},
    {ClaimFormat::kTsv, "tsv"},
    {ClaimFormat::kClaimReview, "claimreview"},
    {ClaimFormat::kFactCheckApi, "factcheck-api"},
    {ClaimFormat::kCheckThat, "checkthat"},
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API

std::string Rejection::ToString() const {
  std::string out = file;
  if (line_or_record > 0) {
    absl::StrAppend(&out, is_record_number ? ": record " : ":", line_or_record);
  }
  absl::StrAppend(&out, ": ");
  if (!field.empty()) absl::StrAppend(&out, "field \"", field, "\" ");
  absl::StrAppend(&out, reason);
  return out;
}

absl::string_view ClaimFormatName(ClaimFormat format) {
  for (const auto& [f, name] : kFormatNames) {
    if (f == format) return name;
  }
  return "auto";
}

bool IsLanguageTag(absl::string_view tag) {
  const std::vector<absl::string_view> parts = absl::StrSplit(tag, '-');
  if (parts[0].size() < 2 || parts[0].size() > 3) return false;
  for (const char c : parts[0]) {
    if (!absl::ascii_isalpha(static_cast<unsigned char>(c))) return false;
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].empty() || parts[i].size() > 8) return false;
    for (const char c : parts[i]) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) return false;
    }
  }
  return true;
}

absl::StatusOr<ClaimFormat> ParseClaimFormatName(absl::string_view name) {
  for (const auto& [f, n] : kFormatNames) {
    if (n == name) return f;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown format \"", name,
                   "\" (expected auto, jsonl, csv, tsv, claimreview, factcheck-api or checkthat)"));
}

absl::StatusOr<FieldMapping> FieldMapping::Parse(absl::string_view spec) {
  FieldMapping mapping;
  for (absl::string_view item : absl::StrSplit(spec, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    const size_t eq = item.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("field mapping \"", item, "\" is not field=column"));
    }
    const absl::string_view field = absl::StripAsciiWhitespace(item.substr(0, eq));
    std::vector<std::string> columns;
    for (absl::string_view c : absl::StrSplit(item.substr(eq + 1), '|', absl::SkipWhitespace())) {
      columns.push_back(Trimmed(c));
    }
    if (columns.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("field mapping \"", item, "\" names no column"));
    }
    std::vector<std::string> FieldMapping::*target = nullptr;
    for (const StringField& f : kStringFields) {
      if (f.name == field) target = f.candidates;
    }
    for (const RatingField& f : kRatingFields) {
      if (f.name == field) target = f.candidates;
    }
    if (target == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown field \"", field,
          "\" in field mapping (expected id, text, title, subtitle, claimant, claim_date, verdict, "
          "rating_value, rating_best, rating_worst, review_url, publisher, review_date or "
          "language)"));
    }
    mapping.*target = std::move(columns);
  }
  return mapping;
}

std::string IdFromUrl(absl::string_view review_url) {
  absl::string_view url = absl::StripAsciiWhitespace(review_url);
  url = url.substr(0, url.find('#'));
  for (absl::string_view scheme : {"https://", "http://"}) {
    if (url.size() >= scheme.size() &&
        absl::EqualsIgnoreCase(url.substr(0, scheme.size()), scheme)) {
      url.remove_prefix(scheme.size());
      break;
    }
  }
  const size_t host_end = std::min(url.find('/'), url.size());
  std::string host = absl::AsciiStrToLower(url.substr(0, host_end));
  absl::string_view path = url.substr(host_end);
  if (absl::StartsWith(host, "www.")) host.erase(0, 4);
  while (absl::ConsumeSuffix(&path, "/")) {
  }
  if (host.empty() && path.empty()) return "";
  return absl::StrCat("url:", host, path);
}

std::string IdFromText(absl::string_view text) {
  std::string normalized;
  for (absl::string_view word :
       absl::StrSplit(text, absl::ByAnyChar(" \t\r\n\f\v"), absl::SkipEmpty())) {
    if (!normalized.empty()) normalized.push_back(' ');
    absl::StrAppend(&normalized, absl::AsciiStrToLower(word));
  }
  return absl::StrCat("text:", FingerprintHex(Fingerprint64(normalized)));
}

absl::StatusOr<ClaimFormat> DetectFormat(absl::string_view path, absl::string_view head) {
  absl::ConsumePrefix(&head, kUtf8Bom);
  const std::string lower_path = absl::AsciiStrToLower(path);
  const absl::string_view first_line = head.substr(0, head.find('\n'));
  const auto ends = [&](absl::string_view ext) { return absl::EndsWith(lower_path, ext); };
  if (ends(".csv")) return ClaimFormat::kCsv;
  if (ends(".tsv")) {
    return absl::StartsWith(first_line, "vclaim_id\t") ? ClaimFormat::kCheckThat
                                                       : ClaimFormat::kTsv;
  }
  if (ends(".html") || ends(".htm") || ends(".jsonld")) return ClaimFormat::kClaimReview;
  const absl::string_view body = absl::StripLeadingAsciiWhitespace(head);
  if (absl::StartsWith(body, "<")) return ClaimFormat::kClaimReview;
  if (absl::StartsWith(body, "{") || absl::StartsWith(body, "[")) {
    // JSON Lines: the first line is a whole object and more follows (or the name says so).
    const json first = json::parse(first_line.begin(), first_line.end(), nullptr,
                                   /*allow_exceptions=*/false);
    const bool first_is_object = !first.is_discarded() && first.is_object();
    const bool more_lines =
        !absl::StripAsciiWhitespace(head.substr(std::min(first_line.size(), head.size()))).empty();
    if (first_is_object && (more_lines || ends(".jsonl") || ends(".ndjson"))) {
      return absl::StartsWith(Scalar(first, "id"), "vclaim-") ? ClaimFormat::kCheckThat
                                                              : ClaimFormat::kJsonl;
    }
    if (absl::StrContains(head, "\"claimReview\"")) return ClaimFormat::kFactCheckApi;
    if (absl::StrContains(head, "\"@context\"") || absl::StrContains(head, "\"@type\"")) {
      return ClaimFormat::kClaimReview;
    }
    if (first_is_object) return ClaimFormat::kJsonl;
  }
  if (ends(".jsonl") || ends(".ndjson")) return ClaimFormat::kJsonl;
  if (!ends(".json")) {
    if (absl::StartsWith(first_line, "vclaim_id\t")) return ClaimFormat::kCheckThat;
    if (absl::StrContains(first_line, "\t")) return ClaimFormat::kTsv;
    if (absl::StrContains(first_line, ",")) return ClaimFormat::kCsv;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("cannot tell the format of ", path,
                   " (expected JSON Lines, CSV, TSV, ClaimReview JSON-LD or HTML, Fact Check "
                   "Tools API JSON or CheckThat claims); name it explicitly"));
}

absl::StatusOr<ReadResult> ParseClaims(absl::string_view file_name, absl::string_view content,
                                       ClaimFormat format, const FieldMapping& mapping,
                                       const ReadLimits& limits) {
  absl::ConsumePrefix(&content, kUtf8Bom);
  if (format == ClaimFormat::kAuto) {
    CM_ASSIGN_OR_RETURN(format, DetectFormat(file_name, content.substr(0, 64 << 10)));
  }
  ReadResult result;
  result.detected = format;
  switch (format) {
    case ClaimFormat::kJsonl:
      ReadJsonl(file_name, content, format, mapping, limits, result);
      break;
    case ClaimFormat::kCheckThat:
      if (absl::StartsWith(content, "vclaim_id")) {
        ReadTable(file_name, content, format, CheckThatMapping(), limits, result);
      } else {
        ReadJsonl(file_name, content, format, CheckThatMapping(), limits, result);
      }
      break;
    case ClaimFormat::kCsv:
    case ClaimFormat::kTsv:
      ReadTable(file_name, content, format, mapping, limits, result);
      break;
    case ClaimFormat::kClaimReview:
    case ClaimFormat::kFactCheckApi:
      if (size_t bad = FindInvalidUtf8(content); bad != absl::string_view::npos) {
        Reject(result, file_name, {LineOf(content, bad), false}, "", "invalid UTF-8");
      } else if (format == ClaimFormat::kClaimReview) {
        ReadClaimReview(file_name, content, limits, result);
      } else {
        ReadFactCheckApi(file_name, content, limits, result);
      }
      break;
    case ClaimFormat::kAuto:
      break;  // resolved above
  }
  return result;
}

absl::StatusOr<ReadResult> ReadClaims(absl::string_view path, ClaimFormat format,
                                      const FieldMapping& mapping, const ReadLimits& limits) {
  CM_ASSIGN_OR_RETURN(const std::string content, ReadFile(path));
  return ParseClaims(path, content, format, mapping, limits);
}

}  // namespace claimmatch
