// The KVM objects behind one guest: the /dev/kvm system fd, a VM with one RAM memslot holding the
// code, and its vCPUs (fd, mmap'ed struct kvm_run, reset to real mode at 0000:1000). Binary stats
// fds (KVM_GET_STATS_FD) are opened when the kernel offers them and held for the VM's lifetime,
// as a modern VMM does, so other tools can find them in /proc/PID/fd.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "guest/guest.h"
#include "base/unique_fd.h"
#include "base/unique_mapping.h"

namespace exitprof::guest {

class Kvm {
 public:
  static Result<Kvm> Open();

  int Fd() const { return fd_.get(); }
  size_t RunMmapSize() const { return run_mmap_size_; }
  bool HasStatsFd() const { return has_stats_fd_; }

 private:
  UniqueFd fd_;
  size_t run_mmap_size_ = 0;
  bool has_stats_fd_ = false;
};

class Vcpu {
 public:
  int Fd() const { return fd_.get(); }
  kvm_run* Run() const { return static_cast<kvm_run*>(run_.get()); }
  bool HasStatsFd() const { return stats_.valid(); }
  // The scalar statistics of the stats fd (empty without one); see ReadScalarStats.
  std::map<std::string, uint64_t> ReadStats() const;

 private:
  friend class Vm;
  UniqueFd fd_;
  UniqueMapping run_;
  UniqueFd stats_;
};

class Vm {
 public:
  // A VM with kRamSize bytes of RAM at gpa 0, `code` at kCodeGpa, and `vcpus` vCPUs ready to run.
  static Result<Vm> Create(const Kvm& kvm, const std::vector<uint8_t>& code, int vcpus);

  std::vector<Vcpu>& Vcpus() { return vcpus_; }
  bool HasStatsFd() const { return stats_.valid(); }
  std::map<std::string, uint64_t> ReadStats() const;

 private:
  // Declaration order is teardown order reversed: vCPUs close first, the RAM is unmapped last.
  UniqueMapping ram_;
  UniqueFd fd_;
  UniqueFd stats_;
  std::vector<Vcpu> vcpus_;
};

// Every single-valued statistic of a KVM binary stats fd, name -> value (histograms left out).
// The VMM's own reading, written apart from exitprof's reader so tests compare two readers.
std::map<std::string, uint64_t> ReadScalarStats(int stats_fd);

}  // namespace exitprof::guest
