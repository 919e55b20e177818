#include "embeddings/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "embeddings/status_macros.h"
#include "nlohmann/json.hpp"

namespace claimmatch {
namespace {

using json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // 100 MB, as the reference implementation

// Name prefixes real checkpoints carry in front of the transformers names.
constexpr absl::string_view kPrefixes[] = {"",
                                           "roberta.",
                                           "bert.",
                                           "model.",
                                           "xlm_roberta.",
                                           "0.auto_model.",
                                           "auto_model.",
                                           "encoder_model."};

std::string ShapeString(absl::Span<const int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

absl::Status Corrupt(absl::string_view file, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(file, ": ", what));
}

bool ParseDType(const std::string& s, DType* out) {
  if (s == "F32") {
    *out = DType::kF32;
  } else if (s == "F16") {
    *out = DType::kF16;
  } else if (s == "BF16") {
    *out = DType::kBF16;
  } else {
    return false;
  }
  return true;
}

}  // namespace

absl::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "F32";
    case DType::kF16:
      return "F16";
    case DType::kBF16:
      return "BF16";
  }
  return "?";
}

int DTypeSize(DType dtype) { return dtype == DType::kF32 ? 4 : 2; }

int64_t TensorInfo::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(absl::string_view path) {
  CM_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> mapped, MappedFile::Open(path));
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->name_ = std::string(path);
  f->data_ = mapped->data();
  f->mapped_ = std::move(mapped);
  CM_RETURN_IF_ERROR(f->Parse());
  return f;
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::FromBuffer(
    std::string bytes, absl::string_view name) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->name_ = std::string(name);
  f->owned_ = std::move(bytes);
  f->data_ = f->owned_;
  CM_RETURN_IF_ERROR(f->Parse());
  return f;
}

absl::Status SafetensorsFile::Parse() {
  if (data_.size() < 8) {
    return Corrupt(name_, absl::StrCat("file is ", data_.size(),
                                       " bytes, too short for the 8-byte header length"));
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) {
    header_len = (header_len << 8) | static_cast<unsigned char>(data_[i]);
  }
  if (header_len > kMaxHeaderBytes) {
    return Corrupt(name_, absl::StrCat("header length ", header_len, " exceeds the limit of ",
                                       kMaxHeaderBytes, " bytes"));
  }
  if (header_len > data_.size() - 8) {
    return Corrupt(name_, absl::StrCat("header length ", header_len, " runs past the end of the ",
                                       data_.size(), "-byte file (truncated?)"));
  }
  const absl::string_view header = data_.substr(8, header_len);
  const absl::string_view body = data_.substr(8 + header_len);

  // Strict JSON: the parser callback rejects duplicate keys at any depth.
  bool duplicate = false;
  std::string duplicate_key;
  std::vector<std::vector<std::string>> seen_keys;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      seen_keys.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      if (!seen_keys.empty()) seen_keys.pop_back();
    } else if (event == json::parse_event_t::key && !seen_keys.empty()) {
      const std::string key = parsed.get<std::string>();
      auto& keys = seen_keys.back();
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) {
        duplicate = true;
        duplicate_key = key;
      }
      keys.push_back(key);
    }
    return true;
  };
  json root = json::parse(header.begin(), header.end(), cb, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Corrupt(name_, "header is not valid JSON");
  if (duplicate)
    return Corrupt(name_, absl::StrCat("header has duplicate key '", duplicate_key, "'"));
  if (!root.is_object()) return Corrupt(name_, "header is not a JSON object");

  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object()) return Corrupt(name_, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) {
          return Corrupt(name_, absl::StrCat("__metadata__ value '", m.key(), "' is not a string"));
        }
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = absl::StrCat("tensor '", key, "'");
    if (!v.is_object()) return Corrupt(name_, absl::StrCat(where, " is not an object"));
    for (auto f = v.begin(); f != v.end(); ++f) {
      if (f.key() != "dtype" && f.key() != "shape" && f.key() != "data_offsets") {
        return Corrupt(name_, absl::StrCat(where, " has unknown field '", f.key(), "'"));
      }
    }
    if (!v.contains("dtype") || !v["dtype"].is_string()) {
      return Corrupt(name_, absl::StrCat(where, " has no dtype"));
    }
    TensorInfo t;
    t.name = key;
    const std::string dtype = v["dtype"].get<std::string>();
    if (!ParseDType(dtype, &t.dtype)) {
      return Corrupt(name_, absl::StrCat(where, " has unsupported dtype ", dtype,
                                         " (supported: F32, F16, BF16)"));
    }
    if (!v.contains("shape") || !v["shape"].is_array()) {
      return Corrupt(name_, absl::StrCat(where, " has no shape"));
    }
    uint64_t elements = 1;
    for (const json& d : v["shape"]) {
      if (!d.is_number_unsigned()) {
        return Corrupt(name_, absl::StrCat(where, " has a shape entry that is not a whole number"));
      }
      const uint64_t dim = d.get<uint64_t>();
      if (dim > (1ull << 40) || (dim != 0 && elements > (1ull << 50) / dim)) {
        return Corrupt(name_, absl::StrCat(where, " has an impossibly large shape"));
      }
      elements *= dim;
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    const json& off = v.contains("data_offsets") ? v["data_offsets"] : json();
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
        !off[1].is_number_unsigned()) {
      return Corrupt(name_, absl::StrCat(where, " has no valid data_offsets [begin, end]"));
    }
    const uint64_t begin = off[0].get<uint64_t>();
    const uint64_t end = off[1].get<uint64_t>();
    if (begin > end || end > body.size()) {
      return Corrupt(name_, absl::StrCat(where, " has data_offsets [", begin, ", ", end,
                                         "] outside the ", body.size(), "-byte data section"));
    }
    const uint64_t expected = elements * static_cast<uint64_t>(DTypeSize(t.dtype));
    if (end - begin != expected) {
      return Corrupt(name_, absl::StrCat(where, " holds ", end - begin, " bytes but ", dtype, " x ",
                                         ShapeString(t.shape), " needs ", expected));
    }
    t.bytes = body.substr(begin, end - begin);
    ranges.emplace_back(begin, end);
    tensors_.emplace(key, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) {
      std::string a, b;
      for (const auto& [n, t] : tensors_) {
        const uint64_t begin = static_cast<uint64_t>(t.bytes.data() - body.data());
        if (begin == ranges[i - 1].first && a.empty()) a = n;
        if (begin == ranges[i].first && n != a) b = n;
      }
      return Corrupt(name_, absl::StrCat("tensors '", a, "' and '", b, "' overlap"));
    }
  }
  fingerprint_ = Fingerprint64(data_);
  return absl::OkStatus();
}

const TensorInfo* SafetensorsFile::Find(absl::string_view name) const {
  auto it = tensors_.find(std::string(name));
  return it == tensors_.end() ? nullptr : &it->second;
}

Weights::Weights(std::unique_ptr<SafetensorsFile> file) : file_(std::move(file)) {}

const TensorInfo* Weights::Resolve(absl::string_view name) const {
  for (absl::string_view prefix : kPrefixes) {
    if (const TensorInfo* t = file_->Find(absl::StrCat(prefix, name))) return t;
  }
  return nullptr;
}

absl::StatusOr<std::vector<int64_t>> Weights::Shape(absl::string_view name) const {
  const TensorInfo* t = Resolve(name);
  if (t == nullptr) {
    return absl::NotFoundError(absl::StrCat(file_->name(), ": missing tensor '", name, "'"));
  }
  return t->shape;
}

absl::StatusOr<const float*> Weights::Data(absl::string_view name,
                                           absl::Span<const int64_t> shape) const {
  const TensorInfo* t = Resolve(name);
  if (t == nullptr) {
    return absl::NotFoundError(absl::StrCat(file_->name(), ": missing tensor '", name, "'"));
  }
  if (!std::equal(t->shape.begin(), t->shape.end(), shape.begin(), shape.end())) {
    return absl::FailedPreconditionError(absl::StrCat(file_->name(), ": tensor '", t->name,
                                                      "' has shape ", ShapeString(t->shape),
                                                      ", expected ", ShapeString(shape)));
  }
  const bool aligned = reinterpret_cast<uintptr_t>(t->bytes.data()) % alignof(float) == 0;
  if (t->dtype == DType::kF32 && aligned) {
    return reinterpret_cast<const float*>(t->bytes.data());
  }
  absl::MutexLock lock(&mu_);
  auto it = widened_.find(t->name);
  if (it == widened_.end()) {
    std::vector<float> out(static_cast<size_t>(t->num_elements()));
    const char* p = t->bytes.data();
    for (size_t i = 0; i < out.size(); ++i) {
      if (t->dtype == DType::kF32) {
        std::memcpy(&out[i], p + 4 * i, 4);
      } else {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = t->dtype == DType::kF16 ? HalfToFloat(h) : BFloat16ToFloat(h);
      }
    }
    it = widened_.emplace(t->name, std::move(out)).first;
  }
  return it->second.data();
}

absl::StatusOr<Weights::MatrixMap> Weights::Matrix(absl::string_view name, int64_t rows,
                                                   int64_t cols) const {
  const int64_t shape[] = {rows, cols};
  CM_ASSIGN_OR_RETURN(const float* data, Data(name, shape));
  return MatrixMap(data, rows, cols);
}

absl::StatusOr<Weights::VectorMap> Weights::Vector(absl::string_view name, int64_t n) const {
  const int64_t shape[] = {n};
  CM_ASSIGN_OR_RETURN(const float* data, Data(name, shape));
  return VectorMap(data, n);
}

absl::StatusOr<std::string> SerializeSafetensors(
    const std::vector<TensorToWrite>& tensors, const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorToWrite*> sorted;
  for (const TensorToWrite& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](const TensorToWrite* a, const TensorToWrite* b) { return a->name < b->name; });
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string body;
  for (const TensorToWrite* t : sorted) {
    int64_t n = 1;
    for (int64_t d : t->shape) n *= d;
    if (n != static_cast<int64_t>(t->values.size())) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", t->name, "' has ",
                                                     t->values.size(), " values but shape ",
                                                     ShapeString(t->shape)));
    }
    if (t->dtype != DType::kF32 && t->dtype != DType::kF16) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", t->name, "': can only write F32/F16"));
    }
    while (body.size() % 8 != 0) body.push_back('\0');
    const size_t begin = body.size();
    if (t->dtype == DType::kF32) {
      body.append(reinterpret_cast<const char*>(t->values.data()), t->values.size() * 4);
    } else {
      for (float v : t->values) {
        const uint16_t h = FloatToHalf(v);
        body.append(reinterpret_cast<const char*>(&h), 2);
      }
    }
    header[t->name] = {{"dtype", std::string(DTypeName(t->dtype))},
                       {"shape", t->shape},
                       {"data_offsets", {begin, body.size()}}};
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h.push_back(' ');
  std::string out(8, '\0');
  uint64_t len = h.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  out += h;
  out += body;
  return out;
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or nan
    return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0));
  }
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (abs < 0x38800000u) {  // subnormal or zero in half
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);
    const uint32_t e = abs >> 23;
    const uint32_t m = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;  // 14 + (113 - e) ... gives the half subnormal mantissa
    uint32_t hm = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (hm & 1))) ++hm;
    return static_cast<uint16_t>(sign | hm);
  }
  uint32_t h = ((abs >> 13) - (112u << 10));
  const uint32_t rem = abs & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float BFloat16ToFloat(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace claimmatch
