/// The checkpoint file: which commit-log LSN the LMDB file on disk is known to hold, and a copy of
/// LMDB's two meta pages at that moment.
///
/// LMDB runs with `MDB_NOSYNC`, so after a power cut its newest meta page may name pages that never
/// reached the disk. The store keeps a read transaction open on the checkpointed snapshot until the
/// next checkpoint is durable, so LMDB never reuses that snapshot's pages; writing the saved meta
/// pages back at open therefore yields exactly the checkpointed tree, and replaying the log from
/// its LSN yields every acknowledged write. docs/STORAGE.md ("Checkpoints") gives the whole
/// argument.
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
