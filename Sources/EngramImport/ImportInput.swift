#if canImport(Glibc)
import Glibc
#endif

/// Where an import's bytes come from: a file, or bytes in memory for tests.
public protocol ImportSource {
    /// Fills the front of `buffer`; returns the bytes read, 0 at the end.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImportFailure) -> Int
}

/// A file read with `read(2)`; closed when the source is.
public final class FileSource: ImportSource {
    let descriptor: Int32
    let path: String

    /// The file's size when it was opened, for progress by bytes; nil for a pipe or a device.
    public let byteCount: Int?

    public init(path: String) throws(ImportFailure) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ImportFailure("cannot open \(path): \(String(cString: strerror(errno)))") }
        self.descriptor = descriptor
        self.path = path
        var status = stat()
        byteCount = fstat(descriptor, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG ? Int(status.st_size) : nil
    }

    deinit { close(descriptor) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImportFailure) -> Int {
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw ImportFailure("cannot read \(path): \(String(cString: strerror(errno)))")
        }
    }
}

public struct MemorySource: ImportSource {
    let bytes: [UInt8]
    var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ text: String) { self.bytes = Array(text.utf8) }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImportFailure) -> Int {
        let count = min(buffer.count, bytes.count - offset)
        bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + count)])) }
        offset += count
        return count
    }
}

/// A window on the source: the bytes from `start` to `end` are read and not yet used. A row being
/// scanned must fit the window (`ImportLimits.rowBytesMax`); `refill` moves the unused bytes to
/// the front and reads more behind them.
struct InputWindow<Source: ImportSource> {
    var source: Source
    private(set) var bytes: [UInt8]
    var start = 0
    private(set) var end = 0
    private(set) var atEndOfSource = false

    init(_ source: Source) {
        self.source = source
        bytes = [UInt8](repeating: 0, count: ImportLimits.rowBytesMax + ImportLimits.readBytes)
    }

    /// Reads more; returns false when nothing more came (the source is at its end). Offsets into
    /// the window shift by the returned `moved` count, which callers subtract.
    mutating func refill() throws(ImportFailure) -> (readMore: Bool, moved: Int) {
        let moved = start
        if start > 0 {
            let unused = end - start
            bytes.withUnsafeMutableBytes { raw in
                if unused > 0 { raw.baseAddress!.copyMemory(from: raw.baseAddress! + start, byteCount: unused) }
            }
            start = 0
            end = unused
        }
        guard !atEndOfSource, end < bytes.count else { return (false, moved) }
        // `withUnsafeMutableBytes` rethrows untyped errors, so the read's result is carried out.
        let readFrom = end
        var source = self.source
        let result = bytes.withUnsafeMutableBytes { raw in
            Result { () throws(ImportFailure) in try source.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[readFrom...])) }
        }
        self.source = source
        let count = try result.get()
        if count == 0 { atEndOfSource = true }
        end += count
        return (count > 0, moved)
    }

}
