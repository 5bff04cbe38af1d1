#include "sources/ingress_log/parse_util.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace augur::sources::ingress_log {

std::string Quote(std::string_view text) {
  constexpr size_t kMax = 64;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  out += "'";
  if (text.size() > kMax) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

Error ParseError(std::string_view where, std::string_view what, std::string_view text) {
  std::string message(where);
  message += ": ";
  message += what;
  message += ' ';
  message += Quote(text);
  return BadData(std::move(message));
}

std::optional<int64_t> ParseInt(std::string_view text) {
  bool negative = false;
  if (!text.empty() && text[0] == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  if (text.empty() || text.size() > 18) return std::nullopt;  // 18 digits cannot overflow
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return negative ? -value : value;
}

namespace {

// Splits "123.456" into integer digits (as one integer) and the count of fraction digits.
struct Decimal {
  bool negative = false;
  int64_t digits = 0;  // all digits, without the point
  int fraction = 0;    // how many of them follow the point
};

std::optional<Decimal> ScanDecimal(std::string_view text, int max_fraction) {
  Decimal d;
  if (!text.empty() && text[0] == '-') {
    d.negative = true;
    text.remove_prefix(1);
  }
  const size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (whole.empty() || (dot != std::string_view::npos && frac.empty())) return std::nullopt;
  if (frac.size() > static_cast<size_t>(max_fraction)) {
    for (char c : frac.substr(max_fraction)) {
      if (c < '0' || c > '9') return std::nullopt;
    }
    frac = frac.substr(0, max_fraction);
  }
  if (whole.size() + frac.size() > 18) return std::nullopt;
  for (std::string_view part : {whole, frac}) {
    for (char c : part) {
      if (c < '0' || c > '9') return std::nullopt;
      d.digits = d.digits * 10 + (c - '0');
    }
  }
  d.fraction = static_cast<int>(frac.size());
  return d;
}

constexpr std::array<int64_t, 10> kPow10 = {1,      10,      100,      1000,      10000,
                                            100000, 1000000, 10000000, 100000000, 1000000000};

}  // namespace

std::optional<double> ParseScaledDecimal(std::string_view text, int shift) {
  auto d = ScanDecimal(text, 9);
  if (!d) return std::nullopt;
  double value;
  if (d->fraction <= shift) {
    value = static_cast<double>(d->digits * kPow10[shift - d->fraction]);
  } else {
    // One correctly rounded division: the nearest double to the decimal value.
    value = static_cast<double>(d->digits) / static_cast<double>(kPow10[d->fraction - shift]);
  }
  return d->negative ? -value : value;
}

std::optional<int64_t> ParseUnixSecondsToMs(std::string_view text) {
  auto d = ScanDecimal(text, 3);  // sub-millisecond digits are dropped
  if (!d || d->negative) return std::nullopt;
  return d->digits * kPow10[3 - d->fraction];
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= ' ' || c > '~' || c == '"' || c == '\\') return false;
  }
  return true;
}

int MonthIndex(std::string_view abbrev) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (kMonths[i] == abbrev) return static_cast<int>(i);
  }
  return -1;
}

std::string_view LastListEntry(std::string_view text) {
  size_t cut = 0;
  for (std::string_view sep : {", ", " : "}) {
    const size_t at = text.rfind(sep);
    if (at != std::string_view::npos) cut = std::max(cut, at + sep.size());
  }
  return text.substr(cut);
}

}  // namespace augur::sources::ingress_log
