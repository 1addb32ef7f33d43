/// The scope of every stored item: a tenant or one agent cluster. Nothing crosses a namespace.
///
/// A name is 1 to 255 bytes (the store's `Limits.namespaceBytesMax` may lower that) of ASCII
/// letters, digits, `.`, `_`, `-` and `:`, so it is safe in file names, logs, SQL and metrics labels.
public struct Namespace: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    /// The name's UTF-8 bytes, as stored in key prefixes.
    public let bytes: [UInt8]

    public init(_ name: String) throws(EngramError) {
        let bytes = Array(name.utf8)
        try self.init(bytes: bytes)
    }

    public init(bytes: [UInt8]) throws(EngramError) {
        guard !bytes.isEmpty else { throw EngramError(.invalidArgument, "a namespace name must not be empty") }
        guard bytes.count <= 255 else { throw EngramError(.keyTooLarge, "namespace name of \(bytes.count) bytes exceeds 255") }
        for (index, byte) in bytes.enumerated() where !Self.isAllowed(byte) {
            throw EngramError(.invalidArgument, "namespace name has byte 0x\(String(byte, radix: 16)) at index \(index); allowed are letters, digits, '.', '_', '-' and ':'")
        }
        self.bytes = bytes
        self.name = String(decoding: bytes, as: UTF8.self)
    }

    static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"),
             UInt8(ascii: "-"), UInt8(ascii: ":"):
            return true
        default:
            return false
        }
    }

    public var description: String { name }
}

/// Builds the `[u8 nsLength][ns][key][suffix]` keys every namespaced table uses, on the stack.
enum NamespacedKey {
    /// Calls `body` with the key bytes; they live only for the call.
    static func with<Result>(
        _ namespace: Namespace,
        _ key: UnsafeRawBufferPointer,
        suffix: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        _ body: (UnsafeRawBufferPointer) throws(EngramError) -> Result
    ) throws(EngramError) -> Result {
        let byteCount = 1 + namespace.bytes.count + key.count + suffix.count
        return try withUnsafeTemporaryAllocation(byteCount: byteCount, alignment: 1) { (buffer) throws(EngramError) -> Result in
            buffer[0] = UInt8(namespace.bytes.count)
            var offset = 1
            namespace.bytes.withUnsafeBytes { name in
                UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + name.count)]).copyMemory(from: name)
            }
            offset += namespace.bytes.count
            if key.count > 0 {
                UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + key.count)]).copyMemory(from: key)
                offset += key.count
            }
            if suffix.count > 0 {
                UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + suffix.count)]).copyMemory(from: suffix)
            }
            return try body(UnsafeRawBufferPointer(buffer))
        }
    }

    static func with<Result>(_ namespace: Namespace, _ key: [UInt8], _ body: (UnsafeRawBufferPointer) throws(EngramError) -> Result) throws(EngramError) -> Result {
        try key.withBytes { (key) throws(EngramError) -> Result in try with(namespace, key, body) }
    }

    /// The namespace's prefix length: the key bytes start at this offset.
    static func prefixBytes(_ namespace: Namespace) -> Int { 1 + namespace.bytes.count }
}
