#include "recording/session.h"

namespace exitprof::recording {

void Session::Add(EventSink& sink) {
  sink.ShareThreads(&threads_);
  sinks_.push_back(&sink);
}

Result<void> Session::OnSessionReady(const SessionInfo& info) {
  for (EventSink* sink : sinks_) {
    if (auto r = sink->OnSessionReady(info); !r) return r;
  }
  return {};
}

void Session::OnEvent(const perfdata::Event& event) {
  threads_.Apply(event);
  for (EventSink* sink : sinks_) sink->OnEvent(event);
}

std::vector<bool> Session::CountOnlyAttrs() const {
  std::vector<bool> all;
  for (size_t i = 0; i < sinks_.size(); ++i) {
    std::vector<bool> mine = sinks_[i]->CountOnlyAttrs();
    if (mine.empty()) return {};  // this sink decodes every sample
    if (i == 0) {
      all = std::move(mine);
      continue;
    }
    for (size_t a = 0; a < all.size(); ++a) all[a] = all[a] && a < mine.size() && mine[a];
  }
  return all;
}

void Session::OnSampleCounted(int attr_index, uint32_t pid, uint64_t time) {
  for (EventSink* sink : sinks_) sink->OnSampleCounted(attr_index, pid, time);
}

}  // namespace exitprof::recording
