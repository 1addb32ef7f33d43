import CZstd

/// zstd compression of one block into one frame (with its content size), used to recompress sealed
/// episodic segments. The caller stores the uncompressed length beside the frame and checks it.
public enum ZstdBlock {
    /// The largest compressed size of `byteCount` input bytes.
    public static func bound(_ byteCount: Int) -> Int {
        ZSTD_compressBound(byteCount)
    }

    /// Compresses `source` into `destination` (at least `bound(source.count)` bytes) at `level`;
    /// returns the compressed byte count.
    public static func compress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, level: Int32) -> Int {
        precondition(destination.count >= bound(source.count), "zstd destination \(destination.count) below bound \(bound(source.count))")
        let written = ZSTD_compress(destination.baseAddress, destination.count, source.baseAddress, source.count, level)
        precondition(ZSTD_isError(written) == 0, "ZSTD_compress failed for \(source.count) bytes at level \(level)")
        return written
    }

    /// Decompresses exactly `destination.count` bytes; returns false when the frame is malformed or
    /// does not decompress to exactly that size. Never reads or writes outside the buffers.
    public static func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Bool {
        guard let base = source.baseAddress, source.count > 0 else { return false }
        let contentSize = ZSTD_getFrameContentSize(base, source.count)
        // ZSTD_CONTENTSIZE_ERROR and _UNKNOWN are not imported; they are the two largest values.
        guard contentSize < UInt64.max - 1, contentSize == UInt64(destination.count) else { return false }
        let written = ZSTD_decompress(destination.baseAddress, destination.count, base, source.count)
        return ZSTD_isError(written) == 0 && written == destination.count
    }
}
