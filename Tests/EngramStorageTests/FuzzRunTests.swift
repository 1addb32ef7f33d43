#if canImport(Glibc)
import Glibc
#endif
import EngramStorage
import Testing

/// The verdict of the fuzz run `tools/test` makes before the suite (`tools/fuzz --report`), as a
/// test, so the suite's closing line and exit status cover it. Runs only when `tools/test` names
/// the report in `ENGRAM_FUZZ_REPORT` (with `ENGRAM_FUZZ_SECONDS=0` it does not).
@Suite struct FuzzRunTests {
    static let reportPath = getenv("ENGRAM_FUZZ_REPORT").map { String(cString: $0) }

    /// One line of the report: `name executions seconds status artifact`.
    struct Line {
        let target: String
        let executions: Int
        let status: String
        let artifact: String

        init?(_ text: Substring) {
            let fields = text.split(separator: " ")
            guard fields.count == 5, let executions = Int(fields[1]) else { return nil }
            target = String(fields[0])
            self.executions = executions
            status = String(fields[3])
            artifact = String(fields[4])
        }
    }

    @Test(.enabled(if: reportPath != nil)) func everyFuzzTargetRanWithoutACrash() throws {
        let path = try #require(Self.reportPath)
        let fileSystem = PosixFileSystem()
        let report = try #require(fileSystem.exists(path) ? SegmentFiles.read(path) : nil, "no fuzz report at \(path)")
        let lines = String(decoding: report, as: UTF8.self).split(separator: "\n")
        let parsed = lines.compactMap(Line.init)
        #expect(parsed.count == lines.count, "unreadable lines in the fuzz report: \(lines)")
        let targets = try fileSystem.contentsOfDirectory(FuzzSeedTests.fuzzDirectory + "/Targets").sorted()
        #expect(parsed.map(\.target).sorted() == targets, "the report does not cover every target of Fuzz/Targets")
        for line in parsed {
            #expect(line.status == "ok", "fuzz target \(line.target): \(line.status), input kept at \(line.artifact); replay it with Fuzz/.build/release/fuzz-\(line.target) \(line.artifact)")
            #expect(line.executions > 0, "fuzz target \(line.target) ran no input")
        }
    }
}
