import NIOCore

/// A semantic fact as it travels (docs/PROTOCOL.md, "Common fields", `fact`): tags, an optional
/// vector and the body. The id travels beside it.
public struct WireFact: Sendable, Hashable {
    public var tags: [String]
    public var vector: [Float]?
    public var body: [UInt8]

    public init(tags: [String] = [], vector: [Float]? = nil, body: [UInt8]) {
        self.tags = tags
        self.vector = vector
        self.body = body
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(truncatingIfNeeded: tags.count))
        for tag in tags {
            buffer.writeInteger(UInt8(truncatingIfNeeded: tag.utf8.count))
            buffer.writeString(tag)
        }
        let vector = vector ?? []
        buffer.writeInteger(UInt16(truncatingIfNeeded: vector.count), endianness: .little)
        for component in vector { buffer.writeInteger(component.bitPattern, endianness: .little) }
        buffer.writeValue(body)
    }

    public static func decode(_ reader: inout BodyReader) throws(ProtocolError) -> WireFact {
        let tagCount = Int(try reader.read(UInt8.self, "tag count"))
        var tags: [String] = []
        tags.reserveCapacity(tagCount)
        for index in 0..<tagCount {
            let length = Int(try reader.read(UInt8.self, "tag \(index) length"))
            tags.append(try reader.readString(length, "tag \(index)"))
        }
        let dimensions = Int(try reader.read(UInt16.self, "vector dimensions"))
        guard dimensions * 4 <= reader.remaining else {
            throw reader.failure("a vector of \(dimensions) dimensions needs \(dimensions * 4) bytes, \(reader.remaining) remain")
        }
        var vector: [Float]? = nil
        if dimensions > 0 {
            var components: [Float] = []
            components.reserveCapacity(dimensions)
            for _ in 0..<dimensions { components.append(Float(bitPattern: try reader.read(UInt32.self, "vector component"))) }
            vector = components
        }
        let body = try reader.readValue("body")
        return WireFact(tags: tags, vector: vector, body: body)
    }
}
