/// The stored form of a long-term value: `[u8 format = 1][u64 version][value bytes]`.
enum LongTermValueLayout {
    static let formatVersion: UInt8 = 1
    static let headerBytes = 9

    /// Splits a stored value into its version and bytes, checking the header.
    static func decode(_ stored: UnsafeRawBufferPointer, table: String) throws(EngramError) -> (version: UInt64, bytes: UnsafeRawBufferPointer) {
        guard stored.count >= headerBytes else {
            throw EngramError(.corrupt, "\(table) value of \(stored.count) bytes is shorter than its \(headerBytes)-byte header")
        }
        guard stored[0] == formatVersion else {
            throw EngramError(.corrupt, "\(table) value has format version \(stored[0]), expected \(formatVersion)")
        }
        let version = UInt64(littleEndian: stored.loadUnaligned(fromByteOffset: 1, as: UInt64.self))
        return (version, UnsafeRawBufferPointer(rebasing: stored[headerBytes...]))
    }
}

/// Logged change: long-term key `key` in `namespace` now holds `value` at `version`.
struct LongTermPutOperation: RedoOperation {
    static let opcode = RedoOpcode.longTermPut
    let namespace: Namespace
    let key: [UInt8]
    let version: UInt64
    let value: [UInt8]

    func encode(into writer: inout ByteWriter) {
        RedoCoding.write(namespace, into: &writer)
        writer.write(UInt16(key.count))
        writer.write(contentsOf: key)
        writer.write(version)
        writer.write(UInt32(value.count))
        writer.write(contentsOf: value)
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> LongTermPutOperation {
        let namespace = try RedoCoding.readNamespace(from: &reader)
        let key = try reader.readBytes(Int(try reader.read(UInt16.self, "key length")), "key")
        let version = try reader.read(UInt64.self, "version")
        let value = try reader.readBytes(Int(try reader.read(UInt32.self, "value length")), "value")
        return LongTermPutOperation(namespace: namespace, key: key, version: version, value: value)
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        context.observe(version: version)
        let table = context.tables.longTerm
        try NamespacedKey.with(namespace, key) { (storedKey) throws(EngramError) in
            try context.put(table, storedKey, reserving: LongTermValueLayout.headerBytes + value.count) { buffer in
                buffer[0] = LongTermValueLayout.formatVersion
                buffer.storeBytes(of: version.littleEndian, toByteOffset: 1, as: UInt64.self)
                value.withUnsafeBytes { source in
                    UnsafeMutableRawBufferPointer(rebasing: buffer[LongTermValueLayout.headerBytes...]).copyMemory(from: source)
                }
            }
        }
        context.noteLongTermChange(namespace: namespace, key: key)
    }
}

/// Logged change: long-term key `key` in `namespace` no longer exists.
struct LongTermDeleteOperation: RedoOperation {
    static let opcode = RedoOpcode.longTermDelete
    let namespace: Namespace
    let key: [UInt8]

    func encode(into writer: inout ByteWriter) {
        RedoCoding.write(namespace, into: &writer)
        writer.write(UInt16(key.count))
        writer.write(contentsOf: key)
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> LongTermDeleteOperation {
        let namespace = try RedoCoding.readNamespace(from: &reader)
        let key = try reader.readBytes(Int(try reader.read(UInt16.self, "key length")), "key")
        return LongTermDeleteOperation(namespace: namespace, key: key)
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        let table = context.tables.longTerm
        try NamespacedKey.with(namespace, key) { (storedKey) throws(EngramError) in
            _ = try context.delete(table, storedKey)
        }
        context.noteLongTermChange(namespace: namespace, key: key)
    }
}

/// Shared pieces of redo encodings.
enum RedoCoding {
    static func write(_ namespace: Namespace, into writer: inout ByteWriter) {
        writer.write(UInt8(namespace.bytes.count))
        writer.write(contentsOf: namespace.bytes)
    }

    static func readNamespace(from reader: inout ByteReader) throws(EngramError) -> Namespace {
        let length = Int(try reader.readUInt8("namespace length"))
        let bytes = try reader.readBytes(length, "namespace")
        do {
            return try Namespace(bytes: bytes)
        } catch {
            throw reader.failure("a logged namespace is invalid: \(error.message)")
        }
    }
}
