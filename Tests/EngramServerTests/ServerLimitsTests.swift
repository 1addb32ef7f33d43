@testable import EngramServer
import EngramProtocol
import EngramStorage
import Testing

@Suite struct ServerLimitsTests {
    func failure(_ limits: ServerLimits, _ storage: Limits = Limits()) -> String? {
        do {
            try limits.validate(against: storage)
            return nil
        } catch {
            #expect(error.code == .limitsInvalid)
            return error.message
        }
    }

    @Test func theDefaultsAreConsistent() {
        #expect(failure(ServerLimits()) == nil)
        // The hello example in docs/PROTOCOL.md shows this figure.
        #expect(ServerLimits().responseFrameBytesMax(Limits()) == 4_293_168)
    }

    @Test func aRequestFrameMustCarryTheLargestPut() {
        var limits = ServerLimits()
        limits.requestFrameBytesMax = 1 << 20
        #expect(failure(limits) == "requestFrameBytesMax 1048576 cannot carry the largest put (1048931 bytes with valueBytesMax 1048576)")
    }

    @Test func oneConnectionCannotFillTheWriterQueue() {
        var limits = ServerLimits()
        limits.inFlightRequestCountMax = 20_000
        #expect(failure(limits) == "inFlightRequestCountMax 20000 exceeds writerQueueDepthMax 16384: one connection could fill the writer queue")
    }

    @Test func aFollowFrameMustCarryTheLargestEpisodeAndFitAResponse() {
        var limits = ServerLimits()
        limits.followFrameBytesMax = 32 << 10
        #expect(failure(limits) == "followFrameBytesMax 32768 cannot carry the largest episode (32997 bytes with episodeBodyBytesMax 32768)")
        limits.followFrameBytesMax = 8 << 20
        #expect(failure(limits) == "followFrameBytesMax 8388608 exceeds the response frame limit 4293168")
    }

    @Test func followsPerConnectionStayUnderTheInFlightLimit() {
        var limits = ServerLimits()
        limits.followCountMax = 200
        #expect(failure(limits) == "followCountMax 200 exceeds inFlightRequestCountMax 128")
        limits = ServerLimits()
        limits.followBufferedBytesMax = 0
        #expect(failure(limits) == "followBufferedBytesMax must be positive, got 0")
    }

    @Test func theResponseLimitCoversAnEpisodicPageAndAMultiGet() {
        let storage = Limits()
        let largestRecord = 37 + storage.namespaceBytesMax + storage.episodeAgentBytesMax + 32 + storage.episodeBodyBytesMax
        #expect(ServerLimits().responseFrameBytesMax(storage) >= storage.scanBytesMax + storage.episodicBlockBytes + largestRecord)
        #expect(ServerLimits().responseFrameBytesMax(storage) >= storage.scanBytesMax + storage.hotTierMultiGetKeyCountMax * 5)
    }

    @Test func lingerMustFitTheShutdownGrace() {
        var limits = ServerLimits()
        limits.closeLingerMilliseconds = 20_000
        #expect(failure(limits) == "closeLingerMilliseconds 20000 exceeds shutdownGraceMilliseconds 10000: shutdown would cut the linger short")
    }

    @Test func everyBoundMustBePositive() {
        var limits = ServerLimits()
        limits.idleTimeoutMilliseconds = 0
        #expect(failure(limits) == "idleTimeoutMilliseconds must be positive, got 0")
        limits = ServerLimits()
        limits.lifecycleRequestCountMax = 0
        #expect(failure(limits) == "lifecycleRequestCountMax must be positive, got 0")
    }

    @Test func theHelloReportsTheLimits() {
        let report = ServerLimits().report(Limits())
        #expect(report.requestFrameBytesMax == 2 << 20)
        #expect(report.inFlightRequestCountMax == 128)
        #expect(report.keyBytesMax == 256)
        #expect(report.valueBytesMax == 1 << 20)
        #expect(report.idleTimeoutMilliseconds == 300_000)
    }
}

@Suite struct StatusMirrorTests {
    /// Status codes 1-13 are the engine's error codes, with the same names.
    @Test func everyEngineCodeHasItsStatus() {
        let codes: [EngramError.Code] = [.notFound, .versionConflict, .keyTooLarge, .valueTooLarge, .mapFull, .busy, .corrupt, .io, .noSpace, .invalidArgument, .closed, .limitsInvalid, .alreadyExists]
        let statuses: [Status] = [.notFound, .versionConflict, .keyTooLarge, .valueTooLarge, .mapFull, .busy, .corrupt, .io, .noSpace, .invalidArgument, .closed, .limitsInvalid, .alreadyExists]
        for (code, status) in zip(codes, statuses) {
            #expect(Status(EngramError(code, "x")) == status, "\(code)")
        }
        #expect(Set(codes.map(\.rawValue)) == Set(1...13))
    }

    @Test func wireMessagesCarryTheFileAndOffset() {
        let error = EngramError(.corrupt, "bad checksum", file: "log/000001.log", offset: 4096)
        #expect(error.wireMessage == "bad checksum [file log/000001.log, offset 4096]")
        #expect(EngramError(.io, "write failed", errno: 5).wireMessage == "write failed (errno 5)")
    }
}
