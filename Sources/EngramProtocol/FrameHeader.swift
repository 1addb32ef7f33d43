import NIOCore

/// The fixed 20-byte header in front of every frame (docs/PROTOCOL.md, "Frames").
///
/// ```
/// [u16 magic "EG"][u8 version][u8 flags][u16 opcode][u16 status][u64 request id][u32 body length]
/// ```
/// Little-endian. A value type; the decoder builds one per frame and the encoders write one.
public struct FrameHeader: Sendable, Hashable {
    /// `0x4745`, the bytes `45 47` ("EG") on the wire.
    public static let magic: UInt16 = 0x4745
    public static let byteCount = 20
    /// The protocol versions this implementation speaks.
    public static let versionsSupported: ClosedRange<UInt8> = 1...1
    public static let currentVersion: UInt8 = 1

    public var version: UInt8
    public var flags: FrameFlags
    public var opcode: Opcode
    public var status: Status
    public var requestID: UInt64
    public var bodyLength: UInt32

    public init(version: UInt8 = FrameHeader.currentVersion, flags: FrameFlags = [], opcode: Opcode, status: Status = .ok, requestID: UInt64, bodyLength: UInt32 = 0) {
        self.version = version
        self.flags = flags
        self.opcode = opcode
        self.status = status
        self.requestID = requestID
        self.bodyLength = bodyLength
    }

    /// Writes the header; returns the buffer index of the body length field, for patching.
    @discardableResult
    public func write(into buffer: inout ByteBuffer) -> Int {
        buffer.writeInteger(Self.magic, endianness: .little)
        buffer.writeInteger(version)
        buffer.writeInteger(flags.rawValue)
        buffer.writeInteger(opcode.rawValue, endianness: .little)
        buffer.writeInteger(status.rawValue, endianness: .little)
        buffer.writeInteger(requestID, endianness: .little)
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(bodyLength, endianness: .little)
        return lengthIndex
    }

    /// Reads the header fields at `index` without moving the reader index and without checking
    /// them; nil when fewer than 20 bytes are readable there.
    static func peek(_ buffer: ByteBuffer, at index: Int) -> (magic: UInt16, header: FrameHeader)? {
        guard let magic = buffer.getInteger(at: index, endianness: .little, as: UInt16.self),
              let version = buffer.getInteger(at: index + 2, as: UInt8.self),
              let flags = buffer.getInteger(at: index + 3, as: UInt8.self),
              let opcode = buffer.getInteger(at: index + 4, endianness: .little, as: UInt16.self),
              let status = buffer.getInteger(at: index + 6, endianness: .little, as: UInt16.self),
              let requestID = buffer.getInteger(at: index + 8, endianness: .little, as: UInt64.self),
              let bodyLength = buffer.getInteger(at: index + 16, endianness: .little, as: UInt32.self)
        else { return nil }
        let header = FrameHeader(version: version, flags: FrameFlags(rawValue: flags), opcode: Opcode(rawValue: opcode), status: Status(rawValue: status), requestID: requestID, bodyLength: bodyLength)
        return (magic, header)
    }
}

/// The header's flag byte (docs/PROTOCOL.md, "Flags").
public struct FrameFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Bits 0-1 = 1: this write is acknowledged when durable.
    public static let durable = FrameFlags(rawValue: 0b01)
    /// Bits 0-1 = 2: this write is acknowledged when applied, before the sync.
    public static let applied = FrameFlags(rawValue: 0b10)
    /// Bit 2, responses only: more frames follow for this request id. Reserved in version 1.
    public static let more = FrameFlags(rawValue: 0b100)

    static let durabilityMask: UInt8 = 0b11
    static let reservedRequestMask: UInt8 = 0b1111_1100
    static let reservedResponseMask: UInt8 = 0b1111_1000

    /// The durability the request asks for; nil means the connection's default.
    public var durability: WireDurability? {
        switch rawValue & Self.durabilityMask {
        case 1: .durable
        case 2: .applied
        default: nil
        }
    }

    public init(durability: WireDurability?) {
        switch durability {
        case nil: rawValue = 0
        case .durable: rawValue = 1
        case .applied: rawValue = 2
        }
    }
}

/// When a write is acknowledged (docs/PROTOCOL.md, "Durability").
public enum WireDurability: Sendable, Hashable {
    /// After its commit-log record is on disk.
    case durable
    /// Once applied and visible, before the sync.
    case applied
}
