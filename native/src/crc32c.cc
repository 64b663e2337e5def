#include "crc32c.h"

#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>
#endif

namespace x2 {
namespace {

uint32_t table[256];

bool InitTable() {
  for (uint32_t n = 0; n < 256; n++) {
    uint32_t c = n;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    table[n] = c;
  }
  return true;
}

bool HasSse42() {
#if defined(__x86_64__)
  unsigned int eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  return (ecx & bit_SSE4_2) != 0;
#else
  return false;
#endif
}

const bool table_ready = InitTable();
const bool hardware = HasSse42();

uint32_t Software(uint32_t c, const uint8_t* p, size_t n) {
  while (n--) c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
  return c;
}

#if defined(__x86_64__)
// The crc32 instruction has a latency of 3 cycles and a throughput of 1 per cycle, so one chain of
// them runs at a third of the speed three independent chains do. Hardware() runs three chains over
// three adjacent blocks and joins them: CRC(A || B) = shift(CRC(A), |B|) ^ CRC(B), with shift the
// linear operator "append |B| zero bytes", kept as four byte-indexed tables per block size
// (Mark Adler's method, crc32c.c, zlib licence; written again here from its description).
constexpr size_t kLongBytes = 8192;
constexpr size_t kShortBytes = 256;
uint32_t zerosLong[4][256];
uint32_t zerosShort[4][256];

uint32_t MatrixTimes(const uint32_t* matrix, uint32_t vector) {
  uint32_t sum = 0;
  for (; vector != 0; vector >>= 1, matrix++) {
    if (vector & 1) sum ^= *matrix;
  }
  return sum;
}

void MatrixSquare(uint32_t* square, const uint32_t* matrix) {
  for (int n = 0; n < 32; n++) square[n] = MatrixTimes(matrix, matrix[n]);
}

// The operator that appends `bytes` zero bytes (a power of two) to a CRC register.
void ZerosOperator(uint32_t* even, size_t bytes) {
  uint32_t odd[32];
  odd[0] = 0x82f63b78u;  // one zero bit
  for (int n = 1; n < 32; n++) odd[n] = 1u << (n - 1);
  MatrixSquare(even, odd);  // two zero bits
  MatrixSquare(odd, even);  // four zero bits
  for (;;) {
    MatrixSquare(even, odd);  // 8, 32, 128, ... zero bits
    bytes >>= 1;
    if (bytes == 0) return;
    MatrixSquare(odd, even);  // 16, 64, 256, ... zero bits
    bytes >>= 1;
    if (bytes == 0) break;
  }
  std::memcpy(even, odd, sizeof odd);
}

bool InitZeros(uint32_t zeros[4][256], size_t bytes) {
  uint32_t op[32];
  ZerosOperator(op, bytes);
  for (uint32_t n = 0; n < 256; n++) {
    for (int k = 0; k < 4; k++) zeros[k][n] = MatrixTimes(op, n << (8 * k));
  }
  return true;
}

const bool zeros_ready = InitZeros(zerosLong, kLongBytes) && InitZeros(zerosShort, kShortBytes);

inline uint32_t Shift(const uint32_t zeros[4][256], uint32_t crc) {
  return zeros[0][crc & 0xff] ^ zeros[1][(crc >> 8) & 0xff] ^ zeros[2][(crc >> 16) & 0xff] ^ zeros[3][crc >> 24];
}

inline uint64_t Load64(const uint8_t* p) {
  uint64_t word;
  std::memcpy(&word, p, 8);
  return word;
}

// Three chains over blocks of `block` bytes while 3 blocks remain; returns the bytes consumed.
__attribute__((target("sse4.2"))) inline size_t ThreeChains(uint64_t* crc, const uint8_t* p, size_t n,
                                                             size_t block, const uint32_t zeros[4][256]) {
  size_t done = 0;
  while (n - done >= 3 * block) {
    uint64_t c0 = *crc, c1 = 0, c2 = 0;
    const uint8_t* q = p + done;
    for (size_t i = 0; i < block; i += 8) {
      c0 = _mm_crc32_u64(c0, Load64(q + i));
      c1 = _mm_crc32_u64(c1, Load64(q + block + i));
      c2 = _mm_crc32_u64(c2, Load64(q + 2 * block + i));
    }
    c0 = Shift(zeros, static_cast<uint32_t>(c0)) ^ c1;
    *crc = Shift(zeros, static_cast<uint32_t>(c0)) ^ c2;
    done += 3 * block;
  }
  return done;
}

// ThreeChains that also stores each word it reads at the same place in `d`: the copy costs little
// more than the CRC, where a separate memcpy reads the source a second time.
__attribute__((target("sse4.2"))) inline size_t ThreeChainsCopy(uint64_t* crc, const uint8_t* p, uint8_t* d,
                                                                 size_t n, size_t block,
                                                                 const uint32_t zeros[4][256]) {
  size_t done = 0;
  while (n - done >= 3 * block) {
    uint64_t c0 = *crc, c1 = 0, c2 = 0;
    const uint8_t* q = p + done;
    uint8_t* e = d + done;
    for (size_t i = 0; i < block; i += 8) {
      uint64_t w0 = Load64(q + i), w1 = Load64(q + block + i), w2 = Load64(q + 2 * block + i);
      c0 = _mm_crc32_u64(c0, w0);
      c1 = _mm_crc32_u64(c1, w1);
      c2 = _mm_crc32_u64(c2, w2);
      std::memcpy(e + i, &w0, 8);
      std::memcpy(e + block + i, &w1, 8);
      std::memcpy(e + 2 * block + i, &w2, 8);
    }
    c0 = Shift(zeros, static_cast<uint32_t>(c0)) ^ c1;
    *crc = Shift(zeros, static_cast<uint32_t>(c0)) ^ c2;
    done += 3 * block;
  }
  return done;
}

__attribute__((target("sse4.2"))) uint32_t HardwareCopy(uint32_t c, const uint8_t* p, uint8_t* d, size_t n) {
  uint64_t c64 = c;
  size_t done = ThreeChainsCopy(&c64, p, d, n, kLongBytes, zerosLong);
  done += ThreeChainsCopy(&c64, p + done, d + done, n - done, kShortBytes, zerosShort);
  p += done;
  d += done;
  n -= done;
  while (n >= 8) {
    uint64_t word = Load64(p);
    c64 = _mm_crc32_u64(c64, word);
    std::memcpy(d, &word, 8);
    p += 8;
    d += 8;
    n -= 8;
  }
  c = static_cast<uint32_t>(c64);
  while (n--) {
    c = _mm_crc32_u8(c, *p);
    *d++ = *p++;
  }
  return c;
}

__attribute__((target("sse4.2"))) uint32_t Hardware(uint32_t c, const uint8_t* p, size_t n) {
  (void)zeros_ready;
  uint64_t c64 = c;
  size_t done = ThreeChains(&c64, p, n, kLongBytes, zerosLong);
  done += ThreeChains(&c64, p + done, n - done, kShortBytes, zerosShort);
  p += done;
  n -= done;
  while (n >= 8) {
    c64 = _mm_crc32_u64(c64, Load64(p));
    p += 8;
    n -= 8;
  }
  c = static_cast<uint32_t>(c64);
  while (n--) c = _mm_crc32_u8(c, *p++);
  return c;
}
#endif

}  // namespace

uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t length) {
  (void)table_ready;
  uint32_t c = ~crc;
#if defined(__x86_64__)
  if (hardware) return ~Hardware(c, data, length);
#endif
  return ~Software(c, data, length);
}

uint32_t Crc32cCopy(uint32_t crc, const uint8_t* source, uint8_t* target, size_t length) {
  // Overlapping ranges (not a use x2 has) take the plain path: memmove, then the CRC of the result.
  bool overlaps = source < target + length && target < source + length;
#if defined(__x86_64__)
  if (hardware && !overlaps) return ~HardwareCopy(~crc, source, target, length);
#endif
  std::memmove(target, source, length);
  return Crc32c(crc, target, length);
}

bool Crc32cIsHardware() { return hardware; }

}  // namespace x2
