// The HAProxy runtime API router: `set server <backend>/<server> weight N` on the primary and
// canary servers of one backend (components.md §3a, §3c).
//
// Weight mapping: HAProxy weights are absolute integers in 0..256 and a server's share is its
// weight over the sum of weights. Augur sends the percentages themselves (canary 10% -> primary
// 90, canary 10): both fit in 0..256, their sum is 100, so the share is exactly the percentage
// for every integer percentage. Scaling to 256 would round (10% -> 25.6) and make the ratio
// inexact. Weight 0 takes a server out of load balancing entirely, so 0% sends no traffic and
// 100% drains the other server. Relative weights ("30%") are never used: HAProxy applies them
// to the *initial* weight, which is 0 for a canary configured with `weight 0`.
#include <cctype>
#include <cstdlib>
#include <memory>

#include "routers/haproxy/runtime_client.h"
#include "routers/providers.h"
#include "routers/settings.h"

namespace augur::routers::internal {
namespace {

using haproxy::RuntimeClient;

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// HAProxy answers refusals in plain text; the code follows what the text says.
Error Refusal(const std::string& command, const std::string& answer) {
  const std::string text = Trim(answer);
  const std::string msg = "haproxy: '" + command + "': HAProxy answered '" + text + "'";
  if (text.rfind("No such", 0) == 0) return Error{ErrorCode::kNotFound, msg};
  // "Permission denied" comes from a socket below `level admin`; retrying will not help.
  if (text.find("ermission denied") != std::string::npos) {
    return Error{ErrorCode::kPermissionDenied, msg};
  }
  return BadData(msg);
}

class HaproxyRouter : public TrafficRouter {
 public:
  HaproxyRouter(RuntimeClient client, std::string backend, std::string primary, std::string canary)
      : client_(std::move(client)),
        backend_(std::move(backend)),
        primary_(std::move(primary)),
        canary_(std::move(canary)) {}

  std::string name() const override { return "haproxy"; }

  Status SetWeights(const Weights& w) override {
    if (auto st = ValidateWeights(w, "haproxy"); !st) return st;
    if (w.mirror) {
      return InvalidArgument(
          "haproxy router: traffic mirroring is not expressible with server weights (use a "
          "router that supports mirroring, e.g. istio)");
    }
    // The side that ends with the larger weight (>= 50) is set first, so no intermediate
    // state has both servers at weight 0 (which would answer 503 to every request).
    const bool canary_first = w.canary > w.primary;
    const std::string& first = canary_first ? canary_ : primary_;
    const std::string& second = canary_first ? primary_ : canary_;
    if (auto st = SetOne(first, canary_first ? w.canary : w.primary); !st) return st;
    return SetOne(second, canary_first ? w.primary : w.canary);
  }

  Result<Weights> GetWeights() override {
    auto p = GetOne(primary_);
    if (!p) return p.error();
    auto c = GetOne(canary_);
    if (!c) return c.error();
    // Weights set by Augur sum to 100 and convert exactly; others (e.g. from the config
    // file) are rounded to the nearest percent.
    return WeightsFromShares(*p, *c, "haproxy: " + backend_ + "/" + primary_ + " and " + canary_);
  }

 private:
  Status SetOne(const std::string& server, int weight) {
    const std::string cmd =
        "set server " + backend_ + "/" + server + " weight " + std::to_string(weight);
    auto answer = client_.Command(cmd);
    if (!answer) return answer.error();
    if (!Trim(*answer).empty()) return Refusal(cmd, *answer);
    return {};
  }

  // `get weight` answers "<current> (initial <initial>)".
  Result<long> GetOne(const std::string& server) {
    const std::string cmd = "get weight " + backend_ + "/" + server;
    auto answer = client_.Command(cmd);
    if (!answer) return answer.error();
    const std::string text = Trim(*answer);
    if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) {
      return Refusal(cmd, *answer);
    }
    char* end = nullptr;
    const long w = std::strtol(text.c_str(), &end, 10);
    if (w < 0 || w > 256 || (*end != '\0' && *end != ' ')) {
      return BadData("haproxy: '" + cmd + "': unreadable answer '" + text + "'");
    }
    return w;
  }

  RuntimeClient client_;
  std::string backend_, primary_, canary_;
};

}  // namespace

Result<std::unique_ptr<TrafficRouter>> NewHaproxyRouter(const RouterConfig& config) {
  Settings s(config);
  const std::string address = s.String("address", "");
  const std::string socket = s.String("socket", "");
  auto backend = s.Required("backend");
  const std::string primary = s.String("primaryServer", "primary");
  const std::string canary = s.String("canaryServer", "canary");
  auto timeout = s.Int("timeout", 2000, 1, 600000);
  if (auto st = s.RejectUnknown(); !st) return st.error();
  if (address.empty() == socket.empty()) {
    return s.Invalid("address",
                     "exactly one of address (host:port) and socket (unix path) "
                     "is required" +
                         std::string(address.empty() ? "" : ", both were given"));
  }
  if (!backend) return backend.error();
  if (!timeout) return timeout.error();
  if (primary == canary) {
    return s.Invalid("canaryServer", "must differ from primaryServer, both are '" + canary + "'");
  }
  for (const auto& [key, value] :
       {std::pair{"backend", *backend}, std::pair{"primaryServer", primary},
        std::pair{"canaryServer", canary}}) {
    // The runtime API splits commands on ';' and words on spaces: such a name would inject
    // another command.
    if (value.find_first_of(" \t\r\n;/") != std::string::npos) {
      return s.Invalid(key, "must not contain spaces, ';' or '/', got '" + value + "'");
    }
  }
  auto client = haproxy::RuntimeClient::Create(address, socket, *timeout, "router.haproxy");
  if (!client) return client.error();
  return std::unique_ptr<TrafficRouter>(
      std::make_unique<HaproxyRouter>(std::move(*client), *backend, primary, canary));
}

}  // namespace augur::routers::internal
