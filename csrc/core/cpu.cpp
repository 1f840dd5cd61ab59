#include "core/cpu.hpp"

#include <cctype>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#define DK_X86 1
#if defined(_MSC_VER)
#include <intrin.h>
#include <immintrin.h>
#else
#include <cpuid.h>
#endif
#endif

namespace divkern {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Baseline: return "baseline";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "unknown";
}

bool parse_isa(const std::string& name, Isa* out) {
  std::string s;
  for (char c : name) s += (char)std::tolower((unsigned char)c);
  for (int i = 0; i < kNumIsa; ++i) {
    if (s == isa_name((Isa)i)) {
      *out = (Isa)i;
      return true;
    }
  }
  return false;
}

#if defined(DK_X86)
namespace {

void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
#if defined(_MSC_VER)
  int regs[4];
  __cpuidex(regs, (int)leaf, (int)sub);
  for (int i = 0; i < 4; ++i) r[i] = (unsigned)regs[i];
#else
  __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
#endif
}

unsigned long long xgetbv0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((unsigned long long)edx << 32) | eax;
#endif
}

struct Features {
  bool avx2 = false, avx512 = false;
  Features() {
    unsigned r[4];
    cpuid(0, 0, r);
    unsigned max_leaf = r[0];
    if (max_leaf < 7) return;
    cpuid(1, 0, r);
    const unsigned ecx1 = r[2];
    const bool osxsave = ecx1 & (1u << 27), avx = ecx1 & (1u << 28), fma = ecx1 & (1u << 12),
               f16c = ecx1 & (1u << 29), movbe = ecx1 & (1u << 22);
    if (!osxsave || !avx) return;
    const unsigned long long xcr0 = xgetbv0();
    const bool ymm_state = (xcr0 & 0x6) == 0x6;
    const bool zmm_state = (xcr0 & 0xE6) == 0xE6;
    cpuid(7, 0, r);
    const unsigned ebx7 = r[1];
    const bool avx2_ = ebx7 & (1u << 5), bmi1 = ebx7 & (1u << 3), bmi2 = ebx7 & (1u << 8);
    const bool f = ebx7 & (1u << 16), dq = ebx7 & (1u << 17), cd = ebx7 & (1u << 28),
               bw = ebx7 & (1u << 30), vl = ebx7 & (1u << 31);
    cpuid(0x80000001u, 0, r);
    const bool lzcnt = r[2] & (1u << 5);
    avx2 = ymm_state && avx2_ && fma && f16c && bmi1 && bmi2 && lzcnt && movbe;
    avx512 = avx2 && zmm_state && f && dq && cd && bw && vl;
  }
};

const Features& features() {
  static const Features f;
  return f;
}

}  // namespace

bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::Baseline: return true;
    case Isa::Avx2: return features().avx2;
    case Isa::Avx512: return features().avx512;
  }
  return false;
}

std::string cpu_brand() {
  unsigned r[4];
  cpuid(0x80000000u, 0, r);
  if (r[0] < 0x80000004u) return "x86-64";
  char brand[49] = {0};
  for (unsigned i = 0; i < 3; ++i) {
    cpuid(0x80000002u + i, 0, r);
    std::memcpy(brand + 16 * i, r, 16);
  }
  std::string s(brand);
  size_t a = s.find_first_not_of(' '), b = s.find_last_not_of(' ');
  return a == std::string::npos ? "x86-64" : s.substr(a, b - a + 1);
}

#else  // not x86: only the compiler's default level exists

bool cpu_supports(Isa isa) { return isa == Isa::Baseline; }

std::string cpu_brand() {
#if defined(__aarch64__) || defined(_M_ARM64)
  return "aarch64";
#else
  return "unknown";
#endif
}

#endif

}  // namespace divkern
