import FoundationEssentials

/// Logged change: fact `id` in `namespace` now holds `stored` (the full stored form, version
/// included).
struct SemanticPutOperation: RedoOperation {
    static let opcode = RedoOpcode.semanticPut
    let namespace: Namespace
    let id: UUID
    let stored: [UInt8]

    func encode(into writer: inout ByteWriter) {
        RedoCoding.write(namespace, into: &writer)
        writer.write(contentsOf: id.bytes)
        writer.write(UInt32(stored.count))
        writer.write(contentsOf: stored)
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> SemanticPutOperation {
        let namespace = try RedoCoding.readNamespace(from: &reader)
        let id = UUID(bytes: try reader.readSlice(16, "fact id"))
        let stored = try reader.readBytes(Int(try reader.read(UInt32.self, "fact length")), "fact")
        return SemanticPutOperation(namespace: namespace, id: id, stored: stored)
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        let version = try stored.withBytes { (buffer) throws(EngramError) in
            try SemanticFactLayout.decode(buffer, id: id, source: "a logged fact").version
        }
        context.observe(version: version)
        let table = context.tables.semantic
        try NamespacedKey.with(namespace, id.bytes) { (key) throws(EngramError) in
            try stored.withBytes { (value) throws(EngramError) in try context.put(table, key, value) }
        }
    }
}

/// Logged change: fact `id` in `namespace` no longer exists.
struct SemanticDeleteOperation: RedoOperation {
    static let opcode = RedoOpcode.semanticDelete
    let namespace: Namespace
    let id: UUID

    func encode(into writer: inout ByteWriter) {
        RedoCoding.write(namespace, into: &writer)
        writer.write(contentsOf: id.bytes)
    }

    static func decode(from reader: inout ByteReader) throws(EngramError) -> SemanticDeleteOperation {
        let namespace = try RedoCoding.readNamespace(from: &reader)
        return SemanticDeleteOperation(namespace: namespace, id: UUID(bytes: try reader.readSlice(16, "fact id")))
    }

    func apply(in context: inout WriteContext) throws(EngramError) {
        let table = context.tables.semantic
        try NamespacedKey.with(namespace, id.bytes) { (key) throws(EngramError) in
            _ = try context.delete(table, key)
        }
    }
}

/// Stores a semantic fact (replacing one with the same id); the outcome is its new version.
public struct SemanticPut: WriteCommand {
    public let namespace: Namespace
    public let fact: SemanticFact

    public init(namespace: Namespace, fact: SemanticFact) {
        self.namespace = namespace
        self.fact = fact
    }

    public var payloadByteCount: Int { namespace.bytes.count + 16 + SemanticFactLayout.encodedByteCount(fact) }

    public func validate(_ limits: Limits) throws(EngramError) {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
        try SemanticFactLayout.validate(fact, limits: limits)
    }

    public func execute(in context: inout WriteContext) throws(EngramError) -> UInt64 {
        let version = context.nextVersion()
        var writer = ByteWriter(capacity: SemanticFactLayout.encodedByteCount(fact))
        SemanticFactLayout.encode(fact, version: version, into: &writer)
        try context.apply(SemanticPutOperation(namespace: namespace, id: fact.id, stored: writer.bytes))
        return version
    }
}

/// Deletes a semantic fact; the outcome says whether it existed.
public struct SemanticDelete: WriteCommand {
    public let namespace: Namespace
    public let id: UUID

    public init(namespace: Namespace, id: UUID) {
        self.namespace = namespace
        self.id = id
    }

    public var payloadByteCount: Int { namespace.bytes.count + 16 }

    public func validate(_ limits: Limits) throws(EngramError) {
        try LongTermValidation.checkNamespace(namespace, limits: limits)
    }

    public func execute(in context: inout WriteContext) throws(EngramError) -> Bool {
        let table = context.tables.semantic
        let exists = try NamespacedKey.with(namespace, id.bytes) { (key) throws(EngramError) in try context.get(table, key) != nil }
        guard exists else { return false }
        try context.apply(SemanticDeleteOperation(namespace: namespace, id: id))
        return true
    }
}
