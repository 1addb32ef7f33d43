import CCRC32C
@testable import EngramStorage
import Testing

@Suite struct CRC32CTests {
    @Test func knownVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum(Array(0...31)) == 0x46DD_794E)
        #expect(CRC32C.checksum([]) == 0)
    }

    @Test func extendingEqualsOneShot() {
        let data = Array("the quick brown fox jumps over the lazy dog".utf8)
        let whole = CRC32C.checksum(data)
        for split in 0...data.count {
            let first = CRC32C.checksum(Array(data[..<split]))
            #expect(CRC32C.checksum(Array(data[split...]), extending: first) == whole)
        }
    }

    @Test func hardwareAndTableAgree() {
        var generator = SplitMix64(seed: 7)
        for length in [0, 1, 7, 8, 9, 63, 64, 65, 1000, 4096, 65_537] {
            let data = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let table = data.withUnsafeBytes { engram_crc32c_extend_software(0, $0.baseAddress, $0.count) }
            #expect(CRC32C.checksum(data) == table, "length \(length)")
        }
    }

    @Test func maskRoundTrips() {
        for value: UInt32 in [0, 1, 0xE306_9283, .max] {
            #expect(CRC32C.unmask(CRC32C.mask(value)) == value)
            #expect(CRC32C.mask(value) != value)
        }
    }
}
