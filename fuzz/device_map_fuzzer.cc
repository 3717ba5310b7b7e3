// libFuzzer target: the device map's parsers on untrusted text. Every input goes to
//   ParseMtreeFlat (as `info mtree -f` text), and, when it is JSON, to ParsePciDevices (as a
//   query-pci answer) and DeviceMapsFromJson (as a FILE.devices.json side file, one VM or several);
// whatever parses is attributed at a few addresses and written back as a side file.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "qemu/device_map.h"

namespace {

void Exercise(const exitprof::qemu::DeviceMapHistory& h) {
  static const uint64_t kAddresses[] = {0, 0x10, 0xcf8, 0xc010, 0xffff, 0xfed00000, 0xe0007004, ~0ULL};
  for (uint64_t a : kAddresses) {
    (void)h.Attribute(a, true).Label();
    (void)h.Attribute(a, false).Label();
  }
  (void)exitprof::qemu::ToJson(h).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  exitprof::qemu::DeviceMapHistory h;
  if (auto views = exitprof::qemu::ParseMtreeFlat(text)) {
    exitprof::qemu::DeviceMap map;
    map.io = std::move(views->io);
    map.memory = std::move(views->memory);
    h.Add(std::move(map));
    Exercise(h);
  }
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  if (auto pci = exitprof::qemu::ParsePciDevices(j)) {
    exitprof::qemu::DeviceMap map;
    map.pci = std::move(*pci);
    h.Add(std::move(map));
    Exercise(h);
  }
  if (auto file = exitprof::qemu::DeviceMapsFromJson(j)) {
    for (const auto& one : *file) Exercise(one);
  }
  return 0;
}
