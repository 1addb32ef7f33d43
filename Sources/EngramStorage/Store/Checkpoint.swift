/// The checkpoint file: which commit-log LSN the LMDB file on disk is known to hold, and a copy of
/// LMDB's two meta pages at that moment.
///
/// LMDB runs with `MDB_NOSYNC`, so after a power cut its newest meta page may name pages that never
/// reached the disk. Only the checkpoint thread writes to LMDB, and it makes each commit durable and
/// records it here before the next one, so LMDB never reuses a page of the snapshot this file
/// names; writing the saved meta pages back at open therefore yields exactly the checkpointed
/// tree, and replaying the log from its LSN yields every acknowledged write. docs/STORAGE.md
/// ("Checkpoints", "Recovery") gives the whole argument.
///
/// ```
///  0          8          12          16         24         32
///  +----------+----------+-----------+----------+----------+------------+------------+--------+
///  | "ENGRCKPT" | version | pageBytes |   lsn    | lmdbTxn  | meta page 0| meta page 1| crc32c |
///  |  8 bytes | u32 = 1  |    u32    |   u64    |   u64    | pageBytes  | pageBytes  |  u32   |
///  +----------+----------+-----------+----------+----------+------------+------------+--------+
/// ```
/// Little-endian; the masked CRC-32C covers every byte before it. Written to `checkpoint.tmp`,
/// synced, renamed over `checkpoint`, and the directory synced.
struct Checkpoint: Equatable {
    static let magic: [UInt8] = Array("ENGRCKPT".utf8)
    static let formatVersion: UInt32 = 1
    static let fileName = "checkpoint"

    /// LMDB's meta magic number and the offsets of fields in a meta page (LMDB 0.9: a 16-byte page
    /// header, then `MDB_meta`). Checked on every checkpoint, so a different layout fails loudly.
    static let lmdbMetaMagic: UInt32 = 0xBEEF_C0DE
    static let lmdbMetaMagicOffset = 16
    static let lmdbMetaTransactionOffset = 144

    let lsn: UInt64
    let lmdbTransaction: UInt64
    let pageBytes: Int
    let metaPages: [UInt8]

    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 40 + metaPages.count)
        writer.write(contentsOf: Self.magic)
        writer.write(Self.formatVersion)
        writer.write(UInt32(pageBytes))
        writer.write(lsn)
        writer.write(lmdbTransaction)
        writer.write(contentsOf: metaPages)
        writer.write(CRC32C.mask(CRC32C.checksum(writer.bytes)))
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8], file: String) throws(EngramError) -> Checkpoint {
        try bytes.withBytes { (buffer) throws(EngramError) -> Checkpoint in
            var reader = ByteReader(buffer, source: file)
            guard buffer.count >= 40 else { throw reader.failure("a checkpoint of \(buffer.count) bytes is shorter than its header") }
            let stored = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: buffer.count - 4, as: UInt32.self))
            let computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buffer[..<(buffer.count - 4)]))
            guard CRC32C.unmask(stored) == computed else {
                throw EngramError.corrupt("checkpoint checksum mismatch (stored \(hex(CRC32C.unmask(stored))), computed \(hex(computed)))", file: file, offset: Int64(buffer.count - 4))
            }
            guard Array(try reader.readSlice(8, "the magic")) == magic else { throw EngramError.corrupt("not a checkpoint file (bad magic)", file: file, offset: 0) }
            let version = try reader.read(UInt32.self, "the format version")
            guard version == formatVersion else { throw EngramError.corrupt("unknown checkpoint format version \(version)", file: file, offset: 8) }
            let pageBytes = Int(try reader.read(UInt32.self, "the page size"))
            guard pageBytes >= 512, pageBytes <= 65_536 else { throw EngramError.corrupt("implausible LMDB page size \(pageBytes)", file: file, offset: 12) }
            let lsn = try reader.read(UInt64.self, "the LSN")
            let transaction = try reader.read(UInt64.self, "the LMDB transaction")
            let metaPages = try reader.readBytes(pageBytes * 2, "the meta pages")
            guard reader.remaining == 4 else { throw reader.failure("\(reader.remaining - 4) unexpected bytes after the meta pages") }
            let checkpoint = Checkpoint(lsn: lsn, lmdbTransaction: transaction, pageBytes: pageBytes, metaPages: metaPages)
            try checkpoint.validateMetaPages(file: file)
            return checkpoint
        }
    }

    /// Checks that both saved pages are LMDB meta pages and the newer one is `lmdbTransaction`.
    func validateMetaPages(file: String) throws(EngramError) {
        var newest: UInt64 = 0
        for page in 0..<2 {
            let base = page * pageBytes
            let magic = metaPages.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: base + Self.lmdbMetaMagicOffset, as: UInt32.self)) }
            guard magic == Self.lmdbMetaMagic else {
                throw EngramError.corrupt("LMDB meta page \(page) has magic \(hex(magic)), expected \(hex(Self.lmdbMetaMagic))", file: file, offset: Int64(base))
            }
            let transaction = metaPages.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: base + Self.lmdbMetaTransactionOffset, as: UInt64.self)) }
            newest = max(newest, transaction)
        }
        guard newest == lmdbTransaction else {
            throw EngramError.corrupt("the newer LMDB meta page holds transaction \(newest), the checkpoint names \(lmdbTransaction)", file: file, offset: 0)
        }
    }
}

/// Reading, writing and restoring the checkpoint file.
enum CheckpointFile {
    static let temporaryFileName = Checkpoint.fileName + ".tmp"

    /// Reads the checkpoint file, or nil when there is none (a new store).
    static func read(directory: String, fileSystem: any FileSystem) throws(EngramError) -> Checkpoint? {
        let path = Path.join(directory, Checkpoint.fileName)
        guard fileSystem.exists(path) else { return nil }
        let handle = try fileSystem.open(path, create: false)
        defer { handle.close() }
        let size = try handle.size()
        guard size <= 1 << 20 else { throw EngramError.corrupt("checkpoint file of \(size) bytes is implausibly large", file: path, offset: 0) }
        return try Checkpoint.decode(try handle.read(byteCount: Int(size), at: 0), file: path)
    }

    /// Writes `checkpoint` through a synced temporary file and a rename, and syncs the directory.
    static func write(_ checkpoint: Checkpoint, directory: String, fileSystem: any FileSystem) throws(EngramError) {
        let temporaryPath = Path.join(directory, temporaryFileName)
        let finalPath = Path.join(directory, Checkpoint.fileName)
        let handle = try fileSystem.open(temporaryPath, create: true)
        do throws(EngramError) {
            try handle.truncate(to: 0)
            try handle.write(checkpoint.encoded(), at: 0)
            try handle.sync()
        } catch {
            handle.close()
            throw error
        }
        handle.close()
        try fileSystem.rename(temporaryPath, to: finalPath)
        try fileSystem.syncDirectory(directory)
    }

    /// Writes the checkpoint's meta pages back into LMDB's data file before LMDB opens it, so LMDB
    /// starts from the checkpointed snapshot whatever a crash left in its newer meta page.
    static func restore(_ checkpoint: Checkpoint, lmdbDirectory: String) throws(EngramError) {
        let path = Path.join(lmdbDirectory, "data.mdb")
        let fileSystem = PosixFileSystem()
        guard fileSystem.exists(path) else {
            throw EngramError.corrupt("a checkpoint exists but LMDB's data file is missing", file: path, offset: 0)
        }
        let handle = try fileSystem.open(path, create: false)
        defer { handle.close() }
        let size = try handle.size()
        guard size >= Int64(checkpoint.pageBytes * 2) else {
            throw EngramError.corrupt("LMDB's data file of \(size) bytes is shorter than its meta pages", file: path, offset: 0)
        }
        try handle.write(checkpoint.metaPages, at: 0)
        try handle.sync()
    }
}
