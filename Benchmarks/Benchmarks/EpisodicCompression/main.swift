// Compression ratios of the episodic log on generated marketing events.
//
// Usage (from Benchmarks/): swift run -c release EpisodicCompression [EVENTS]
//
// Appends EVENTS (default 200,000) events from `MarketingEventGenerator` to a fresh store with
// 4 MiB segments, and measures its sealed segments: as written (LZ4 blocks), and after
// recompression with zstd at levels 1 and 3. For reference it compresses the same events rendered
// as JSON lines with LZ4 (64 KiB and 4 MiB blocks; the lz4 tool uses 4 MiB) and zstd (one frame).
// Ratios are bytes of JSON lines (or of raw records) over bytes on disk, block headers included.
#if canImport(Glibc)
import Glibc
#endif
import EngramStorage

let eventCount = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 200_000 : 200_000
let namespace = try Namespace("bench")

/// What the sealed segments of a store hold, read from their files (docs/EPISODIC.md layout).
struct Sealed {
    var diskBytes = 0
    var rawBytes = 0
    var lastPosition: UInt64 = 0
}

func sealedSegments(_ directory: String) throws -> Sealed {
    let fileSystem = PosixFileSystem()
    let names = try fileSystem.contentsOfDirectory(directory + "/episodic").sorted()
    var sealed = Sealed()
    for name in names.dropLast() {
        let handle = try fileSystem.open(directory + "/episodic/" + name, create: false)
        defer { handle.close() }
        let file = try handle.read(byteCount: Int(try handle.size()), at: 0)
        var offset = 64
        while offset + 32 <= file.count {
            let field = { (at: Int) in file.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset + at, as: UInt64.self)) } }
            let stored = Int(field(4) & 0xFFFF_FFFF)
            let raw = Int(field(8) & 0xFFFF_FFFF)
            if stored == 0 { break }
            sealed.rawBytes += raw
            sealed.lastPosition = max(sealed.lastPosition, field(24))
            offset += 32 + stored
        }
        sealed.diskBytes += file.count
    }
    return sealed
}

func temporaryDirectory() -> String {
    var template = Array("/tmp/engram-compression-XXXXXX".utf8CString)
    let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return String(cString: result!)
}

func removeDirectory(_ path: String) {
    var pid: pid_t = 0
    let words: [String] = ["/bin/rm", "-rf", path]
    let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    if posix_spawn(&pid, "/bin/rm", nil, nil, argv, environ) == 0 {
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}

/// Fills a store; returns it, its directory and each event's JSON line length, by position.
func fill() async throws -> (EngramStore, String, [Int], [UInt8]) {
    let directory = temporaryDirectory()
    var limits = Limits()
    limits.episodicSegmentBytes = 4 << 20
    limits.episodicRetentionBytes = 1 << 40
    let store = try EngramStore.open(StoreConfiguration(directory: directory, limits: limits))
    var generator = MarketingEventGenerator(seed: 42)
    var lineBytes: [Int] = []
    var lines: [UInt8] = []
    var remaining = eventCount
    while remaining > 0 {
        let events = (0..<min(1_000, remaining)).map { _ in generator.next() }
        let receipts = try await store.write(EpisodeAppend(namespace: namespace, episodes: events.map(\.episode)), durability: .applied)
        for (event, receipt) in zip(events, receipts) {
            let line = event.jsonLine(timestampMicroseconds: receipt.timestampMicroseconds)
            lineBytes.append(line.count)
            lines += line
        }
        remaining -= events.count
    }
    return (store, directory, lineBytes, lines)
}

func lz4(_ bytes: [UInt8], chunkBytes: Int) -> Int {
    var total = 0
    var scratch = [UInt8](repeating: 0, count: LZ4Block.bound(chunkBytes))
    bytes.withUnsafeBytes { source in
        scratch.withUnsafeMutableBytes { destination in
            var offset = 0
            while offset < source.count {
                let end = min(offset + chunkBytes, source.count)
                total += LZ4Block.compress(UnsafeRawBufferPointer(rebasing: source[offset..<end]), into: destination)
                offset = end
            }
        }
    }
    return total
}

func zstd(_ bytes: [UInt8], level: Int32) -> Int {
    var scratch = [UInt8](repeating: 0, count: ZstdBlock.bound(bytes.count))
    return bytes.withUnsafeBytes { source in scratch.withUnsafeMutableBytes { ZstdBlock.compress(source, into: $0, level: level) } }
}

func ratio(_ numerator: Int, _ denominator: Int) -> String {
    let hundredths = Int((Double(numerator) / Double(denominator) * 100).rounded())
    return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)x"
}

print("\(eventCount) events")
for level in [Int32(0), 1, 3] {
    let (store, directory, lineBytes, lines) = try await fill()
    if level == 0 {
        print("JSON lines: \(lines.count) bytes, \(lines.count / eventCount) per event")
        print("reference, JSON lines: LZ4 64 KiB blocks \(ratio(lines.count, lz4(lines, chunkBytes: 64 << 10))), LZ4 4 MiB blocks \(ratio(lines.count, lz4(lines, chunkBytes: 4 << 20))), zstd -1 \(ratio(lines.count, zstd(lines, level: 1))), zstd -3 \(ratio(lines.count, zstd(lines, level: 3)))")
    } else {
        _ = try await store.recompressEpisodicSegments(level: level)
    }
    store.close()
    let sealed = try sealedSegments(directory)
    let json = lineBytes.prefix(Int(sealed.lastPosition)).reduce(0, +)
    let label = level == 0 ? "store, LZ4 blocks   " : "store, zstd -\(level) blocks"
    print("\(label): \(sealed.lastPosition) events in sealed segments, \(sealed.rawBytes / Int(sealed.lastPosition)) raw record bytes per event, \(sealed.diskBytes) bytes on disk; JSON lines / disk \(ratio(json, sealed.diskBytes)), raw records / disk \(ratio(sealed.rawBytes, sealed.diskBytes))")
    removeDirectory(directory)
}
