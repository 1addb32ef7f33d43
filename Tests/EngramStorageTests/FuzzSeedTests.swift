#if canImport(Glibc)
import Glibc
#endif
@testable import EngramStorage
import Testing

/// The fuzz targets' seed corpus (`Fuzz/Corpus/<target>/`) and their entry points: every seed the
/// generator makes gets the answer it should, the committed corpus is the generated one (same
/// files, same answers; a format change that breaks a seed fails here until the seeds are made
/// again), and `tools/fuzz --write-seeds` writes them through this suite.
@Suite struct FuzzSeedTests {
    /// `<repository>/Fuzz`, from this file's place in `Tests/EngramStorageTests/`.
    static let fuzzDirectory: String = {
        var path = "\(#filePath)"
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path + "/Fuzz"
    }()

    static let writing = getenv("ENGRAM_WRITE_FUZZ_SEEDS").map { String(cString: $0) } == "1"

    static func entryPoint(_ target: String) -> (@Sendable (UnsafeRawBufferPointer) -> Bool)? {
        FuzzEntryPoints.targets.first { $0.name == target }?.run
    }

    @Test func everySeedGetsItsAnswerAndEveryTargetHasSeeds() async throws {
        let seeds = try await FuzzSeeds.all()
        for seed in seeds {
            let run = try #require(Self.entryPoint(seed.target), "no entry point for \(seed.target)")
            #expect(seed.bytes.withUnsafeBytes(run) == seed.accepted, "\(seed.target)/\(seed.name)")
            #expect(seed.bytes.count <= 9_000, "\(seed.target)/\(seed.name) is \(seed.bytes.count) bytes; seeds stay small")
        }
        #expect(Set(seeds.map(\.target)) == Set(FuzzEntryPoints.targets.map(\.name)))
        for target in FuzzEntryPoints.targets {
            #expect(PosixFileSystem().exists("\(Self.fuzzDirectory)/Targets/\(target.name)"), "Fuzz/Targets/\(target.name) is missing")
        }
    }

    @Test(.enabled(if: !writing)) func theCommittedCorpusIsTheGeneratedOne() async throws {
        let seeds = try await FuzzSeeds.all()
        for target in FuzzEntryPoints.targets {
            let directory = "\(Self.fuzzDirectory)/Corpus/\(target.name)"
            let generated = seeds.filter { $0.target == target.name }
            let committed = try PosixFileSystem().contentsOfDirectory(directory).sorted()
            #expect(committed == generated.map(\.name).sorted(), "Fuzz/Corpus/\(target.name) differs from the generator; run tools/fuzz --write-seeds")
            for seed in generated where committed.contains(seed.name) {
                let bytes = try SegmentFiles.read("\(directory)/\(seed.name)")
                #expect(bytes.withUnsafeBytes(target.run) == seed.accepted, "Fuzz/Corpus/\(target.name)/\(seed.name)")
            }
        }
    }

    @Test(.enabled(if: writing)) func writeTheCorpus() async throws {
        let seeds = try await FuzzSeeds.all()
        let fileSystem = PosixFileSystem()
        try fileSystem.createDirectory("\(Self.fuzzDirectory)/Corpus")
        for target in FuzzEntryPoints.targets {
            let directory = "\(Self.fuzzDirectory)/Corpus/\(target.name)"
            try fileSystem.createDirectory(directory)
            for name in try fileSystem.contentsOfDirectory(directory) { try fileSystem.remove("\(directory)/\(name)") }
            for seed in seeds where seed.target == target.name {
                let handle = try fileSystem.open("\(directory)/\(seed.name)", create: true)
                defer { handle.close() }
                try handle.write(seed.bytes, at: 0)
            }
        }
    }
}
