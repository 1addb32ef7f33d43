#if canImport(Glibc)
import Glibc
#endif

/// A file system held in memory: for fuzz targets and tests that feed the engine's file readers
/// exact bytes without touching a disk.
///
/// Files and directories live in one table behind one lock, so every call may come from any
/// thread. An open handle keeps its file's contents even after the file is removed or renamed
/// over, as a POSIX descriptor keeps its inode. Everything written is durable at once (`sync`
/// does nothing): this models a disk that never loses a write; `FaultInjectingFileSystem` is the
/// one that does. Paths are plain strings compared exactly, with no `..` or symbolic links;
/// `open`, `contentsOfDirectory` and `createDirectory` need the parent directory to exist, as
/// POSIX does.
public final class MemoryFileSystem: FileSystem {
    /// One file's bytes, shared by the table and every handle open on it; guarded by the lock.
    final class Node: @unchecked Sendable {
        var bytes: [UInt8]
        init(_ bytes: [UInt8]) { self.bytes = bytes }
    }

    struct State {
        var files: [String: Node] = [:]
        var directories: Set<String> = ["/"]
    }

    let state = Lock(State())

    public init() {}

    // MARK: Setting up and inspecting, for tests

    /// Creates or replaces the file at `path` with `bytes`; its directory must exist.
    public func setContents(_ bytes: [UInt8], of path: String) throws(EngramError) {
        let handle = try open(path, create: true)
        defer { handle.close() }
        try handle.truncate(to: 0)
        try handle.write(bytes, at: 0)
    }

    /// The bytes of the file at `path`, or nil if there is none.
    public func contents(of path: String) -> [UInt8]? {
        state.withLock { $0.files[path]?.bytes }
    }

    // MARK: FileSystem

    public func open(_ path: String, create: Bool) throws(EngramError) -> any FileHandle {
        let result = state.withLock { state -> Result<Node, EngramError> in
            if let node = state.files[path] { return .success(node) }
            guard !state.directories.contains(path) else {
                return .failure(.system("cannot open \(path): it is a directory", errno: EISDIR, file: path))
            }
            guard create else { return .failure(.system("cannot open \(path)", errno: ENOENT, file: path)) }
            guard state.directories.contains(Self.parent(of: path)) else {
                return .failure(.system("cannot create \(path): no such directory", errno: ENOENT, file: path))
            }
            let node = Node([])
            state.files[path] = node
            return .success(node)
        }
        return MemoryFileHandle(path: path, node: try result.get(), fileSystem: self)
    }

    public func exists(_ path: String) -> Bool {
        state.withLock { $0.files[path] != nil || $0.directories.contains(path) }
    }

    public func createDirectory(_ path: String) throws(EngramError) {
        let directory = Self.normalized(path)
        let failure = state.withLock { state -> EngramError? in
            if state.directories.contains(directory) { return nil }
            if state.files[directory] != nil { return .system("cannot create directory \(path): a file is there", errno: EEXIST, file: path) }
            guard state.directories.contains(Self.parent(of: directory)) else {
                return .system("cannot create directory \(path): no parent", errno: ENOENT, file: path)
            }
            state.directories.insert(directory)
            return nil
        }
        if let failure { throw failure }
    }

    public func contentsOfDirectory(_ path: String) throws(EngramError) -> [String] {
        let directory = Self.normalized(path)
        let names = state.withLock { state -> [String]? in
            guard state.directories.contains(directory) else { return nil }
            let children = Array(state.files.keys) + state.directories.filter { $0 != directory }
            return children.filter { Self.parent(of: $0) == directory }.map { Self.name(of: $0) }
        }
        guard let names else { throw .system("cannot list directory \(path)", errno: ENOENT, file: path) }
        return names
    }

    public func remove(_ path: String) throws(EngramError) {
        // As `PosixFileSystem.remove`, a missing file is not an error.
        _ = state.withLock { $0.files.removeValue(forKey: path) }
    }

    public func rename(_ source: String, to destination: String) throws(EngramError) {
        let moved = state.withLock { state -> Bool in
            guard let node = state.files.removeValue(forKey: source) else { return false }
            state.files[destination] = node
            return true
        }
        guard moved else { throw .system("cannot rename \(source) to \(destination)", errno: ENOENT, file: source) }
    }

    public func syncDirectory(_ path: String) throws(EngramError) {
        guard exists(Self.normalized(path)) else { throw .system("cannot sync directory \(path)", errno: ENOENT, file: path) }
    }

    // MARK: Paths

    static func normalized(_ path: String) -> String {
        path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func name(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}

/// A handle on a `MemoryFileSystem` file: every call takes the file system's lock.
final class MemoryFileHandle: FileHandle, @unchecked Sendable {
    let path: String
    let node: MemoryFileSystem.Node
    let fileSystem: MemoryFileSystem

    init(path: String, node: MemoryFileSystem.Node, fileSystem: MemoryFileSystem) {
        self.path = path
        self.node = node
        self.fileSystem = fileSystem
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(EngramError) -> Int {
        guard offset >= 0 else { throw .system("cannot read at offset \(offset) of \(path)", errno: EINVAL, file: path) }
        return fileSystem.state.withLock { _ in
            let bytes = node.bytes
            guard offset < Int64(bytes.count) else { return 0 }
            let start = Int(offset)
            let count = min(buffer.count, bytes.count - start)
            bytes.withUnsafeBytes { source in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[start..<(start + count)]))
            }
            return count
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(EngramError) {
        guard offset >= 0 else { throw .system("cannot write at offset \(offset) of \(path)", errno: EINVAL, file: path) }
        fileSystem.state.withLock { _ in
            let start = Int(offset)
            let end = start + bytes.count
            if node.bytes.count < end { node.bytes.append(contentsOf: repeatElement(0, count: end - node.bytes.count)) }
            node.bytes.withUnsafeMutableBytes { target in
                UnsafeMutableRawBufferPointer(rebasing: target[start..<end]).copyMemory(from: bytes)
            }
        }
    }

    func sync() throws(EngramError) {}

    func allocate(byteCount: Int64) throws(EngramError) {
        // posix_fallocate only grows a file; the new bytes read as zeros.
        fileSystem.state.withLock { _ in
            if Int64(node.bytes.count) < byteCount {
                node.bytes.append(contentsOf: repeatElement(0, count: Int(byteCount) - node.bytes.count))
            }
        }
    }

    func truncate(to byteCount: Int64) throws(EngramError) {
        guard byteCount >= 0 else { throw .system("cannot truncate \(path) to \(byteCount) bytes", errno: EINVAL, file: path) }
        fileSystem.state.withLock { _ in
            let count = Int(byteCount)
            if node.bytes.count > count {
                node.bytes.removeLast(node.bytes.count - count)
            } else {
                node.bytes.append(contentsOf: repeatElement(0, count: count - node.bytes.count))
            }
        }
    }

    func size() throws(EngramError) -> Int64 {
        fileSystem.state.withLock { _ in Int64(node.bytes.count) }
    }

    func close() {}
}
