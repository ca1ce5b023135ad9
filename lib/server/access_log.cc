#include "server/access_log.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "internal/json.h"

namespace mayfly {
namespace internal {

namespace {

// Utf8Length returns the length of the valid UTF-8 sequence starting at
// s[i], or 0 if the bytes there are not one (overlong forms, surrogates and
// values beyond U+10FFFF are invalid).
size_t Utf8Length(absl::string_view s, size_t i) {
  const auto byte = [&s](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t b = byte(i);
  size_t n;
  uint32_t cp;
  if (b < 0x80) {
    return 1;
  } else if ((b & 0xe0) == 0xc0) {
    n = 2;
    cp = b & 0x1f;
  } else if ((b & 0xf0) == 0xe0) {
    n = 3;
    cp = b & 0x0f;
  } else if ((b & 0xf8) == 0xf0) {
    n = 4;
    cp = b & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) {
    return 0;
  }
  for (size_t k = 1; k < n; k++) {
    if ((byte(i + k) & 0xc0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return n;
}

// Bounded cuts `value` to kMaxFieldBytes, marking the cut.
absl::string_view Bounded(absl::string_view value, std::string* storage) {
  if (value.size() <= kMaxFieldBytes) {
    return value;
  }
  *storage = absl::StrCat(value.substr(0, kMaxFieldBytes), "...");
  return *storage;
}

// NeedsQuoting follows logrus: anything but [A-Za-z0-9-._/@^+] is quoted;
// an empty value is not.
bool NeedsQuoting(absl::string_view value) {
  for (char c : value) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                       c == '_' || c == '/' || c == '@' || c == '^' || c == '+';
    if (!plain) {
      return true;
    }
  }
  return false;
}

// GoQuote quotes like Go's %q: printable UTF-8 kept, the rest escaped.
void AppendGoQuoted(absl::string_view value, std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < value.size();) {
    const char c = value[i];
    const size_t n = Utf8Length(value, i);
    if (n > 1) {
      out->append(value.data() + i, n);
      i += n;
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (n == 0 || static_cast<uint8_t>(c) < 0x20 || c == 0x7f) {
          absl::StrAppendFormat(out, "\\x%02x", static_cast<uint8_t>(c));
        } else {
          out->push_back(c);
        }
    }
    i++;
  }
  out->push_back('"');
}

// Field is one key and value of a line; `number` values are printed bare.
struct Field {
  absl::string_view key;
  std::string value;
  bool number = false;
};

std::string Render(const std::vector<Field>& fields, LogFormat format) {
  std::string out;
  if (format == LogFormat::kJson) {
    out.push_back('{');
    for (const Field& f : fields) {
      if (out.size() > 1) {
        out.push_back(',');
      }
      AppendJsonString(&out, f.key);
      out.push_back(':');
      std::string storage;
      absl::string_view value = Bounded(f.value, &storage);
      if (f.number) {
        out.append(value.data(), value.size());
      } else {
        AppendJsonString(&out, value);
      }
    }
    out.push_back('}');
    return out;
  }
  for (const Field& f : fields) {
    if (!out.empty()) {
      out.push_back(' ');
    }
    absl::StrAppend(&out, f.key, "=");
    std::string storage;
    absl::string_view value = Bounded(f.value, &storage);
    if (NeedsQuoting(value)) {
      AppendGoQuoted(value, &out);
    } else {
      out.append(value.data(), value.size());
    }
  }
  return out;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// AppendFraction appends "." and the `digits` decimals of `frac`, trailing
// zeros dropped (nothing if all are zero).
void AppendFraction(uint64_t frac, int digits, std::string* out) {
  std::string text = absl::StrFormat("%0*d", digits, frac);
  while (!text.empty() && text.back() == '0') {
    text.pop_back();
  }
  if (!text.empty()) {
    absl::StrAppend(out, ".", text);
  }
}

}  // namespace

absl::string_view LevelForStatus(int status) {
  if (status >= 500) {
    return "error";
  }
  if (status >= 400) {
    return "warning";
  }
  return "info";
}

std::string GoDuration(absl::Duration d) {
  int64_t ns = absl::ToInt64Nanoseconds(d);
  if (ns == 0) {
    return "0s";
  }
  std::string out;
  uint64_t u = static_cast<uint64_t>(ns);
  if (ns < 0) {
    out.push_back('-');
    u = 0 - u;
  }
  if (u < 1000) {
    absl::StrAppend(&out, u, "ns");
  } else if (u < 1000000) {
    absl::StrAppend(&out, u / 1000);
    AppendFraction(u % 1000, 3, &out);
    out.append("µs");
  } else if (u < 1000000000) {
    absl::StrAppend(&out, u / 1000000);
    AppendFraction(u % 1000000, 6, &out);
    out.append("ms");
  } else {
    const uint64_t secs = u / 1000000000;
    const uint64_t hours = secs / 3600;
    const uint64_t minutes = (secs / 60) % 60;
    if (hours > 0) {
      absl::StrAppend(&out, hours, "h");
    }
    if (hours > 0 || minutes > 0) {
      absl::StrAppend(&out, minutes, "m");
    }
    absl::StrAppend(&out, secs % 60);
    AppendFraction(u % 1000000000, 9, &out);
    out.push_back('s');
  }
  return out;
}

std::string FormatAccessLog(const AccessLogEntry& entry, LogFormat format,
                            absl::Time now) {
  const absl::string_view level = LevelForStatus(entry.status);
  // Keys in byte order, as logrus sorts them; "time" is the line's own,
  // the request's start is "fields.time" (logrus renames the clash).
  std::vector<Field> fields;
  if (format == LogFormat::kText) {
    fields.push_back({"time", Rfc3339(now)});
    fields.push_back({"level", std::string(level)});
  }
  fields.push_back({"duration", GoDuration(entry.duration)});
  fields.push_back({"duration-ns",
                    absl::StrCat(absl::ToInt64Nanoseconds(entry.duration)),
                    true});
  if (!entry.error.empty()) {
    fields.push_back({"error", entry.error});
  }
  fields.push_back({"fields.time", Rfc3339(entry.start)});
  if (format == LogFormat::kJson) {
    fields.push_back({"level", std::string(level)});
  }
  fields.push_back({"method", entry.method});
  if (format == LogFormat::kJson) {
    fields.push_back({"msg", ""});
  }
  fields.push_back({"name", "ca"});
  fields.push_back({"path", entry.path});
  fields.push_back({"protocol", entry.protocol});
  fields.push_back({"referer", entry.referer});
  fields.push_back({"remote-address", entry.remote_address});
  fields.push_back({"request-id", entry.request_id});
  fields.push_back({"size", absl::StrCat(entry.size), true});
  fields.push_back({"status", absl::StrCat(entry.status), true});
  if (format == LogFormat::kJson) {
    fields.push_back({"time", Rfc3339(now)});
  }
  fields.push_back({"user-agent", entry.user_agent});
  // step-ca's user-id is empty unless an admin authenticated; mayfly has no
  // admin API, so it is always empty, kept for the line's shape.
  fields.push_back({"user-id", ""});
  return Render(fields, format);
}

std::string FormatEventLog(absl::string_view level, absl::string_view message,
                           absl::string_view error, LogFormat format,
                           absl::Time now) {
  std::vector<Field> fields;
  if (format == LogFormat::kText) {
    fields.push_back({"time", Rfc3339(now)});
    fields.push_back({"level", std::string(level)});
    fields.push_back({"msg", std::string(message)});
    if (!error.empty()) {
      fields.push_back({"error", std::string(error)});
    }
  } else {
    if (!error.empty()) {
      fields.push_back({"error", std::string(error)});
    }
    fields.push_back({"level", std::string(level)});
    fields.push_back({"msg", std::string(message)});
    fields.push_back({"time", Rfc3339(now)});
  }
  return Render(fields, format);
}

}  // namespace internal
}  // namespace mayfly
