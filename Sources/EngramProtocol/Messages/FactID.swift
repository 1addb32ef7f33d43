/// A semantic fact's 16-byte id (a UUID in RFC 4122 byte order), without Foundation.
public struct FactID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16, "a fact id is 16 bytes, got \(bytes.count)")
        self.bytes = bytes
    }

    /// Parses `8-4-4-4-12` hexadecimal text (or the 32 digits alone); nil if it is not one.
    /// Walks the UTF-8 twice without an array between: bulk loads parse one per row.
    public init?(_ text: String) {
        let utf8 = text.utf8
        guard utf8.count == 36 || utf8.count == 32 else { return nil }
        var digitCount = 0
        for byte in utf8 where byte != UInt8(ascii: "-") { digitCount += 1 }
        guard digitCount == 32 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 16)
        var index = 0
        var high: UInt8?
        for byte in utf8 where byte != UInt8(ascii: "-") {
            guard let nibble = Self.nibble(byte) else { return nil }
            if let first = high {
                bytes[index] = first << 4 | nibble
                index += 1
                high = nil
            } else {
                high = nibble
            }
        }
        self.bytes = bytes
    }

    /// A random (version 4) id.
    public static func random() -> FactID {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        return FactID(bytes: bytes)
    }

    private static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    public var description: String {
        let hex = bytes.map { byteHex($0) }
        return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(separator: "-")
    }

    public static func < (left: FactID, right: FactID) -> Bool {
        left.bytes.lexicographicallyPrecedes(right.bytes)
    }
}
