// kallsyms / System.map parsing, and report --kallsyms/--system-map on real recordings: every
// guest RIP inside the symbols' range gets a symbol, the one an independent scan finds.
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "symbols/kallsyms.h"
#include "test_support.h"

namespace exitprof::testing {
namespace {

using symbols::KernelSymbolMap;

TEST(KallsymsTest, ParsesModulesAliasesAndSizes) {
  const char* text =
      "ffffffff81000000 T _text\n"
      "ffffffff81000000 T startup_64\r\n"
      "ffffffff81000100 t helper\n"
      "ffffffff81000100 t helper_alias\n"
      "ffffffff81002000 D some_data\n"
      "ffffffff81000200 W weak_fn\n"
      "this line is not a symbol\n"
      "ffffffffc0001000 t kvm_fn\t[kvm]\n"
      "ffffffffc0001080 T kvm_fn2\t[kvm]\n";
  auto map = KernelSymbolMap::Parse(text, "test");
  ASSERT_TRUE(map) << map.error().message;
  EXPECT_EQ(map->size(), 8u);
  EXPECT_EQ(map->function_count(), 7u);
  EXPECT_EQ(map->skipped_lines(), 1u);
  EXPECT_EQ(*map->AddressOf("_text"), 0xffffffff81000000u);
  auto hit = map->Find(0xffffffff81000105);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->symbol->name, "helper");  // the first of two aliases, as perf shows it
  EXPECT_EQ(hit->offset, 5u);
  EXPECT_EQ(map->Find(0xffffffff81000010)->symbol->name, "_text");
  EXPECT_EQ(map->Find(0xffffffff81000fff)->symbol->name, "weak_fn");
  // The kernel image's last function ends with its page, not at the first module symbol.
  EXPECT_FALSE(map->Find(0xffffffff81001000));
  EXPECT_FALSE(map->Find(0xffffffff80000000));
  auto mod = map->Find(0xffffffffc0001090);
  ASSERT_TRUE(mod);
  EXPECT_EQ(mod->symbol->name, "kvm_fn2");
  EXPECT_EQ(mod->symbol->module, "kvm");
  EXPECT_EQ(mod->offset, 0x10u);
}

TEST(KallsymsTest, UnusableInputIsOneClearError) {
  auto zeros = KernelSymbolMap::Parse("0000000000000000 T _text\n0000000000000000 t foo\n", "kallsyms.txt");
  ASSERT_FALSE(zeros);
  EXPECT_NE(zeros.error().message.find("kptr_restrict"), std::string::npos) << zeros.error().message;
  auto garbage = KernelSymbolMap::Parse("\x7f" "ELF\x02\x01\x01 binary junk\n", "vmlinux");
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().message.find("vmlinux: line 1: expected 'ADDRESS TYPE NAME"), std::string::npos) << garbage.error().message;
  EXPECT_FALSE(KernelSymbolMap::Parse("", "empty"));
  EXPECT_FALSE(KernelSymbolMap::Parse("ffffffff81000000 D only_data\n", "data"));
}

// A real guest's /proc/kallsyms (a Xenomai 5.15 guest, embedded in the trace-cmd recording
// shared/realdata/trace-cmd/guest-4780888b.dat, extracted once with python's zlib).
TEST(KallsymsTest, RealGuestKallsyms) {
  std::string path = TempPath("salamander4.kallsyms");
  auto r = RunCommand("gzip -dc " + SourceDir() + "/tests/data/salamander4-guest.kallsyms.gz > " + path);
  ASSERT_EQ(r.status, 0) << r.err;
  auto map = KernelSymbolMap::Load(path);
  ASSERT_TRUE(map) << map.error().message;
  EXPECT_EQ(map->function_count(), 88936u);  // t 50635 + T 38120 + W 181
  EXPECT_EQ(map->skipped_lines(), 0u);
  EXPECT_EQ(*map->AddressOf("_text"), 0xffffffffa0000000u);
  // The answers shared/realdata/README.md gives for the host recording's top RIPs.
  for (auto [name, offset] : std::vector<std::pair<std::string, uint64_t>>{
           {"native_apic_mem_write", 0x8}, {"default_idle", 0xf}, {"iowrite16", 0x9}}) {
    auto hit = map->Find(*map->AddressOf(name) + offset);
    ASSERT_TRUE(hit) << name;
    EXPECT_EQ(hit->symbol->name, name);
    EXPECT_EQ(hit->offset, offset);
  }
  // Module symbols ("[rtnet]"...) are read too: the last one listed resolves to itself.
  size_t modules = 0;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) modules += line.find('[') != std::string::npos;
  EXPECT_EQ(modules, 650u);
  auto in_module = map->Find(0xffffffffc0152070ull);
  ASSERT_TRUE(in_module);
  EXPECT_EQ(in_module->symbol->name, "rtnet_corectl_register");
  EXPECT_EQ(in_module->symbol->module, "rtnet");
  EXPECT_EQ(in_module->offset, 0x10u);
  // Between the image's last symbol (_einittext) and the first module: nothing.
  EXPECT_FALSE(map->Find(0xffffffffb0000000ull));
  EXPECT_EQ(map->Find(0xffffffffa2c9b9f8ull)->symbol->name, "_einittext");
}

struct Symbol {
  uint64_t address;
  std::string name;
};

// Nearest function symbol at or below each address, by a plain linear scan.
std::vector<Symbol> ReadFunctions(const std::string& path, int64_t shift = 0) {
  std::vector<Symbol> out;
  std::ifstream in(path);
  std::string addr, type, name;
  while (in >> addr >> type >> name) {
    if (type == "t" || type == "T" || type == "w" || type == "W") out.push_back({std::stoull(addr, nullptr, 16) + shift, name});
    in.ignore(1 << 20, '\n');
  }
  return out;
}
std::string ScanFor(const std::vector<Symbol>& syms, uint64_t rip, uint64_t* offset) {
  const Symbol* best = nullptr;
  for (const auto& s : syms)
    if (s.address <= rip && (best == nullptr || s.address > best->address)) best = &s;
  if (best) *offset = rip - best->address;
  return best ? best->name : "";
}

void WriteShifted(const std::string& from, const std::string& to, int64_t shift) {
  std::ifstream in(from);
  std::ofstream out(to);
  std::string line;
  while (std::getline(in, line)) {
    uint64_t a = std::stoull(line.substr(0, 16), nullptr, 16) + static_cast<uint64_t>(shift);
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(a));
    out << buf << line.substr(16) << "\n";
  }
}

nlohmann::json ReportJson(const std::string& args) {
  auto r = RunCommand(Exitprof() + " report " + args + " --top 0 --format json");
  EXPECT_EQ(r.status, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

// tests/data/demo-guest.kallsyms: the functions of Debian's 6.1 kernel (System.map of
// linux-image-6.1.0-57-amd64) around the guest RIPs of data/demo-vmx.perf.data and the shared
// fixtures, plus module symbols; every kernel RIP there is inside its range.
TEST(ReportKallsymsTest, EveryRipInRangeResolves) {
  std::string kallsyms = SourceDir() + "/tests/data/demo-guest.kallsyms";
  auto syms = ReadFunctions(kallsyms);
  for (std::string input : {SourceDir() + "/data/demo-vmx.perf.data", SharedDir() + "/fixtures/small-vmx.data",
                            SharedDir() + "/fixtures/small-svm.data"}) {
    if (!FileExists(input)) continue;
    auto j = ReportJson("-i " + input + " --kallsyms " + kallsyms);
    EXPECT_NE(j["exits"]["guest_symbols"].get<std::string>().find("kallsyms"), std::string::npos);
    size_t in_range = 0, resolved = 0;
    for (const auto& row : j["exits"]["by_rip"]) {
      uint64_t rip = std::stoull(row["rip"].get<std::string>(), nullptr, 16);
      if (rip < 0xffffffff80000000ull) {
        EXPECT_FALSE(row.contains("symbol")) << row.dump();  // user-space RIPs stay unnamed
        continue;
      }
      ++in_range;
      if (!row.contains("symbol")) continue;
      ++resolved;
      uint64_t offset = 0;
      EXPECT_EQ(row["symbol"], ScanFor(syms, rip, &offset)) << row.dump();
      EXPECT_EQ(std::stoull(row["offset"].get<std::string>(), nullptr, 16), offset);
    }
    EXPECT_GT(in_range, 10u) << input;
    EXPECT_EQ(resolved, in_range) << input;
  }
  // The demo's two IO_INSTRUCTION RIPs.
  auto j = ReportJson("-i " + SourceDir() + "/data/demo-vmx.perf.data --kallsyms " + kallsyms);
  std::map<std::string, std::string> io;
  for (const auto& row : j["exits"]["by_rip"])
    if (row["reason"] == "IO_INSTRUCTION") io[row["rip"]] = row["symbol"].get<std::string>() + "+" + row["offset"].get<std::string>();
  EXPECT_EQ(io["0xffffffff8176a3b6"], "i2c_smbus_xfer_emulated+0x176");
  EXPECT_EQ(io["0xffffffff8172c5c8"], "alloc_dax+0xb8");
}

TEST(ReportKallsymsTest, BySymbolCountsEveryExit) {
  std::string kallsyms = SourceDir() + "/tests/data/demo-guest.kallsyms";
  auto j = ReportJson("-i " + SourceDir() + "/data/demo-vmx.perf.data --kallsyms " + kallsyms);
  std::map<std::string, uint64_t> by_reason, by_sym;
  for (const auto& r : j["exits"]["by_reason"]) by_reason[r["reason"]] = r["count"];
  for (const auto& r : j["exits"]["by_sym"]) by_sym[r["reason"]] += r["count"].get<uint64_t>();
  EXPECT_EQ(by_sym, by_reason);
  auto text = RunCommand(Exitprof() + " report -i " + SourceDir() + "/data/demo-vmx.perf.data --kallsyms " + kallsyms + " --by sym");
  EXPECT_NE(text.out.find("# Exits by guest function"), std::string::npos);
  EXPECT_NE(text.out.find("         380   51.56%       1  i2c_smbus_xfer_emulated\n"), std::string::npos) << text.out;
  auto csv = RunCommand(Exitprof() + " report -i " + SourceDir() + "/data/demo-vmx.perf.data --kallsyms " + kallsyms + " --by sym --format csv");
  EXPECT_NE(csv.out.find("IO_INSTRUCTION,i2c_smbus_xfer_emulated,,380,51.5604,1\n"), std::string::npos) << csv.out;
  auto no_symbols = RunCommand(Exitprof() + " report -i " + SourceDir() + "/data/demo-vmx.perf.data --by sym");
  EXPECT_EQ(no_symbols.status, 2);
  EXPECT_NE(no_symbols.err.find("--by sym needs guest symbols"), std::string::npos);
}

// A System.map holds link-time addresses; the guest ran 0x1e000000 higher (KASLR).
TEST(ReportKallsymsTest, KaslrOffsetFromKallsymsAndSystemMap) {
  std::string kallsyms = SourceDir() + "/tests/data/demo-guest.kallsyms";
  std::string system_map = TempPath("demo-guest.System.map");
  WriteShifted(kallsyms, system_map, -0x1e000000);
  std::string input = "-i " + SourceDir() + "/data/demo-vmx.perf.data";
  auto plain = ReportJson(input + " --kallsyms " + kallsyms);
  auto both = ReportJson(input + " --kallsyms " + kallsyms + " --system-map " + system_map);
  auto given = ReportJson(input + " --system-map " + system_map + " --kaslr-offset 0x1e000000");
  EXPECT_NE(both["exits"]["guest_symbols"].get<std::string>().find("KASLR offset 0x1e000000 (kallsyms _text - System.map _text)"),
            std::string::npos) << both["exits"]["guest_symbols"];
  EXPECT_NE(given["exits"]["guest_symbols"].get<std::string>().find("KASLR offset 0x1e000000 (given)"), std::string::npos);
  EXPECT_EQ(plain["exits"]["by_rip"], given["exits"]["by_rip"]);
  EXPECT_EQ(plain["exits"]["by_sym"], given["exits"]["by_sym"]);
  // Without the offset nothing lines up.
  auto unshifted = ReportJson(input + " --system-map " + system_map);
  for (const auto& row : unshifted["exits"]["by_rip"]) EXPECT_FALSE(row.contains("symbol")) << row.dump();

  auto bad = RunCommand(Exitprof() + " report " + input + " --system-map " + system_map + " --kaslr-offset 12zz");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("--kaslr-offset 12zz"), std::string::npos);
  auto not_elf = RunCommand(Exitprof() + " report " + input + " --vmlinux " + kallsyms);
  EXPECT_EQ(not_elf.status, 2);
  EXPECT_NE(not_elf.err.find("not an ELF file"), std::string::npos) << not_elf.err;
}

// Only kernel text is named. A wrong --kaslr-offset, or a kallsyms with a low entry (a
// trampoline copied below 1 MiB), must not name a user-space or real-mode RIP after a kernel
// function; the kernel RIPs still resolve where the symbols are right.
TEST(ReportKallsymsTest, RipsOutsideKernelTextAreNeverNamed) {
  const std::string kallsyms = SourceDir() + "/tests/data/demo-guest.kallsyms";
  const std::string input = "-i " + SourceDir() + "/data/demo-vmx.perf.data";
  auto low_rows_unnamed = [](const nlohmann::json& j) {
    size_t low = 0;
    for (const auto& row : j["exits"]["by_rip"]) {
      if (std::stoull(row["rip"].get<std::string>(), nullptr, 16) >= 0xffff800000000000ull) continue;
      ++low;
      EXPECT_FALSE(row.contains("symbol")) << row.dump();
    }
    EXPECT_GT(low, 0u);  // the demo has user RIPs (0x7f4c1e9b3c40, 0x55d0a4c1b1f4)
  };
  // A System.map and an offset that moves its first function onto the user RIP 0x7f4c1e9b3c40.
  const std::string system_map = TempPath("low.System.map");
  WriteShifted(kallsyms, system_map, 0);
  const uint64_t first = ReadFunctions(kallsyms).front().address;
  const std::string wrong = fmt::format("-{:#x}", first - 0x7f4c1e9b3c40ull);
  auto r = RunCommand(Exitprof() + " report " + input + " --system-map " + system_map + " --kaslr-offset " + wrong +
                      " --top 0 --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  low_rows_unnamed(j);
  EXPECT_NE(r.err.find("out of the kernel's half of the address space: the offset is wrong"), std::string::npos) << r.err;
  ASSERT_TRUE(j.contains("warnings"));
  // A kallsyms with a function at 0x1000 (nothing above it in the low half).
  const std::string with_low = TempPath("low.kallsyms");
  RunCommand("(echo '0000000000001000 t trampoline_start'; cat " + kallsyms + ") > " + with_low);
  auto plain = ReportJson(input + " --kallsyms " + kallsyms);
  auto low = ReportJson(input + " --kallsyms " + with_low);
  low_rows_unnamed(low);
  EXPECT_EQ(low["exits"]["by_rip"], plain["exits"]["by_rip"]);
  EXPECT_EQ(RunCommand(Exitprof() + " report " + input + " --kallsyms " + with_low).err, "");  // no offset to blame
}

// Two boots of one guest kernel: the same code at RIPs 0x1e000000 apart. With each boot's
// kallsyms, diff lines the RIP rows up by function+offset: nothing added, nothing gone.
TEST(DiffKallsymsTest, RipsOfTwoBootsMatchBySymbol) {
  const std::string kallsyms = SourceDir() + "/tests/data/demo-guest.kallsyms";
  const std::string moved = TempPath("boot2.kallsyms");
  WriteShifted(kallsyms, moved, 0x1e000000);
  const std::string a = TempPath("boot1.data"), b = TempPath("boot2.data");
  const std::string gen = BinaryDir() + "/exitprof-gen --formats " + FormatsDir() + " --exits 3000 --seed 3 -o ";
  ASSERT_EQ(RunCommand(gen + a).status, 0);
  ASSERT_EQ(RunCommand(gen + b + " --kaslr-offset 0x1e000000").status, 0);
  auto rip_rows = [](const nlohmann::json& d) {
    std::vector<nlohmann::json> rows;
    for (const auto& row : d["rows"])
      if (row["kind"] == "rip") rows.push_back(row);
    return rows;
  };
  // By address, every kernel RIP is new in B and gone from A.
  auto by_address = nlohmann::json::parse(RunCommand(Exitprof() + " diff " + a + " " + b + " --format json").out);
  size_t changed = 0;
  for (const auto& row : rip_rows(by_address)) changed += row["added"].get<bool>() || row["removed"].get<bool>();
  EXPECT_GT(changed, 10u);
  auto r = RunCommand(Exitprof() + " diff " + a + " " + b + " --kallsyms " + kallsyms + " --kallsyms " + moved + " --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  auto by_symbol = nlohmann::json::parse(r.out);
  auto rows = rip_rows(by_symbol);
  ASSERT_GT(rows.size(), 10u);
  for (const auto& row : rows) {
    EXPECT_FALSE(row["added"].get<bool>() || row["removed"].get<bool>()) << row.dump();
    EXPECT_EQ(row["a"], row["b"]) << row.dump();  // one seed: the same exits
  }
  bool named = false;
  for (const auto& row : rows) named |= row["key"] == "IO_INSTRUCTION i2c_smbus_xfer_emulated+0x176";
  EXPECT_TRUE(named);
  auto bad = RunCommand(Exitprof() + " diff " + a + " " + b + " --kallsyms x --kallsyms y --kallsyms z");
  EXPECT_EQ(bad.status, 2);
}

}  // namespace
}  // namespace exitprof::testing
