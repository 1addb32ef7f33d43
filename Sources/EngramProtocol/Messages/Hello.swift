import NIOCore

/// What a token may do in a namespace. Each role includes the ones below it.
public enum Role: UInt8, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    case read = 1
    case write = 2
    case admin = 3

    public static func < (left: Role, right: Role) -> Bool { left.rawValue < right.rawValue }

    public var description: String {
        switch self {
        case .read: "read"
        case .write: "write"
        case .admin: "admin"
        }
    }

    public init?(name: String) {
        switch name {
        case "read": self = .read
        case "write": self = .write
        case "admin": self = .admin
        default: return nil
        }
    }
}

/// One grant of a token: a role in a namespace, or in every namespace when `namespace` is nil.
public struct Grant: Sendable, Hashable, CustomStringConvertible {
    public var role: Role
    public var namespace: String?

    public init(role: Role, namespace: String?) {
        self.role = role
        self.namespace = namespace
    }

    public var description: String { "\(role) on \(namespace ?? "*")" }
}

/// The first request on a connection (docs/PROTOCOL.md, "hello").
public struct HelloRequest: Sendable, Hashable {
    public static let tokenBytesMax = 256
    public static let clientNameBytesMax = 64

    public var versionMin: UInt8
    public var versionMax: UInt8
    /// The connection's default durability for writes that do not say.
    public var defaultDurability: WireDurability
    public var token: [UInt8]
    public var clientName: String

    public init(versionMin: UInt8 = FrameHeader.versionsSupported.lowerBound, versionMax: UInt8 = FrameHeader.versionsSupported.upperBound, defaultDurability: WireDurability = .durable, token: [UInt8], clientName: String) {
        self.versionMin = versionMin
        self.versionMax = versionMax
        self.defaultDurability = defaultDurability
        self.token = token
        self.clientName = clientName
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(versionMin)
        buffer.writeInteger(versionMax)
        buffer.writeInteger(defaultDurability == .applied ? UInt8(1) : 0)
        buffer.writeInteger(UInt16(truncatingIfNeeded: token.count), endianness: .little)
        buffer.writeBytes(token)
        buffer.writeInteger(UInt8(truncatingIfNeeded: clientName.utf8.count))
        buffer.writeString(clientName)
    }

    public static func decode(_ reader: inout BodyReader) throws(ProtocolError) -> HelloRequest {
        let versionMin = try reader.read(UInt8.self, "version min")
        let versionMax = try reader.read(UInt8.self, "version max")
        let options = try reader.read(UInt8.self, "options")
        guard options & 0xFE == 0 else { throw reader.failure("options 0x\(byteHex(options)) set reserved bits") }
        let tokenLength = Int(try reader.read(UInt16.self, "token length"))
        guard tokenLength <= tokenBytesMax else { throw reader.failure("token of \(tokenLength) bytes exceeds \(tokenBytesMax)") }
        let token = try reader.readBytes(tokenLength, "token")
        let nameLength = Int(try reader.read(UInt8.self, "client name length"))
        guard nameLength <= clientNameBytesMax else { throw reader.failure("client name of \(nameLength) bytes exceeds \(clientNameBytesMax)") }
        let name = try reader.readString(nameLength, "client name")
        try reader.finish()
        guard versionMin <= versionMax else { throw reader.failure("version min \(versionMin) is above version max \(versionMax)") }
        return HelloRequest(versionMin: versionMin, versionMax: versionMax, defaultDurability: options & 1 == 1 ? .applied : .durable, token: token, clientName: name)
    }
}

/// The limits a server reports in its hello answer.
public struct ServerLimitsReport: Sendable, Hashable {
    public var requestFrameBytesMax: UInt32
    public var responseFrameBytesMax: UInt32
    public var inFlightRequestCountMax: UInt32
    public var namespaceBytesMax: UInt16
    public var keyBytesMax: UInt16
    public var valueBytesMax: UInt32
    public var scanCountMax: UInt32
    public var tagCountMax: UInt16
    public var tagBytesMax: UInt16
    public var vectorDimensionsMax: UInt16
    public var idleTimeoutMilliseconds: UInt32

    public init(requestFrameBytesMax: UInt32, responseFrameBytesMax: UInt32, inFlightRequestCountMax: UInt32, namespaceBytesMax: UInt16, keyBytesMax: UInt16, valueBytesMax: UInt32, scanCountMax: UInt32, tagCountMax: UInt16, tagBytesMax: UInt16, vectorDimensionsMax: UInt16, idleTimeoutMilliseconds: UInt32) {
        self.requestFrameBytesMax = requestFrameBytesMax
        self.responseFrameBytesMax = responseFrameBytesMax
        self.inFlightRequestCountMax = inFlightRequestCountMax
        self.namespaceBytesMax = namespaceBytesMax
        self.keyBytesMax = keyBytesMax
        self.valueBytesMax = valueBytesMax
        self.scanCountMax = scanCountMax
        self.tagCountMax = tagCountMax
        self.tagBytesMax = tagBytesMax
        self.vectorDimensionsMax = vectorDimensionsMax
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
    }
}

/// The server's answer to a successful hello.
public struct HelloResponse: Sendable, Hashable {
    public var version: UInt8
    /// No tokens are configured: every connection is admin everywhere.
    public var openMode: Bool
    public var limits: ServerLimitsReport
    public var grants: [Grant]
    public var serverName: String

    public init(version: UInt8, openMode: Bool, limits: ServerLimitsReport, grants: [Grant], serverName: String) {
        self.version = version
        self.openMode = openMode
        self.limits = limits
        self.grants = grants
        self.serverName = serverName
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(version)
        buffer.writeInteger(openMode ? UInt8(1) : 0)
        buffer.writeInteger(limits.requestFrameBytesMax, endianness: .little)
        buffer.writeInteger(limits.responseFrameBytesMax, endianness: .little)
        buffer.writeInteger(limits.inFlightRequestCountMax, endianness: .little)
        buffer.writeInteger(limits.namespaceBytesMax, endianness: .little)
        buffer.writeInteger(limits.keyBytesMax, endianness: .little)
        buffer.writeInteger(limits.valueBytesMax, endianness: .little)
        buffer.writeInteger(limits.scanCountMax, endianness: .little)
        buffer.writeInteger(limits.tagCountMax, endianness: .little)
        buffer.writeInteger(limits.tagBytesMax, endianness: .little)
        buffer.writeInteger(limits.vectorDimensionsMax, endianness: .little)
        buffer.writeInteger(limits.idleTimeoutMilliseconds, endianness: .little)
        buffer.writeInteger(UInt16(grants.count), endianness: .little)
        for grant in grants {
            buffer.writeInteger(grant.role.rawValue)
            buffer.writeNamespace(grant.namespace ?? "")
        }
        buffer.writeInteger(UInt8(truncatingIfNeeded: serverName.utf8.count))
        buffer.writeString(serverName)
    }

    /// Bytes past the known fields are ignored: later versions may append.
    public static func decode(_ reader: inout BodyReader) throws(ProtocolError) -> HelloResponse {
        let version = try reader.read(UInt8.self, "version")
        let flags = try reader.read(UInt8.self, "server flags")
        let limits = ServerLimitsReport(
            requestFrameBytesMax: try reader.read(UInt32.self, "request frame bytes max"),
            responseFrameBytesMax: try reader.read(UInt32.self, "response frame bytes max"),
            inFlightRequestCountMax: try reader.read(UInt32.self, "in-flight requests max"),
            namespaceBytesMax: try reader.read(UInt16.self, "namespace bytes max"),
            keyBytesMax: try reader.read(UInt16.self, "key bytes max"),
            valueBytesMax: try reader.read(UInt32.self, "value bytes max"),
            scanCountMax: try reader.read(UInt32.self, "scan count max"),
            tagCountMax: try reader.read(UInt16.self, "tag count max"),
            tagBytesMax: try reader.read(UInt16.self, "tag bytes max"),
            vectorDimensionsMax: try reader.read(UInt16.self, "vector dimensions max"),
            idleTimeoutMilliseconds: try reader.read(UInt32.self, "idle timeout"))
        let grantCount = Int(try reader.read(UInt16.self, "grant count"))
        var grants: [Grant] = []
        for _ in 0..<grantCount {
            let rawRole = try reader.read(UInt8.self, "grant role")
            guard let role = Role(rawValue: rawRole) else { throw reader.failure("grant role \(rawRole) is not 1, 2 or 3") }
            let namespace = try reader.readNamespace()
            grants.append(Grant(role: role, namespace: namespace.isEmpty ? nil : namespace))
        }
        let nameLength = Int(try reader.read(UInt8.self, "server name length"))
        let name = try reader.readString(nameLength, "server name")
        return HelloResponse(version: version, openMode: flags & 1 == 1, limits: limits, grants: grants, serverName: name)
    }
}
