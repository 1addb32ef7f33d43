import FoundationEssentials

/// A piece of shared knowledge: text or bytes with tags and an optional embedding vector.
///
/// Stored durably in LMDB; the vector index that searches them is built from this table.
public struct SemanticFact: Sendable, Equatable {
    public var id: UUID
    public var tags: [String]
    public var body: [UInt8]
    /// The embedding, or nil. All of a namespace's vectors should share one dimension count.
    public var vector: [Float]?

    public init(id: UUID, tags: [String] = [], body: [UInt8], vector: [Float]? = nil) {
        self.id = id
        self.tags = tags
        self.body = body
        self.vector = vector
    }
}

/// A fact with the version the store gave it.
public struct StoredFact: Sendable, Equatable {
    public let fact: SemanticFact
    public let version: UInt64
}

/// The stored form of a fact (docs/STORAGE.md, "semantic"):
///
/// ```
/// [u8 format = 1][u64 version][u8 tag count]{[u8 tag length][tag utf-8]}
/// [u16 dimensions]{[f32] × dimensions}[u32 body length][body]
/// ```
/// Little-endian. Zero dimensions means no vector.
enum SemanticFactLayout {
    static let formatVersion: UInt8 = 1

    static func encodedByteCount(_ fact: SemanticFact) -> Int {
        1 + 8 + 1 + fact.tags.reduce(0) { $0 + 1 + $1.utf8.count } + 2 + (fact.vector?.count ?? 0) * 4 + 4 + fact.body.count
    }

    static func encode(_ fact: SemanticFact, version: UInt64, into writer: inout ByteWriter) {
        writer.write(formatVersion)
        writer.write(version)
        writer.write(UInt8(fact.tags.count))
        for tag in fact.tags {
            writer.write(UInt8(tag.utf8.count))
            writer.write(contentsOf: tag.utf8)
        }
        let vector = fact.vector ?? []
        writer.write(UInt16(vector.count))
        for component in vector { writer.write(component) }
        writer.write(UInt32(fact.body.count))
        writer.write(contentsOf: fact.body)
    }

    static func decode(_ stored: UnsafeRawBufferPointer, id: UUID, source: String) throws(EngramError) -> StoredFact {
        var reader = ByteReader(stored, source: source)
        let format = try reader.readUInt8("the fact format")
        guard format == formatVersion else { throw reader.failure("fact format version \(format), expected \(formatVersion)") }
        let version = try reader.read(UInt64.self, "the fact version")
        let tagCount = Int(try reader.readUInt8("the tag count"))
        var tags: [String] = []
        tags.reserveCapacity(tagCount)
        for _ in 0..<tagCount {
            let length = Int(try reader.readUInt8("a tag length"))
            guard length > 0 else { throw reader.failure("an empty tag; the write path refuses them") }
            // Decoding with replacement would turn bad bytes into U+FFFD: a different tag.
            guard let tag = String(validating: try reader.readSlice(length, "a tag"), as: UTF8.self) else {
                throw reader.failure("a tag that is not UTF-8")
            }
            tags.append(tag)
        }
        let dimensions = Int(try reader.read(UInt16.self, "the vector dimensions"))
        var vector: [Float]? = nil
        if dimensions > 0 {
            var components: [Float] = []
            components.reserveCapacity(dimensions)
            for index in 0..<dimensions {
                let component = try reader.readFloat("a vector component")
                guard component.isFinite else { throw reader.failure("vector component \(index) is \(component) (bits \(hex(component.bitPattern))); the write path stores only finite ones") }
                components.append(component)
            }
            vector = components
        }
        let body = try reader.readBytes(Int(try reader.read(UInt32.self, "the body length")), "the body")
        guard reader.isAtEnd else { throw reader.failure("\(reader.remaining) bytes after the fact body") }
        return StoredFact(fact: SemanticFact(id: id, tags: tags, body: body, vector: vector), version: version)
    }

    static func validate(_ fact: SemanticFact, limits: Limits) throws(EngramError) {
        guard fact.tags.count <= limits.semanticTagCountMax else {
            throw EngramError(.valueTooLarge, "fact has \(fact.tags.count) tags, over semanticTagCountMax \(limits.semanticTagCountMax)")
        }
        for tag in fact.tags {
            guard !tag.isEmpty else { throw EngramError(.invalidArgument, "a tag must not be empty") }
            guard tag.utf8.count <= limits.semanticTagBytesMax else {
                throw EngramError(.valueTooLarge, "tag of \(tag.utf8.count) bytes exceeds semanticTagBytesMax \(limits.semanticTagBytesMax)")
            }
        }
        if let vector = fact.vector {
            guard !vector.isEmpty else { throw EngramError(.invalidArgument, "a vector must have at least one dimension; pass nil for none") }
            guard vector.count <= limits.semanticVectorDimensionsMax else {
                throw EngramError(.valueTooLarge, "vector of \(vector.count) dimensions exceeds semanticVectorDimensionsMax \(limits.semanticVectorDimensionsMax)")
            }
            if let index = vector.firstIndex(where: { !$0.isFinite }) {
                throw EngramError(.invalidArgument, "vector component \(index) is \(vector[index]); components must be finite")
            }
        }
        guard fact.body.count <= limits.valueBytesMax else {
            throw EngramError(.valueTooLarge, "fact body of \(fact.body.count) bytes exceeds valueBytesMax \(limits.valueBytesMax)")
        }
    }
}

extension UUID {
    /// The 16 bytes in RFC 4122 order, as stored in keys.
    var bytes: [UInt8] {
        withUnsafeBytes(of: uuid) { Array($0) }
    }

    init(bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == 16, "a UUID needs 16 bytes, got \(bytes.count)")
        var tuple: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &tuple) { $0.copyMemory(from: bytes) }
        self.init(uuid: tuple)
    }
}
