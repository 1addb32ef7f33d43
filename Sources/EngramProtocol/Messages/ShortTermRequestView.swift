/// A short-term get or put parsed in place over its frame body, for the server's hot path: the
/// namespace, key and value are ranges of the body rather than copies, so a get or put costs no
/// allocation for its fields (docs/PROTOCOL.md, "short-term get", "short-term put").
///
/// `parse` accepts exactly the bodies `Request.decode` accepts for these opcodes whose namespace is
/// ASCII (every valid name is), and returns nil for anything else; the caller then decodes the
/// frame the ordinary way, which names the error (a namespace that is not UTF-8 is malformed).
/// Valid only as long as the bytes it was parsed from.
public struct ShortTermRequestView {
    /// Offsets into the body the view was parsed from.
    public let namespace: Range<Int>
    public let key: Range<Int>
    /// Puts only; `.serverDefault` for a get.
    public let ttl: WireTTL
    /// Puts only; empty for a get.
    public let value: Range<Int>

    /// Parses a get (`[namespace][key]`) or a put (`[namespace][key][ttl][value]`).
    @inlinable
    public static func parse(_ body: UnsafeRawBufferPointer, isPut: Bool) -> ShortTermRequestView? {
        let count = body.count
        guard count >= 1 else { return nil }
        let namespaceEnd = 1 + Int(body[0])
        guard namespaceEnd + 2 <= count else { return nil }
        var namespaceBits: UInt8 = 0
        for index in 1..<namespaceEnd { namespaceBits |= body[index] }
        guard namespaceBits < 0x80 else { return nil }
        let keyLength = Int(body[namespaceEnd]) | Int(body[namespaceEnd + 1]) << 8
        let keyEnd = namespaceEnd + 2 + keyLength
        guard keyEnd <= count else { return nil }
        if !isPut {
            guard keyEnd == count else { return nil }
            return ShortTermRequestView(namespace: 1..<namespaceEnd, key: (namespaceEnd + 2)..<keyEnd, ttl: .serverDefault, value: keyEnd..<keyEnd)
        }
        guard keyEnd + 8 <= count else { return nil }
        let ttl = UInt32(littleEndian: body.loadUnaligned(fromByteOffset: keyEnd, as: UInt32.self))
        let valueLength = Int(UInt32(littleEndian: body.loadUnaligned(fromByteOffset: keyEnd + 4, as: UInt32.self)))
        let valueStart = keyEnd + 8
        guard valueLength == count - valueStart else { return nil }
        return ShortTermRequestView(namespace: 1..<namespaceEnd, key: (namespaceEnd + 2)..<keyEnd, ttl: WireTTL(rawValue: ttl), value: valueStart..<count)
    }

    @usableFromInline
    init(namespace: Range<Int>, key: Range<Int>, ttl: WireTTL, value: Range<Int>) {
        self.namespace = namespace
        self.key = key
        self.ttl = ttl
        self.value = value
    }
}
