#include "perfdata/sample_parser.h"

#include <algorithm>
#include <bit>

#include "base/byte_reader.h"
#include "perfdata/abi.h"

namespace exitprof::perfdata {

namespace {

constexpr size_t kHeader = 8;

// Position (in u64 words) of the id within a sample body, as perf computes it.
int SampleIdPos(uint64_t st) {
  if (st & kSampleIdentifier) return 0;
  if (!(st & kSampleId)) return -1;
  int pos = 0;
  if (st & kSampleIp) ++pos;
  if (st & kSampleTid) ++pos;
  if (st & kSampleTime) ++pos;
  if (st & kSampleAddr) ++pos;
  return pos;
}

// Position of the id counted back from the end of a non-sample record's trailer.
int TrailerIdPos(uint64_t st) {
  if (st & kSampleIdentifier) return 1;
  if (!(st & kSampleId)) return -1;
  int pos = 1;
  if (st & kSampleCpu) ++pos;
  if (st & kSampleStreamId) ++pos;
  return pos;
}

size_t TrailerSize(uint64_t st) {
  size_t n = 0;
  for (uint64_t bit : {kSampleTid, kSampleTime, kSampleId, kSampleStreamId, kSampleCpu,
                       kSampleIdentifier}) {
    if (st & bit) n += 8;
  }
  return n;
}

}  // namespace

uint64_t Event::callchain_at(size_t i) const { return LoadLE<uint64_t>(callchain.data() + i * 8); }

void SampleParser::SetAttrs(const std::vector<EventAttr>& attrs) {
  attrs_ = &attrs;
  id_to_attr_.clear();
  all_same_layout_ = true;
  for (size_t i = 0; i < attrs.size(); ++i) {
    for (uint64_t id : attrs[i].ids) id_to_attr_.emplace_back(id, static_cast<int>(i));
    if (attrs[i].sample_type != attrs[0].sample_type) all_same_layout_ = false;
  }
  std::sort(id_to_attr_.begin(), id_to_attr_.end());
  layouts_.clear();
  for (const auto& attr : attrs) {
    Layout l;
    const uint64_t st = attr.sample_type;
    int8_t w = 0;
    if (st & kSampleIdentifier) l.id = w++;
    if (st & kSampleIp) l.ip = w++;
    if (st & kSampleTid) l.tid = w++;
    if (st & kSampleTime) l.time = w++;
    if (st & kSampleAddr) l.addr = w++;
    if (st & kSampleId) l.id = w++;
    if (st & kSampleStreamId) l.stream = w++;
    if (st & kSampleCpu) l.cpu = w++;
    if (st & kSamplePeriod) l.period = w++;
    l.fixed_end = kHeader + 8u * static_cast<uint32_t>(w);
    l.raw_next = (st & kSampleRaw) && !(st & (kSampleRead | kSampleCallchain));
    layouts_.push_back(l);
  }
  for (auto& slot : cache_) slot = CachedId{};
  sample_id_pos_ = attrs.empty() ? -1 : SampleIdPos(attrs[0].sample_type);
  other_id_pos_ = attrs.empty() ? -1 : TrailerIdPos(attrs[0].sample_type);
}

int SampleParser::IndexOfId(uint64_t id) const {
  CachedId& slot = cache_[(id ^ (id >> 8)) & 255];
  if (slot.id == id) return slot.index;
  auto it = std::lower_bound(id_to_attr_.begin(), id_to_attr_.end(), std::make_pair(id, -1));
  if (it == id_to_attr_.end() || it->first != id) return -1;
  slot = {id, it->second};
  return it->second;
}

int SampleParser::AttrIndexForSample(std::span<const uint8_t> record) const {
  if (!attrs_ || attrs_->empty()) return -1;
  if (attrs_->size() == 1 || sample_id_pos_ < 0) return all_same_layout_ ? 0 : -1;
  size_t off = kHeader + static_cast<size_t>(sample_id_pos_) * 8;
  if (record.size() < off + 8) return -1;
  return IndexOfId(LoadLE<uint64_t>(record.data() + off));
}

int SampleParser::AttrIndexForOther(std::span<const uint8_t> record) const {
  if (!attrs_ || attrs_->empty()) return -1;
  if (attrs_->size() == 1 || other_id_pos_ < 0) return all_same_layout_ ? 0 : -1;
  size_t back = static_cast<size_t>(other_id_pos_) * 8;
  if (record.size() < kHeader + back) return -1;
  return IndexOfId(LoadLE<uint64_t>(record.data() + record.size() - back));
}

bool SampleParser::Time(std::span<const uint8_t> record, uint64_t& time) const {
  uint32_t type = LoadLE<uint32_t>(record.data());
  if (type == kRecordSample) {
    int index = AttrIndexForSample(record);
    if (index < 0) return false;
    uint64_t st = (*attrs_)[index].sample_type;
    if (!(st & kSampleTime)) return false;
    size_t off = kHeader;
    if (st & kSampleIdentifier) off += 8;
    if (st & kSampleIp) off += 8;
    if (st & kSampleTid) off += 8;
    if (record.size() < off + 8) return false;
    time = LoadLE<uint64_t>(record.data() + off);
    return true;
  }
  if (type >= kRecordKernelMax) return false;
  int index = AttrIndexForOther(record);
  if (index < 0) return false;
  const EventAttr& attr = (*attrs_)[index];
  if (!attr.sample_id_all() || !(attr.sample_type & kSampleTime)) return false;
  size_t size = TrailerSize(attr.sample_type);
  if (record.size() < kHeader + size) return false;
  size_t off = record.size() - size;
  if (attr.sample_type & kSampleTid) off += 8;
  time = LoadLE<uint64_t>(record.data() + off);
  return true;
}

bool SampleParser::ParseTrailer(std::span<const uint8_t> record, Event& e) const {
  int index = AttrIndexForOther(record);
  if (index < 0) return true;  // no trailer we can interpret: not damage
  const EventAttr& attr = (*attrs_)[index];
  if (!attr.sample_id_all()) return true;
  uint64_t st = attr.sample_type;
  size_t size = TrailerSize(st);
  if (record.size() < kHeader + size) return false;
  ByteReader r(record.subspan(record.size() - size));
  e.attr_index = index;
  if (st & kSampleTid) {
    e.pid = r.Read<uint32_t>();
    e.tid = r.Read<uint32_t>();
  }
  if (st & kSampleTime) {
    e.time = r.Read<uint64_t>();
    e.has_time = true;
  }
  if (st & kSampleId) e.id = r.Read<uint64_t>();
  if (st & kSampleStreamId) e.stream_id = r.Read<uint64_t>();
  if (st & kSampleCpu) {
    e.cpu = r.Read<uint32_t>();
    r.Read<uint32_t>();
  }
  if (st & kSampleIdentifier) e.id = r.Read<uint64_t>();
  return r.ok();
}

bool SampleParser::PidAndTime(int index, std::span<const uint8_t> record, uint32_t& pid, uint64_t& time) const {
  const Layout& l = layouts_[static_cast<size_t>(index)];
  if (record.size() < l.fixed_end) return false;
  const uint8_t* p = record.data() + kHeader;
  pid = l.tid >= 0 ? LoadLE<uint32_t>(p + 8 * l.tid) : 0;
  time = l.time >= 0 ? LoadLE<uint64_t>(p + 8 * l.time) : 0;
  return true;
}

bool SampleParser::ParseSample(std::span<const uint8_t> record, Event& e) const {
  int index = AttrIndexForSample(record);
  if (index < 0) return false;
  return ParseSampleAs(index, record, e);
}

bool SampleParser::ParseSampleAs(int index, std::span<const uint8_t> record, Event& e) const {
  const EventAttr& attr = (*attrs_)[index];
  const uint64_t st = attr.sample_type;
  e.attr_index = index;
  const Layout& l = layouts_[static_cast<size_t>(index)];
  if (record.size() < l.fixed_end) return false;
  const uint8_t* p = record.data() + kHeader;
  if (l.id >= 0) e.id = LoadLE<uint64_t>(p + 8 * l.id);
  if (l.ip >= 0) e.ip = LoadLE<uint64_t>(p + 8 * l.ip);
  if (l.tid >= 0) {
    e.pid = LoadLE<uint32_t>(p + 8 * l.tid);
    e.tid = LoadLE<uint32_t>(p + 8 * l.tid + 4);
  }
  if (l.time >= 0) {
    e.time = LoadLE<uint64_t>(p + 8 * l.time);
    e.has_time = true;
  }
  if (l.addr >= 0) e.addr = LoadLE<uint64_t>(p + 8 * l.addr);
  if (l.stream >= 0) e.stream_id = LoadLE<uint64_t>(p + 8 * l.stream);
  if (l.cpu >= 0) e.cpu = LoadLE<uint32_t>(p + 8 * l.cpu);
  if (l.period >= 0) e.period = LoadLE<uint64_t>(p + 8 * l.period);
  if (l.raw_next && !(st & ~(kSampleKnownMask & ((kSampleRaw << 1) - 1)))) {
    // The hot case: RAW right after the fixed fields, nothing after it.
    if (record.size() < l.fixed_end + 4) return false;
    const uint32_t size = LoadLE<uint32_t>(record.data() + l.fixed_end);
    if (size > record.size() - l.fixed_end - 4) return false;
    e.raw = record.subspan(l.fixed_end + 4, size);
    return true;
  }
  ByteReader r(record.subspan(l.fixed_end));
  if (st & kSampleRead) {
    const uint64_t rf = attr.read_format;
    size_t per_value = 8 + ((rf & kReadId) ? 8 : 0) + ((rf & kReadLost) ? 8 : 0);
    size_t times = ((rf & kReadTotalTimeEnabled) ? 8 : 0) + ((rf & kReadTotalTimeRunning) ? 8 : 0);
    if (rf & kReadGroup) {
      uint64_t nr = r.Read<uint64_t>();
      if (nr > r.remaining() / per_value) return false;
      r.Skip(times + nr * per_value);
    } else {
      r.Skip(per_value + times);
    }
  }
  if (st & kSampleCallchain) {
    uint64_t nr = r.Read<uint64_t>();
    if (nr > r.remaining() / 8) return false;
    e.callchain = r.ReadBytes(nr * 8);
  }
  if (st & kSampleRaw) {
    uint32_t size = r.Read<uint32_t>();
    e.raw = r.ReadBytes(size);
  }
  if (st & kSampleBranchStack) {
    uint64_t nr = r.Read<uint64_t>();
    if (attr.branch_sample_type & kBranchSampleHwIndex) r.Skip(8);
    if (nr > r.remaining() / 24) return false;
    r.Skip(nr * 24);
  }
  if (st & kSampleRegsUser) {
    e.regs_abi = r.Read<uint64_t>();
    if (e.regs_abi) e.regs_user = r.ReadBytes(8 * static_cast<size_t>(std::popcount(attr.sample_regs_user)));
  }
  if (st & kSampleStackUser) {
    uint64_t size = r.Read<uint64_t>();
    if (size > r.remaining()) return false;
    auto stack = r.ReadBytes(size);
    if (size) {
      // dyn_size: how much of the dump the kernel really filled (the rest is zero padding).
      uint64_t dyn = r.Read<uint64_t>();
      e.stack_user = stack.subspan(0, std::min<uint64_t>(dyn, size));
    }
  }
  // Fields after these are not needed by any analysis; their absence is not damage.
  return r.ok();
}

}  // namespace exitprof::perfdata
