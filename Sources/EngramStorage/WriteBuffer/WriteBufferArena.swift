/// The memory of one write buffer: chunks that are bump-allocated and freed together with the
/// buffer, never one allocation at a time, so a reader may hold a pointer into the arena for as
/// long as it holds the buffer.
///
/// Owner: the write buffer; only the writer thread allocates. Every allocation is 8-byte aligned,
/// as the links and LSNs stored in it need for their atomic loads.
struct WriteBufferArena {
    /// Bytes in an ordinary chunk. An allocation larger than a quarter of it gets a chunk of its
    /// own, so a large value wastes at most a quarter of a chunk in the chunk it would not fit.
    static let chunkBytes = 1 << 20
    static let alignment = 8

    private var chunks: [UnsafeMutableRawPointer] = []
    private var current: UnsafeMutableRawPointer? = nil
    private var currentUsed = 0
    /// Bytes of every chunk allocated: what the buffer costs in memory.
    private(set) var byteCount = 0

    /// Returns `size` bytes, 8-byte aligned, uninitialised, valid until `free()`.
    mutating func allocate(_ size: Int) -> UnsafeMutableRawPointer {
        precondition(size > 0, "an arena allocation of \(size) bytes")
        let rounded = (size + Self.alignment - 1) & ~(Self.alignment - 1)
        if rounded > Self.chunkBytes / 4 {
            let chunk = UnsafeMutableRawPointer.allocate(byteCount: rounded, alignment: Self.alignment)
            chunks.append(chunk)
            byteCount += rounded
            return chunk
        }
        if current == nil || currentUsed + rounded > Self.chunkBytes {
            let chunk = UnsafeMutableRawPointer.allocate(byteCount: Self.chunkBytes, alignment: Self.alignment)
            chunks.append(chunk)
            byteCount += Self.chunkBytes
            current = chunk
            currentUsed = 0
        }
        let pointer = current! + currentUsed
        currentUsed += rounded
        return pointer
    }

    /// Frees every chunk. The arena must not be used after.
    mutating func free() {
        for chunk in chunks { chunk.deallocate() }
        chunks.removeAll()
        current = nil
        currentUsed = 0
        byteCount = 0
    }
}
