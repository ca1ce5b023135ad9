// The C ABI of the in-process CA server (CaServer).
//
// Who owns the log callback's user_data: the options object and every server
// started from it share one CallbackHolder, whose destructor calls the
// host's destroy(user_data). So destroy runs exactly once, when the last of
// them is freed: a server that failed to start drops its reference at once,
// and replacing the callback on the options drops theirs.

#include "mayfly/server.h"

#include <memory>
#include <string>
#include <utility>

#include "capi/internal.h"
#include "mayfly/c.h"
#include "mayfly/status.h"

struct mayfly_server_options {
  mayfly::ServerOptions options;
  std::shared_ptr<mayfly::capi::CallbackHolder<mayfly_log_fn>> log;
};

struct mayfly_server {
  // Declared first so that it is destroyed last: the server's threads, which
  // call the log callback, are joined before the holder can go.
  std::shared_ptr<mayfly::capi::CallbackHolder<mayfly_log_fn>> log;
  std::unique_ptr<mayfly::CaServer> server;
};

namespace mayfly {
namespace capi {
namespace {

using LogHolder = CallbackHolder<mayfly_log_fn>;

// ServerOptionsOf copies what the server needs from `opts` (NULL: the
// defaults), with the log sink calling the host's function.
ServerOptions ServerOptionsOf(const mayfly_server_options_t* opts) {
  ServerOptions options;
  if (opts != nullptr) {
    options = opts->options;
    if (std::shared_ptr<LogHolder> log = opts->log) {
      // The host gets a NUL-terminated line: a string_view need not be.
      options.log_sink = [log](absl::string_view line) {
        const std::string text(line);
        log->fn(log->user_data, text.c_str(), text.size());
      };
    }
  }
  if (options.version.empty()) {
    options.version = mayfly_version();
  }
  return options;
}

absl::StatusOr<std::unique_ptr<CaServer>> StartServer(
    Authority* authority, const mayfly_server_options_t* opts) {
  MAYFLY_ASSIGN_OR_RETURN(std::unique_ptr<CaServer> server,
                          CaServer::Create(authority, ServerOptionsOf(opts)));
  MAYFLY_RETURN_IF_ERROR(server->Start());
  return server;
}

}  // namespace
}  // namespace capi
}  // namespace mayfly

using mayfly::capi::SetOption;
using mayfly::capi::SetTextOption;
using Opts = mayfly_server_options;

extern "C" {

mayfly_server_options_t* mayfly_server_options_new(void) {
  return mayfly::capi::NewOptions<mayfly_server_options>();
}

void mayfly_server_options_free(mayfly_server_options_t* opts) { delete opts; }

int mayfly_server_options_set_address(mayfly_server_options_t* opts,
                                      const char* address) {
  return SetTextOption(
      opts, address, [](Opts & o) -> auto& { return o.options.address; });
}

int mayfly_server_options_set_worker_threads(mayfly_server_options_t* opts,
                                             int threads) {
  if (threads < 0) {
    return mayfly::capi::InvalidArgument("threads must not be negative");
  }
  return SetOption(opts, [&](Opts& o) { o.options.worker_threads = threads; });
}

int mayfly_server_options_set_json_logs(mayfly_server_options_t* opts,
                                        int json) {
  return SetOption(opts, [&](Opts& o) {
    o.options.log_format =
        json != 0 ? mayfly::LogFormat::kJson : mayfly::LogFormat::kText;
  });
}

int mayfly_server_options_set_log_callback(mayfly_server_options_t* opts,
                                           mayfly_log_fn fn, void* user_data,
                                           void (*destroy)(void* user_data)) {
  // The holder takes user_data first, so that every failure below, by
  // dropping it, calls destroy exactly once.
  auto holder = mayfly::capi::MakeCallback(fn, user_data, destroy);
  if (holder == nullptr) {
    return mayfly::capi::OutOfMemory(nullptr);
  }
  if (fn == nullptr) {
    return mayfly::capi::InvalidArgument("fn must not be NULL");
  }
  return SetOption(opts, [&](Opts& o) { o.log = std::move(holder); });
}

int mayfly_server_start(mayfly_ca_t* ca, const mayfly_server_options_t* opts,
                        mayfly_server_t** out, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(ca, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    auto started = mayfly::capi::StartServer(ca->authority.get(), opts);
    if (!started.ok()) {
      return mayfly::capi::HandleStatus(started.status(), err);
    }
    auto* server = new (std::nothrow) mayfly_server;
    if (server == nullptr) {
      return mayfly::capi::OutOfMemory(err);  // *started shuts it down
    }
    server->log = opts == nullptr ? nullptr : opts->log;
    server->server = std::move(*started);
    *out = server;
    return MAYFLY_OK;
  })
}

int mayfly_server_port(const mayfly_server_t* server) {
  return server == nullptr ? -1 : server->server->port();
}

void mayfly_server_stop(mayfly_server_t* server, int64_t grace_ms) {
  if (server == nullptr) {
    return;
  }
  server->server->Shutdown(absl::Milliseconds(grace_ms < 0 ? 0 : grace_ms));
}

void mayfly_server_free(mayfly_server_t* server) {
  if (server == nullptr) {
    return;
  }
  server->server->Shutdown(absl::Seconds(10));
  delete server;
}

}  // extern "C"
