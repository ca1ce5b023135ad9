// ca.json: step-ca's configuration file (STEP-PROTOCOL.md section 7), read
// strictly and written back in step's member order.

#include "mayfly/config.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "internal/json.h"
#include "mayfly/status.h"
#include "provisioner_internal.h"
#include "rapidjson/document.h"
#include "rapidjson/prettywriter.h"
#include "rapidjson/stringbuffer.h"

namespace mayfly {
namespace {

// ca.json files are a few kilobytes; a megabyte leaves room for many
// provisioners while bounding what a broken or hostile file costs.
constexpr size_t kMaxConfigBytes = 1 << 20;

std::string Quoted(absl::string_view text) {
  constexpr size_t kMaxEchoed = 64;
  std::string out =
      absl::StrCat("\"", absl::CEscape(text.substr(0, kMaxEchoed)));
  if (text.size() > kMaxEchoed) {
    absl::StrAppend(&out, "...");
  }
  absl::StrAppend(&out, "\"");
  return out;
}

// Path joins an object path and a member name for error messages
// ("authority" + "backdate" -> "authority.backdate").
std::string Path(absl::string_view parent, absl::string_view name) {
  return parent.empty() ? std::string(name) : absl::StrCat(parent, ".", name);
}

absl::Status WrongType(absl::string_view path, absl::string_view want) {
  return absl::InvalidArgumentError(
      absl::StrCat("ca config: ", path, " is not ", want));
}

// Find returns member `name` of `obj`, or nullptr when it is absent or
// JSON null (Go's decoder treats both as unset).
const rapidjson::Value* Find(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || it->value.IsNull()) {
    return nullptr;
  }
  return &it->value;
}

std::string StringOf(const rapidjson::Value& v) {
  return std::string(v.GetString(), v.GetStringLength());
}

absl::StatusOr<std::optional<std::string>> OptionalString(
    const rapidjson::Value& obj, const char* name, absl::string_view parent) {
  const rapidjson::Value* v = Find(obj, name);
  if (v == nullptr) {
    return std::optional<std::string>();
  }
  if (!v->IsString()) {
    return WrongType(Path(parent, name), "a string");
  }
  return std::optional<std::string>(StringOf(*v));
}

absl::StatusOr<std::string> RequiredString(const rapidjson::Value& obj,
                                           const char* name) {
  MAYFLY_ASSIGN_OR_RETURN(std::optional<std::string> s,
                          OptionalString(obj, name, ""));
  if (!s.has_value() || s->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ca config: ", name, " is missing or empty"));
  }
  return *std::move(s);
}

// StringList reads a JSON array of non-empty strings.
absl::StatusOr<std::vector<std::string>> StringList(const rapidjson::Value& v,
                                                    absl::string_view path) {
  if (!v.IsArray()) {
    return WrongType(path, "an array of strings");
  }
  std::vector<std::string> out;
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    if (!v[i].IsString() || v[i].GetStringLength() == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ca config: ", path, "[", i, "] is not a non-empty string"));
    }
    out.push_back(StringOf(v[i]));
  }
  return out;
}

absl::StatusOr<std::optional<absl::Duration>> OptionalDuration(
    const rapidjson::Value& obj, const char* name, absl::string_view parent) {
  absl::StatusOr<std::optional<absl::Duration>> d =
      internal::GetOptionalDuration(obj, name, parent);
  if (!d.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ca config: ", d.status().message()));
  }
  return d;
}

absl::StatusOr<std::optional<bool>> OptionalBool(const rapidjson::Value& obj,
                                                 const char* name,
                                                 absl::string_view parent) {
  absl::StatusOr<std::optional<bool>> b =
      internal::GetOptionalBool(obj, name, parent);
  if (!b.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ca config: ", b.status().message()));
  }
  return b;
}

// ObjectMember returns member `name` when it is an object, nullptr when it
// is absent or null, and InvalidArgument for anything else.
absl::StatusOr<const rapidjson::Value*> ObjectMember(
    const rapidjson::Value& obj, const char* name, absl::string_view parent) {
  const rapidjson::Value* v = Find(obj, name);
  if (v != nullptr && !v->IsObject()) {
    return WrongType(Path(parent, name), "a JSON object");
  }
  return v;
}

absl::Status ParseAuthority(const rapidjson::Value& authority,
                            CaConfig* config) {
  if (const rapidjson::Value* policy = Find(authority, "policy")) {
    if (!policy->IsObject() || policy->MemberCount() > 0) {
      // Ignoring a name policy would widen what the CA signs.
      return absl::InvalidArgumentError(
          "ca config: authority.policy is not supported by mayfly; remove "
          "it and restrict names through provisioners");
    }
  }

  absl::StatusOr<Claims> claims = Claims();
  if (const rapidjson::Value* c = Find(authority, "claims")) {
    claims = internal::ParseClaims(*c, "authority.claims");
    if (!claims.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ca config: ", claims.status().message()));
    }
  }
  config->claims = *std::move(claims);
  absl::StatusOr<ResolvedClaims> global = ResolveClaims({}, config->claims);
  if (!global.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ca config: ", global.status().message()));
  }

  MAYFLY_ASSIGN_OR_RETURN(std::optional<absl::Duration> backdate,
                          OptionalDuration(authority, "backdate", "authority"));
  if (backdate.has_value()) {
    if (*backdate < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ca config: authority.backdate is ",
                       mayfly::FormatDuration(*backdate), "; negative"));
    }
    config->backdate = *backdate;
  }
  // Type-checked, then ignored: mayfly always checks iat against its own
  // start (STEP-PROTOCOL.md section 12, item 5).
  MAYFLY_ASSIGN_OR_RETURN(
      std::optional<bool> ignored,
      OptionalBool(authority, "disableIssuedAtCheck", "authority"));
  (void)ignored;

  const rapidjson::Value* list = Find(authority, "provisioners");
  if (list == nullptr) {
    return absl::OkStatus();
  }
  if (!list->IsArray()) {
    return WrongType("authority.provisioners", "an array");
  }
  std::set<std::string> names;
  std::set<std::string> kids;
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    const std::string where = absl::StrCat("authority.provisioners[", i, "]");
    const rapidjson::Value& item = (*list)[i];
    if (!item.IsObject()) {
      return WrongType(where, "a JSON object");
    }
    absl::StatusOr<Provisioner> p = Provisioner::Parse(internal::ToJson(item));
    if (!p.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ca config: ", where, ": ", p.status().message()));
    }
    if (!names.insert(p->name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("ca config: ", where, ": duplicate provisioner name ",
                       Quoted(p->name)));
    }
    if (!kids.insert(p->kid).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("ca config: ", where, ": provisioner ", Quoted(p->name),
                       " has the same kid as another"));
    }
    absl::StatusOr<ResolvedClaims> resolved =
        ResolveClaims(p->claims, config->claims);
    if (!resolved.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ca config: ", where, ": provisioner ", Quoted(p->name),
                       ": ", resolved.status().message()));
    }
    config->provisioners.push_back(*std::move(p));
  }
  return absl::OkStatus();
}

// TLS versions as step writes them (authority/config/tls_options.go).
bool ValidTlsVersion(double v) {
  return v == 1.0 || v == 1.1 || v == 1.2 || v == 1.3;
}

absl::Status ParseTls(const rapidjson::Value& tls, TlsConfig* out) {
  if (const rapidjson::Value* suites = Find(tls, "cipherSuites")) {
    MAYFLY_ASSIGN_OR_RETURN(out->cipher_suites,
                            StringList(*suites, "tls.cipherSuites"));
  }
  for (auto [name, field] : {std::make_pair("minVersion", &out->min_version),
                             std::make_pair("maxVersion", &out->max_version)}) {
    const rapidjson::Value* v = Find(tls, name);
    if (v == nullptr) {
      continue;
    }
    if (!v->IsNumber() || !ValidTlsVersion(v->GetDouble())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ca config: tls.", name, " is not one of 1.0, 1.1, 1.2, 1.3"));
    }
    *field = v->GetDouble();
  }
  if (out->min_version > out->max_version) {
    return absl::InvalidArgumentError(
        absl::StrCat("ca config: tls.minVersion ", out->min_version,
                     " is above tls.maxVersion ", out->max_version));
  }
  MAYFLY_ASSIGN_OR_RETURN(std::optional<bool> renegotiation,
                          OptionalBool(tls, "renegotiation", "tls"));
  out->renegotiation = renegotiation.value_or(false);
  return absl::OkStatus();
}

absl::Status ParseCrl(const rapidjson::Value& crl, CrlConfig* out) {
  MAYFLY_ASSIGN_OR_RETURN(std::optional<bool> enabled,
                          OptionalBool(crl, "enabled", "crl"));
  out->enabled = enabled.value_or(false);
  MAYFLY_ASSIGN_OR_RETURN(std::optional<bool> on_revoke,
                          OptionalBool(crl, "generateOnRevoke", "crl"));
  out->generate_on_revoke = on_revoke.value_or(false);
  MAYFLY_ASSIGN_OR_RETURN(std::optional<absl::Duration> cache,
                          OptionalDuration(crl, "cacheDuration", "crl"));
  if (cache.has_value()) {
    if (*cache <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ca config: crl.cacheDuration is ",
                       mayfly::FormatDuration(*cache), "; must be above 0"));
    }
    out->cache_duration = *cache;
  }
  MAYFLY_ASSIGN_OR_RETURN(std::optional<absl::Duration> renew,
                          OptionalDuration(crl, "renewPeriod", "crl"));
  if (renew.has_value()) {
    if (*renew < absl::ZeroDuration() || *renew > out->cache_duration) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ca config: crl.renewPeriod is ", mayfly::FormatDuration(*renew),
          "; must be between 0 and crl.cacheDuration ",
          mayfly::FormatDuration(out->cache_duration)));
    }
    out->renew_period = *renew;
  }
  MAYFLY_ASSIGN_OR_RETURN(std::optional<std::string> idp,
                          OptionalString(crl, "idpURL", "crl"));
  out->idp_url = idp.value_or("");
  return absl::OkStatus();
}

// Writing.

rapidjson::Value StringValue(absl::string_view s,
                             rapidjson::Document::AllocatorType& alloc) {
  rapidjson::Value v;
  v.SetString(s.data(), static_cast<rapidjson::SizeType>(s.size()), alloc);
  return v;
}

rapidjson::Value StringArray(const std::vector<std::string>& list,
                             rapidjson::Document::AllocatorType& alloc) {
  rapidjson::Value v(rapidjson::kArrayType);
  for (const std::string& s : list) {
    v.PushBack(StringValue(s, alloc), alloc);
  }
  return v;
}

// ParsedValue parses JSON text we produced ourselves into a value of
// `alloc`; null if it somehow does not parse.
rapidjson::Value ParsedValue(absl::string_view json,
                             rapidjson::Document::AllocatorType& alloc) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  rapidjson::Value v;
  if (!doc.HasParseError()) {
    v.CopyFrom(doc, alloc);
  }
  return v;
}

}  // namespace

std::string CaConfig::ResolvePath(absl::string_view path) const {
  if (path.empty() || path.front() == '/' || base_dir.empty()) {
    return std::string(path);
  }
  if (base_dir.back() == '/') {
    return absl::StrCat(base_dir, path);
  }
  return absl::StrCat(base_dir, "/", path);
}

absl::StatusOr<CaConfig> ParseConfig(absl::string_view json,
                                     absl::string_view base_dir) {
  internal::JsonLimits limits;
  limits.max_bytes = kMaxConfigBytes;
  absl::StatusOr<rapidjson::Document> parsed =
      internal::ParseJsonObject(json, "ca config", limits);
  if (!parsed.ok()) {
    return parsed.status();
  }
  const rapidjson::Document& doc = *parsed;
  CaConfig config;
  config.base_dir = std::string(base_dir);

  // "root" is a string or an array of strings (step's multiString).
  const rapidjson::Value* root = Find(doc, "root");
  if (root == nullptr) {
    return absl::InvalidArgumentError("ca config: root is missing or empty");
  }
  if (root->IsString()) {
    if (root->GetStringLength() == 0) {
      return absl::InvalidArgumentError("ca config: root is missing or empty");
    }
    config.root = {StringOf(*root)};
  } else {
    MAYFLY_ASSIGN_OR_RETURN(config.root, StringList(*root, "root"));
    if (config.root.empty()) {
      return absl::InvalidArgumentError("ca config: root is missing or empty");
    }
  }
  if (const rapidjson::Value* federated = Find(doc, "federatedRoots")) {
    MAYFLY_ASSIGN_OR_RETURN(config.federated_roots,
                            StringList(*federated, "federatedRoots"));
  }
  MAYFLY_ASSIGN_OR_RETURN(config.crt, RequiredString(doc, "crt"));
  MAYFLY_ASSIGN_OR_RETURN(config.key, RequiredString(doc, "key"));

  MAYFLY_ASSIGN_OR_RETURN(std::optional<std::string> address,
                          OptionalString(doc, "address", ""));
  if (address.has_value()) {
    if (address->empty()) {
      return absl::InvalidArgumentError("ca config: address is empty");
    }
    config.address = *std::move(address);
  }
  MAYFLY_ASSIGN_OR_RETURN(std::optional<std::string> insecure,
                          OptionalString(doc, "insecureAddress", ""));
  config.insecure_address = insecure.value_or("");
  if (const rapidjson::Value* dns = Find(doc, "dnsNames")) {
    MAYFLY_ASSIGN_OR_RETURN(std::vector<std::string> names,
                            StringList(*dns, "dnsNames"));
    // An empty list means the default, as in step-ca.
    if (!names.empty()) {
      config.dns_names = std::move(names);
    }
  }

  MAYFLY_ASSIGN_OR_RETURN(const rapidjson::Value* logger,
                          ObjectMember(doc, "logger", ""));
  if (logger != nullptr) {
    MAYFLY_ASSIGN_OR_RETURN(std::optional<std::string> format,
                            OptionalString(*logger, "format", "logger"));
    if (format.has_value() && !format->empty()) {
      if (*format != "text" && *format != "json") {
        return absl::InvalidArgumentError(
            absl::StrCat("ca config: logger.format ", Quoted(*format),
                         " is not supported; use \"text\" or \"json\""));
      }
      config.logger_format = *std::move(format);
    }
  }

  if (const rapidjson::Value* db = Find(doc, "db")) {
    config.db_json = internal::ToJson(*db);
  }
  MAYFLY_ASSIGN_OR_RETURN(std::optional<std::string> store,
                          OptionalString(doc, "store", ""));
  config.store = store.value_or("");
  MAYFLY_ASSIGN_OR_RETURN(const rapidjson::Value* prune,
                          ObjectMember(doc, "storePrune", ""));
  if (prune != nullptr) {
    MAYFLY_ASSIGN_OR_RETURN(std::optional<absl::Duration> interval,
                            OptionalDuration(*prune, "interval", "storePrune"));
    MAYFLY_ASSIGN_OR_RETURN(
        std::optional<absl::Duration> retention,
        OptionalDuration(*prune, "retention", "storePrune"));
    if (interval.has_value()) {
      if (*interval < absl::ZeroDuration()) {
        return absl::InvalidArgumentError(
            "ca config: storePrune.interval is negative");
      }
      config.prune.interval = *interval;
    }
    if (retention.has_value()) {
      if (*retention < absl::ZeroDuration()) {
        return absl::InvalidArgumentError(
            "ca config: storePrune.retention is negative");
      }
      config.prune.retention = *retention;
    }
  }
  MAYFLY_ASSIGN_OR_RETURN(std::optional<std::string> common_name,
                          OptionalString(doc, "commonName", ""));
  if (common_name.has_value() && !common_name->empty()) {
    config.common_name = *std::move(common_name);
  }

  MAYFLY_ASSIGN_OR_RETURN(const rapidjson::Value* authority,
                          ObjectMember(doc, "authority", ""));
  if (authority != nullptr) {
    MAYFLY_RETURN_IF_ERROR(ParseAuthority(*authority, &config));
  }

  MAYFLY_ASSIGN_OR_RETURN(const rapidjson::Value* tls,
                          ObjectMember(doc, "tls", ""));
  if (tls != nullptr) {
    MAYFLY_RETURN_IF_ERROR(ParseTls(*tls, &config.tls));
  }
  MAYFLY_ASSIGN_OR_RETURN(const rapidjson::Value* crl,
                          ObjectMember(doc, "crl", ""));
  if (crl != nullptr) {
    MAYFLY_RETURN_IF_ERROR(ParseCrl(*crl, &config.crl));
  }
  return config;
}

absl::StatusOr<CaConfig> LoadConfig(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::NotFoundError(absl::StrCat("cannot read config file ",
                                            Quoted(path), ": is a directory"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(
        "cannot read config file ", Quoted(path), ": ", std::strerror(errno)));
  }
  // Read one byte past the limit so that ParseConfig reports the size.
  std::string text(kMaxConfigBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    return absl::NotFoundError(
        absl::StrCat("cannot read config file ", Quoted(path)));
  }
  text.resize(static_cast<size_t>(in.gcount()));

  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  if (ec) {
    absolute = path;
  }
  return ParseConfig(text, absolute.parent_path().string());
}

std::string SerializeConfig(const CaConfig& config) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& alloc = doc.GetAllocator();

  // step's order (authority/config/config.go), "store" after "db".
  if (config.root.size() == 1) {
    doc.AddMember("root", StringValue(config.root.front(), alloc), alloc);
  } else {
    doc.AddMember("root", StringArray(config.root, alloc), alloc);
  }
  if (config.federated_roots.empty()) {
    doc.AddMember("federatedRoots", rapidjson::Value(), alloc);
  } else {
    doc.AddMember("federatedRoots", StringArray(config.federated_roots, alloc),
                  alloc);
  }
  doc.AddMember("crt", StringValue(config.crt, alloc), alloc);
  doc.AddMember("key", StringValue(config.key, alloc), alloc);
  doc.AddMember("address", StringValue(config.address, alloc), alloc);
  doc.AddMember("insecureAddress", StringValue(config.insecure_address, alloc),
                alloc);
  doc.AddMember("dnsNames", StringArray(config.dns_names, alloc), alloc);

  rapidjson::Value logger(rapidjson::kObjectType);
  logger.AddMember("format", StringValue(config.logger_format, alloc), alloc);
  doc.AddMember("logger", logger, alloc);
  if (!config.db_json.empty()) {
    doc.AddMember("db", ParsedValue(config.db_json, alloc), alloc);
  }
  if (!config.store.empty()) {
    doc.AddMember("store", StringValue(config.store, alloc), alloc);
  }
  const PruneOptions default_prune;
  if (config.prune.interval != default_prune.interval ||
      config.prune.retention != default_prune.retention) {
    rapidjson::Value prune(rapidjson::kObjectType);
    prune.AddMember(
        "interval",
        StringValue(mayfly::FormatDuration(config.prune.interval), alloc),
        alloc);
    prune.AddMember(
        "retention",
        StringValue(mayfly::FormatDuration(config.prune.retention), alloc),
        alloc);
    doc.AddMember("storePrune", prune, alloc);
  }

  rapidjson::Value authority(rapidjson::kObjectType);
  rapidjson::Value provisioners(rapidjson::kArrayType);
  for (const Provisioner& p : config.provisioners) {
    provisioners.PushBack(ParsedValue(p.ToJson(), alloc), alloc);
  }
  authority.AddMember("provisioners", provisioners, alloc);
  if (!internal::ClaimsEmpty(config.claims)) {
    authority.AddMember("claims", internal::ClaimsToValue(config.claims, alloc),
                        alloc);
  }
  authority.AddMember(
      "backdate", StringValue(mayfly::FormatDuration(config.backdate), alloc),
      alloc);
  doc.AddMember("authority", authority, alloc);

  rapidjson::Value tls(rapidjson::kObjectType);
  tls.AddMember("cipherSuites", StringArray(config.tls.cipher_suites, alloc),
                alloc);
  tls.AddMember("minVersion", config.tls.min_version, alloc);
  tls.AddMember("maxVersion", config.tls.max_version, alloc);
  tls.AddMember("renegotiation", config.tls.renegotiation, alloc);
  doc.AddMember("tls", tls, alloc);

  doc.AddMember("commonName", StringValue(config.common_name, alloc), alloc);

  rapidjson::Value crl(rapidjson::kObjectType);
  crl.AddMember("enabled", config.crl.enabled, alloc);
  crl.AddMember("generateOnRevoke", config.crl.generate_on_revoke, alloc);
  crl.AddMember(
      "cacheDuration",
      StringValue(mayfly::FormatDuration(config.crl.cache_duration), alloc),
      alloc);
  if (config.crl.renew_period != absl::ZeroDuration()) {
    crl.AddMember(
        "renewPeriod",
        StringValue(mayfly::FormatDuration(config.crl.renew_period), alloc),
        alloc);
  }
  if (!config.crl.idp_url.empty()) {
    crl.AddMember("idpURL", StringValue(config.crl.idp_url, alloc), alloc);
  }
  doc.AddMember("crl", crl, alloc);

  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buf);
  doc.Accept(writer);
  return absl::StrCat(absl::string_view(buf.GetString(), buf.GetSize()), "\n");
}

}  // namespace mayfly
