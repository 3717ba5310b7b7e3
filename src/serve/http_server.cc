#include "serve/http_server.h"

#include <httplib.h>

#include <charconv>

namespace exitprof::serve {

namespace {

constexpr const char kIndex[] = R"(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>exitprof serve</title></head>
<body><h1>exitprof serve</h1>
<p>KVM exits per VM and reason, and KVM's own statistics, for Prometheus.</p>
<ul><li><a href="metrics">/metrics</a></li><li><a href="healthz">/healthz</a></li></ul>
</body></html>
)";

}  // namespace

Result<ListenAddress> ParseListen(const std::string& text) {
  auto bad = [&](const char* why) { return Fail("--listen " + text + ": " + why + " (expected HOST:PORT, e.g. 127.0.0.1:9464)"); };
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return bad("no port");
  ListenAddress a;
  a.host = text.substr(0, colon);
  if (a.host.size() >= 2 && a.host.front() == '[' && a.host.back() == ']') a.host = a.host.substr(1, a.host.size() - 2);
  if (a.host.empty()) a.host = "0.0.0.0";
  const std::string port = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || a.port < 0 || a.port > 65535) {
    return bad("the port is not a number from 0 to 65535");
  }
  return a;
}

struct HttpServer::Impl {
  httplib::Server server;
};

HttpServer::HttpServer(Exporter& exporter, const HttpOptions& options) : impl_(std::make_unique<Impl>()) {
  auto& s = impl_->server;
  s.set_read_timeout(options.timeout_seconds, 0);
  s.set_write_timeout(options.timeout_seconds, 0);
  s.set_keep_alive_timeout(options.timeout_seconds);
  s.set_payload_max_length(options.max_body);
  const int threads = options.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.Get("/metrics", [&exporter](const httplib::Request& req, httplib::Response& res) {
    const Format format = NegotiateFormat(req.get_header_value("Accept"));
    res.set_content(exporter.Scrape(format), ContentType(format));
  });
  s.Get("/healthz", [&exporter](const httplib::Request&, httplib::Response& res) {
    const std::string health = exporter.Health();
    res.status = health == "ok" ? 200 : 503;
    res.set_content(health + "\n", "text/plain; charset=utf-8");
  });
  s.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content(kIndex, "text/html; charset=utf-8"); });
}

HttpServer::~HttpServer() = default;

Result<int> HttpServer::Bind(const ListenAddress& address) {
  auto& s = impl_->server;
  if (address.host.find(':') != std::string::npos) s.set_address_family(AF_INET6);
  int port = address.port;
  if (port == 0) port = s.bind_to_any_port(address.host);
  else if (!s.bind_to_port(address.host, port)) port = -1;
  if (port <= 0) return Fail("cannot listen on " + address.host + ":" + std::to_string(address.port) + ": in use, or not an address of this host", 1);
  return port;
}

void HttpServer::Run() { impl_->server.listen_after_bind(); }
void HttpServer::Stop() { impl_->server.stop(); }

}  // namespace exitprof::serve
