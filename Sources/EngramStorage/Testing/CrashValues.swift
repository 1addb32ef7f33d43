import FoundationEssentials

/// Values that say what wrote them, for crash tests: a 16-byte header (round, task, sequence,
/// length) then bytes derived from it, 0 to 2,999 bytes after the header, so a torn, mixed or
/// stale value is detectable by looking at it alone.
public enum CrashValues {
    public struct Origin: Equatable, Sendable {
        public let round: Int
        public let task: Int
        public let sequence: Int
    }

    public static func value(round: Int, task: Int, sequence: Int) -> [UInt8] {
        let length = (round &* 7919 &+ task &* 104_729 &+ sequence &* 1_299_709) % 3_000
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16 + length)
        for field in [UInt32(round), UInt32(task), UInt32(sequence), UInt32(length)] {
            withUnsafeBytes(of: field.littleEndian) { bytes.append(contentsOf: $0) }
        }
        for index in 0..<length { bytes.append(filler(index: index, round: round, task: task, sequence: sequence)) }
        return bytes
    }

    /// The origin a value claims, or nil if any byte disagrees with it.
    public static func origin(of bytes: [UInt8]) -> Origin? {
        guard bytes.count >= 16 else { return nil }
        let fields = (0..<4).map { index in
            bytes.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))) }
        }
        guard bytes == value(round: fields[0], task: fields[1], sequence: fields[2]) else { return nil }
        return Origin(round: fields[0], task: fields[1], sequence: fields[2])
    }

    public static func factID(task: Int, slot: Int) -> UUID {
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes[6] = 0x40
        bytes[8] = 0x80
        bytes[12] = UInt8(truncatingIfNeeded: task >> 8)
        bytes[13] = UInt8(truncatingIfNeeded: task)
        bytes[15] = UInt8(truncatingIfNeeded: slot)
        return bytes.withUnsafeBytes { UUID(bytes: $0) }
    }

    static func filler(index: Int, round: Int, task: Int, sequence: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: index &* 31 &+ round &+ task &* 7 &+ sequence)
    }
}
