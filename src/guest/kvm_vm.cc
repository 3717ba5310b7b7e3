#include "guest/kvm_vm.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include "guest/codegen.h"

namespace exitprof::guest {
namespace {

tl::unexpected<Error> Errno(std::string_view what) {
  return Fail(fmt::format("{}: {}", what, std::error_code(errno, std::generic_category()).message()), 1);
}

// Stats fds are optional: a kernel without them (before 5.14) still runs the guest.
UniqueFd OpenStatsFd(int fd, bool supported) {
  if (!supported) return UniqueFd();
  return UniqueFd(::ioctl(fd, KVM_GET_STATS_FD, 0));
}

void ResetSegment(kvm_segment& segment) {
  segment.base = 0;
  segment.selector = 0;
}

Result<void> ResetToRealMode(int vcpu_fd) {
  kvm_sregs sregs{};
  if (::ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0) return Errno("KVM_GET_SREGS");
  for (kvm_segment* s : {&sregs.cs, &sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss}) ResetSegment(*s);
  if (::ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0) return Errno("KVM_SET_SREGS");

  kvm_regs regs{};
  regs.rip = kCodeGpa;
  regs.rflags = 0x2;  // bit 1 is reserved-set; IF=0 so nothing interrupts the script
  if (::ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0) return Errno("KVM_SET_REGS");
  return {};
}

}  // namespace

Result<Kvm> Kvm::Open() {
  Kvm kvm;
  kvm.fd_ = UniqueFd(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!kvm.fd_.valid()) {
    int error = errno;
    Error failure = Errno("open /dev/kvm").value();
    if (error == ENOENT) failure.message += " (is the kvm_intel or kvm_amd module loaded?)";
    if (error == EACCES || error == EPERM) failure.message += " (run as root or join the 'kvm' group)";
    return tl::unexpected(failure);
  }
  int version = ::ioctl(kvm.Fd(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    return Fail(fmt::format("/dev/kvm API version {}; expected {}", version, KVM_API_VERSION));
  }
  int mmap_size = ::ioctl(kvm.Fd(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (mmap_size < static_cast<int>(sizeof(kvm_run))) return Errno("KVM_GET_VCPU_MMAP_SIZE");
  kvm.run_mmap_size_ = static_cast<size_t>(mmap_size);
  kvm.has_stats_fd_ = ::ioctl(kvm.Fd(), KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD) > 0;
  return kvm;
}

Result<Vm> Vm::Create(const Kvm& kvm, const std::vector<uint8_t>& code, int vcpus) {
  if (code.size() > kRamSize - kCodeGpa) {
    return Fail(fmt::format("guest code is {} bytes; at most {} fit", code.size(), kRamSize - kCodeGpa));
  }
  Vm vm;
  vm.fd_ = UniqueFd(::ioctl(kvm.Fd(), KVM_CREATE_VM, 0));
  if (!vm.fd_.valid()) return Errno("KVM_CREATE_VM");
  vm.stats_ = OpenStatsFd(vm.fd_.get(), kvm.HasStatsFd());

  void* ram = ::mmap(nullptr, kRamSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (ram == MAP_FAILED) return Errno("mmap guest RAM");
  vm.ram_ = UniqueMapping(ram, kRamSize);
  std::memcpy(static_cast<uint8_t*>(ram) + kCodeGpa, code.data(), code.size());

  kvm_userspace_memory_region region{};
  region.slot = 0;
  region.guest_phys_addr = 0;
  region.memory_size = kRamSize;
  region.userspace_addr = reinterpret_cast<uint64_t>(ram);
  if (::ioctl(vm.fd_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0) return Errno("KVM_SET_USER_MEMORY_REGION");

  for (int i = 0; i < vcpus; ++i) {
    Vcpu vcpu;
    vcpu.fd_ = UniqueFd(::ioctl(vm.fd_.get(), KVM_CREATE_VCPU, i));
    if (!vcpu.fd_.valid()) return Errno(fmt::format("KVM_CREATE_VCPU {}", i));
    void* run = ::mmap(nullptr, kvm.RunMmapSize(), PROT_READ | PROT_WRITE, MAP_SHARED, vcpu.fd_.get(), 0);
    if (run == MAP_FAILED) return Errno(fmt::format("mmap kvm_run of vCPU {}", i));
    vcpu.run_ = UniqueMapping(run, kvm.RunMmapSize());
    vcpu.stats_ = OpenStatsFd(vcpu.fd_.get(), kvm.HasStatsFd());
    auto reset = ResetToRealMode(vcpu.fd_.get());
    if (!reset) {
      return Fail(fmt::format("vCPU {}: {}", i, reset.error().message));
    }
    vm.vcpus_.push_back(std::move(vcpu));
  }
  return vm;
}

}  // namespace exitprof::guest


namespace exitprof::guest {

std::map<std::string, uint64_t> ReadScalarStats(int stats_fd) {
  std::map<std::string, uint64_t> out;
  if (stats_fd < 0) return out;
  kvm_stats_header header{};
  if (::pread(stats_fd, &header, sizeof header, 0) != static_cast<ssize_t>(sizeof header)) return out;
  // The fixed part of a descriptor is 16 bytes (flags, exponent, size, offset, bucket_size); some
  // uapi headers declare a trailing array that makes sizeof(kvm_stats_desc) larger.
  constexpr size_t kFixed = 16;
  const size_t desc_size = kFixed + header.name_size;
  std::vector<uint8_t> descs(desc_size * header.num_desc);
  if (::pread(stats_fd, descs.data(), descs.size(), header.desc_offset) != static_cast<ssize_t>(descs.size())) return out;
  for (uint32_t i = 0; i < header.num_desc; ++i) {
    const uint8_t* at = descs.data() + i * desc_size;
    uint16_t size = 0;
    uint32_t offset = 0;
    std::memcpy(&size, at + 6, sizeof size);
    std::memcpy(&offset, at + 8, sizeof offset);
    if (size != 1) continue;
    const char* name = reinterpret_cast<const char*>(at + kFixed);
    uint64_t value = 0;
    if (::pread(stats_fd, &value, sizeof value, header.data_offset + offset) != sizeof value) continue;
    out[std::string(name, strnlen(name, header.name_size))] = value;
  }
  return out;
}

std::map<std::string, uint64_t> Vcpu::ReadStats() const { return ReadScalarStats(stats_.get()); }
std::map<std::string, uint64_t> Vm::ReadStats() const { return ReadScalarStats(stats_.get()); }

}  // namespace exitprof::guest
