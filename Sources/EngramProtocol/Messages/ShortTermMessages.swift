import NIOCore

/// The TTL field of short-term puts and touches (docs/PROTOCOL.md, "Short-term memory"): a u32 of
/// seconds, with 0 for "never expires" and `0xFFFFFFFF` for "the server's default".
public struct WireTTL: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The server's default TTL (`Limits.hotTierDefaultTTLSeconds`).
    public static let serverDefault = WireTTL(rawValue: 0xFFFF_FFFF)
    /// The item never expires; it stays until evicted or deleted.
    public static let never = WireTTL(rawValue: 0)
    public static func seconds(_ seconds: UInt32) -> WireTTL { WireTTL(rawValue: seconds) }

    /// The TTL as the hot tier takes it: nil for the default, 0 for never, otherwise seconds.
    public var seconds: Int? { self == .serverDefault ? nil : Int(rawValue) }

    public var description: String {
        switch self {
        case .serverDefault: "default"
        case .never: "never"
        default: "\(rawValue) s"
        }
    }
}

/// One key's answer in a short-term multi-get.
public enum MultiGetEntry: Sendable, Hashable {
    /// No live item at the key.
    case absent
    case value([UInt8])
    /// Not read: the answer's value budget was spent on the keys before it. Ask again.
    case notRead

    /// The `state` byte on the wire.
    public var state: UInt8 {
        switch self {
        case .absent: 0
        case .value: 1
        case .notRead: 2
        }
    }
}

enum ShortTermCodec {
    static func decodeMultiGet(_ reader: inout BodyReader) throws(ProtocolError) -> Request {
        let namespace = try reader.readNamespace()
        let count = Int(try reader.read(UInt16.self, "key count"))
        // Each key takes at least its 2-byte length: a count the body cannot hold is malformed
        // before anything is reserved for it.
        guard count * 2 <= reader.remaining else {
            throw reader.failure("\(count) keys need at least \(count * 2) bytes, \(reader.remaining) remain")
        }
        var keys: [[UInt8]] = []
        keys.reserveCapacity(count)
        for index in 0..<count { keys.append(try reader.readKey("key \(index)")) }
        return .shortTermMultiGet(namespace: namespace, keys: keys)
    }

    static func encodeMultiGet(_ entries: [MultiGetEntry], into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt16(truncatingIfNeeded: entries.count), endianness: .little)
        for entry in entries {
            buffer.writeInteger(entry.state)
            if case .value(let value) = entry { buffer.writeValue(value) }
        }
    }

    static func decodeMultiGetResponse(_ reader: inout BodyReader) throws(ProtocolError) -> Response {
        let count = Int(try reader.read(UInt16.self, "count"))
        guard count <= reader.remaining else { throw reader.failure("\(count) entries need at least \(count) bytes, \(reader.remaining) remain") }
        var entries: [MultiGetEntry] = []
        entries.reserveCapacity(count)
        for index in 0..<count {
            let state = try reader.read(UInt8.self, "state \(index)")
            switch state {
            case 0: entries.append(.absent)
            case 1: entries.append(.value(try reader.readValue("value \(index)")))
            case 2: entries.append(.notRead)
            default: throw reader.failure("entry \(index) has state \(state), not 0, 1 or 2")
            }
        }
        return .multiGet(entries)
    }
}
