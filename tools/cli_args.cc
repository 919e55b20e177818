#include "tools/cli_args.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace claimmatch::cli {

ArgParser::ArgParser(std::string command, std::string usage, std::string description)
    : command_(std::move(command)),
      usage_(std::move(usage)),
      description_(std::move(description)) {}

ArgParser& ArgParser::Option(std::string name, std::string help, std::string default_value,
                             std::string env, char short_name) {
  order_.push_back(name);
  specs_[name] = Spec{std::move(help), std::move(default_value), std::move(env), short_name, false};
  return *this;
}

ArgParser& ArgParser::Flag(std::string name, std::string help, char short_name) {
  order_.push_back(name);
  specs_[name] = Spec{std::move(help), "", "", short_name, true};
  return *this;
}

ArgParser& ArgParser::Example(std::string example) {
  examples_.push_back(std::move(example));
  return *this;
}

const ArgParser::Spec* ArgParser::FindShort(char c, std::string* name) const {
  for (const auto& [n, spec] : specs_) {
    if (spec.short_name == c) {
      *name = n;
      return &spec;
    }
  }
  return nullptr;
}

absl::Status ArgParser::Parse(const std::vector<std::string>& args) {
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options_done || a == "-" || a.empty() || a[0] != '-') {
      positional_.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (a == "--help" || a == "-h") {
      help_ = true;
      continue;
    }
    std::string name;
    std::string value;
    bool has_value = false;
    const Spec* spec = nullptr;
    if (a.rfind("--", 0) == 0) {
      name = a.substr(2);
      if (size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
      auto it = specs_.find(name);
      if (it == specs_.end() && name.rfind("no-", 0) == 0) {
        auto neg = specs_.find(name.substr(3));
        if (neg != specs_.end() && neg->second.is_flag && !has_value) {
          values_[neg->first] = "false";
          continue;
        }
      }
      if (it == specs_.end()) {
        return absl::InvalidArgumentError(absl::StrCat("unknown option '--", name, "'"));
      }
      spec = &it->second;
    } else {
      if (a.size() != 2 || (spec = FindShort(a[1], &name)) == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("unknown option '", a, "'"));
      }
    }
    if (spec->is_flag) {
      if (has_value && value != "true" && value != "false") {
        return absl::InvalidArgumentError(
            absl::StrCat("option '--", name, "' takes no value (got '", value, "')"));
      }
      values_[name] = has_value ? value : "true";
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("option '--", name, "' needs a value"));
      }
      value = args[++i];
    }
    values_[name] = value;
  }
  return absl::OkStatus();
}

std::string ArgParser::Get(absl::string_view name) const {
  auto v = values_.find(std::string(name));
  if (v != values_.end()) return v->second;
  auto s = specs_.find(std::string(name));
  if (s == specs_.end()) return "";
  if (!s->second.env.empty()) {
    if (const char* e = std::getenv(s->second.env.c_str()); e != nullptr && *e != '\0') return e;
  }
  return s->second.default_value;
}

bool ArgParser::IsSet(absl::string_view name) const {
  if (values_.count(std::string(name)) > 0) return true;
  auto s = specs_.find(std::string(name));
  if (s == specs_.end() || s->second.env.empty()) return false;
  const char* e = std::getenv(s->second.env.c_str());
  return e != nullptr && *e != '\0';
}

bool ArgParser::GetFlag(absl::string_view name) const { return Get(name) == "true"; }

absl::Status ArgParser::GetInt(absl::string_view name, int* out) const {
  const std::string v = Get(name);
  if (!absl::SimpleAtoi(v, out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("option '--", name, "' needs a whole number (got '", v, "')"));
  }
  return absl::OkStatus();
}

absl::Status ArgParser::GetDouble(absl::string_view name, double* out) const {
  const std::string v = Get(name);
  if (!absl::SimpleAtod(v, out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("option '--", name, "' needs a number (got '", v, "')"));
  }
  return absl::OkStatus();
}

std::string ArgParser::Help() const {
  std::string out = absl::StrCat("usage: ", usage_, "\n\n", description_, "\n\noptions:\n");
  for (const std::string& name : order_) {
    const Spec& s = specs_.at(name);
    std::string left = s.short_name ? absl::StrFormat("  -%c, --%s", s.short_name, name)
                                    : absl::StrCat("      --", name);
    if (!s.is_flag) absl::StrAppend(&left, " VALUE");
    std::string right = s.help;
    if (!s.default_value.empty()) absl::StrAppend(&right, " (default: ", s.default_value, ")");
    if (!s.env.empty()) absl::StrAppend(&right, " [env ", s.env, "]");
    absl::StrAppend(&out, absl::StrFormat("%-28s %s\n", left, right));
  }
  absl::StrAppend(&out, absl::StrFormat("%-28s %s\n", "  -h, --help", "show this help"));
  if (!examples_.empty()) {
    absl::StrAppend(&out, "\nexamples:\n");
    for (const std::string& e : examples_) absl::StrAppend(&out, "  ", e, "\n");
  }
  return out;
}

}  // namespace claimmatch::cli
