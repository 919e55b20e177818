// Readers for the formats fact-checks are published in, producing ClaimRecords plus one Rejection
// per record that could not be read (never a silent drop).
//
// Formats:
//   kJsonl        one JSON object per line (blank lines skipped); keys mapped by FieldMapping.
//   kCsv          RFC 4180 CSV with a header row (quoted fields may hold ',', '""' and newlines).
//   kTsv          tab-separated with a header row, no quoting (a trailing "\r" is dropped).
//   kClaimReview  schema.org ClaimReview JSON-LD: one object, an array, "@graph", a DataCommons
//                 DataFeed / DataFeedItem ("dataFeedElement", "item"), or an HTML page with any
//                 number of <script type="application/ld+json"> blocks. Only objects whose @type
//                 is (or includes) ClaimReview count; others are ignored.
//   kFactCheckApi Google Fact Check Tools claims:search: {"claims": [...]}, an array of claims, or
//                 one claim {text, claimant, claimDate, claimReview: [...]}; one record per
//                 claimReview entry.
//   kCheckThat    CLEF CheckThat! verified claims: snopes/politifact JSONL (id, claim, title,
//                 subtitle, author, claimant, verdict, date, url) or the TSV form with header
//                 vclaim_id, vclaim, title. The FieldMapping is not used.
//
// ClaimReview fields: claimReviewed -> text (an array of strings is joined with "; "),
// itemReviewed.author (object, array or string; its name may be an array, joined with ", ") ->
// claimant, itemReviewed.datePublished -> claim_date, reviewRating.alternateName (else .name) ->
// verdict, reviewRating.ratingValue/bestRating/worstRating (numbers or numeric strings; "",
// missing, non-numeric and the sentinel -1 are absent) -> rating_*, url -> review_url, name (else
// headline) -> title, description -> subtitle, publisher.name (else the author names) ->
// publisher, datePublished -> review_date, inLanguage -> language (never guessed from the file
// name). extra_json keeps: "appearance" (urls of itemReviewed.appearance), "first_appearance",
// "item_url" (itemReviewed.url), "review_author" (author names when publisher came from
// "publisher"), "review_body", "date_modified", "sd_publisher".
//
// For every format: string fields are trimmed of ASCII whitespace and no-break spaces; claim and
// review dates are stored as ISO 8601 (engine/dates.h NormalizeDate; one not understood is kept in
// extra_json as "claim_date_raw" / "review_date_raw", with a warning); the verdict
// is normalised with NormalizeVerdict (engine/verdict.h); a record without an id gets "url:" + the
// review URL with scheme, "www.", fragment and trailing '/' removed and the host lower-cased (e.g.
// "url:africacheck.org/reports/x"), else "text:" + FingerprintHex(Fingerprint64(text lower-cased,
// whitespace collapsed)). extra_json is a compact JSON object, or "" when there is nothing extra.
//
// Thread safety: all functions are thread-safe (no shared state).
#ifndef CLAIMMATCH_ENGINE_CLAIM_FORMATS_H_
#define CLAIMMATCH_ENGINE_CLAIM_FORMATS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/claim.h"

namespace claimmatch {

enum class ClaimFormat { kAuto, kJsonl, kCsv, kTsv, kClaimReview, kFactCheckApi, kCheckThat };

// Returns "auto", "jsonl", "csv", "tsv", "claimreview", "factcheck-api" or "checkthat".
absl::string_view ClaimFormatName(ClaimFormat format);
// Returns the format named `name` (one of ClaimFormatName's); fails with kInvalidArgument.
absl::StatusOr<ClaimFormat> ParseClaimFormatName(absl::string_view name);

// Which JSONL key / CSV or TSV column feeds each record field: candidates tried in order, the first
// present with a non-null value wins. Keys that feed no field go to extra_json.
struct FieldMapping {
  std::vector<std::string> id = {"id"};
  std::vector<std::string> text = {"claim", "claimReviewed", "text"};
  std::vector<std::string> title = {"title"};
  std::vector<std::string> subtitle = {"subtitle"};
  std::vector<std::string> claimant = {"claimant", "author"};
  std::vector<std::string> claim_date = {"date", "claim_date"};
  std::vector<std::string> verdict = {"verdict", "rating", "textualRating"};
  std::vector<std::string> rating_value = {"rating_value", "ratingValue"};
  std::vector<std::string> rating_best = {"rating_best", "bestRating"};
  std::vector<std::string> rating_worst = {"rating_worst", "worstRating"};
  std::vector<std::string> review_url = {"url", "review_url"};
  std::vector<std::string> publisher = {"publisher"};
  std::vector<std::string> review_date = {"review_date"};
  std::vector<std::string> language = {"language", "lang"};

  // Returns the defaults with each "field=column" (or "field=col1|col2") item of the
  // comma-separated `spec` replacing that field's candidates; `field` is a member name above.
  // Fails with kInvalidArgument naming an unknown field or an item without '=' or column.
  static absl::StatusOr<FieldMapping> Parse(absl::string_view spec);
};

// Size limits; a record over one is rejected.
struct ReadLimits {
  size_t max_text_bytes = 10'000;    // the claim text
  size_t max_field_bytes = 100'000;  // any other field, including those kept in extra_json
};

// One record that could not be read.
struct Rejection {
  std::string file;               // the path as given to ReadClaims / ParseClaims
  int64_t line_or_record = 0;     // 1-based line where the record starts; 0: the whole file
  bool is_record_number = false;  // true: line_or_record counts the ClaimReview / API reviews of
                                  // a JSON document instead of lines
  std::string field;   // source key or column ("claim", "claimReviewed"); empty: the whole record
  std::string reason;  // "is empty", "malformed JSON", ...

  // Returns e.g. `claims.jsonl:1042: field "claim" is empty`, `page.html: record 2: field
  // "claimReviewed" is missing`, `feed.json: malformed JSON`.
  std::string ToString() const;
};

struct ReadResult {
  std::vector<ClaimRecord> records;   // in file order
  std::vector<Rejection> rejections;  // in file order
  // Records kept with one field left out (a date not understood), in file order; the reason says
  // what was done.
  std::vector<Rejection> warnings;
  ClaimFormat detected = ClaimFormat::kAuto;  // the format actually read (never kAuto)
};

// Returns the format of the file at `path` whose first bytes are `head` (64 KiB is plenty): by
// extension (.csv, .tsv, .html/.htm, .jsonld) and by content (HTML, "claimReview" arrays of the
// Fact Check API, "@context"/"@type" JSON-LD, JSON Lines; CheckThat by its "vclaim-" ids or
// "vclaim_id" header). Fails with kInvalidArgument when no format fits.
absl::StatusOr<ClaimFormat> DetectFormat(absl::string_view path, absl::string_view head);

// Reads the claims in `content`, the whole content of a file named `file_name` (used for
// detection and in rejections). Unreadable records, and a document that is not JSON at all, are
// rejections. Fails only with kInvalidArgument when `format` is kAuto and DetectFormat fails.
absl::StatusOr<ReadResult> ParseClaims(absl::string_view file_name, absl::string_view content,
                                       ClaimFormat format,
                                       const FieldMapping& mapping = FieldMapping(),
                                       const ReadLimits& limits = ReadLimits());

// Reads the file at `path` (see ParseClaims). Fails with kNotFound / kInternal when the file
// cannot be read, kInvalidArgument when `format` is kAuto and DetectFormat fails.
absl::StatusOr<ReadResult> ReadClaims(absl::string_view path, ClaimFormat format,
                                      const FieldMapping& mapping = FieldMapping(),
                                      const ReadLimits& limits = ReadLimits());

// Returns whether `tag` has the shape of a BCP-47 language tag as claim records carry them: a
// primary language of 2-3 letters, then subtags of 1-8 letters or digits after '-' ("en", "pt-BR",
// "zh-Hant-TW", "es-419"). The subtags are not checked against the registry.
bool IsLanguageTag(absl::string_view tag);

// Returns the id derived from `review_url` ("url:" form above), or "" when it is blank.
std::string IdFromUrl(absl::string_view review_url);
// Returns the "text:" + 16-hex-digit id of a claim text.
std::string IdFromText(absl::string_view text);

}  // namespace claimmatch

#endif  // CLAIMMATCH_ENGINE_CLAIM_FORMATS_H_
