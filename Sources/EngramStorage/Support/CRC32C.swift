import CCRC32C

/// CRC-32C (Castagnoli), the checksum of every commit-log record, checkpoint and segment block.
public enum CRC32C {
    /// The checksum of `bytes`, extending `crc` (0 to start).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, extending crc: UInt32 = 0) -> UInt32 {
        engram_crc32c_extend(crc, bytes.baseAddress, bytes.count)
    }

    public static func checksum(_ bytes: [UInt8], extending crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, extending: crc) }
    }

    /// Stored checksums are masked, as LevelDB does: a CRC computed over bytes that contain CRCs
    /// (a record holding a record) is otherwise prone to coincidences.
    public static func mask(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }

    public static func unmask(_ masked: UInt32) -> UInt32 {
        let rotated = masked &- 0xA282_EAD8
        return (rotated >> 17) | (rotated << 15)
    }
}
