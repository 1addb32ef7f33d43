#if canImport(Glibc)
import Glibc
#endif

/// A file system for tests that remembers what is durable and can take away what is not.
///
/// It passes every call to the real file system and, for each file it opened, keeps the file's
/// contents as of its last `sync` (its durable image) and the writes made since. `powerLoss`
/// rewrites every such file on disk to what a power cut could have left: the durable image plus an
/// arbitrary subset of the unsynced writes, each possibly torn. `failWrites` and `failSyncs` make
/// the next calls fail with a chosen errno (`ENOSPC` for a full disk, `EIO` for a dying one).
///
/// Directory entries (creations, renames, removals) are treated as durable when made; the engine
/// syncs its directories, and this model does not test that part. Durable images are held in
/// memory, so tests use small files.
public final class FaultInjectingFileSystem: FileSystem {
    struct PendingWrite {
        let offset: Int64
        let bytes: [UInt8]
    }

    struct FileState {
        var durable: [UInt8]
        var pending: [PendingWrite] = []
    }

    struct State {
        var files: [String: FileState] = [:]
        var writeFailures: (errno: Int32, count: Int)? = nil
        var syncFailures: (errno: Int32, count: Int)? = nil
        var writesDropped = 0
    }

    let real = PosixFileSystem()
    let state = Lock(State())

    public init() {}

    /// Fails the next `count` writes (or every write, for `Int.max`) with `errno`.
    public func failWrites(errno: Int32, count: Int = Int.max) {
        state.withLock { $0.writeFailures = (errno, count) }
    }

    /// Fails the next `count` syncs with `errno`.
    public func failSyncs(errno: Int32, count: Int = Int.max) {
        state.withLock { $0.syncFailures = (errno, count) }
    }

    /// Lets writes and syncs succeed again.
    public func heal() {
        state.withLock {
            $0.writeFailures = nil
            $0.syncFailures = nil
        }
    }

    /// How many unsynced writes the last `powerLoss` dropped or tore.
    public var writesDropped: Int { state.withLock { $0.writesDropped } }

    /// Rewrites every tracked file on disk as a power cut could have left it. With `keepNone`,
    /// every unsynced write is lost; otherwise each survives, is torn, or is lost at random.
    /// Every handle opened before must be closed first, as a crashed process's would be.
    public func powerLoss(seed: UInt64, keepNone: Bool = false) throws(EngramError) {
        var generator = SplitMix64(seed: seed)
        let files = state.withLock { state -> [String: FileState] in
            defer { state.files = [:] }
            return state.files
        }
        var dropped = 0
        for (path, file) in files {
            var image = file.durable
            for write in file.pending {
                let choice = keepNone ? 0 : generator.next() % 3
                var bytes = write.bytes
                if choice == 0 { dropped += 1; continue }
                if choice == 1 && !bytes.isEmpty {
                    bytes = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count))))
                    dropped += 1
                }
                Self.apply(bytes, at: write.offset, to: &image)
            }
            let handle = try real.open(path, create: true)
            defer { handle.close() }
            try handle.truncate(to: 0)
            try handle.write(image, at: 0)
        }
        state.withLock { $0.writesDropped = dropped }
    }

    static func apply(_ bytes: [UInt8], at offset: Int64, to image: inout [UInt8]) {
        let end = Int(offset) + bytes.count
        if image.count < end { image.append(contentsOf: repeatElement(0, count: end - image.count)) }
        image.replaceSubrange(Int(offset)..<end, with: bytes)
    }

    public func open(_ path: String, create: Bool) throws(EngramError) -> any FileHandle {
        let handle = try real.open(path, create: create)
        let known = state.withLock { $0.files[path] != nil }
        if !known {
            let size = try handle.size()
            let contents = try handle.read(byteCount: Int(size), at: 0)
            state.withLock { state in
                if state.files[path] == nil { state.files[path] = FileState(durable: contents) }
            }
        }
        return FaultInjectingFileHandle(inner: handle, fileSystem: self)
    }

    public func exists(_ path: String) -> Bool { real.exists(path) }
    public func createDirectory(_ path: String) throws(EngramError) { try real.createDirectory(path) }
    public func contentsOfDirectory(_ path: String) throws(EngramError) -> [String] { try real.contentsOfDirectory(path) }

    public func remove(_ path: String) throws(EngramError) {
        try real.remove(path)
        _ = state.withLock { $0.files.removeValue(forKey: path) }
    }

    public func rename(_ source: String, to destination: String) throws(EngramError) {
        try real.rename(source, to: destination)
        state.withLock { state in
            state.files[destination] = state.files.removeValue(forKey: source)
        }
    }

    public func syncDirectory(_ path: String) throws(EngramError) { try real.syncDirectory(path) }

    /// Consumes one injected failure of the given kind, if any is armed.
    func injectedFailure(write: Bool) -> Int32? {
        state.withLock { state in
            if write, let failure = state.writeFailures, failure.count > 0 {
                state.writeFailures = failure.count == Int.max ? failure : (failure.errno, failure.count - 1)
                return failure.errno
            }
            if !write, let failure = state.syncFailures, failure.count > 0 {
                state.syncFailures = failure.count == Int.max ? failure : (failure.errno, failure.count - 1)
                return failure.errno
            }
            return nil
        }
    }

    func recordWrite(path: String, bytes: [UInt8], at offset: Int64) {
        state.withLock { $0.files[path]?.pending.append(PendingWrite(offset: offset, bytes: bytes)) }
    }

    func recordSync(path: String) {
        state.withLock { state in
            guard var file = state.files[path] else { return }
            for write in file.pending { Self.apply(write.bytes, at: write.offset, to: &file.durable) }
            file.pending.removeAll()
            state.files[path] = file
        }
    }

    func recordTruncate(path: String, to byteCount: Int64) {
        // Metadata changes are durable at once in this model; pending writes beyond the new end
        // are clipped so a later power loss cannot resurrect them.
        state.withLock { state in
            guard var file = state.files[path] else { return }
            let end = Int(byteCount)
            if file.durable.count > end { file.durable.removeLast(file.durable.count - end) }
            else { file.durable.append(contentsOf: repeatElement(0, count: end - file.durable.count)) }
            file.pending = file.pending.compactMap { write in
                if write.offset >= byteCount { return nil }
                let keep = min(write.bytes.count, Int(byteCount - write.offset))
                return PendingWrite(offset: write.offset, bytes: Array(write.bytes.prefix(keep)))
            }
            state.files[path] = file
        }
    }
}

final class FaultInjectingFileHandle: FileHandle, @unchecked Sendable {
    let inner: any FileHandle
    let fileSystem: FaultInjectingFileSystem

    init(inner: any FileHandle, fileSystem: FaultInjectingFileSystem) {
        self.inner = inner
        self.fileSystem = fileSystem
    }

    var path: String { inner.path }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(EngramError) -> Int {
        try inner.read(into: buffer, at: offset)
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(EngramError) {
        if let code = fileSystem.injectedFailure(write: true) {
            throw .system("injected write failure on \(path)", errno: code, file: path)
        }
        try inner.write(bytes, at: offset)
        fileSystem.recordWrite(path: path, bytes: Array(bytes), at: offset)
    }

    func sync() throws(EngramError) {
        if let code = fileSystem.injectedFailure(write: false) {
            throw .system("injected sync failure on \(path)", errno: code, file: path)
        }
        try inner.sync()
        fileSystem.recordSync(path: path)
    }

    func allocate(byteCount: Int64) throws(EngramError) {
        if let code = fileSystem.injectedFailure(write: true) {
            throw .system("injected allocation failure on \(path)", errno: code, file: path)
        }
        let before = try inner.size()
        try inner.allocate(byteCount: byteCount)
        if byteCount > before { fileSystem.recordTruncate(path: path, to: byteCount) }
    }

    func truncate(to byteCount: Int64) throws(EngramError) {
        try inner.truncate(to: byteCount)
        fileSystem.recordTruncate(path: path, to: byteCount)
    }

    func size() throws(EngramError) -> Int64 { try inner.size() }
    func close() { inner.close() }
}

/// A small deterministic generator for tests and fault injection (SplitMix64).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
