#ifndef ENGRAM_CRC32C_H
#define ENGRAM_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/// Extends a CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected) over `length` bytes.
///
/// `crc` is the value returned by a previous call, or 0 to start. The result is the finished
/// checksum of everything passed so far (the usual pre- and post-inversion are applied inside), so
/// `engram_crc32c_extend(engram_crc32c_extend(0, a), b)` equals the checksum of `a` followed by `b`.
/// Uses the SSE 4.2 `crc32` instruction when the processor has it and a table otherwise; both give
/// the same answer. Thread-safe; no state.
uint32_t engram_crc32c_extend(uint32_t crc, const void *bytes, size_t length);

/// The table path alone, so tests can check that both paths agree on machines with SSE 4.2.
uint32_t engram_crc32c_extend_software(uint32_t crc, const void *bytes, size_t length);

/// 1 when the hardware path is in use, 0 when the table is.
int engram_crc32c_is_hardware(void);

#endif
