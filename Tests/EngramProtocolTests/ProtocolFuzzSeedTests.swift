import EngramProtocol
import FoundationEssentials
import Testing

/// The protocol fuzz targets' seed corpus (`Fuzz/Corpus/frame/`, `Fuzz/Corpus/message/`), as
/// `FuzzSeedTests` does for the storage targets: every seed gets its answer, every request and
/// response opcode has a seed its decoder accepts, and the committed files are the generated ones,
/// byte for byte. `tools/fuzz --write-seeds` writes them through this suite.
@Suite struct ProtocolFuzzSeedTests {
    /// `<repository>/Fuzz`, from this file's place in `Tests/EngramProtocolTests/`.
    static let fuzzDirectory: String = {
        var path = "\(#filePath)"
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path + "/Fuzz"
    }()

    static let writing = ProcessInfo.processInfo.environment["ENGRAM_WRITE_FUZZ_SEEDS"] == "1"

    static func entryPoint(_ target: String) -> (@Sendable (UnsafeRawBufferPointer) -> Bool)? {
        ProtocolFuzzEntryPoints.targets.first { $0.name == target }?.run
    }

    @Test func everySeedGetsItsAnswerAndEveryOpcodeHasOne() throws {
        let seeds = ProtocolFuzzSeeds.all()
        for seed in seeds {
            let run = try #require(Self.entryPoint(seed.target), "no entry point for \(seed.target)")
            #expect(seed.bytes.withUnsafeBytes(run) == seed.accepted, "\(seed.target)/\(seed.name)")
            #expect(seed.bytes.count <= 2_000, "\(seed.target)/\(seed.name) is \(seed.bytes.count) bytes; seeds stay small")
        }
        #expect(Set(seeds.map(\.name)).count == seeds.count, "two seeds share a name")
        let accepted = seeds.filter { $0.target == "message" && $0.accepted }
        let opcodes = ProtocolFuzzEntryPoints.messageOpcodes
        let requestOpcodes = Set(accepted.filter { $0.bytes[1] & 1 == 0 }.map { opcodes[Int($0.bytes[0])] })
        let responseOpcodes = Set(accepted.filter { $0.bytes[1] & 1 == 1 }.map { opcodes[Int($0.bytes[0])] })
        #expect(requestOpcodes == Set(Opcode.requests), "request opcodes without a seed: \(Set(Opcode.requests).subtracting(requestOpcodes))")
        #expect(responseOpcodes == Set(Opcode.requests + [.goingAway]), "response opcodes without a seed: \(Set(Opcode.requests + [.goingAway]).subtracting(responseOpcodes))")
        for target in ProtocolFuzzEntryPoints.targets {
            #expect(FileManager.default.fileExists(atPath: "\(Self.fuzzDirectory)/Targets/\(target.name)"), "Fuzz/Targets/\(target.name) is missing")
        }
    }

    @Test(.enabled(if: !writing)) func theCommittedCorpusIsTheGeneratedOne() throws {
        let seeds = ProtocolFuzzSeeds.all()
        for target in ProtocolFuzzEntryPoints.targets {
            let directory = "\(Self.fuzzDirectory)/Corpus/\(target.name)"
            let generated = seeds.filter { $0.target == target.name }
            let committed = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
            #expect(committed == generated.map(\.name).sorted(), "Fuzz/Corpus/\(target.name) differs from the generator; run tools/fuzz --write-seeds")
            for seed in generated where committed.contains(seed.name) {
                let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(seed.name)")))
                #expect(bytes == seed.bytes, "Fuzz/Corpus/\(target.name)/\(seed.name) is not the generated seed")
            }
        }
    }

    @Test(.enabled(if: writing)) func writeTheCorpus() throws {
        let seeds = ProtocolFuzzSeeds.all()
        for target in ProtocolFuzzEntryPoints.targets {
            let directory = "\(Self.fuzzDirectory)/Corpus/\(target.name)"
            try? FileManager.default.removeItem(atPath: directory)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for seed in seeds where seed.target == target.name {
                try Data(seed.bytes).write(to: URL(fileURLWithPath: "\(directory)/\(seed.name)"))
            }
        }
    }
}
