import NIOCore

/// Every request version 1 defines, decoded. The layouts are in docs/PROTOCOL.md, one section per
/// opcode. Owned by whoever decoded it; keys and values are copies, independent of the frame.
public enum Request: Sendable, Hashable {
    case hello(HelloRequest)
    case ping(payload: [UInt8])
    case stats
    case longTermGet(namespace: String, key: [UInt8])
    case longTermPut(namespace: String, key: [UInt8], value: [UInt8])
    /// `expectedVersion` 0 deletes unconditionally.
    case longTermDelete(namespace: String, key: [UInt8], expectedVersion: UInt64)
    /// `expectedVersion` 0 writes only if the key does not exist.
    case longTermCompareAndSet(namespace: String, key: [UInt8], expectedVersion: UInt64, value: [UInt8])
    /// An empty `after` scans from the start.
    case longTermScan(namespace: String, prefix: [UInt8], after: [UInt8], limit: UInt32)
    case semanticPut(namespace: String, id: FactID, fact: WireFact)
    case semanticGet(namespace: String, id: FactID)
    case semanticDelete(namespace: String, id: FactID)
    case semanticScan(namespace: String, after: FactID?, limit: UInt32)

    public var opcode: Opcode {
        switch self {
        case .hello: .hello
        case .ping: .ping
        case .stats: .stats
        case .longTermGet: .longTermGet
        case .longTermPut: .longTermPut
        case .longTermDelete: .longTermDelete
        case .longTermCompareAndSet: .longTermCompareAndSet
        case .longTermScan: .longTermScan
        case .semanticPut: .semanticPut
        case .semanticGet: .semanticGet
        case .semanticDelete: .semanticDelete
        case .semanticScan: .semanticScan
        }
    }

    /// The namespace the request addresses, for authorisation; nil for connection-level requests.
    public var namespace: String? {
        switch self {
        case .hello, .ping, .stats: nil
        case .longTermGet(let namespace, _), .longTermPut(let namespace, _, _), .longTermDelete(let namespace, _, _),
             .longTermCompareAndSet(let namespace, _, _, _), .longTermScan(let namespace, _, _, _),
             .semanticPut(let namespace, _, _), .semanticGet(let namespace, _), .semanticDelete(let namespace, _),
             .semanticScan(let namespace, _, _):
            namespace
        }
    }

    public func encodeBody(into buffer: inout ByteBuffer) {
        switch self {
        case .hello(let hello):
            hello.encode(into: &buffer)
        case .ping(let payload):
            buffer.writeBytes(payload)
        case .stats:
            break
        case .longTermGet(let namespace, let key):
            buffer.writeNamespace(namespace)
            buffer.writeKey(key)
        case .longTermPut(let namespace, let key, let value):
            buffer.writeNamespace(namespace)
            buffer.writeKey(key)
            buffer.writeValue(value)
        case .longTermDelete(let namespace, let key, let expectedVersion):
            buffer.writeNamespace(namespace)
            buffer.writeKey(key)
            buffer.writeInteger(expectedVersion, endianness: .little)
        case .longTermCompareAndSet(let namespace, let key, let expectedVersion, let value):
            buffer.writeNamespace(namespace)
            buffer.writeKey(key)
            buffer.writeInteger(expectedVersion, endianness: .little)
            buffer.writeValue(value)
        case .longTermScan(let namespace, let prefix, let after, let limit):
            buffer.writeNamespace(namespace)
            buffer.writeKey(prefix)
            buffer.writeKey(after)
            buffer.writeInteger(limit, endianness: .little)
        case .semanticPut(let namespace, let id, let fact):
            buffer.writeNamespace(namespace)
            buffer.writeBytes(id.bytes)
            fact.encode(into: &buffer)
        case .semanticGet(let namespace, let id), .semanticDelete(let namespace, let id):
            buffer.writeNamespace(namespace)
            buffer.writeBytes(id.bytes)
        case .semanticScan(let namespace, let after, let limit):
            buffer.writeNamespace(namespace)
            if let after {
                buffer.writeInteger(UInt8(1))
                buffer.writeBytes(after.bytes)
            } else {
                buffer.writeInteger(UInt8(0))
            }
            buffer.writeInteger(limit, endianness: .little)
        }
    }

    /// Decodes a request frame's body. Returns nil for an opcode this version does not define (the
    /// caller answers `unknownOpcode`); throws for a body that does not match its layout.
    public static func decode(_ frame: Frame) throws(ProtocolError) -> Request? {
        let opcode = frame.header.opcode
        var reader = BodyReader(frame.body, opcode: opcode, requestID: frame.header.requestID)
        let request: Request
        switch opcode {
        case .hello:
            return .hello(try HelloRequest.decode(&reader))
        case .ping:
            return .ping(payload: try reader.readBytes(reader.remaining, "payload"))
        case .stats:
            request = .stats
        case .longTermGet:
            request = .longTermGet(namespace: try reader.readNamespace(), key: try reader.readKey())
        case .longTermPut:
            request = .longTermPut(namespace: try reader.readNamespace(), key: try reader.readKey(), value: try reader.readValue())
        case .longTermDelete:
            request = .longTermDelete(namespace: try reader.readNamespace(), key: try reader.readKey(), expectedVersion: try reader.read(UInt64.self, "expected version"))
        case .longTermCompareAndSet:
            request = .longTermCompareAndSet(namespace: try reader.readNamespace(), key: try reader.readKey(), expectedVersion: try reader.read(UInt64.self, "expected version"), value: try reader.readValue())
        case .longTermScan:
            request = .longTermScan(namespace: try reader.readNamespace(), prefix: try reader.readKey("prefix"), after: try reader.readKey("after"), limit: try reader.read(UInt32.self, "limit"))
        case .semanticPut:
            request = .semanticPut(namespace: try reader.readNamespace(), id: try reader.readFactID(), fact: try WireFact.decode(&reader))
        case .semanticGet:
            request = .semanticGet(namespace: try reader.readNamespace(), id: try reader.readFactID())
        case .semanticDelete:
            request = .semanticDelete(namespace: try reader.readNamespace(), id: try reader.readFactID())
        case .semanticScan:
            let namespace = try reader.readNamespace()
            let hasAfter = try reader.read(UInt8.self, "has after")
            guard hasAfter <= 1 else { throw reader.failure("has after is \(hasAfter), not 0 or 1") }
            let after = hasAfter == 1 ? try reader.readFactID() : nil
            request = .semanticScan(namespace: namespace, after: after, limit: try reader.read(UInt32.self, "limit"))
        default:
            return nil
        }
        try reader.finish()
        return request
    }
}
