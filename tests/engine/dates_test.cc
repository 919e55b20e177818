#include "engine/dates.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace claimmatch {
namespace {

TEST(NormalizeDateTest, IsoDatesKeepTheirPrecisionAndLoseTheirTime) {
  EXPECT_EQ(NormalizeDate("2020"), "2020");
  EXPECT_EQ(NormalizeDate("2020-10"), "2020-10");
  EXPECT_EQ(NormalizeDate("2020-10-05"), "2020-10-05");
  EXPECT_EQ(NormalizeDate("  2020-10-05 \n"), "2020-10-05");
  EXPECT_EQ(NormalizeDate("2021-03-04T10:00:00Z"), "2021-03-04");
  EXPECT_EQ(NormalizeDate("2020-03-18T14:00:00+0200"), "2020-03-18");
  EXPECT_EQ(NormalizeDate("2023-01-24T13:32:06.838Z"), "2023-01-24");
  EXPECT_EQ(NormalizeDate("2020-08-31 17:22:16"), "2020-08-31");
  EXPECT_EQ(NormalizeDate("2024-02-29"), "2024-02-29");  // leap year
  EXPECT_EQ(NormalizeDate("2020/10/05"), "2020-10-05");
  EXPECT_EQ(NormalizeDate("20201005"), "2020-10-05");  // basic format
  EXPECT_EQ(NormalizeDate("2020.1.5"), "2020-01-05");
  EXPECT_EQ(NormalizeDate("2020-1-5"), "2020-01-05");
}

TEST(NormalizeDateTest, MonthNamesInEitherOrder) {
  EXPECT_EQ(NormalizeDate("October 5, 2020"), "2020-10-05");
  EXPECT_EQ(NormalizeDate("Oct 5 2020"), "2020-10-05");
  EXPECT_EQ(NormalizeDate("Oct. 5th, 2020"), "2020-10-05");
  EXPECT_EQ(NormalizeDate("5 October 2020"), "2020-10-05");
  EXPECT_EQ(NormalizeDate("26 May 2015"), "2015-05-26");
  EXPECT_EQ(NormalizeDate("21February 2009"), "2009-02-21");  // as written in a Snopes export
  EXPECT_EQ(NormalizeDate("Monday, 5 October 2020"), "2020-10-05");
  EXPECT_EQ(NormalizeDate("Sept 1st, 2019"), "2019-09-01");
  EXPECT_EQ(NormalizeDate("DECEMBER 2019"), "2019-12");
}

TEST(NormalizeDateTest, NumericDayAndMonthOnlyWhenUnambiguous) {
  EXPECT_EQ(NormalizeDate("25/10/2020"), "2020-10-25");
  EXPECT_EQ(NormalizeDate("10/25/2020"), "2020-10-25");
  EXPECT_EQ(NormalizeDate("25.10.2020"), "2020-10-25");
  EXPECT_EQ(NormalizeDate("05/10/2020"), "");  // 5 October or May 10?
  EXPECT_EQ(NormalizeDate("31/31/2020"), "");
}

TEST(NormalizeDateTest, AnythingElseIsNotADate) {
  for (const char* raw :
       {"", "  ", "yesterday", "2021-02-29", "2020-13", "2020-00-10", "2020-10-32",
        "April 31, 2020", "999", "20201305", "2020100", "2020-10-05x", "2020-10T10:00", "October 5",
        "5 Octobre 2020", "1/2/3", "stated on October 22, 2019"}) {
    EXPECT_EQ(NormalizeDate(raw), "") << raw;
  }
}

TEST(IsIsoDateTest, OnlyTheThreeFilterForms) {
  EXPECT_TRUE(IsIsoDate("2020"));
  EXPECT_TRUE(IsIsoDate("2020-02"));
  EXPECT_TRUE(IsIsoDate("2020-02-29"));
  for (const char* s : {"", "20", "2020-2", "2020-02-30", "2020-13", "2020/02/02",
                        "2020-02-02T00:00:00Z", "yesterday"}) {
    EXPECT_FALSE(IsIsoDate(s)) << s;
  }
}

TEST(DayNumberTest, FullDatesOnly) {
  EXPECT_EQ(DayNumber("1970-01-01"), 0);
  EXPECT_EQ(DayNumber("1970-01-02"), 1);
  EXPECT_EQ(DayNumber("1969-12-31"), -1);
  EXPECT_EQ(DayNumber("2016-03-01").value() - DayNumber("2016-02-28").value(), 2);  // leap day
  EXPECT_EQ(DayNumber("2017-08-29"), 17407);
  for (const char* s : {"", "2017", "2017-08", "2017-02-29", "2017-8-29", "Aug 29, 2017"}) {
    EXPECT_EQ(DayNumber(s), std::nullopt) << s;
  }
}

TEST(ReadDayTest, AnyFormNormalizeDateReadsAsAFullDay) {
  EXPECT_EQ(ReadDay("Aug 29, 2017"), DayNumber("2017-08-29"));
  EXPECT_EQ(ReadDay("2017-08-29T10:00:00Z"), 17407);
  for (const char* s : {"", "2017", "August 2017", "soon"})
    EXPECT_EQ(ReadDay(s), std::nullopt) << s;
}

TEST(TweetSignatureDateTest, TheDateAfterAnEmbeddedTweetsHandle) {
  EXPECT_EQ(TweetSignatureDate("Holy crap. https://t.co/x \xE2\x80\x94 Alex Wild (@Myrmecos) "
                               "August 29, 2017"),
            "2017-08-29");
  EXPECT_EQ(
      TweetSignatureDate("RNC isn't allowing guns.\xE2\x80\x94 K (@KSevinsky) June 21, 2016 \n"),
      "2016-06-21");
  // The closing quote of a quoted field after the date.
  EXPECT_EQ(TweetSignatureDate("\"Ask \"\"Prince\"\" \xE2\x80\x94 S (@s) April 21, 2016\""),
            "2016-04-21");
  // A name with parentheses of its own: the date follows the last ')'.
  EXPECT_EQ(TweetSignatureDate("x \xE2\x80\x94 Bob (Jr.) (@bob) 5 Oct. 2020"), "2020-10-05");
  // No signature: no em dash, no handle, no date after it, or the dash too far from the end.
  EXPECT_EQ(TweetSignatureDate("Windmills cause cancer. August 29, 2017"), "");
  EXPECT_EQ(TweetSignatureDate("A claim \xE2\x80\x94 a thought, August 29, 2017"), "");
  EXPECT_EQ(TweetSignatureDate("A claim \xE2\x80\x94 Alex (@alex)"), "");
  EXPECT_EQ(TweetSignatureDate("A claim \xE2\x80\x94 Alex (@alex) yesterday"), "");
  EXPECT_EQ(TweetSignatureDate(absl::StrCat("\xE2\x80\x94 Alex (@alex) ", std::string(120, 'x'),
                                            " August 29, 2017")),
            "");
  EXPECT_EQ(TweetSignatureDate(""), "");
}

}  // namespace
}  // namespace claimmatch
