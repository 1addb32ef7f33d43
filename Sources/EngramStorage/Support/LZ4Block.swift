import CLZ4

/// LZ4 block compression (the raw block format, no frame), used by commit-log records and episodic
/// segment blocks. The caller stores the uncompressed length beside the block.
public enum LZ4Block {
    /// The largest compressed size of `byteCount` input bytes.
    public static func bound(_ byteCount: Int) -> Int {
        Int(LZ4_compressBound(Int32(byteCount)))
    }

    /// Compresses `source` into `destination`, which must hold `bound(source.count)` bytes; returns
    /// the compressed byte count.
    public static func compress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Int {
        precondition(destination.count >= bound(source.count), "LZ4 destination \(destination.count) below bound \(bound(source.count))")
        let written = LZ4_compress_default(
            source.baseAddress?.assumingMemoryBound(to: CChar.self),
            destination.baseAddress?.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(destination.count))
        precondition(written > 0 || source.isEmpty, "LZ4_compress_default failed for \(source.count) bytes")
        return Int(written)
    }

    /// Decompresses exactly `destination.count` bytes; returns false when the block is malformed or
    /// does not decompress to exactly that size. Never reads or writes outside the buffers.
    public static func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        if destination.isEmpty { return source.count == 1 && source[0] == 0 || source.isEmpty }
        let written = LZ4_decompress_safe(
            source.baseAddress?.assumingMemoryBound(to: CChar.self),
            destination.baseAddress?.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(destination.count))
        return written == Int32(destination.count)
    }
}
