// One compile unit's DWARF line table (versions 2 to 5), decoded straight from .debug_line
// into compact rows, and looked up the way GNU addr2line (bfd) looks it up: the sequence
// holding the address, then its last row at or below the address. File names are composed
// as bfd composes them (a relative name goes below DW_AT_comp_dir, even a relative one), and
// in DWARF 5 a row before the sequence's first DW_LNS_set_file names file 0, as bfd's
// initial file register does. All reads are bounds-checked; a table it cannot decode is
// reported as such and the caller uses libdw instead.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace exitprof::symbols {

struct LineSections {
  std::span<const uint8_t> line, line_str, str;
};

class LineTable {
 public:
  // 16 bytes: a kernel has millions of rows. A table whose file index or discriminator does
  // not fit is left to libdw.
  struct Row {
    uint64_t address = 0;
    uint32_t line = 0;
    uint16_t file = 0;  // index into files(), already as bfd names it
    uint16_t discriminator = 0;
  };
  struct Sequence {
    uint64_t low = 0, high = 0;  // [first row, end_sequence)
    uint32_t first = 0, count = 0;  // rows
  };

  // Null when the table at `offset` cannot be decoded here.
  static std::optional<LineTable> Decode(const LineSections& sections, uint64_t offset, unsigned address_size,
                                         const char* comp_dir);

  const Row* Find(uint64_t address) const;
  // Full name of file `index` (bfd's composition), "" when out of range.
  const std::string& File(uint64_t index) const;
  unsigned version() const { return version_; }

 private:
  unsigned version_ = 0;
  std::vector<Row> rows_;
  std::vector<Sequence> sequences_;  // sorted by low
  // Names point into the debug sections (libelf keeps them); the full name of a file is
  // composed the first time it is asked for: most files of a unit never are.
  struct RawFile {
    const char* name = nullptr;
    uint64_t dir = 0;
  };
  std::vector<RawFile> raw_files_;
  std::vector<const char*> dirs_;
  const char* comp_dir_ = nullptr;
  mutable std::vector<std::optional<std::string>> files_;
};

}  // namespace exitprof::symbols
