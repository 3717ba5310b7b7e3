// Finds a compile unit's function DIEs by reading .debug_info and .debug_abbrev directly:
// only the unit's top level (and namespaces, classes) is read, other DIEs are stepped over
// by DW_AT_sibling or by their forms' sizes. libdw's general DIE walk costs several times
// more per DIE, and a kernel unit has thousands of top-level type DIEs before its functions.
// Every read is bounds-checked; a unit it cannot read is left to libdw.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

typedef struct Dwarf Dwarf;

namespace exitprof::symbols {

// A debug section's bytes as libdw holds them (inflated), empty when absent or compressed.
std::span<const uint8_t> DebugSection(Dwarf* dwarf, const char* name);

class DieScanner {
 public:
  // Null when the sections are not there as plain bytes (e.g. still compressed).
  static std::unique_ptr<DieScanner> Create(Dwarf* dwarf);

  struct FunctionRange {
    uint64_t low = 0, high = 0;
    uint64_t die = 0;  // .debug_info offset
  };
  // The DW_TAG_subprogram DIEs with code in the unit whose header is at `unit_offset`: those
  // with DW_AT_low_pc/DW_AT_high_pc as plain values go to `ranges`, the others (DW_AT_ranges,
  // indexed addresses) to `other_dies` for libdw to read. False: not readable here.
  bool FunctionDies(uint64_t unit_offset, std::vector<FunctionRange>& ranges, std::vector<uint64_t>& other_dies);

 private:
  struct AttrSpec {
    uint32_t name = 0, form = 0;
  };
  struct Abbrev {
    uint32_t tag = 0;
    bool children = false;
    bool has_code = false;  // DW_AT_low_pc or DW_AT_ranges
    uint32_t first_attr = 0, attr_count = 0;  // in AbbrevTable::specs
    // When every form has a fixed size (most type DIEs): the DIE's size, and where its
    // DW_AT_sibling reference is (-1: none) and how wide it is. Lets a DIE be stepped over
    // in one move instead of attribute by attribute.
    int fixed_size = -1;
    int sibling_at = -1;
    int sibling_size = 0;
  };
  struct AbbrevTable {
    unsigned offset_size = 4, address_size = 8, version = 0;  // the unit shape sizes assume
    std::vector<Abbrev> codes;  // by code; code 0 unused
    std::vector<AttrSpec> specs;
  };

  const AbbrevTable* Abbrevs(uint64_t offset, unsigned offset_size, unsigned address_size, unsigned version);

  std::span<const uint8_t> info_, abbrev_;
  // One table, refilled per unit: a kernel's units each have their own, used once, and
  // keeping them all would cost more memory (and page faults) than reading them again.
  AbbrevTable table_;
  uint64_t table_offset_ = UINT64_MAX;
};

}  // namespace exitprof::symbols
