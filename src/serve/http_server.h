// serve's HTTP side, on cpp-httplib (Debian's libcpp-httplib-dev). Why that library: it is a
// maintained, packaged server with keep-alive, per-connection read and write timeouts, a bounded
// thread pool and limits on request line, header and body sizes, all we need for three GET
// endpoints; civetweb and libmicrohttpd would do too but bring a C callback API and more
// configuration for the same result. Only GET is routed: nothing here changes anything.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "serve/exporter.h"

namespace exitprof::serve {

struct ListenAddress {
  std::string host;  // "127.0.0.1", "::1", "0.0.0.0"
  int port = 0;      // 0: any free port (tests)
};
// "HOST:PORT", "[V6]:PORT" or ":PORT" (all interfaces); errors say what was expected.
Result<ListenAddress> ParseListen(const std::string& text);

struct HttpOptions {
  int timeout_seconds = 5;  // read and write timeout per connection; idle keep-alive ends after it
  int threads = 4;          // concurrent requests served; more wait in the accept queue
  size_t max_body = 1024;   // bytes; every endpoint is GET, a body is never needed
};

class HttpServer {
 public:
  HttpServer(Exporter& exporter, const HttpOptions& options);
  ~HttpServer();
  // Binds now (so an error is reported before anything runs); returns the bound port.
  Result<int> Bind(const ListenAddress& address);
  // Serves until Stop() (from another thread).
  void Run();
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace exitprof::serve
