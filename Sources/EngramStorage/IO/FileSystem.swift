#if canImport(Glibc)
import Glibc
#endif

/// Everything the engine does to files, behind one protocol, in the manner of LevelDB's `Env`.
///
/// The commit log, the checkpoint and the episodic segments reach the disk only through this, so a
/// test can put a `FaultInjectingFileSystem` in its place: one that fails a write with `ENOSPC`,
/// fails a sync, or forgets everything written since the last sync, as a power cut would. LMDB does
/// its own I/O and is outside it; the checkpoint design in docs/STORAGE.md says why that is safe.
public protocol FileSystem: Sendable {
    /// Opens `path` for reading and writing, creating it (mode 0644) when `create` is true.
    func open(_ path: String, create: Bool) throws(EngramError) -> any FileHandle
    func exists(_ path: String) -> Bool
    func createDirectory(_ path: String) throws(EngramError)
    /// The names in a directory, without "." and "..", in no particular order.
    func contentsOfDirectory(_ path: String) throws(EngramError) -> [String]
    func remove(_ path: String) throws(EngramError)
    /// Replaces `destination` with `source` atomically.
    func rename(_ source: String, to destination: String) throws(EngramError)
    /// Makes the directory's entries (creations, renames, removals) durable.
    func syncDirectory(_ path: String) throws(EngramError)
}

extension FileSystem {
    /// Creates `path` empty with `byteCount` bytes reserved, lets `prepare` write what the file
    /// must start with, and syncs the file and then `directory`, so later writes inside it cannot
    /// fail for want of space and the file survives a crash. On a failure the file is closed and
    /// removed.
    func createReserved(_ path: String, byteCount: Int64, directory: String, prepare: (any FileHandle) throws(EngramError) -> Void) throws(EngramError) -> any FileHandle {
        let handle = try open(path, create: true)
        do throws(EngramError) {
            try handle.truncate(to: 0)
            try handle.allocate(byteCount: byteCount)
            try prepare(handle)
            try handle.sync()
            try syncDirectory(directory)
        } catch {
            handle.close()
            try? remove(path)
            throw error
        }
        return handle
    }
}

/// An open file. One owner at a time; not safe for concurrent use unless a type says otherwise.
public protocol FileHandle: AnyObject, Sendable {
    var path: String { get }
    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read (fewer at the end).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(EngramError) -> Int
    /// Writes all of `bytes` at `offset` or throws; a short write is retried until done.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(EngramError)
    /// Makes the file's data durable (`fdatasync`).
    func sync() throws(EngramError)
    /// Reserves `byteCount` bytes of disk for the file, so later writes inside them cannot fail
    /// for want of space.
    func allocate(byteCount: Int64) throws(EngramError)
    func truncate(to byteCount: Int64) throws(EngramError)
    func size() throws(EngramError) -> Int64
    func close()
}

extension FileHandle {
    public func write(_ bytes: [UInt8], at offset: Int64) throws(EngramError) {
        try bytes.withBytes { (buffer) throws(EngramError) in try write(buffer, at: offset) }
    }

    /// Reads exactly `byteCount` bytes at `offset`, or fewer if the file ends first.
    public func read(byteCount: Int, at offset: Int64) throws(EngramError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: byteCount)
        let result = bytes.withUnsafeMutableBytes { buffer in
            Result { () throws(EngramError) -> Int in
                var total = 0
                while total < byteCount {
                    let part = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[total...]), at: offset + Int64(total))
                    if part == 0 { break }
                    total += part
                }
                return total
            }
        }
        bytes.removeLast(byteCount - (try result.get()))
        return bytes
    }
}

/// Path helpers; the engine builds paths from a data directory and fixed names.
enum Path {
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
