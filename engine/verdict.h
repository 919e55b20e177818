// Verdict normalisation: maps the rating a fact-checker gives (reviewRating.alternateName,
// textualRating, PolitiFact's "pants-fire", Aos Fatos' "não_é_bem_assim", a whole sentence such as
// "FALSO: As imagens foram ...") to the small `Verdict` vocabulary of engine/claim.h.
//
// How a label is looked up:
//   1. The label is normalised (NormalizeVerdictLabel): ASCII and Latin-1 letters lower-cased;
//      ASCII whitespace, ASCII punctuation (so '_', '-', ',', ':' too) and no-break spaces are
//      separators, collapsed to one space and trimmed at both ends; Devanagari nukta letters are
//      decomposed (U+095A -> U+0917 U+093C). So "Incorrect \r", "Falso.", "pants-fire",
//      "não_é_bem_assim" and "Verdadeiro, mas" become "incorrect", "falso", "pants fire",
//      "não é bem assim" and "verdadeiro mas".
//   2. The whole normalised label is looked up in the table below.
//   3. Otherwise, for a label sentence, its head -- the text before the first ':', '.', ';', '!',
//      '?' or ',' -- is normalised and looked up ("FALSO: As imagens ..." -> "falso"). A bare first
//      word is never used ("True but misleading" must not read as true).
//   4. Otherwise the numeric rating decides, but only when `value`, `best` and `worst` are all
//      given and the scale is sane (worst < best, worst <= value <= best): the position
//      (value - worst) / (best - worst) is rounded to quarters: 0 false, 1/4 mostly-false,
//      1/2 mixed, 3/4 mostly-true, 1 true. Text always wins over numbers: Lupa publishes "Falso"
//      with ratingValue 4 of 6.
//   5. Otherwise kOther.
//
// The table (normalised labels):
//   false:        false, pants on fire, pants fire, incorrect, fake, fake news, wrong, not true,
//                 untrue, hoax, fabricated, scam, miscaptioned, misattributed, really false,
//                 totally false, completely false, altered, manipulated, doctored;
//                 pt falso, falsa, errado, incorreto, mentira; es falso, falsa, incorrecto,
//                 bulo; fr faux, fausse, infox; de falsch, frei erfunden, stimmt nicht;
//                 zh 錯誤, 错误, 假, 虛假, 虚假; ar زائف, خاطئ, كاذب, مزيف;
//                 hi गलत, ग़लत, फर्जी, फ़र्ज़ी, झूठ;
//                 bn মিথ্যা, ভুয়া; ur غلط, جھوٹ
//   mostly-false: mostly false, barely true, misleading, partly false, partially false,
//                 largely false, false context, exaggerated; pt enganoso, enganosa, distorcido,
//                 exagerado; es engañoso, engañosa, parcialmente falso, exagerado;
//                 fr trompeur, trompeuse, plutôt faux, partiellement faux, exagéré;
//                 de irreführend, teilweise falsch, größtenteils falsch, übertrieben;
//                 ar مضلل; hi भ्रामक; bn বিভ্রান্তিকর; ur گمراہ کن; zh 部分錯誤, 部分错误
//   mixed:        half true, mixture, mixed, partly true, partially true, half right,
//                 missing context, needs context, imprecise, inaccurate; pt não é bem assim,
//                 impreciso, contraditório, subestimado; es verdad a medias,
//                 impreciso, engañoso en parte; fr à nuancer, imprécis, manque de contexte;
//                 de teilweise richtig, halb wahr, fehlender kontext
//   mostly-true:  mostly true, mostly correct, largely true, largely accurate, mostly accurate;
//                 pt quase verdadeiro, verdadeiro mas; es casi verdadero, mayormente verdadero;
//                 fr plutôt vrai; de größtenteils richtig, überwiegend richtig
//   true:         true, correct, accurate, correct attribution, real, right; pt verdadeiro,
//                 verdadeira, verdade, correto; es verdadero, verdadera, cierto, correcto;
//                 fr vrai, exact; de richtig, wahr, stimmt, korrekt; zh 正確, 正确, 真;
//                 ar صحيح; hi सच, सही; bn সত্য; ur سچ, درست
//   unproven:     unproven, unsupported, no evidence, unverified, unsubstantiated, not proven,
//                 insufficient evidence, unverifiable, research in progress; pt insustentável,
//                 sem evidências, ainda é cedo para dizer; es sin evidencia, no hay evidencia,
//                 inverificable; fr infondé, invérifiable; de unbelegt, nicht belegt;
//                 zh 證據不足, 证据不足
//   other:        satire, satirical, labeled satire, opinion, legend, outdated, full flop,
//                 half flip, no flip (PolitiFact's Flip-O-Meter rates consistency, not truth),
//                 and every unknown label without a sane numeric rating.
//
// Thread safety: all functions are pure and thread-safe (the table is built once, on first use).
#ifndef CLAIMMATCH_ENGINE_VERDICT_H_
#define CLAIMMATCH_ENGINE_VERDICT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/claim.h"

namespace claimmatch {

// Returns the normalised verdict of the label `given` and the optional numeric rating (see the
// header comment for the order of the rules). Never fails: unknown labels give Verdict::kOther.
Verdict NormalizeVerdict(absl::string_view given, std::optional<double> value = std::nullopt,
                         std::optional<double> best = std::nullopt,
                         std::optional<double> worst = std::nullopt);

// Returns `label` normalised as the lookup key (rule 1 above), e.g. "Incorrect \r" -> "incorrect".
std::string NormalizeVerdictLabel(absl::string_view label);

// Returns the stable name of `verdict`: "false", "mostly-false", "mixed", "mostly-true", "true",
// "unproven" or "other".
absl::string_view VerdictName(Verdict verdict);

// Returns the verdict named `name` (exactly one of VerdictName's names); fails with
// kInvalidArgument listing the valid names.
absl::StatusOr<Verdict> ParseVerdictName(absl::string_view name);

}  // namespace claimmatch

#endif  // CLAIMMATCH_ENGINE_VERDICT_H_
