// exitprof serve on real guests: a real Prometheus (Debian's) scrapes it while our guests run,
// and what its HTTP API answers equals the guests' own accounts and `exitprof report` of a
// recording of the same run; promtool accepts the output; wrk's load is held with bounded memory;
// VMs that come and go never make a counter go backwards and leave no series behind.
// Where kvm_exit fires (the lab), kvm_exits_total per reason equals the guests' work too.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <map>
#include <regex>

#include "stat_live_support.h"

namespace exitprof::testing {
namespace {

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A background process (sh -c), its stderr kept; SIGTERM on Stop() or destruction.
class Background {
 public:
  Background(const std::string& tag, const std::string& command) : err_(TempPath(tag + ".err")) {
    ::unlink(err_.c_str());  // a previous run's lines must not be read as this one's
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string c = "exec " + command + " >/dev/null 2>" + err_;
      ::execl("/bin/sh", "sh", "-c", c.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~Background() { Stop(); }
  int Stop(int sig = SIGTERM) {
    if (pid_ <= 0) return status_;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return status_;
  }
  std::string err() const { return ReadAll(err_); }
  pid_t pid() const { return pid_; }

 private:
  std::string err_;
  pid_t pid_ = -1;
  int status_ = -1;
};

// `exitprof serve` on a free loopback port.
class Serve : public Background {
 public:
  explicit Serve(const std::string& args = "")
      : Background("serve", Exitprof() + " serve --listen 127.0.0.1:0 " + args) {
    static const std::regex kPort(R"(listening on http://127\.0\.0\.1:(\d+)/metrics)");
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      std::smatch m;
      const std::string e = err();
      if (std::regex_search(e, m, kPort)) port_ = std::stoi(m[1]);
      else std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  int port() const { return port_; }
  std::string Metrics(const std::string& accept = "") const {
    httplib::Client c("127.0.0.1", port_);
    httplib::Headers h;
    if (!accept.empty()) h.emplace("Accept", accept);
    auto r = c.Get("/metrics", h);
    return r && r->status == 200 ? r->body : "";
  }

 private:
  int port_ = 0;
};

// Samples of a text exposition: "name{labels}" -> value.
std::map<std::string, double> ParseSamples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

// A real Prometheus scraping `port` every second, its API on another free port.
class Prometheus {
 public:
  explicit Prometheus(int target_port) : dir_(TempPath("prometheus")), port_(FreePort()) {
    RunCommand("rm -rf " + dir_ + " && mkdir -p " + dir_);
    std::ofstream(dir_ + "/prometheus.yml") << "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
                                            << "scrape_configs:\n  - job_name: exitprof\n    static_configs:\n"
                                            << "      - targets: ['127.0.0.1:" << target_port << "']\n";
    process_ = std::make_unique<Background>(
        "prometheus", "prometheus --config.file=" + dir_ + "/prometheus.yml --storage.tsdb.path=" + dir_ +
                          "/data --web.listen-address=127.0.0.1:" + std::to_string(port_));
    for (int i = 0; i < 200 && !Up(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  bool Up() const {
    auto r = Query("up");
    return r.is_array() && !r.empty() && r[0]["value"][1] == "1";
  }
  // The result vector of an instant query ([] when none or on error).
  json Query(const std::string& promql) const {
    httplib::Client c("127.0.0.1", port_);
    auto r = c.Get("/api/v1/query?query=" + UrlEncode(promql));
    if (!r || r->status != 200) return json::array();
    auto j = json::parse(r->body, nullptr, false);
    return j.is_discarded() ? json::array() : j["data"]["result"];
  }
  // {label value -> number} of a query's result vector.
  std::map<std::string, double> By(const std::string& label, const std::string& promql) const {
    std::map<std::string, double> out;
    for (const auto& s : Query(promql)) out[s["metric"].value(label, "")] = std::stod(s["value"][1].get<std::string>());
    return out;
  }
  void WaitScrapes(int n = 2) const { std::this_thread::sleep_for(std::chrono::milliseconds(1000 * n + 300)); }

 private:
  std::string dir_;
  int port_;
  std::unique_ptr<Background> process_;
};

class ServeLive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) EXITPROF_LIVE_SKIP("needs root (BPF, borrowing stats fds)");
    if (::access("/dev/kvm", R_OK | W_OK) != 0) EXITPROF_LIVE_SKIP("needs /dev/kvm");
  }
};

std::map<std::string, double> AccountUserspaceExits(const json& account) {
  std::map<std::string, double> out;
  for (const auto& vm : account["vms"])
    for (const auto& v : vm["vcpus"])
      for (auto& [reason, n] : v["userspace_exits"].items()) out[reason] += n.get<double>();
  return out;
}

// Port and MMIO accesses by direction, as kvm_device_exits_total{access} must sum them.
std::map<std::string, double> AccountAccesses(const json& account) {
  std::map<std::string, double> out;
  for (const auto& vm : account["vms"])
    for (const auto& v : vm["vcpus"]) {
      for (const auto& p : v["pio"]) out[p["direction"].get<std::string>()] += p["count"].get<double>();
      for (const auto& m : v["mmio"]) out[m["direction"].get<std::string>()] += m["count"].get<double>();
      out["write"] += v["done"]["count"].get<double>();
    }
  return out;
}

TEST_F(ServeLive, PrometheusCountsEqualTheGuestsAccount) {
  Serve serve;
  ASSERT_GT(serve.port(), 0) << serve.err();
  Prometheus prom(serve.port());
  ASSERT_TRUE(prom.Up()) << "prometheus did not scrape serve";
  HeldGuest guest("serve-held");
  // Paced, so Prometheus scrapes while the guest works (~3 s).
  ASSERT_TRUE(guest.Start({"--vcpus", "2", "--iterations", InLab() ? "100" : "500", "--rate", InLab() ? "300" : "1200"}));
  const std::string vm = "exitprof-guest-" + std::to_string(guest.pid());
  prom.WaitScrapes();
  const auto uexits = prom.By("reason", "kvm_userspace_exits_total{vm=\"" + vm + "\"}");
  const auto devices = prom.By("access", "sum by (access) (kvm_device_exits_total{vm=\"" + vm + "\"})");
  const auto info = prom.Query("kvm_vm_info{vm=\"" + vm + "\"}");
  const auto stat_exits = prom.By("vm", "kvm_stat_exits_total{vm=\"" + vm + "\"}");
  const auto exits = prom.By("reason", "kvm_exits_total{vm=\"" + vm + "\"}");
  const auto increase = prom.By("reason", "increase(kvm_userspace_exits_total{vm=\"" + vm + "\"}[1m])");
  json account = guest.Finish();
  ASSERT_FALSE(account.is_discarded());
  const auto want = AccountUserspaceExits(account);
  EXPECT_EQ(uexits, want);
  EXPECT_EQ(devices, AccountAccesses(account));
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0]["metric"]["pid"], std::to_string(account["vms"][0]["pid"].get<int>()));
  // KVM's own count (stats fds) of the same exits: every userspace exit is one of them.
  double total = 0;
  for (auto& [r, n] : want) total += n;
  ASSERT_EQ(stat_exits.size(), 1u);
  EXPECT_GE(stat_exits.begin()->second, total);
  // increase() over the run misses at most what happened before the series' first scrape (one
  // interval at the rate the guest was paced to) and extrapolates no further than that.
  const double slack = 2 * (InLab() ? 300 : 1200) * 1.5;
  for (auto& [reason, n] : want) EXPECT_NEAR(increase.count(reason) ? increase.at(reason) : 0, n, slack) << reason;
  if (KvmExitFires()) {
    std::map<std::string, uint64_t> by_reason;
    for (auto& [r, n] : exits) by_reason[r] = static_cast<uint64_t>(n);
    EXPECT_TRUE(ExitsMatchGuestWork(by_reason, ReadGuestWork(TempPath("serve-held.json"))));
  } else {
    EXPECT_TRUE(exits.empty()) << "kvm_exit does not fire here, yet kvm_exits_total has series";
  }
}

TEST_F(ServeLive, AgreesWithReportOfARecordingOfTheSameRun) {
  if (!HavePerf()) EXITPROF_LIVE_SKIP("needs perf");
  Serve serve;
  ASSERT_GT(serve.port(), 0) << serve.err();
  Prometheus prom(serve.port());
  ASSERT_TRUE(prom.Up());
  const std::string data = TempPath("serve-record.data"), account = TempPath("serve-record.json");
  ::unlink(data.c_str());
  auto run = RunGuestCommand(Exitprof() + " record -o " + data + " -- " + BinaryDir() +
                                 "/exitprof-guest --vcpus 2 --iterations 400 --rate 800 --json " + account,
                             account);
  ASSERT_EQ(run.status, 0) << run.err;
  prom.WaitScrapes();
  auto report = ReadReport(data);
  ASSERT_TRUE(report) << report.error().message;
  std::map<std::string, double> from_report;
  for (const auto& row : report->model.userspace_exits) from_report[row.name] += row.count;
  const json account_json = json::parse(ReadAll(account));
  const auto guest = AccountUserspaceExits(account_json);
  const std::string vm = "exitprof-guest-" + std::to_string(account_json["vms"][0]["pid"].get<int>());
  EXPECT_EQ(from_report, guest);
  // The guest's process is gone: its series ended; their last values are what Prometheus kept.
  const auto last = prom.By("reason", "max by (reason) (max_over_time(kvm_userspace_exits_total{vm=\"" + vm + "\"}[2m]))");
  for (auto& [reason, n] : guest) {
    // What the guest did after the last scrape before it ended is not seen: one interval's worth.
    EXPECT_LE(last.count(reason) ? last.at(reason) : 0, n) << reason;
    EXPECT_GE(last.count(reason) ? last.at(reason) : 0, n - 2 * 800 * 1.5) << reason;
  }
  if (KvmExitFires()) {
    // kvm_exits_total against report's exits by reason, for the reasons the guest's work makes
    // (the bounded set keeps them by name), within the same slack.
    const auto exits = prom.By("reason", "max by (reason) (max_over_time(kvm_exits_total{vm=\"" + vm + "\"}[2m]))");
    auto r = RunCommand(Exitprof() + " report -i " + data + " --format json");
    ASSERT_EQ(r.status, 0) << r.err;
    const json j = json::parse(r.out, nullptr, false);
    int compared = 0;
    std::string seen;
    for (const auto& row : j["exits"]["by_reason"]) {
      const std::string reason = row["reason"];
      const double count = row["count"].get<double>();
      seen += reason + " ";
      if (reason != "io" && reason != "hlt" && reason != "npf" && reason != "IO_INSTRUCTION" && reason != "HLT" &&
          reason != "EPT_VIOLATION" && reason != "EPT_MISCONFIG")
        continue;
      ++compared;
      const double got = exits.count(reason) ? exits.at(reason) : 0;
      EXPECT_LE(got, count) << reason;
      EXPECT_GE(got, count - 2 * 800 * 1.5) << reason;
    }
    EXPECT_GE(compared, 2) << "report shows none of io, hlt, npf: " << seen << "(exits total " << j["exits"]["total"]
                           << ", isa " << j["exits"]["isa"] << "); record said: " << run.err;
  }
}

TEST_F(ServeLive, PromtoolAcceptsTheOutput) {
  HeldGuest guest("serve-promtool");
  ASSERT_TRUE(guest.Start({"--vcpus", "2", "--iterations", "100"}));
  for (const char* args : {"", "--vcpu-labels"}) {
    Serve serve(args);
    ASSERT_GT(serve.port(), 0) << serve.err();
    serve.Metrics();
    const std::string path = TempPath("serve-metrics.txt");
    std::ofstream(path) << serve.Metrics();
    auto r = RunCommand("promtool check metrics < " + path);
    EXPECT_EQ(r.status, 0) << args << ": " << r.out << r.err;
    // OpenMetrics when asked: its counter families drop _total, and it ends with # EOF.
    const std::string om = serve.Metrics("application/openmetrics-text; version=1.0.0");
    EXPECT_TRUE(om.ends_with("# EOF\n"));
    EXPECT_NE(om.find("# TYPE kvm_stat_exits counter\nkvm_stat_exits_total{"), std::string::npos);
    EXPECT_EQ(serve.Stop(), 0) << serve.err();
    EXPECT_NE(serve.err().find("stopped"), std::string::npos);
  }
  guest.Finish();
}

TEST_F(ServeLive, RefusesWhatItShouldNotServe) {
  Serve serve("--no-bpf");
  ASSERT_GT(serve.port(), 0) << serve.err();
  httplib::Client c("127.0.0.1", serve.port());
  auto post = c.Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_GE(post->status, 400);
  auto big = c.Get("/metrics", {{"X-Big", std::string(20000, 'a')}});
  EXPECT_TRUE(!big || big->status >= 400);
  auto health = c.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->body, "ok\n");
  auto index = c.Get("/");
  ASSERT_TRUE(index);
  EXPECT_NE(index->body.find("href=\"metrics\""), std::string::npos);
  EXPECT_EQ(serve.Stop(), 0);
}

TEST_F(ServeLive, ChurnNeverMovesACounterBackwards) {
  Serve serve;
  ASSERT_GT(serve.port(), 0) << serve.err();
  std::map<std::string, double> last;
  std::set<std::string> vms;
  int backwards = 0, scrapes = 0;
  auto scrape = [&] {
    for (auto& [series, v] : ParseSamples(serve.Metrics())) {
      if (series.find("_total{") == std::string::npos || series.find("exitprof-guest-") == std::string::npos) continue;
      if (auto it = last.find(series); it != last.end() && v < it->second) {
        ++backwards;
        ADD_FAILURE() << series << " went from " << it->second << " to " << v;
      }
      last[series] = v;
    }
    ++scrapes;
  };
  // Guests that start and end at different times, scraped every 100 ms throughout.
  std::vector<std::unique_ptr<Background>> guests;
  for (int i = 0; i < 4; ++i) {
    guests.push_back(std::make_unique<Background>(
        "serve-churn-" + std::to_string(i),
        BinaryDir() + "/exitprof-guest --iterations " + std::to_string(200 + 150 * i) + " --rate 1000"));
    vms.insert("exitprof-guest-" + std::to_string(guests.back()->pid()));
    for (int k = 0; k < 4; ++k) {
      scrape();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  for (int k = 0; k < 30; ++k) {
    scrape();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (auto& g : guests) g->Stop(SIGKILL);  // reaped: ended well before (the longest runs ~2 s)
  const std::string after = serve.Metrics();
  for (const auto& vm : vms) EXPECT_EQ(after.find(vm), std::string::npos) << vm << " still has series";
  EXPECT_EQ(backwards, 0);
  EXPECT_GT(last.size(), 4u) << "no guest was ever seen";
  std::printf("churn: %d scrapes, %zu series seen\n", scrapes, last.size());
}

TEST_F(ServeLive, WrkLoadIsHeldWithBoundedMemory) {
  if (RunCommand("command -v wrk").status != 0) EXITPROF_LIVE_SKIP("needs wrk (scripts/install-deps.sh)");
  HeldGuest guest("serve-wrk");
  ASSERT_TRUE(guest.Start({"--vms", "4", "--vcpus", "2", "--iterations", "100"}));
  Serve serve;
  ASSERT_GT(serve.port(), 0) << serve.err();
  auto rss_kb = [&] {
    std::ifstream in("/proc/" + std::to_string(serve.pid()) + "/status");
    for (std::string line; std::getline(in, line);)
      if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
    return 0L;
  };
  serve.Metrics();
  const long before = rss_kb();
  auto r = RunCommand("wrk -t2 -c8 -d5s --timeout 5s --latency http://127.0.0.1:" + std::to_string(serve.port()) + "/metrics");
  const long after = rss_kb();
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find("Socket errors"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Non-2xx"), std::string::npos) << r.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(99%\s+([\d.]+)(us|ms|s))"))) << r.out;
  const double p99_ms = std::stod(m[1]) * (m[2] == "us" ? 1e-3 : m[2] == "s" ? 1e3 : 1);
  std::smatch reqs;
  std::regex_search(r.out, reqs, std::regex(R"(Requests/sec:\s+([\d.]+))"));
  std::printf("wrk 5 s, 8 connections: %s requests/s, p99 %.2f ms; serve RSS %ld kB -> %ld kB\n",
              reqs.size() > 1 ? reqs[1].str().c_str() : "?", p99_ms, before, after);
  // Bounded: well under Prometheus's default 10 s scrape timeout. The lab's nested, emulated host
  // reads maps and stats fds ~10x slower (p99 1.1-1.4 s measured there): its bound is 5 s.
  EXPECT_LT(p99_ms, InLab() ? 5000 : 1000) << r.out;
  EXPECT_LT(after, 64 * 1024) << "serve's RSS grew under load";
  EXPECT_LT(after - before, 16 * 1024);
  guest.Finish();
}

}  // namespace
}  // namespace exitprof::testing
