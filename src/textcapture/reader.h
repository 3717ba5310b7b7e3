// A text capture of kvm events (perf script, trace-cmd report, ftrace trace/trace_pipe output,
// also quoted in mail) presented as a recording: each line's payload is parsed back into the
// fields of its tracepoint and re-encoded as the raw record the kernel would have written,
// with compiled-in kvm formats, so the analyses count it exactly as a binary recording.
// Lines that are not understood are counted and the first one kept (the report shows it).
// Files are mapped; pipes, FIFOs and trace_pipe are read as a stream, line by line.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/mapped_file.h"
#include "base/unique_fd.h"
#include "recording/event_sink.h"
#include "recording/source.h"
#include "trace/tracing_data.h"
#include "textcapture/line_parser.h"
#include "textcapture/line_source.h"
#include "textcapture/payload_parser.h"

namespace exitprof::textcapture {

struct ParseSummary {
  Layout layout = Layout::kUnknown;  // of the first event line
  uint64_t lines = 0;                // all lines, headers and comments included
  uint64_t events = 0;               // kvm events understood
  uint64_t unparsed_lines = 0;
  uint64_t first_unparsed_line = 0;  // 1-based
  std::string first_unparsed_text;
  uint64_t vcpu_from_entry = 0;      // kvm_exits given the vCPU of their thread's kvm_entry lines
  uint64_t joined_lines = 0;         // continuation lines of wrapped events, joined back
  std::map<std::string, uint64_t> other_events;  // well-formed lines of events not analysed
  bool pid_from_text = false;        // some line gave its thread group (perf -F pid/tid, ftrace tgid)
  bool pid_missing = false;          // some line gave only its thread
  std::string isa;                   // "VMX" / "SVM" from the kvm_exit reason names, else empty
  uint64_t unknown_reasons = 0;      // distinct reason names no kernel table has (counted by name)
  uint8_t time_digits = 9;           // fewest fraction digits of a timestamp seen
};

struct ReaderOptions {
  // Keep each event's payload as the text printed it (Event::text), for `script`.
  bool keep_text = false;
};

// Whether these first bytes of a file look like a text capture: one of the first lines that is
// not a header or comment is an event line of a known layout.
bool LooksLikeTextCapture(std::string_view head);

class Reader : public recording::RecordingSource {
 public:
  // A file, or a stream when the path is not a regular file (/dev/stdin, a FIFO, trace_pipe).
  static Result<std::unique_ptr<Reader>> Open(const std::string& path, ReaderOptions options = {});
  // A stream already open, `head` its bytes already read (format detection); `owned` is closed
  // when reading ends.
  static Result<std::unique_ptr<Reader>> OpenStream(int fd, std::string head, const std::string& name,
                                                    ReaderOptions options = {}, UniqueFd owned = {});
  static Result<std::unique_ptr<Reader>> FromText(std::string_view text, const std::string& name,
                                                  ReaderOptions options = {});
  ~Reader() override;

  const recording::SessionInfo& info() const override { return info_; }
  Result<recording::ReadStats> Run(recording::EventSink& sink) override;
  void SetProgress(std::function<void(uint64_t, uint64_t)>) override {}
  // Ordered: events sorted by time first (once); else in the text's own order, which is what
  // counting and script want.
  void SetOrdered(bool ordered) override { ordered_ = ordered; }

  const ParseSummary& summary() const { return summary_; }

 private:
  explicit Reader(ReaderOptions options);
  Result<void> Init(LineSource& lines, const std::string& name);
  Result<void> Finish(const std::string& name, uint64_t other_total);
  struct Kind;
  static Result<std::vector<Kind>> LayoutKinds(const trace::TracingData& td, const char* const* texts);

  ReaderOptions options_;
  PayloadContext ctx_;
  std::string text_arena_;         // kept payloads (options_.keep_text), one after another
  std::vector<uint64_t> text_at_;  // where each record's payload starts in the arena
  recording::SessionInfo info_;
  ParseSummary summary_;
  std::vector<Record> records_;
  std::vector<std::string> comms_;
  std::map<uint32_t, std::pair<uint32_t, uint32_t>> threads_;  // tid -> (pid, comm index)
  std::vector<Kind> kinds_;  // how each event kind is encoded (attr, fields)
  bool ordered_ = false, sorted_ = false;
};

}  // namespace exitprof::textcapture
