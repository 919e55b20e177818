#include "engine/verdict.h"

#include <cmath>
#include <cstddef>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace claimmatch {
namespace {

struct LabelEntry {
  const char* label;  // as written; keys are NormalizeVerdictLabel(label)
  Verdict verdict;
};

// The table documented in verdict.h; keep the two in step.
constexpr LabelEntry kLabels[] = {
    // false
    {"false", Verdict::kFalse},
    {"pants on fire", Verdict::kFalse},
    {"pants fire", Verdict::kFalse},
    {"incorrect", Verdict::kFalse},
    {"fake", Verdict::kFalse},
    {"fake news", Verdict::kFalse},
    {"wrong", Verdict::kFalse},
    {"not true", Verdict::kFalse},
    {"untrue", Verdict::kFalse},
    {"hoax", Verdict::kFalse},
    {"fabricated", Verdict::kFalse},
    {"scam", Verdict::kFalse},
    {"miscaptioned", Verdict::kFalse},
    {"misattributed", Verdict::kFalse},
    {"really false", Verdict::kFalse},
    {"totally false", Verdict::kFalse},
    {"completely false", Verdict::kFalse},
    {"altered", Verdict::kFalse},
    {"manipulated", Verdict::kFalse},
    {"doctored", Verdict::kFalse},
    {"falso", Verdict::kFalse},
    {"falsa", Verdict::kFalse},
    {"errado", Verdict::kFalse},
    {"incorreto", Verdict::kFalse},
    {"mentira", Verdict::kFalse},
    {"incorrecto", Verdict::kFalse},
    {"bulo", Verdict::kFalse},
    {"faux", Verdict::kFalse},
    {"fausse", Verdict::kFalse},
    {"infox", Verdict::kFalse},
    {"falsch", Verdict::kFalse},
    {"frei erfunden", Verdict::kFalse},
    {"stimmt nicht", Verdict::kFalse},
    {"錯誤", Verdict::kFalse},
    {"错误", Verdict::kFalse},
    {"假", Verdict::kFalse},
    {"虛假", Verdict::kFalse},
    {"虚假", Verdict::kFalse},
    {"زائف", Verdict::kFalse},
    {"خاطئ", Verdict::kFalse},
    {"كاذب", Verdict::kFalse},
    {"مزيف", Verdict::kFalse},
    {"गलत", Verdict::kFalse},
    {"\u095A\u0932\u0924", Verdict::kFalse},              // ग़लत
    {"\u092B\u0930\u094D\u091C\u0940", Verdict::kFalse},  // फर्जी
    {"\u095E\u0930\u094D\u095B\u0940", Verdict::kFalse},  // फ़र्ज़ी
    {"झूठ", Verdict::kFalse},
    {"মিথ্যা", Verdict::kFalse},
    {"ভুয়া", Verdict::kFalse},
    {"غلط", Verdict::kFalse},
    {"جھوٹ", Verdict::kFalse},
    // mostly-false
    {"mostly false", Verdict::kMostlyFalse},
    {"barely true", Verdict::kMostlyFalse},
    {"misleading", Verdict::kMostlyFalse},
    {"partly false", Verdict::kMostlyFalse},
    {"partially false", Verdict::kMostlyFalse},
    {"largely false", Verdict::kMostlyFalse},
    {"false context", Verdict::kMostlyFalse},
    {"exaggerated", Verdict::kMostlyFalse},
    {"enganoso", Verdict::kMostlyFalse},
    {"enganosa", Verdict::kMostlyFalse},
    {"distorcido", Verdict::kMostlyFalse},
    {"exagerado", Verdict::kMostlyFalse},
    {"engañoso", Verdict::kMostlyFalse},
    {"engañosa", Verdict::kMostlyFalse},
    {"parcialmente falso", Verdict::kMostlyFalse},
    {"trompeur", Verdict::kMostlyFalse},
    {"trompeuse", Verdict::kMostlyFalse},
    {"plutôt faux", Verdict::kMostlyFalse},
    {"partiellement faux", Verdict::kMostlyFalse},
    {"exagéré", Verdict::kMostlyFalse},
    {"irreführend", Verdict::kMostlyFalse},
    {"teilweise falsch", Verdict::kMostlyFalse},
    {"größtenteils falsch", Verdict::kMostlyFalse},
    {"übertrieben", Verdict::kMostlyFalse},
    {"مضلل", Verdict::kMostlyFalse},
    {"भ्रामक", Verdict::kMostlyFalse},
    {"বিভ্রান্তিকর", Verdict::kMostlyFalse},
    {"گمراہ کن", Verdict::kMostlyFalse},
    {"部分錯誤", Verdict::kMostlyFalse},
    {"部分错误", Verdict::kMostlyFalse},
    // mixed
    {"half true", Verdict::kMixed},
    {"mixture", Verdict::kMixed},
    {"mixed", Verdict::kMixed},
    {"partly true", Verdict::kMixed},
    {"partially true", Verdict::kMixed},
    {"half right", Verdict::kMixed},
    {"missing context", Verdict::kMixed},
    {"needs context", Verdict::kMixed},
    {"imprecise", Verdict::kMixed},
    {"inaccurate", Verdict::kMixed},
    {"não é bem assim", Verdict::kMixed},
    {"impreciso", Verdict::kMixed},
    {"contraditório", Verdict::kMixed},
    {"subestimado", Verdict::kMixed},
    {"verdad a medias", Verdict::kMixed},
    {"engañoso en parte", Verdict::kMixed},
    {"à nuancer", Verdict::kMixed},
    {"imprécis", Verdict::kMixed},
    {"manque de contexte", Verdict::kMixed},
    {"teilweise richtig", Verdict::kMixed},
    {"halb wahr", Verdict::kMixed},
    {"fehlender kontext", Verdict::kMixed},
    // mostly-true
    {"mostly true", Verdict::kMostlyTrue},
    {"mostly correct", Verdict::kMostlyTrue},
    {"largely true", Verdict::kMostlyTrue},
    {"largely accurate", Verdict::kMostlyTrue},
    {"mostly accurate", Verdict::kMostlyTrue},
    {"quase verdadeiro", Verdict::kMostlyTrue},
    {"verdadeiro, mas", Verdict::kMostlyTrue},
    {"casi verdadero", Verdict::kMostlyTrue},
    {"mayormente verdadero", Verdict::kMostlyTrue},
    {"plutôt vrai", Verdict::kMostlyTrue},
    {"größtenteils richtig", Verdict::kMostlyTrue},
    {"überwiegend richtig", Verdict::kMostlyTrue},
    // true
    {"true", Verdict::kTrue},
    {"correct", Verdict::kTrue},
    {"accurate", Verdict::kTrue},
    {"correct attribution", Verdict::kTrue},
    {"real", Verdict::kTrue},
    {"right", Verdict::kTrue},
    {"verdadeiro", Verdict::kTrue},
    {"verdadeira", Verdict::kTrue},
    {"verdade", Verdict::kTrue},
    {"correto", Verdict::kTrue},
    {"verdadero", Verdict::kTrue},
    {"verdadera", Verdict::kTrue},
    {"cierto", Verdict::kTrue},
    {"correcto", Verdict::kTrue},
    {"vrai", Verdict::kTrue},
    {"exact", Verdict::kTrue},
    {"richtig", Verdict::kTrue},
    {"wahr", Verdict::kTrue},
    {"stimmt", Verdict::kTrue},
    {"korrekt", Verdict::kTrue},
    {"正確", Verdict::kTrue},
    {"正确", Verdict::kTrue},
    {"真", Verdict::kTrue},
    {"صحيح", Verdict::kTrue},
    {"सच", Verdict::kTrue},
    {"सही", Verdict::kTrue},
    {"সত্য", Verdict::kTrue},
    {"سچ", Verdict::kTrue},
    {"درست", Verdict::kTrue},
    // unproven
    {"unproven", Verdict::kUnproven},
    {"unsupported", Verdict::kUnproven},
    {"no evidence", Verdict::kUnproven},
    {"unverified", Verdict::kUnproven},
    {"unsubstantiated", Verdict::kUnproven},
    {"not proven", Verdict::kUnproven},
    {"insufficient evidence", Verdict::kUnproven},
    {"unverifiable", Verdict::kUnproven},
    {"research in progress", Verdict::kUnproven},
    {"insustentável", Verdict::kUnproven},
    {"sem evidências", Verdict::kUnproven},
    {"ainda é cedo para dizer", Verdict::kUnproven},
    {"sin evidencia", Verdict::kUnproven},
    {"no hay evidencia", Verdict::kUnproven},
    {"inverificable", Verdict::kUnproven},
    {"infondé", Verdict::kUnproven},
    {"invérifiable", Verdict::kUnproven},
    {"unbelegt", Verdict::kUnproven},
    {"nicht belegt", Verdict::kUnproven},
    {"證據不足", Verdict::kUnproven},
    {"证据不足", Verdict::kUnproven},
    // other
    {"satire", Verdict::kOther},
    {"satirical", Verdict::kOther},
    {"labeled satire", Verdict::kOther},
    {"opinion", Verdict::kOther},
    {"legend", Verdict::kOther},
    {"outdated", Verdict::kOther},
    {"full flop", Verdict::kOther},
    {"half flip", Verdict::kOther},
    {"no flip", Verdict::kOther},
};

const absl::flat_hash_map<std::string, Verdict>& LabelTable() {
  static const auto* table = [] {
    auto* t = new absl::flat_hash_map<std::string, Verdict>();
    for (const LabelEntry& e : kLabels) t->emplace(NormalizeVerdictLabel(e.label), e.verdict);
    return t;
  }();
  return *table;
}

std::optional<Verdict> Lookup(absl::string_view label) {
  const std::string key = NormalizeVerdictLabel(label);
  if (key.empty()) return std::nullopt;
  const auto& table = LabelTable();
  auto it = table.find(key);
  if (it == table.end()) return std::nullopt;
  return it->second;
}

std::optional<Verdict> FromScale(std::optional<double> value, std::optional<double> best,
                                 std::optional<double> worst) {
  if (!value || !best || !worst) return std::nullopt;
  if (!(*worst < *best) || *value < *worst || *value > *best) return std::nullopt;
  const double quarters = std::round(4.0 * (*value - *worst) / (*best - *worst));
  constexpr Verdict kByQuarter[] = {Verdict::kFalse, Verdict::kMostlyFalse, Verdict::kMixed,
                                    Verdict::kMostlyTrue, Verdict::kTrue};
  return kByQuarter[static_cast<int>(quarters)];
}

constexpr absl::string_view kNames[] = {"false", "mostly-false", "mixed", "mostly-true",
                                        "true",  "unproven",     "other"};

}  // namespace

std::string NormalizeVerdictLabel(absl::string_view label) {
  std::string out;
  out.reserve(label.size());
  bool pending_space = false;
  for (size_t i = 0; i < label.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(label[i]);
    const unsigned char next = i + 1 < label.size() ? static_cast<unsigned char>(label[i + 1]) : 0;
    // Separators: ASCII whitespace and punctuation ('_' and '-' included), no-break space U+00A0.
    if (absl::ascii_isspace(c) || absl::ascii_ispunct(c) || (c == 0xC2 && next == 0xA0)) {
      pending_space = !out.empty();
      if (c == 0xC2) ++i;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    if (c == 0xC3 && next != 0) {
      // Latin-1 capitals U+00C0..U+00DE (except U+00D7, the multiplication sign) are
      // "\xC3\x80".."\xC3\x9E"; their lower case is 0x20 further.
      const bool capital = next >= 0x80 && next <= 0x9E && next != 0x97;
      out.push_back(static_cast<char>(c));
      out.push_back(static_cast<char>(capital ? next + 0x20 : next));
      ++i;
      continue;
    }
    if (c == 0xE0 && next == 0xA5 && i + 2 < label.size()) {
      // Devanagari letters with nukta U+0958..U+095F ("\xE0\xA5\x98".."\x9F") are written as
      // base letter + U+093C, their canonical (NFC) form.
      static constexpr unsigned char kBase[] = {0x95, 0x96, 0x97, 0x9C, 0xA1, 0xA2, 0xAB, 0xAF};
      const unsigned char third = static_cast<unsigned char>(label[i + 2]);
      if (third >= 0x98 && third <= 0x9F) {
        out.append("\xE0\xA4");
        out.push_back(static_cast<char>(kBase[third - 0x98]));
        out.append("\xE0\xA4\xBC");
        i += 2;
        continue;
      }
    }
    out.push_back(absl::ascii_tolower(c));
  }
  return out;
}

Verdict NormalizeVerdict(absl::string_view given, std::optional<double> value,
                         std::optional<double> best, std::optional<double> worst) {
  if (std::optional<Verdict> v = Lookup(given)) return *v;
  const size_t head_end = given.find_first_of(":.;!?,");
  if (head_end != absl::string_view::npos) {
    if (std::optional<Verdict> v = Lookup(given.substr(0, head_end))) return *v;
  }
  if (std::optional<Verdict> v = FromScale(value, best, worst)) return *v;
  return Verdict::kOther;
}

absl::string_view VerdictName(Verdict verdict) { return kNames[static_cast<int>(verdict)]; }

absl::StatusOr<Verdict> ParseVerdictName(absl::string_view name) {
  for (int i = 0; i < static_cast<int>(std::size(kNames)); ++i) {
    if (kNames[i] == name) return static_cast<Verdict>(i);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown verdict \"", name,
      "\" (expected false, mostly-false, mixed, mostly-true, true, unproven or other)"));
}

}  // namespace claimmatch
