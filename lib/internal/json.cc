#include "internal/json.h"

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/error/en.h"
#include "rapidjson/reader.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace mayfly {
namespace internal {
namespace {

// DepthLimiter forwards SAX events to the document being built and stops the
// parse as soon as nesting passes the limit, before any memory is spent on
// the deeper levels.
class DepthLimiter {
 public:
  DepthLimiter(rapidjson::Document& doc, int max_depth)
      : doc_(doc), max_depth_(max_depth) {}

  bool too_deep() const { return too_deep_; }

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return doc_.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    return doc_.String(s, n, copy);
  }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    return doc_.Key(s, n, copy);
  }
  bool StartObject() { return Enter() && doc_.StartObject(); }
  bool EndObject(rapidjson::SizeType n) {
    --depth_;
    return doc_.EndObject(n);
  }
  bool StartArray() { return Enter() && doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) {
    --depth_;
    return doc_.EndArray(n);
  }

 private:
  bool Enter() {
    if (++depth_ > max_depth_) {
      too_deep_ = true;
      return false;
    }
    return true;
  }

  rapidjson::Document& doc_;
  const int max_depth_;
  int depth_ = 0;
  bool too_deep_ = false;
};

// FindDuplicate returns the first member name that occurs twice in one
// object anywhere in `v`. Recursion is bounded by the parse depth limit.
const char* FindDuplicate(const rapidjson::Value& v) {
  if (v.IsObject()) {
    // Sorting the names finds a repeat without a node allocation per
    // member (this runs on every token).
    std::vector<absl::string_view> names;
    names.reserve(v.MemberCount());
    for (const auto& m : v.GetObject()) {
      names.emplace_back(m.name.GetString(), m.name.GetStringLength());
      if (const char* d = FindDuplicate(m.value)) {
        return d;
      }
    }
    std::sort(names.begin(), names.end());
    auto repeat = std::adjacent_find(names.begin(), names.end());
    if (repeat != names.end()) {
      return repeat->data();
    }
  } else if (v.IsArray()) {
    for (const auto& e : v.GetArray()) {
      if (const char* d = FindDuplicate(e)) {
        return d;
      }
    }
  }
  return nullptr;
}

// Utf8Length returns the length of the valid UTF-8 sequence at the start
// of `s` (non-empty), or 0 if it is not one (overlong forms, surrogates and
// code points above U+10FFFF are invalid, as in Go).
size_t Utf8Length(absl::string_view s, uint32_t* rune) {
  const auto b0 = static_cast<uint8_t>(s[0]);
  size_t n;
  uint32_t r;
  uint32_t min;
  if (b0 < 0x80) {
    *rune = b0;
    return 1;
  } else if ((b0 & 0xe0) == 0xc0) {
    n = 2;
    r = b0 & 0x1f;
    min = 0x80;
  } else if ((b0 & 0xf0) == 0xe0) {
    n = 3;
    r = b0 & 0x0f;
    min = 0x800;
  } else if ((b0 & 0xf8) == 0xf0) {
    n = 4;
    r = b0 & 0x07;
    min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < n) {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    const auto b = static_cast<uint8_t>(s[i]);
    if ((b & 0xc0) != 0x80) {
      return 0;
    }
    r = (r << 6) | (b & 0x3f);
  }
  if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) {
    return 0;
  }
  *rune = r;
  return n;
}

}  // namespace

absl::StatusOr<rapidjson::Document> ParseJsonObject(absl::string_view text,
                                                    absl::string_view what,
                                                    const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " is ", text.size(), " bytes; max ", limits.max_bytes));
  }
  rapidjson::Document doc;
  DepthLimiter limiter(doc, limits.max_depth);
  rapidjson::Reader reader;
  rapidjson::MemoryStream ms(text.data(), text.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> is(
      ms);
  rapidjson::ParseResult result;
  auto generate = [&](rapidjson::Document&) {
    result = reader.Parse<rapidjson::kParseValidateEncodingFlag |
                          rapidjson::kParseIterativeFlag>(is, limiter);
    return !result.IsError();
  };
  doc.Populate(generate);
  if (limiter.too_deep()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " nests deeper than ", limits.max_depth, " levels"));
  }
  if (result.IsError()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what,
        " is not valid JSON: ", rapidjson::GetParseError_En(result.Code()),
        " at offset ", result.Offset()));
  }
  if (!doc.IsObject()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not a JSON object"));
  }
  if (const char* dup = FindDuplicate(doc)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " has duplicate member \"", dup, "\""));
  }
  return doc;
}

absl::StatusOr<std::optional<std::string>> GetOptionalString(
    const rapidjson::Value& obj, const char* name, absl::string_view what) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) {
    return std::optional<std::string>();
  }
  if (!it->value.IsString()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " member \"", name, "\" is not a string"));
  }
  return std::optional<std::string>(
      std::string(it->value.GetString(), it->value.GetStringLength()));
}

absl::StatusOr<std::string> GetString(const rapidjson::Value& obj,
                                      const char* name,
                                      absl::string_view what) {
  auto s = GetOptionalString(obj, name, what);
  if (!s.ok()) {
    return s.status();
  }
  if (!s->has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " has no member \"", name, "\""));
  }
  return std::move(**s);
}

absl::StatusOr<std::optional<int64_t>> GetOptionalInt64(
    const rapidjson::Value& obj, const char* name, absl::string_view what) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) {
    return std::optional<int64_t>();
  }
  if (!it->value.IsInt64()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " member \"", name, "\" is not an integer within int64 range"));
  }
  return std::optional<int64_t>(it->value.GetInt64());
}

std::string ToJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
  value.Accept(writer);
  return std::string(buf.GetString(), buf.GetSize());
}

// kPlain[c] is true for the ASCII bytes written as they are: printable,
// and none of '"', '\\', '<', '>', '&'.
constexpr std::array<bool, 256> MakePlainTable() {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x7f; ++c) {
    t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
  }
  return t;
}
constexpr std::array<bool, 256> kPlain = MakePlainTable();

void AppendJsonString(std::string* out, absl::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->reserve(out->size() + s.size() + 2);
  out->push_back('"');
  while (!s.empty()) {
    // Runs of plain ASCII (all of a PEM body but its newlines) are copied
    // at once; only the bytes around them take the slow path.
    size_t plain = 0;
    while (plain < s.size() && kPlain[static_cast<uint8_t>(s[plain])]) {
      ++plain;
    }
    if (plain > 0) {
      out->append(s.data(), plain);
      s.remove_prefix(plain);
      continue;
    }
    uint32_t rune = 0;
    size_t n = Utf8Length(s, &rune);
    if (n == 0) {
      *out += "\\ufffd";
      s.remove_prefix(1);
      continue;
    }
    if (n > 1) {
      if (rune == 0x2028 || rune == 0x2029) {
        absl::StrAppend(out, "\\u202", rune == 0x2028 ? "8" : "9");
      } else {
        out->append(s.data(), n);
      }
      s.remove_prefix(n);
      continue;
    }
    const char c = s[0];
    s.remove_prefix(1);
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (rune < 0x20 || c == '<' || c == '>' || c == '&') {
          *out += "\\u00";
          out->push_back(kHex[rune >> 4]);
          out->push_back(kHex[rune & 0xf]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

std::string JsonString(absl::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

}  // namespace internal
}  // namespace mayfly
