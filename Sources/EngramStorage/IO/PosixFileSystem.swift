#if canImport(Glibc)
import Glibc
#endif

/// The real file system, through POSIX calls. Every call's result is checked.
public struct PosixFileSystem: FileSystem {
    public init() {}

    public func open(_ path: String, create: Bool) throws(EngramError) -> any FileHandle {
        let flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
        let descriptor = Glibc.open(path, flags, 0o644)
        if descriptor < 0 { throw .system("cannot open \(path)", errno: errno, file: path) }
        return PosixFileHandle(descriptor: descriptor, path: path)
    }

    public func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    public func createDirectory(_ path: String) throws(EngramError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw .system("cannot create directory \(path)", errno: errno, file: path)
        }
    }

    public func contentsOfDirectory(_ path: String) throws(EngramError) -> [String] {
        guard let directory = opendir(path) else {
            throw .system("cannot list directory \(path)", errno: errno, file: path)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = Self.name(of: entry)
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Where `d_name` lies in a `struct dirent`.
    private static let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!

    /// A directory entry's name, read where it lies. glibc's `readdir` packs the entries of its
    /// buffer each only as long as its name (`d_reclen`), so copying a whole `struct dirent` (as
    /// `entry.pointee` does, 280 bytes) reads past the end of a short last entry, into memory that
    /// may not be mapped: `engramd` died of SIGSEGV here, listing 679 episodic segment files in
    /// recovery (the crash tool's round 445, docs/TESTING.md).
    public static func name(of entry: UnsafeMutablePointer<dirent>) -> String {
        String(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
    }

    public func remove(_ path: String) throws(EngramError) {
        if unlink(path) != 0 && errno != ENOENT {
            throw .system("cannot remove \(path)", errno: errno, file: path)
        }
    }

    public func rename(_ source: String, to destination: String) throws(EngramError) {
        if Glibc.rename(source, destination) != 0 {
            throw .system("cannot rename \(source) to \(destination)", errno: errno, file: source)
        }
    }

    public func syncDirectory(_ path: String) throws(EngramError) {
        let descriptor = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if descriptor < 0 { throw .system("cannot open directory \(path) to sync it", errno: errno, file: path) }
        defer { Glibc.close(descriptor) }
        if fsync(descriptor) != 0 { throw .system("cannot sync directory \(path)", errno: errno, file: path) }
    }
}

/// A file descriptor. `read` and `write` use `pread`/`pwrite`, so they are safe from several
/// threads at once on disjoint ranges; `close` must come after every other call has returned.
public final class PosixFileHandle: FileHandle, @unchecked Sendable {
    public let path: String
    let descriptor: Int32

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(EngramError) -> Int {
        while true {
            let result = pread(descriptor, buffer.baseAddress, buffer.count, off_t(offset))
            if result >= 0 { return result }
            if errno == EINTR { continue }
            throw .system("cannot read \(buffer.count) bytes at offset \(offset) of \(path)", errno: errno, file: path)
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(EngramError) {
        var written = 0
        while written < bytes.count {
            let result = pwrite(descriptor, bytes.baseAddress! + written, bytes.count - written, off_t(offset) + off_t(written))
            if result < 0 {
                if errno == EINTR { continue }
                throw .system("cannot write \(bytes.count) bytes at offset \(offset) of \(path)", errno: errno, file: path)
            }
            written += result
        }
    }

    public func sync() throws(EngramError) {
        if fdatasync(descriptor) != 0 {
            throw .system("cannot sync \(path)", errno: errno, file: path)
        }
    }

    public func allocate(byteCount: Int64) throws(EngramError) {
        let result = posix_fallocate(descriptor, 0, off_t(byteCount))
        if result != 0 {
            throw .system("cannot reserve \(byteCount) bytes for \(path)", errno: result, file: path)
        }
    }

    public func truncate(to byteCount: Int64) throws(EngramError) {
        if ftruncate(descriptor, off_t(byteCount)) != 0 {
            throw .system("cannot truncate \(path) to \(byteCount) bytes", errno: errno, file: path)
        }
    }

    public func size() throws(EngramError) -> Int64 {
        var status = stat()
        if fstat(descriptor, &status) != 0 {
            throw .system("cannot stat \(path)", errno: errno, file: path)
        }
        return Int64(status.st_size)
    }

    public func close() {
        Glibc.close(descriptor)
    }
}
