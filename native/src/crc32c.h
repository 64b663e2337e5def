// CRC-32C (Castagnoli). Hardware (SSE4.2 crc32 instruction) when the CPU has it, else a
// table-driven software loop. Same results as core/base/crc32c.ts.
#pragma once
#include <cstddef>
#include <cstdint>

namespace x2 {
uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t length);
// Copies source[0, length) to target and returns the CRC-32C of those bytes continuing from `crc`.
uint32_t Crc32cCopy(uint32_t crc, const uint8_t* source, uint8_t* target, size_t length);
bool Crc32cIsHardware();
}  // namespace x2
